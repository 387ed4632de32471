"""The schedules list: each schedule's next run (its own zone and UTC), failures, pause reason, and its last
runs with their result, read from the jobs (and digests) the runs made."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from summaries.models import Digest, DigestKind, DigestStatus, JobSource, Schedule, SummaryJob
from summaries.services.dashboard import schedule_recent_runs
from tests.dashboard.conftest import Server
from tests.factories import ChannelFactory, ScheduleFactory, SummaryFactory, SummaryJobFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
FIRST_SLOT = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)  # 09:00 in Berlin


def run_job(
    schedule: Schedule,
    channel_id: int,
    slot: datetime,
    status: str = "done",
    *,
    summarized: bool = True,
    error: str = "",
    digest: Digest | None = None,
) -> SummaryJob:
    job = SummaryJobFactory(
        guild=schedule.guild,
        channel_id=channel_id,
        source=JobSource.SCHEDULE,
        schedule=schedule,
        window_kind="range",
        message_limit=None,
        since=slot - DAY,
        until=slot,
        status=status,
        error_message=error,
        digest=digest,
    )
    if summarized:
        SummaryFactory(guild=schedule.guild, channel_id=channel_id, job=job)
    return job


def row_of(page: str, schedule: Schedule) -> str:
    found = re.search(rf'<tr id="schedule-{schedule.pk}" .*?</tr>\s*<tr class="schedule-runs".*?</tr>', page, re.DOTALL)
    assert found is not None
    return found.group(0)


def results(row: str) -> list[str]:
    return re.findall(r'data-result="([a-z]+)"', row)


def test_the_last_five_runs_newest_first_with_their_result_channels_and_error(
    manager_client: Client, server: Server
) -> None:
    dev = ChannelFactory(guild=server.guild, name="dev")
    schedule = ScheduleFactory(
        guild=server.guild,
        channel_ids=[server.general.id, dev.id],
        timezone="Europe/Berlin",
        next_run_at=datetime(2030, 1, 7, 8, 0, tzinfo=UTC),
        consecutive_failures=1,
    )
    slots = [FIRST_SLOT + n * DAY for n in range(6)]
    run_job(schedule, server.general.id, slots[0])  # the oldest: not shown
    run_job(schedule, dev.id, slots[0])
    run_job(schedule, server.general.id, slots[1])  # done, one of the two channels quiet
    run_job(schedule, dev.id, slots[1], summarized=False)
    run_job(schedule, server.general.id, slots[2], summarized=False)  # both quiet
    run_job(schedule, dev.id, slots[2], summarized=False)
    run_job(schedule, server.general.id, slots[3])  # one channel failed
    failed = run_job(schedule, dev.id, slots[3], "failed", summarized=False, error="Discord said 403 Missing Access")
    run_job(schedule, server.general.id, slots[4], "partial", error="The summary was made but could not be posted")
    run_job(schedule, server.general.id, slots[5], "summarizing", summarized=False)  # still running
    done = run_job(schedule, dev.id, slots[5])

    row = row_of(manager_client.get(f"/servers/{server.guild.id}/schedules/").content.decode(), schedule)

    assert results(row) == ["running", "failed", "failed", "quiet", "done"]
    assert "Wed 1 May" not in row and "2024-05-01 07:00 UTC" not in row  # the sixth run back
    assert "Mon 6 May, 09:00 CEST" in row and "(2024-05-06 07:00 UTC)" in row
    assert "#dev: Discord said 403 Missing Access" in row
    assert "2 channels (1 quiet)" in row and "skipped as quiet" in row
    # Job ids are left as text with data-job-id, for the job page to link to once it exists.
    assert f'data-job-id="{failed.pk}"' in row and f'data-job-id="{done.pk}"' in row
    assert f">{str(failed.pk)[:8]}</code>" in row
    # Next run in the schedule's own zone and in UTC; failures in a row.
    assert "Mon 7 Jan, 09:00 CET" in row and "2030-01-07 08:00 UTC" in row
    assert "1 failed run in a row" in row


def test_a_paused_schedule_says_why_and_one_without_runs_says_so(manager_client: Client, server: Server) -> None:
    paused = ScheduleFactory(
        guild=server.guild,
        enabled=False,
        consecutive_failures=3,
        paused_reason="Paused after 3 failed runs in a row. Last: <#1>: budget exceeded",
    )
    row = row_of(manager_client.get(f"/servers/{server.guild.id}/schedules/").content.decode(), paused)
    assert "<strong>paused</strong>" in row and "Paused after 3 failed runs in a row. Last: &lt;#1&gt;" in row
    assert "3 failed runs in a row" in row and "No runs yet." in row and "next-run" not in row


def test_a_combined_run_takes_its_digests_result(server: Server) -> None:
    schedule = ScheduleFactory(guild=server.guild, mode="combined", discord_channel_id=server.general.id)
    slots = [FIRST_SLOT + n * DAY for n in range(3)]
    outcomes = [
        (DigestStatus.FAILED, "Discord refused the post: 50013 Missing Permissions"),
        (DigestStatus.EMPTY, ""),
        (DigestStatus.DELIVERED, ""),
    ]
    for slot, (status, error) in zip(slots, outcomes, strict=True):
        digest = Digest.objects.create(
            guild=server.guild,
            kind=DigestKind.SCHEDULE,
            schedule=schedule,
            slot=slot,
            status=status,
            error_message=error,
            channel_ids=[server.general.id],
        )
        run_job(schedule, server.general.id, slot, summarized=status != DigestStatus.EMPTY, digest=digest)

    runs = schedule_recent_runs(schedule_ids=[schedule.pk])[schedule.pk]

    assert [(run.slot, run.result) for run in runs] == [
        (slots[2], "done"),
        (slots[1], "quiet"),
        (slots[0], "failed"),
    ]
    assert runs[2].error == "Discord refused the post: 50013 Missing Permissions"


def test_runs_are_each_schedules_own(server: Server) -> None:
    first, second = ScheduleFactory(guild=server.guild), ScheduleFactory(guild=server.guild)
    run_job(first, server.general.id, FIRST_SLOT)
    run_job(second, server.general.id, FIRST_SLOT, "failed", summarized=False, error="boom")
    SummaryJobFactory(guild=server.guild, channel_id=server.general.id, status="failed")  # not a schedule's

    runs = schedule_recent_runs(schedule_ids=[first.pk, second.pk])

    assert [run.result for run in runs[first.pk]] == ["done"]
    assert [(run.result, run.error) for run in runs[second.pk]] == [("failed", "#general: boom")]
