from django.apps import AppConfig


class BotrunnerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "botrunner"
    verbose_name = "Discord bot"
