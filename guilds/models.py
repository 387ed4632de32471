"""Guilds, their channels and configuration, and members' opt-outs.

Discord snowflakes are the primary keys of mirrored objects: every other table and every URL already
speaks in Discord ids, so a surrogate key would only add a join.
"""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from summarybot.db import EncryptedTextField, TimeStampedModel


class SummaryFormat(models.TextChoices):
    BRIEF = "brief", "Brief"
    STRUCTURED = "structured", "Structured"
    DETAILED = "detailed", "Detailed"
    TECHNICAL = "technical", "Technical"


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. Europe/Paris).")


def validate_language(value: str) -> None:
    # "auto" follows the conversation; otherwise a BCP 47-ish tag like "en", "pt-BR".
    if value == "auto":
        return
    parts = value.split("-")
    if not (2 <= len(parts[0]) <= 3 and parts[0].isalpha() and all(p.isalnum() and len(p) <= 8 for p in parts[1:])):
        raise ValidationError(f"{value!r} is not a language code like 'en' or 'pt-BR' (or 'auto').")


class Guild(TimeStampedModel):
    id = models.BigIntegerField(primary_key=True, help_text="Discord guild id")
    name = models.CharField(max_length=100)
    icon_hash = models.CharField(max_length=64, blank=True)
    owner_id = models.BigIntegerField(null=True, blank=True)
    bot_present = models.BooleanField(default=False, help_text="The bot is a member of this guild now")
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    # Summary defaults
    default_format = models.CharField(max_length=16, choices=SummaryFormat.choices, default=SummaryFormat.STRUCTURED)
    default_language = models.CharField(max_length=16, default="auto", validators=[validate_language])
    locale = models.CharField(max_length=16, default="en-US")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    # Privacy
    redact_pii = models.BooleanField(default=True, help_text="Redact emails, phones, tokens... before the LLM")
    include_bot_messages = models.BooleanField(default=False)
    opt_out_marker = models.CharField(
        max_length=32, default="!nosummary", blank=True, help_text="Messages starting with this are never summarized"
    )
    retention_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)], help_text="Summary history kept for"
    )

    # Budgets and limits
    monthly_token_budget = models.BigIntegerField(
        null=True, blank=True, default=5_000_000, help_text="Prompt+completion tokens a month; empty = unlimited"
    )
    monthly_cost_budget_usd = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="USD a month; empty = unlimited"
    )
    member_cooldown_seconds = models.PositiveIntegerField(default=30)
    max_concurrent_jobs = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    reaction_trigger_emoji = models.CharField(
        max_length=64, blank=True, help_text="Reacting with this emoji summarizes from that message; empty = off"
    )
    log_channel_id = models.BigIntegerField(
        null=True, blank=True, help_text="Where the bot tells admins about problems (a paused schedule); empty = nowhere"
    )

    # Bring-your-own OpenAI-compatible endpoint (empty = the operator's default provider)
    llm_base_url = models.URLField(blank=True)
    llm_api_key = EncryptedTextField(blank=True)
    llm_model = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_token_budget__isnull=True) | Q(monthly_token_budget__gte=0),
                name="guilds_guild_token_budget_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(monthly_cost_budget_usd__isnull=True) | Q(monthly_cost_budget_usd__gte=0),
                name="guilds_guild_cost_budget_non_negative",
            ),
            models.CheckConstraint(condition=Q(retention_days__gte=1), name="guilds_guild_retention_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ChannelKind(models.TextChoices):
    TEXT = "text", "Text"
    ANNOUNCEMENT = "announcement", "Announcement"
    VOICE = "voice", "Voice"
    STAGE = "stage", "Stage"
    FORUM = "forum", "Forum"
    MEDIA = "media", "Media"
    PUBLIC_THREAD = "public_thread", "Public thread"
    PRIVATE_THREAD = "private_thread", "Private thread"
    ANNOUNCEMENT_THREAD = "announcement_thread", "Announcement thread"
    CATEGORY = "category", "Category"
    OTHER = "other", "Other"

    @classmethod
    def threads(cls) -> frozenset[str]:
        return frozenset({cls.PUBLIC_THREAD, cls.PRIVATE_THREAD, cls.ANNOUNCEMENT_THREAD})


class Channel(TimeStampedModel):
    """A channel, thread or forum post mirrored from Discord, with its summary configuration."""

    id = models.BigIntegerField(primary_key=True, help_text="Discord channel id")
    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="channels")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=24, choices=ChannelKind.choices, default=ChannelKind.TEXT)
    parent_id = models.BigIntegerField(null=True, blank=True, help_text="Category, or the channel of a thread")
    is_locked = models.BooleanField(
        default=False, help_text="@everyone cannot view it (mirrored from Discord permissions)"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    enabled = models.BooleanField(default=True, help_text="Summaries allowed in this channel")
    allow_when_locked = models.BooleanField(
        default=False, help_text="Locked channels are off unless an admin enables them here"
    )
    format_override = models.CharField(max_length=16, choices=SummaryFormat.choices, blank=True)
    language_override = models.CharField(max_length=16, blank=True, validators=[validate_language])
    redact_pii_override = models.BooleanField(null=True, blank=True, help_text="Empty = the guild's setting")

    class Meta:
        indexes = [
            # Dashboard and /summary-config list a guild's live channels by name.
            models.Index(fields=["guild", "name"], name="guilds_channel_guild_name_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.name} ({self.id})"

    @property
    def is_thread(self) -> bool:
        return self.kind in ChannelKind.threads()

    @property
    def summaries_allowed(self) -> bool:
        return self.enabled and self.deleted_at is None and (not self.is_locked or self.allow_when_locked)


class MemberOptOut(TimeStampedModel):
    """A member who asked that their messages never be summarized (in one guild, or everywhere)."""

    user_id = models.BigIntegerField()
    guild = models.ForeignKey(
        Guild, on_delete=models.CASCADE, null=True, blank=True, related_name="opt_outs", help_text="Empty = every guild"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["guild", "user_id"], condition=Q(guild__isnull=False), name="guilds_memberoptout_unique_in_guild"
            ),
            models.UniqueConstraint(
                fields=["user_id"], condition=Q(guild__isnull=True), name="guilds_memberoptout_unique_global"
            ),
        ]
        indexes = [
            # The engine options read every opt-out that applies to one guild before each job.
            models.Index(fields=["user_id"], name="guilds_optout_user_idx"),
        ]

    def __str__(self) -> str:
        where = f"guild {self.guild_id}" if self.guild_id else "all guilds"
        return f"user {self.user_id} opted out ({where})"


class ChannelActivity(models.Model):
    """How many messages a member wrote in a channel on a day: which channels a catch-up digest covers.

    Counts only, never content; opted-out members are not counted, and days older than
    30 (guilds.activity.ACTIVE_DAYS) are deleted.
    """

    guild = models.ForeignKey(Guild, on_delete=models.CASCADE, related_name="+")
    channel_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    day = models.DateField()
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "channel activity"
        constraints = [
            models.UniqueConstraint(fields=["channel_id", "user_id", "day"], name="summaries_activity_unique_day"),
        ]
        indexes = [
            # A member's most active channels of a guild over the last days.
            models.Index(fields=["guild", "user_id", "day"], name="summaries_activity_member_idx"),
            models.Index(fields=["day"], name="summaries_activity_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} wrote {self.messages} in {self.channel_id} on {self.day}"


class ActorKind(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard user"
    BOT = "bot", "Discord member (bot command)"
    API_KEY = "api_key", "API key"
    INBOUND_WEBHOOK = "inbound_webhook", "Inbound webhook"
    OPERATOR = "operator", "Operator (command or admin)"
    SYSTEM = "system", "System"


class AuditEntry(models.Model):
    """One change to a guild's configuration or integrations (or an operator-wide action): who, what, when.

    Written by the services (guilds/audit.py) in the transaction of the change; never edited afterwards,
    except that a forgotten member's display name is blanked. `changes` holds only the fields that changed,
    `{field: [before, after]}`; a write-only secret appears as "set", "changed" or "cleared", never its value.
    """

    guild = models.ForeignKey(
        Guild,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty = an operator-wide action (a member forgotten in every guild)",
    )
    created_at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.CharField(
        max_length=64, blank=True, help_text="Discord user id, API key prefix, inbound secret id, command name"
    )
    actor_name = models.CharField(max_length=100, blank=True, help_text="As it was at the time")
    action = models.CharField(max_length=64, help_text="A dotted verb: guild.settings.update, schedule.create…")
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [
            # The dashboard's audit page: a guild's entries, newest first (its filters narrow this range).
            models.Index(fields=["guild", "-created_at"], name="guilds_audit_guild_idx"),
            # The daily retention prune, and the admin's list of every guild's entries.
            models.Index(fields=["created_at"], name="guilds_audit_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_kind} {self.actor_id or '-'} at {self.created_at:%Y-%m-%d %H:%M}"
