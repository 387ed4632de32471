from django.apps import AppConfig


class GuildsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "guilds"
    verbose_name = "Guilds"
