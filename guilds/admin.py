from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from guilds.models import AuditEntry, Channel, Guild, MemberOptOut


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


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: an audit log that operators could edit would prove nothing."""

    list_display = (
        "created_at",
        "guild_id",
        "actor_kind",
        "actor_id",
        "actor_name",
        "action",
        "target_type",
        "target_label",
    )
    list_filter = ("actor_kind", "target_type", "action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=guild__id", "=actor_id", "actor_name", "action", "=target_id", "target_label")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")
    # guild_id in the list: no join (nor the guild's encrypted key decrypted) per row.
    fields = (
        "created_at",
        "guild",
        "actor_kind",
        "actor_id",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "changes",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
