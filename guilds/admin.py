from django.contrib import admin

from guilds.models import Channel, Guild, MemberOptOut


@admin.register(Guild)
class GuildAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "bot_present", "default_format", "redact_pii", "monthly_token_budget", "joined_at")
    list_filter = ("bot_present", "default_format", "redact_pii")
    search_fields = ("name", "=id")
    readonly_fields = ("id", "created_at", "updated_at", "joined_at", "left_at", "llm_api_key_set")
    exclude = ("llm_api_key",)
    fieldsets = (
        (None, {"fields": ("id", "name", "icon_hash", "owner_id", "bot_present", "joined_at", "left_at")}),
        ("Summaries", {"fields": ("default_format", "default_language", "locale", "timezone", "reaction_trigger_emoji")}),
        ("Privacy", {"fields": ("redact_pii", "include_bot_messages", "opt_out_marker", "retention_days")}),
        ("Limits", {"fields": ("monthly_token_budget", "monthly_cost_budget_usd", "member_cooldown_seconds", "max_concurrent_jobs")}),
        ("Own LLM endpoint", {"fields": ("llm_base_url", "llm_model", "llm_api_key_set")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="LLM API key", boolean=True)
    def llm_api_key_set(self, obj: Guild) -> bool:
        # Secrets are never shown back, only whether one is set.
        return bool(obj.llm_api_key)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "guild", "kind", "enabled", "is_locked", "allow_when_locked", "deleted_at")
    list_filter = ("kind", "enabled", "is_locked", "allow_when_locked")
    search_fields = ("name", "=id", "=guild__id", "guild__name")
    autocomplete_fields = ("guild",)
    readonly_fields = ("created_at", "updated_at")
    list_select_related = ("guild",)


@admin.register(MemberOptOut)
class MemberOptOutAdmin(admin.ModelAdmin):
    list_display = ("user_id", "guild", "created_at")
    search_fields = ("=user_id", "=guild__id")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)
