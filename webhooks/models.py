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
    # Zapier REST Hooks: what a key pasted into Zapier needs, and nothing more (no other destination kinds).
    HOOKS_READ = "hooks:read", "Read sample events (Zapier's perform-list)"
    HOOKS_WRITE = "hooks:write", "Subscribe and unsubscribe REST hooks (Zapier)"
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
    DISCORD_WEBHOOK = "discord_webhook", "Discord webhook URL"
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
    # Encrypted: a Zapier or Discord webhook URL is itself a credential (whoever has it can post).
    url = EncryptedTextField(blank=True, help_text="Receiver URL (webhook, Discord webhook, Zapier, Confluence base)")
    discord_channel_id = models.BigIntegerField(null=True, blank=True)
    # Signing secret (webhook) or integration token; encrypted, never shown after creation.
    secret = EncryptedTextField(blank=True)
    # The secret before the last rotation, still signing (a second signature) until the overlap ends.
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    credentials = EncryptedJSONField(blank=True, default=dict, help_text="Integration settings with secrets")
    # Kind-specific settings that are not secrets (a Notion database and its property names, a Confluence
    # space and parent page); each transport class checks its own in `clean()`.
    config = models.JSONField(blank=True, default=dict)
    headers = EncryptedJSONField(blank=True, default=dict, help_text="Extra request headers (may hold auth)")
    events = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The first failed attempt since the last success: five days of nothing but failures disables it.
    failing_since = models.DateTimeField(null=True, blank=True)

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
        indexes = [
            # The API lists a guild's destinations, newest first; the worker finds a guild's enabled ones.
            models.Index(fields=["guild", "-created_at"], name="webhooks_destination_guild_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "Being sent"
    SUCCEEDED = "succeeded", "Succeeded"
    RETRYING = "retrying", "Failed, will retry"
    FAILED = "failed", "Failed permanently"
    DEAD = "dead", "Failed every attempt, gave up"

    @classmethod
    def due(cls) -> list[str]:
        return [cls.PENDING, cls.RETRYING]


class Delivery(TimeStampedModel):
    """One event of one summary job sent to one destination; attempts are retried, logged and replayable."""

    destination = models.ForeignKey(WebhookDestination, on_delete=models.CASCADE, related_name="deliveries")
    # The job is the API's "summary": a failed one has no Summary row, and its event is still delivered.
    job = models.ForeignKey("summaries.SummaryJob", on_delete=models.CASCADE, related_name="deliveries")
    summary = models.ForeignKey(
        "summaries.Summary", on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    event = models.CharField(max_length=32, choices=DeliveryEvent.choices, default=DeliveryEvent.SUMMARY_COMPLETED)
    # The Standard Webhooks `webhook-id`: stable across retries and replays so receivers can de-duplicate.
    message_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    # attempt_count when the current run of the schedule began (0; a replay starts a new run).
    run_offset = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Set by each claim: only the holder of the current token may record the attempt's outcome.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a task for it was last queued: the sweeper queues it again only if that one seems lost.
    queued_at = models.DateTimeField(null=True, blank=True)
    # What the destination made of this event on an earlier attempt (a Notion page id): a retry carries on
    # with it instead of making a second one. Written by the transport as soon as the object exists.
    external_id = models.CharField(max_length=200, blank=True)
    replay_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replays")

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(attempt_count__lte=models.F("max_attempts")), name="webhooks_delivery_attempts_bounded"
            ),
            # One delivery per event, job and destination, however often the worker reruns the job.
            models.UniqueConstraint(fields=["job", "destination", "event"], name="webhooks_delivery_unique_event"),
        ]
        indexes = [
            # The delivery sweeper picks due retries.
            models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due_idx"),
            # The API lists a destination's deliveries, newest first.
            models.Index(fields=["destination", "-created_at"], name="webhooks_delivery_dest_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.message_id} → {self.destination_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery, written before the request goes out and completed after it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    # The receiver's answer, truncated (it is theirs, not ours: at most RESPONSE_BODY_LOGGED characters).
    response_body = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_unique_number"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code or self.error_code or '…'}"


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
