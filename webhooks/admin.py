from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks import services
from webhooks.models import ApiKey, Delivery, DeliveryAttempt, InboundEvent, InboundSecret, WebhookDestination
from webhooks.services import destinations


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "guild", "scopes", "is_active", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("name", "prefix", "=guild__id", "guild__name")
    list_select_related = ("guild",)
    # Keys are issued through the dashboard or API (shown once); the admin can only inspect and revoke.
    readonly_fields = [f.name for f in ApiKey._meta.fields if f.name != "name"]
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(boolean=True)
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = sum(services.api_key_revoke(api_key=key) for key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)


@admin.register(WebhookDestination)
class WebhookDestinationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "guild", "enabled", "consecutive_failures", "disabled_reason")
    list_filter = ("kind", "enabled")
    # The URL is encrypted at rest: not searchable, and not shown (it can be a credential).
    search_fields = ("name", "=guild__id", "guild__name")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild",)
    exclude = ("url", "secret", "previous_secret", "credentials", "headers")
    readonly_fields = (
        "url_set", "secret_set", "credentials_set", "headers_set", "consecutive_failures", "failing_since",
        "previous_secret_expires_at", "created_at", "updated_at",
    )
    actions = ("disable", "enable")

    @admin.display(boolean=True, description="URL set")
    def url_set(self, obj: WebhookDestination) -> bool:
        return bool(obj.url)

    @admin.display(boolean=True, description="Secret set")
    def secret_set(self, obj: WebhookDestination) -> bool:
        return bool(obj.secret)

    @admin.display(boolean=True, description="Credentials set")
    def credentials_set(self, obj: WebhookDestination) -> bool:
        return bool(obj.credentials)

    @admin.display(boolean=True, description="Headers set")
    def headers_set(self, obj: WebhookDestination) -> bool:
        return bool(obj.headers)

    @admin.action(description="Disable selected destinations")
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookDestination]) -> None:
        reason = f"disabled by {request.user} in the admin"
        count = sum(destinations.destination_disable(destination=d, reason=reason) for d in queryset)
        self.message_user(request, f"Disabled {count} destination(s).", messages.SUCCESS)

    @admin.action(description="Enable selected destinations")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookDestination]) -> None:
        count = sum(destinations.destination_enable(destination=d) for d in queryset)
        self.message_user(request, f"Enabled {count} destination(s).", messages.SUCCESS)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    inlines = (DeliveryAttemptInline,)
    list_display = ("message_id", "destination", "event", "status", "attempt_count", "response_code", "next_attempt_at", "delivered_at")
    list_filter = ("status", "event", "destination__kind")
    search_fields = ("message_id", "=job__id", "destination__name")
    list_select_related = ("destination",)
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundSecret)
class InboundSecretAdmin(admin.ModelAdmin):
    list_display = ("name", "guild", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "=guild__id", "guild__name")
    list_select_related = ("guild",)
    # Created with `manage.py inbound_secret create` (shown once); the admin can only inspect and revoke.
    exclude = ("secret",)
    readonly_fields = ("guild", "created_at", "updated_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected inbound secrets")
    def revoke(self, request: HttpRequest, queryset: QuerySet[InboundSecret]) -> None:
        revoked = sum(services.inbound_secret_revoke(inbound_secret=s) for s in queryset)
        self.message_user(request, f"Revoked {revoked} secret(s).", messages.SUCCESS)


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ("webhook_id", "event_type", "guild", "status_code", "job", "created_at")
    list_filter = ("event_type",)
    search_fields = ("webhook_id", "=guild__id")
    list_select_related = ("guild",)
    readonly_fields = [f.name for f in InboundEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
