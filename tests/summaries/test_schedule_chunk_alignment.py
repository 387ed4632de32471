"""A scheduled job's engine options align its chunks to its schedule's periods; other jobs' do not."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from summaries.engine.options import SummaryOptions
from summaries.models import JobSource
from summaries.services.schedule_runs import schedule_job_options
from tests.factories import ScheduleFactory, SummaryJobFactory

pytestmark = pytest.mark.django_db

OPTIONS = SummaryOptions(format="structured", language="en")


def test_a_weekly_scheduled_job_is_planned_in_local_days_at_the_schedules_time() -> None:
    schedule = ScheduleFactory(frequency="weekly", weekdays=[0], time_of_day=time(9), timezone="UTC")
    since, until = datetime(2026, 5, 4, 9, tzinfo=UTC), datetime(2026, 5, 11, 9, tzinfo=UTC)
    job = SummaryJobFactory(
        guild=schedule.guild, source=JobSource.SCHEDULE, schedule=schedule, window_kind="range",
        since=since, until=until,
    )

    options = schedule_job_options(job=job, options=OPTIONS)

    assert options.chunk_boundaries == tuple(datetime(2026, 5, day, 9, tzinfo=UTC) for day in range(4, 12))
    assert options.format == OPTIONS.format and options.language == OPTIONS.language


def test_an_on_demand_job_keeps_whole_window_planning() -> None:
    job = SummaryJobFactory(
        source=JobSource.API, window_kind="range",
        since=datetime(2026, 5, 4, 9, tzinfo=UTC), until=datetime(2026, 5, 11, 9, tzinfo=UTC),
    )
    assert schedule_job_options(job=job, options=OPTIONS) is OPTIONS


def test_a_job_whose_schedule_was_deleted_keeps_its_options() -> None:
    schedule = ScheduleFactory()
    job = SummaryJobFactory(
        guild=schedule.guild, source=JobSource.SCHEDULE, schedule=schedule, window_kind="range",
        since=datetime(2026, 5, 4, 9, tzinfo=UTC), until=datetime(2026, 5, 5, 9, tzinfo=UTC),
    )
    schedule.delete()
    job.refresh_from_db()
    assert schedule_job_options(job=job, options=OPTIONS) is OPTIONS
