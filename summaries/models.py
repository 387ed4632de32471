"""Summary jobs and their results, schedules, and usage for cost accounting."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from guilds.models import SummaryFormat, validate_language, validate_timezone
from summarybot.db import EncryptedTextField, TimeStampedModel


class JobSource(models.TextChoices):
    SLASH_COMMAND = "slash_command", "Slash command"
    CONTEXT_MENU = "context_menu", "Context menu"
    REACTION = "reaction", "Reaction"
    API = "api", "REST API"
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Inbound webhook"
    DASHBOARD = "dashboard", "Dashboard"
    ADMIN = "admin", "Admin"


class WindowKind(models.TextChoices):
    COUNT = "count", "Last N messages"
    HOURS = "hours", "Last N hours"
    SINCE_LAST_SUMMARY = "since_last_summary", "Since the last summary here"
    SINCE_MY_LAST_MESSAGE = "since_my_last_message", "Since my last message"
    FROM_MESSAGE = "from_message", "From a message on"
    RANGE = "range", "Between two times"
    CATCH_UP = "catch_up", "Since my last message or catch-up"


class Visibility(models.TextChoices):
    PRIVATE = "private", "Only the requester"
    PUBLIC = "public", "Everyone in the channel"


class DeliveryMode(models.TextChoices):
    HERE = "here", "In the channel"
    THREAD = "thread", "In a new thread"
    DM = "dm", "By direct message"
    NONE = "none", "Not posted (API, webhooks only)"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    FETCHING = "fetching", "Fetching messages"
    SUMMARIZING = "summarizing", "Summarizing"
    DELIVERING = "delivering", "Delivering"
    DONE = "done", "Done"
    PARTIAL = "partial", "Done, some deliveries failed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def finished(cls) -> list[str]:
        return [cls.DONE, cls.PARTIAL, cls.FAILED, cls.CANCELLED]

    @classmethod
    def running(cls) -> list[str]:
        return [cls.FETCHING, cls.SUMMARIZING, cls.DELIVERING]


class SummaryJob(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="jobs")
    channel_id = models.BigIntegerField(
        null=True, blank=True, help_text="Channel, thread or forum post summarized; empty for posted messages"
    )

    # Who or what asked
    source = models.CharField(max_length=16, choices=JobSource.choices)
    requested_by_user_id = models.BigIntegerField(null=True, blank=True)
    api_key = models.ForeignKey("webhooks.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    schedule = models.ForeignKey("Schedule", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs")
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    # SHA-256 of what was asked (channel, window, format, language) with an idempotency key: the same key
    # with another request is refused instead of silently answering the first one.
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    interaction_id = models.BigIntegerField(null=True, blank=True)
    application_id = models.BigIntegerField(null=True, blank=True)
    # Lets the worker answer the slash command for 15 minutes; a credential, so encrypted.
    interaction_token = EncryptedTextField(blank=True)

    # What to summarize
    window_kind = models.CharField(max_length=24, choices=WindowKind.choices, default=WindowKind.COUNT)
    message_limit = models.PositiveIntegerField(null=True, blank=True)
    hours = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(168)])
    after_message_id = models.BigIntegerField(null=True, blank=True)
    before_message_id = models.BigIntegerField(null=True, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    format = models.CharField(max_length=16, choices=SummaryFormat.choices, default=SummaryFormat.STRUCTURED)
    language = models.CharField(max_length=16, default="auto", validators=[validate_language])
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE)
    delivery_mode = models.CharField(max_length=8, choices=DeliveryMode.choices, default=DeliveryMode.HERE)

    # Lifecycle
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_detail = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries")
    started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="Result posted to Discord")
    discord_message_id = models.BigIntegerField(null=True, blank=True, help_text="The posted result message")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by each claim: every later write of the job is conditional on it, so a worker that lost the job
    # (its heartbeat went stale and another worker claimed it) changes nothing and posts nothing.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    # When the sweeper last re-enqueued the job: not again while that task may still be pending.
    requeued_at = models.DateTimeField(null=True, blank=True)
    # Delivery, recorded before each side effect so a rerun reuses what the first attempt made.
    delivery_started_at = models.DateTimeField(null=True, blank=True, help_text="First attempt to post the result")
    delivery_thread_id = models.BigIntegerField(null=True, blank=True, help_text="The thread created for the result")
    # Part of a digest: the digest posts the result, in a section of its own, once all its jobs ended.
    digest = models.ForeignKey("Digest", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["interaction_id"], condition=Q(interaction_id__isnull=False), name="summaries_job_unique_interaction"
            ),
            models.UniqueConstraint(
                fields=["guild", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="summaries_job_unique_idempotency_key",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="summaries_job_progress_percent"),
            # Only an integration can post its own messages instead of naming a channel.
            models.CheckConstraint(
                condition=Q(channel_id__isnull=False) | Q(source__in=["api", "webhook"]),
                name="summaries_job_channel_unless_posted",
            ),
            models.CheckConstraint(
                condition=~Q(window_kind="count") | (Q(message_limit__isnull=False) & Q(message_limit__gte=1)), name="summaries_job_count_window_has_limit"
            ),
            models.CheckConstraint(
                condition=~Q(window_kind="hours") | (Q(hours__isnull=False) & Q(hours__gte=1) & Q(hours__lte=168)),
                name="summaries_job_hours_window_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(window_kind="from_message") | Q(after_message_id__isnull=False),
                name="summaries_job_from_message_has_id",
            ),
        ]
        indexes = [
            # Guild history lists and the dashboard, newest first.
            models.Index(fields=["guild", "-created_at"], name="summaries_job_guild_recent_idx"),
            # The sweeper finds jobs whose worker stopped sending heartbeats.
            models.Index(fields=["status", "heartbeat_at"], name="summaries_job_status_beat_idx"),
            # Per-guild concurrency and per-member cooldown checks.
            models.Index(fields=["guild", "requested_by_user_id", "-created_at"], name="summaries_job_requester_idx"),
        ]

    def __str__(self) -> str:
        return f"job {self.id} ({self.status}) in {self.channel_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in JobStatus.finished()


class PostedTranscript(models.Model):
    """The messages an integration posted for a job, instead of a channel (text that is not on Discord).

    The text is kept until the summary is stored (a failed job can be retried), then erased; the ids stay,
    so the summary's citations can name the messages as the integration knows them.
    """

    job = models.OneToOneField(SummaryJob, on_delete=models.CASCADE, primary_key=True, related_name="posted")
    # [{author, content, timestamp, id}] in timestamp order; [] once summarized.
    messages = models.JSONField(default=list, blank=True)
    # Each message's id as the integration gave it (or its 1-based position), in the same order.
    message_ids = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{len(self.message_ids)} posted messages for job {self.job_id}"


class Summary(TimeStampedModel):
    job = models.OneToOneField(SummaryJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="summary")
    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="summaries")
    channel_id = models.BigIntegerField(null=True, blank=True, help_text="Empty for a summary of posted messages")
    format = models.CharField(max_length=16, choices=SummaryFormat.choices)
    language = models.CharField(max_length=16)
    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=100)
    markdown = models.TextField()
    # [{section, text, message_ids, owner, unverified}] exactly as the engine returned them.
    items = models.JSONField(default=list)
    message_count = models.PositiveIntegerField(default=0)
    participant_count = models.PositiveIntegerField(default=0)
    first_message_id = models.BigIntegerField(null=True, blank=True)
    last_message_id = models.BigIntegerField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    llm_calls = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    redactions = models.JSONField(default=dict, blank=True)
    stale = models.BooleanField(default=False, help_text="A cited message was edited or deleted since")
    stale_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "summaries"
        indexes = [
            # "Since the last summary here" and channel history.
            models.Index(fields=["guild", "channel_id", "-created_at"], name="summaries_summary_channel_idx"),
            # The dashboard's archive of a guild's summaries, newest first, whatever the channel.
            models.Index(fields=["guild", "-created_at"], name="summaries_summary_guild_idx"),
        ]
        # On PostgreSQL the table also has `search_vector`, a stored tsvector of `markdown` with a GIN index,
        # made by migration 0014 outside Django's model state: see summaries/selectors_archive.py.

    def __str__(self) -> str:
        return f"{self.get_format_display()} summary of {self.channel_id} ({self.message_count} messages)"


class SummaryCitation(models.Model):
    """Which messages a summary cites: lets a deletion or edit find the summaries it makes stale."""

    summary = models.ForeignKey(Summary, on_delete=models.CASCADE, related_name="citations")
    message_id = models.BigIntegerField()
    channel_id = models.BigIntegerField()
    # Who wrote the cited message: finds the summaries a member asked to be forgotten from (gdpr_forget).
    author_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["summary", "message_id"], name="summaries_citation_unique_message"),
        ]
        indexes = [
            # MESSAGE_DELETE / MESSAGE_UPDATE look summaries up by message id.
            models.Index(fields=["message_id"], name="summaries_citation_message_idx"),
            # gdpr_forget and gdpr_export: the summaries citing one member's messages.
            models.Index(fields=["author_id"], name="summaries_citation_author_idx"),
        ]

    def __str__(self) -> str:
        return f"summary {self.summary_id} cites {self.message_id}"


class ScheduleFrequency(models.TextChoices):
    HOURLY = "hourly", "Every hour"
    EVERY_N_HOURS = "every_n_hours", "Every N hours"
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "On chosen days of the week"
    MONTHLY = "monthly", "Once a month"
    CRON = "cron", "Cron expression"


class ScheduleMode(models.TextChoices):
    COMBINED = "combined", "One digest with a section per channel"
    PER_CHANNEL = "per_channel", "One summary per channel"


class Schedule(TimeStampedModel):
    """A recurring summary. The timing rules live in summaries/schedule_times.py, the rest in
    summaries/services/schedules.py; `next_run_at` (computed in `timezone`) is the source of truth that
    the django-q2 schedule mirrors."""

    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100)

    # Scope: listed channels, or a category, or the whole guild; the last two minus excluded channels.
    channel_ids = models.JSONField(default=list, blank=True, help_text="Channel or thread ids")
    category_id = models.BigIntegerField(null=True, blank=True)
    whole_guild = models.BooleanField(default=False)
    excluded_channel_ids = models.JSONField(default=list, blank=True)

    # When (see schedule_times.ScheduleTiming for what each frequency reads)
    frequency = models.CharField(max_length=16, choices=ScheduleFrequency.choices, default=ScheduleFrequency.DAILY)
    every_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(168)]
    )
    cron = models.CharField(max_length=100, blank=True)
    time_of_day = models.TimeField(null=True, blank=True, help_text="Local time; for hourly only its minute counts")
    weekdays = models.JSONField(default=list, blank=True, help_text="0 = Monday … 6 = Sunday")
    day_of_month = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="29-31 run on the last day of shorter months",
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    lookback_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(744)],
        help_text="Empty = the time since the previous run",
    )

    # What
    format = models.CharField(max_length=16, choices=SummaryFormat.choices, blank=True, help_text="Empty = the channel's default")
    language = models.CharField(max_length=16, blank=True, validators=[validate_language], help_text="Empty = the channel's default")
    min_messages = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text="A channel with fewer messages in the window is skipped, not summarized",
    )
    mode = models.CharField(max_length=16, choices=ScheduleMode.choices, default=ScheduleMode.PER_CHANNEL)

    # Where
    discord_channel_id = models.BigIntegerField(null=True, blank=True, help_text="Where to post; empty = each channel itself")
    destinations = models.ManyToManyField("webhooks.WebhookDestination", blank=True, related_name="schedules")

    # State
    enabled = models.BooleanField(default=True)
    paused_reason = models.CharField(max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # The slot of the latest run whose outcome was counted: each run counts once, however many jobs it made.
    last_outcome_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~(Q(whole_guild=True) & Q(category_id__isnull=False)), name="summaries_schedule_one_scope"
            ),
            models.CheckConstraint(
                condition=~Q(frequency="cron") | ~Q(cron=""), name="summaries_schedule_cron_has_expression"
            ),
            models.CheckConstraint(
                condition=~Q(frequency="every_n_hours") | Q(every_hours__isnull=False, every_hours__gte=1, every_hours__lte=168),
                name="summaries_schedule_every_hours_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(frequency__in=["daily", "weekly", "monthly"]) | Q(time_of_day__isnull=False),
                name="summaries_schedule_has_time_of_day",
            ),
            models.CheckConstraint(
                condition=~Q(frequency="monthly") | Q(day_of_month__isnull=False, day_of_month__gte=1, day_of_month__lte=31),
                name="summaries_schedule_monthly_has_day",
            ),
            models.CheckConstraint(
                condition=Q(lookback_hours__isnull=True) | Q(lookback_hours__gte=1, lookback_hours__lte=744),
                name="summaries_schedule_lookback_in_range",
            ),
            models.CheckConstraint(condition=Q(min_messages__gte=1), name="summaries_schedule_min_messages_positive"),
        ]
        indexes = [
            # The reconciler lists enabled schedules with their next run.
            models.Index(fields=["enabled", "next_run_at"], name="summaries_schedule_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_frequency_display()})"


class OpenItemSection(models.TextChoices):
    ACTION_ITEM = "action_items", "Action item"
    OPEN_QUESTION = "open_questions", "Open question"


class OpenItemResolution(models.TextChoices):
    ANSWER = "answer", "Answered in reply"
    DONE = "done", "Said done by its owner"
    REACTION = "reaction", "Resolving reaction on its message"


class OpenItem(TimeStampedModel):
    """An action item or open question a schedule's summary of a channel listed, carried into the schedule's
    later runs of that channel ("Still open") until a message resolves it (summaries/services/open_items.py).

    One row per item from its first appearance on: a later summary that lists it again adds nothing, and a
    resolved item is never carried again.
    """

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="open_items")
    channel_id = models.BigIntegerField(help_text="The channel the schedule summarized")
    message_id = models.BigIntegerField(help_text="The message where it was raised (its first citation)")
    message_channel_id = models.BigIntegerField(help_text="Where that message lives: the channel or a thread of it")
    section = models.CharField(max_length=16, choices=OpenItemSection.choices)
    text = models.TextField()
    owner = models.CharField(max_length=100, blank=True)
    owner_id = models.BigIntegerField(null=True, blank=True, help_text="The owner's user id, when it was known")
    raised_by_id = models.BigIntegerField(null=True, blank=True, help_text="Who wrote the message")
    raised_at = models.DateTimeField()
    summary = models.ForeignKey(
        Summary, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="The first summary that listed it"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_message_id = models.BigIntegerField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=OpenItemResolution.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "channel_id", "section", "message_id"], name="summaries_openitem_unique_raised"
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True, resolution="") | (Q(resolved_at__isnull=False) & ~Q(resolution="")),
                name="summaries_openitem_resolved_says_how",
            ),
        ]
        indexes = [
            # A run's carried items: the open ones of its schedule and channel, raised within the horizon.
            models.Index(fields=["schedule", "channel_id", "resolved_at", "raised_at"], name="summaries_openitem_open_idx"),
        ]

    def __str__(self) -> str:
        state = f"resolved ({self.resolution})" if self.resolved_at else "open"
        return f"{self.get_section_display()} raised in {self.message_id}: {state}"


class DigestKind(models.TextChoices):
    SCHEDULE = "schedule", "A combined schedule run"
    CATCH_UP = "catch_up", "A member's catch-up of several channels"


class DigestStatus(models.TextChoices):
    COLLECTING = "collecting", "Waiting for its channels' summaries"
    DELIVERING = "delivering", "Being posted"
    DELIVERED = "delivered", "Posted"
    EMPTY = "empty", "Nothing new in any channel: nothing posted"
    FAILED = "failed", "Could not be posted"


class Digest(TimeStampedModel):
    """One post with a section per channel, assembled from the channels' own summary jobs once all ended.

    Its jobs are normal jobs (same rules, privacy and budget); they post nothing themselves. The last one
    to finish assembles and posts the digest, claimed with a conditional update so it is posted once.
    """

    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="digests")
    kind = models.CharField(max_length=16, choices=DigestKind.choices)
    schedule = models.ForeignKey("Schedule", on_delete=models.SET_NULL, null=True, blank=True, related_name="digests")
    slot = models.DateTimeField(null=True, blank=True, help_text="The schedule run's slot")
    requested_by_user_id = models.BigIntegerField(null=True, blank=True)
    interaction_id = models.BigIntegerField(null=True, blank=True)
    application_id = models.BigIntegerField(null=True, blank=True)
    interaction_token = EncryptedTextField(blank=True)
    post_channel_id = models.BigIntegerField(null=True, blank=True, help_text="Where a schedule's digest is posted")
    # The channels in the order their sections appear.
    channel_ids = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=DigestStatus.choices, default=DigestStatus.COLLECTING)
    markdown = models.TextField(blank=True)
    error_message = models.TextField(blank=True)
    delivery_started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    discord_message_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "slot"], condition=Q(schedule__isnull=False), name="summaries_digest_unique_slot"
            ),
            models.UniqueConstraint(
                fields=["interaction_id"], condition=Q(interaction_id__isnull=False), name="summaries_digest_unique_interaction"
            ),
        ]
        indexes = [models.Index(fields=["status", "delivery_started_at"], name="summaries_digest_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} digest {self.pk} ({self.status})"


class CatchUp(models.Model):
    """Where a member's last catch-up of a channel ended: the next one starts after it."""

    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="+")
    channel_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    last_message_id = models.BigIntegerField(help_text="The last message the catch-up covered")
    caught_up_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel_id", "user_id"], name="summaries_catchup_unique_member_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} caught up on {self.channel_id} to {self.last_message_id}"


class QuestionReply(models.Model):
    """One reply per mention question: claimed (created) before the reply is posted, so a redelivered
    Q&A task finds it and does not answer twice."""

    question_message_id = models.BigIntegerField(primary_key=True)
    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="+")
    channel_id = models.BigIntegerField()
    reply_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reply to {self.question_message_id}: {self.reply_message_id or 'pending'}"


class UsageRecord(models.Model):
    """Tokens and cost per guild, day and model; incremented atomically by the worker."""

    guild = models.ForeignKey("guilds.Guild", on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=100)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    llm_calls = models.PositiveIntegerField(default=0)
    summaries = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["guild", "day", "provider", "model"], name="summaries_usage_unique_day_model"),
            models.CheckConstraint(
                condition=Q(prompt_tokens__gte=0) & Q(completion_tokens__gte=0) & Q(cost_usd__gte=0),
                name="summaries_usage_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guild_id} {self.day} {self.model}: {self.prompt_tokens + self.completion_tokens} tokens"
