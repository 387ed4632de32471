"""summary_request: the one door every front door uses. Refusals explain themselves and write nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from guilds.models import Channel, ChannelKind
from guilds.services import ChannelData, channel_config_update, channel_sync
from summaries.models import JobStatus, SummaryJob, UsageRecord
from summaries.services.jobs import (
    ClaimLost,
    SummaryRequest,
    enqueue_job,
    job_claim,
    job_delivered,
    job_delivery_step,
    job_fail,
    job_finish,
    job_progress,
    jobs_sweep_stalled,
    summary_request,
)
from summaries.window import SummaryWindow
from summarybot.errors import (
    BudgetExceeded,
    IdempotencyKeyReused,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
)
from tests.factories import ChannelFactory, GuildFactory, ScheduleFactory, SummaryJobFactory

pytestmark = pytest.mark.django_db


def request_for(channel, **kwargs) -> SummaryRequest:
    return SummaryRequest(guild_id=channel.guild_id, channel_id=channel.id, source="slash_command", **kwargs)


def queued_job_ids() -> list[str]:
    return [task.args()[0] for task in OrmQ.objects.all() if task.func() == "summaries.tasks.run_summary_job"]


def test_request_creates_a_queued_job_with_guild_defaults_and_enqueues_after_commit(django_capture_on_commit_callbacks):
    channel = ChannelFactory(guild=GuildFactory(default_format="brief", default_language="fr"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job, created = summary_request(request=request_for(channel, requested_by_user_id=7))
        assert queued_job_ids() == []  # nothing reaches a worker before the row is committed
    for callback in callbacks:
        callback()
    assert created and job.status == JobStatus.QUEUED
    assert (job.format, job.language, job.message_limit) == ("brief", "fr", 200)
    assert queued_job_ids() == [str(job.pk)]


def test_channel_overrides_beat_guild_defaults():
    channel = ChannelFactory(format_override="technical", language_override="de")
    job, _ = summary_request(request=request_for(channel))
    assert (job.format, job.language) == ("technical", "de")


def test_same_interaction_never_creates_two_jobs():
    channel = ChannelFactory()
    first, created = summary_request(request=request_for(channel, interaction_id=555, requested_by_user_id=1))
    again, created_again = summary_request(request=request_for(channel, interaction_id=555, requested_by_user_id=1))
    assert created and not created_again and first.pk == again.pk
    assert SummaryJob.objects.count() == 1


def test_same_idempotency_key_returns_the_first_job():
    channel = ChannelFactory()
    first, _ = summary_request(
        request=SummaryRequest(guild_id=channel.guild_id, channel_id=channel.id, source="api", idempotency_key="zap-1")
    )
    again, created = summary_request(
        request=SummaryRequest(guild_id=channel.guild_id, channel_id=channel.id, source="api", idempotency_key="zap-1")
    )
    assert not created and again.pk == first.pk


def test_an_idempotency_key_reused_for_another_request_is_refused_not_answered_with_the_first():
    channel = ChannelFactory()
    other = ChannelFactory(guild=channel.guild)

    def ask(channel_id: int, window: SummaryWindow) -> SummaryJob:
        job, _ = summary_request(request=SummaryRequest(
            guild_id=channel.guild_id, channel_id=channel_id, source="api", idempotency_key="zap-2", window=window,
        ))
        return job

    first = ask(channel.id, SummaryWindow.hours(6))
    assert ask(channel.id, SummaryWindow.hours(6)).pk == first.pk
    for channel_id, window in [(channel.id, SummaryWindow.hours(7)), (other.id, SummaryWindow.hours(6))]:
        with pytest.raises(IdempotencyKeyReused) as refused:
            ask(channel_id, window)
        assert refused.value.http_status == 422 and refused.value.details == {"summary_id": str(first.pk)}
    assert SummaryJob.objects.count() == 1


@pytest.mark.parametrize(
    ("channel_kwargs", "error", "words"),
    [
        ({"enabled": False}, PermissionDenied, "turned off"),
        ({"is_locked": True}, PermissionDenied, "private"),
        ({"deleted_at": timezone.now()}, NotFound, "deleted"),
    ],
)
def test_channel_refusals(channel_kwargs, error, words):
    channel = ChannelFactory(**channel_kwargs)
    with pytest.raises(error, match=words):
        summary_request(request=request_for(channel))
    assert not SummaryJob.objects.exists()


def test_locked_channel_allowed_once_an_admin_enables_it():
    channel = ChannelFactory(is_locked=True, allow_when_locked=True)
    job, created = summary_request(request=request_for(channel))
    assert created


def test_a_channel_of_another_guild_looks_unknown():
    channel = ChannelFactory()
    other_guild = GuildFactory()
    with pytest.raises(NotFound, match="not in this server"):
        summary_request(request=SummaryRequest(guild_id=other_guild.id, channel_id=channel.id, source="api"))


def test_a_channel_missing_from_the_mirror_is_refused_not_waved_through():
    # A crafted id, an old archived thread, a channel made while the bot was offline: no rule can be
    # checked for it, so it is refused (it used to skip the enabled/locked checks and get a job).
    guild = GuildFactory()
    with pytest.raises(NotFound, match="don't know channel"):
        summary_request(request=SummaryRequest(guild_id=guild.id, channel_id=424242, source="api"))
    assert not SummaryJob.objects.exists()


def test_a_channel_the_front_door_saw_is_mirrored_first_and_its_rules_apply():
    parent = ChannelFactory(is_locked=True)  # a private channel, not allowed
    thread = ChannelData(id=515151, name="old-thread", kind=ChannelKind.PUBLIC_THREAD, parent_id=parent.id)
    request = SummaryRequest(guild_id=parent.guild_id, channel_id=thread.id, source="slash_command", channel_seen=thread)
    with pytest.raises(PermissionDenied, match="its threads"):
        summary_request(request=request)
    row = Channel.objects.get(pk=thread.id)
    assert (row.guild_id, row.parent_id, row.kind) == (parent.guild_id, parent.id, ChannelKind.PUBLIC_THREAD)

    channel_config_update(guild_id=parent.guild_id, channel_id=parent.id, changes={"allow_when_locked": True})
    job, created = summary_request(request=request)
    assert created and job.channel_id == thread.id


@pytest.mark.parametrize(
    ("parent_kwargs", "words"),
    [({"enabled": False}, "turned off in #"), ({"is_locked": True}, "private")],
)
def test_a_thread_follows_its_channels_settings(parent_kwargs, words):
    parent = ChannelFactory(**parent_kwargs)
    # The thread's own row says nothing against it: only its channel's settings refuse it.
    thread = ChannelFactory(guild=parent.guild, parent_id=parent.id, kind=ChannelKind.PUBLIC_THREAD)
    with pytest.raises(PermissionDenied, match=words):
        summary_request(request=request_for(thread))
    assert not SummaryJob.objects.exists()


def test_a_thread_whose_channel_is_not_mirrored_is_refused():
    thread = ChannelFactory(parent_id=616161, kind=ChannelKind.PUBLIC_THREAD)
    with pytest.raises(NotFound, match="belongs to"):
        summary_request(request=request_for(thread))


def test_a_thread_is_refused_once_its_channel_is_locked_and_follows_it_in_the_mirror():
    parent = ChannelFactory()
    thread = ChannelFactory(guild=parent.guild, parent_id=parent.id, kind=ChannelKind.PUBLIC_THREAD)
    summary_request(request=request_for(thread, requested_by_user_id=1))

    # @everyone loses View Channel on the parent: its (archived) thread gets no event of its own.
    channel_sync(guild_id=parent.guild_id, channel=ChannelData(id=parent.id, name=parent.name, kind="text", is_locked=True))
    thread.refresh_from_db()
    assert thread.is_locked
    with pytest.raises(PermissionDenied, match="its threads"):
        summary_request(request=request_for(thread, requested_by_user_id=2))


def test_a_thread_of_a_locked_channel_an_admin_allowed_is_allowed():
    parent = ChannelFactory(is_locked=True, allow_when_locked=True)
    thread = ChannelFactory(guild=parent.guild, parent_id=parent.id, kind=ChannelKind.PUBLIC_THREAD, is_locked=True)
    _, created = summary_request(request=request_for(thread))
    assert created


def test_a_public_summary_of_a_private_channel_is_not_shown_in_another_channel():
    staff = ChannelFactory(name="staff", is_locked=True, allow_when_locked=True)
    general = ChannelFactory(guild=staff.guild, name="general")
    public_elsewhere = request_for(staff, visibility="public", reply_channel_id=general.id)
    with pytest.raises(PermissionDenied, match="won't post its summary there"):
        summary_request(request=public_elsewhere)
    assert not SummaryJob.objects.exists()

    # Privately, in #staff itself, or in a new thread of #staff: its readers only.
    for allowed in (
        request_for(staff, visibility="private", reply_channel_id=general.id, requested_by_user_id=1),
        request_for(staff, visibility="public", reply_channel_id=staff.id, requested_by_user_id=2),
        request_for(staff, visibility="public", delivery_mode="thread", reply_channel_id=general.id, requested_by_user_id=3),
    ):
        assert summary_request(request=allowed)[1]


def test_a_public_summary_of_an_open_channel_may_be_shown_in_another_channel():
    announcements = ChannelFactory(name="announcements")
    general = ChannelFactory(guild=announcements.guild, name="general")
    _, created = summary_request(request=request_for(announcements, visibility="public", reply_channel_id=general.id))
    assert created


def test_a_schedule_posting_a_private_channel_elsewhere_is_refused():
    staff = ChannelFactory(name="staff", is_locked=True, allow_when_locked=True)
    schedule = ScheduleFactory(guild=staff.guild, channel_ids=[staff.id], discord_channel_id=ChannelFactory(guild=staff.guild).id)
    with pytest.raises(PermissionDenied, match="won't post"):
        summary_request(
            request=SummaryRequest(
                guild_id=staff.guild_id, channel_id=staff.id, source="schedule", schedule=schedule, visibility="public"
            )
        )


@pytest.mark.parametrize(
    ("make_kwargs", "words"),
    [
        (lambda: {"window": SummaryWindow.hours(0)}, "between 1 and 168"),
        (lambda: {"window": SummaryWindow.hours(169)}, "between 1 and 168"),
        (lambda: {"window": SummaryWindow.count(0)}, "between 1 and"),
        (lambda: {"window": SummaryWindow.from_message(None)}, "message to start from"),
        (lambda: {"window": SummaryWindow.since_my_last_message()}, "requesting member"),
        (lambda: {"window": SummaryWindow.range(None)}, "start time"),
        (lambda: {"window": SummaryWindow.parse("fortnight")}, "Unknown window"),
        (lambda: {"visibility": "secret"}, "visibility"),
        (lambda: {"delivery_mode": "pigeon"}, "delivery"),
    ],
)
def test_bad_windows_are_refused_with_a_reason(make_kwargs, words):
    channel = ChannelFactory()
    # The window is built inside the check: a bad one is refused where it is made, before any job exists.
    with pytest.raises(InvalidInput, match=words):
        summary_request(request=request_for(channel, **make_kwargs()))
    assert not SummaryJob.objects.exists()


def test_member_cooldown_then_guild_concurrency():
    channel = ChannelFactory(guild=GuildFactory(member_cooldown_seconds=60, max_concurrent_jobs=2))
    summary_request(request=request_for(channel, requested_by_user_id=1))
    with pytest.raises(LimitExceeded, match="another summary in") as excinfo:
        summary_request(request=request_for(channel, requested_by_user_id=1))
    assert 0 < excinfo.value.retry_after <= 60
    summary_request(request=request_for(channel, requested_by_user_id=2))
    with pytest.raises(LimitExceeded, match="already has 2 summaries in progress"):
        summary_request(request=request_for(channel, requested_by_user_id=3))


def test_monthly_budget_refusal_says_what_was_used_and_when_it_resets():
    guild = GuildFactory(monthly_token_budget=1000)
    UsageRecord.objects.create(
        guild=guild, day=timezone.localdate(), provider="openai", model="gpt-4o-mini",
        prompt_tokens=900, completion_tokens=150, cost_usd=Decimal("0.01"),
    )
    with pytest.raises(BudgetExceeded, match="1,000 tokens is used up") as excinfo:
        summary_request(request=request_for(ChannelFactory(guild=guild)))
    assert "resets on" in excinfo.value.message


def test_unknown_guild():
    with pytest.raises(NotFound):
        summary_request(request=SummaryRequest(guild_id=1, channel_id=2, source="api"))


def test_claim_is_exclusive_and_a_finished_job_is_never_rerun():
    job = SummaryJobFactory()
    claimed = job_claim(job_id=job.pk)
    assert claimed is not None and claimed.status == JobStatus.FETCHING and claimed.attempts == 1
    assert job_claim(job_id=job.pk) is None  # a live worker holds it
    SummaryJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    assert job_claim(job_id=job.pk) is None


def test_a_job_whose_worker_died_is_handed_on_and_given_up_after_max_attempts(settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = SummaryJobFactory()
    job_claim(job_id=job.pk)
    long_ago = timezone.now() - timedelta(minutes=10)
    SummaryJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    assert jobs_sweep_stalled() == 1
    assert jobs_sweep_stalled() == 0  # not again while that task may still be waiting for a worker
    assert queued_job_ids() == [str(job.pk)]
    second = job_claim(job_id=job.pk)
    assert second is not None and second.attempts == 2
    SummaryJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    assert job_claim(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "worker_lost"


def test_a_queued_job_whose_task_was_lost_with_its_worker_is_enqueued_again_once_per_window():
    long_ago = timezone.now() - timedelta(minutes=10)
    lost, waiting, fresh = SummaryJobFactory(), SummaryJobFactory(), SummaryJobFactory()
    SummaryJob.objects.filter(pk__in=[lost.pk, waiting.pk]).update(created_at=long_ago)
    enqueue_job(job_id=waiting.pk)  # its task is still in the queue; `lost`'s left with a killed worker
    enqueue_job(job_id=fresh.pk)
    assert jobs_sweep_stalled() == 1
    assert sorted(queued_job_ids()) == sorted([str(waiting.pk), str(fresh.pk), str(lost.pk)])
    assert jobs_sweep_stalled() == 0  # the queue holds a task for every queued job again
    OrmQ.objects.all().delete()  # every task lost: `lost` was handed on in this window already
    assert jobs_sweep_stalled() == 1 and queued_job_ids() == [str(waiting.pk)]


def test_progress_never_moves_a_finished_job():
    job = SummaryJobFactory(status=JobStatus.DONE, progress=100)
    job_progress(job=job, status=JobStatus.SUMMARIZING, progress=40)
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobStatus.DONE, 100)


def test_a_worker_that_lost_its_claim_writes_nothing_and_may_not_deliver():
    job = SummaryJobFactory()
    first = job_claim(job_id=job.pk, worker="a")
    assert first is not None and job_claim(job_id=job.pk, worker="b") is None  # a live worker holds it
    # Its heartbeat went stale (a long stall): another worker takes the job over.
    SummaryJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    second = job_claim(job_id=job.pk, worker="b")
    assert second is not None and second.claim_token != first.claim_token

    assert job_progress(job=first, progress=50) is False
    with pytest.raises(ClaimLost):
        job_delivery_step(job=first)
    with pytest.raises(ClaimLost):
        job_delivered(job=first, message_id=1)
    job_finish(job=first)
    job_fail(job=first, code="internal_error", message="late")
    job.refresh_from_db()
    assert (job.status, job.progress, job.delivered_at, job.claim_token) == (
        JobStatus.FETCHING, 0, None, second.claim_token
    )
    assert job_progress(job=second, progress=50) is True
