"""API keys, outbound destinations and the log of every delivery attempt."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from summarybot.db import EncryptedJSONField, EncryptedTextField, TimeStampedModel


class ApiScope(models.TextChoices):
    SUMMARIES_READ = "summaries:read", "Read summaries and jobs"
    SUMMARIES_WRITE = "summaries:write", "Request summaries"
    SCHEDULES_READ = "schedules:read", "Read schedules"
    SCHEDULES_WRITE = "schedules:write", "Manage schedules"
    DESTINATIONS_READ = "destinations:read", "Read destinations and deliveries"
    DESTINATIONS_WRITE = "destinations:write", "Manage destinations, replay deliveries"
    USAGE_READ = "usage:read", "Read usage and budgets"


class ApiKey(TimeStampedModel):
    """A per-guild key: `<prefix>.<secret>`; only the prefix and an HMAC digest of the whole key are stored."""

    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Shown in lists to tell keys apart")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_discord_id = models.BigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        indexes = [
            # The dashboard lists a guild's keys, newest first.
            models.Index(fields=["guild", "-created_at"], name="webhooks_apikey_guild_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class DestinationKind(models.TextChoices):
    WEBHOOK = "webhook", "Signed webhook (Standard Webhooks)"
    DISCORD_CHANNEL = "discord_channel", "Discord channel"
    NOTION = "notion", "Notion"
    CONFLUENCE = "confluence", "Confluence"
    ZAPIER = "zapier", "Zapier"


class DeliveryEvent(models.TextChoices):
    SUMMARY_COMPLETED = "summary.completed", "Summary completed"
    SUMMARY_FAILED = "summary.failed", "Summary failed"


class WebhookDestination(TimeStampedModel):
    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="destinations")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=24, choices=DestinationKind.choices)
    url = models.URLField(max_length=500, blank=True, help_text="Receiver URL (webhook, Zapier, Confluence base)")
    discord_channel_id = models.BigIntegerField(null=True, blank=True)
    # Signing secret (webhook) or integration token; encrypted, never shown after creation.
    secret = EncryptedTextField(blank=True)
    credentials = EncryptedJSONField(blank=True, default=dict, help_text="Integration settings with secrets")
    headers = EncryptedJSONField(blank=True, default=dict, help_text="Extra request headers (may hold auth)")
    events = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="discord_channel") | Q(discord_channel_id__isnull=False),
                name="webhooks_destination_discord_needs_channel",
            ),
            models.CheckConstraint(
                condition=Q(kind="discord_channel") | Q(kind="notion") | ~Q(url=""),
                name="webhooks_destination_http_needs_url",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Failed, gave up"


class Delivery(TimeStampedModel):
    """One summary sent to one destination; attempts are retried, logged and replayable."""

    destination = models.ForeignKey(WebhookDestination, on_delete=models.CASCADE, related_name="deliveries")
    summary = models.ForeignKey("summaries.Summary", on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=DeliveryEvent.choices, default=DeliveryEvent.SUMMARY_COMPLETED)
    # The Standard Webhooks `webhook-id`: stable across retries so receivers can de-duplicate.
    message_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays")

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(attempt_count__lte=models.F("max_attempts")), name="webhooks_delivery_attempts_bounded"
            ),
        ]
        indexes = [
            # The delivery sweeper picks due retries.
            models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.message_id} → {self.destination_id} ({self.status})"


class InboundSecret(TimeStampedModel):
    """A guild's signing secret for inbound webhooks (`whsec_…`), encrypted at rest; shown once at creation.

    A guild may hold several active secrets at once so a sender can rotate: create the new one, switch the
    sender, revoke the old one.
    """

    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="inbound_secrets")
    name = models.CharField(max_length=100)
    secret = EncryptedTextField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Verification loads a guild's active secrets; the command lists a guild's secrets.
            models.Index(fields=["guild", "revoked_at"], name="webhooks_inbsecret_guild_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (inbound secret {self.pk} of guild {self.guild_id})"


class InboundEvent(TimeStampedModel):
    """One inbound webhook that was acted on, keyed by its `webhook-id`: a replay is answered from here."""

    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="inbound_events")
    webhook_id = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64)
    secret = models.ForeignKey(InboundSecret, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    job = models.ForeignKey(
        "summaries.SummaryJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_events"
    )
    # The first answer's status and body, returned again to a replay.
    status_code = models.PositiveSmallIntegerField()
    result = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["guild", "webhook_id"], name="webhooks_inboundevent_unique_webhook_id"),
        ]

    def __str__(self) -> str:
        return f"inbound {self.event_type} {self.webhook_id} (guild {self.guild_id})"
