from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from summaries.models import OpenItem, Schedule, Summary, SummaryCitation, SummaryJob, UsageRecord
from summaries.selectors import schedule_scope_label
from summaries.services.jobs import job_retry
from summaries.services.schedules import schedule_pause, schedule_resume, schedule_run_now
from summarybot.errors import SummaryBotError


@admin.register(SummaryJob)
class SummaryJobAdmin(admin.ModelAdmin):
    list_display = ("id", "guild", "channel_id", "source", "status", "progress", "error_code", "attempts", "created_at")
    list_filter = ("status", "source", "format", "error_code")
    search_fields = ("=id", "=guild__id", "=channel_id", "=requested_by_user_id", "idempotency_key")
    list_select_related = ("guild",)
    date_hierarchy = "created_at"
    exclude = ("interaction_token",)
    readonly_fields = [f.name for f in SummaryJob._meta.fields if f.name != "interaction_token"]
    actions = ("retry",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry selected failed jobs (as new linked jobs)")
    def retry(self, request: HttpRequest, queryset: QuerySet[SummaryJob]) -> None:
        retried, refused = 0, []
        for job in queryset:
            try:
                job_retry(job=job)
                retried += 1
            except SummaryBotError as exc:
                refused.append(f"{job.pk}: {exc.message}")
        if retried:
            self.message_user(request, f"Queued {retried} retr{'y' if retried == 1 else 'ies'}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)


class CitationInline(admin.TabularInline):
    model = SummaryCitation
    extra = 0
    can_delete = False
    readonly_fields = ("message_id", "channel_id")


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = ("id", "guild", "channel_id", "format", "model", "message_count", "prompt_tokens", "cost_usd", "stale", "created_at")
    list_filter = ("format", "provider", "stale")
    search_fields = ("=guild__id", "=channel_id", "=job__id")
    list_select_related = ("guild",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Summary._meta.fields]
    inlines = (CitationInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    """Read and pause from here; edits go through the services (API, Discord) that validate and re-arm."""

    list_display = (
        "name", "guild", "scope_display", "frequency", "timezone", "enabled", "consecutive_failures", "next_run_at",
        "last_run_at",
    )
    list_filter = ("frequency", "mode", "enabled")
    search_fields = ("name", "=guild__id", "guild__name")
    list_select_related = ("guild",)
    readonly_fields = [f.name for f in Schedule._meta.fields] + ["destinations"]
    actions = ("pause", "resume", "run_now")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Schedule | None = None) -> bool:
        return False

    @admin.display(description="scope")
    def scope_display(self, schedule: Schedule) -> str:
        return schedule_scope_label(schedule)

    def _each(self, request: HttpRequest, queryset: QuerySet[Schedule], action: Callable[..., object], done: str) -> None:
        count = 0
        for schedule in queryset:
            try:
                action(guild_id=schedule.guild_id, schedule_id=schedule.pk)
                count += 1
            except SummaryBotError as exc:
                self.message_user(request, f"{schedule.name}: {exc.message}", messages.WARNING)
        if count:
            self.message_user(request, f"{done} {count} schedule{'s' if count != 1 else ''}.", messages.SUCCESS)

    @admin.action(description="Pause selected schedules")
    def pause(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, queryset, schedule_pause, "Paused")

    @admin.action(description="Resume selected schedules")
    def resume(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, queryset, schedule_resume, "Resumed")

    @admin.action(description="Run selected schedules now")
    def run_now(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, queryset, schedule_run_now, "Queued a run of")


@admin.register(OpenItem)
class OpenItemAdmin(admin.ModelAdmin):
    """What a schedule carries as "Still open"; written by its runs only."""

    list_display = ("section", "schedule", "channel_id", "owner", "raised_at", "resolved_at", "resolution")
    list_filter = ("section", "resolution")
    search_fields = ("=schedule__id", "=channel_id", "=message_id", "owner")
    list_select_related = ("schedule",)
    date_hierarchy = "raised_at"
    readonly_fields = [f.name for f in OpenItem._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ("guild", "day", "provider", "model", "prompt_tokens", "completion_tokens", "llm_calls", "summaries", "cost_usd")
    list_filter = ("provider", "model")
    search_fields = ("=guild__id", "guild__name")
    date_hierarchy = "day"
    list_select_related = ("guild",)
    readonly_fields = [f.name for f in UsageRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
