"""SummaryWindow: the rules of a summary window, its job columns, and the history query the worker issues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from summaries.models import SummaryJob, WindowKind
from summaries.window import DEFAULT_MESSAGE_LIMIT, SummaryWindow
from summarybot.errors import InvalidInput

ASKED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
INTERACTION_ID = 1_345_000_000_000_000_000


def query_for(window: SummaryWindow, **kwargs):  # type: ignore[no-untyped-def]
    return window.history(asked_at=ASKED_AT, asked_at_id=INTERACTION_ID, **kwargs)


@pytest.mark.parametrize(
    "window",
    [
        SummaryWindow.count(50),
        SummaryWindow.hours(6, before_message_id=77),
        SummaryWindow.since_last_summary(limit=300),
        SummaryWindow.since_my_last_message(),
        SummaryWindow.from_message(42),
        SummaryWindow.range(ASKED_AT - timedelta(days=2), ASKED_AT - timedelta(days=1)),
    ],
    ids=lambda window: window.kind,
)
def test_a_window_survives_the_job_columns_unchanged(window):
    assert SummaryWindow.from_job(SummaryJob(**window.as_job_fields())) == window


def test_a_count_without_a_number_is_the_default_and_ends_when_asked():
    query = query_for(SummaryWindow.count())
    assert (query.limit, query.after_id, query.before_id, query.since) == (
        DEFAULT_MESSAGE_LIMIT, None, INTERACTION_ID, None,
    )
    assert not query.capped(DEFAULT_MESSAGE_LIMIT)  # a count window is exactly its count


def test_an_hours_window_looks_back_from_when_it_was_asked(settings):
    query = query_for(SummaryWindow.hours(6))
    assert query.since == ASKED_AT - timedelta(hours=6)
    assert query.limit == settings.SUMMARY_MAX_WINDOW_MESSAGES and query.capped(query.limit)


def test_from_a_message_includes_that_message():
    assert query_for(SummaryWindow.from_message(42)).after_id == 41


def test_since_last_summary_starts_after_it_or_takes_the_default_count_in_a_new_channel(settings):
    window = SummaryWindow.since_last_summary()
    assert window.needs_previous_summary and not SummaryWindow.count().needs_previous_summary
    after = query_for(window, previous_summary_last_id=900)
    assert (after.after_id, after.limit) == (900, settings.SUMMARY_MAX_WINDOW_MESSAGES)
    first = query_for(window, previous_summary_last_id=None)
    assert (first.after_id, first.limit) == (None, DEFAULT_MESSAGE_LIMIT)


def test_since_my_last_message_walks_back_from_the_bound(settings):
    query = query_for(SummaryWindow.since_my_last_message(before_message_id=500))
    assert query.to_requesters_last_message
    assert (query.limit, query.before_id) == (settings.SUMMARY_MAX_WINDOW_MESSAGES, 500)


def test_a_range_bounds_both_ends():
    since, until = ASKED_AT - timedelta(days=2), ASKED_AT - timedelta(days=1)
    query = query_for(SummaryWindow.range(since, until, limit=80))
    assert (query.since, query.until, query.limit) == (since, until, 80)


def test_parse_picks_the_named_constructor_and_ignores_what_the_kind_does_not_use():
    assert SummaryWindow.parse("hours", hours=3, after_message_id=9) == SummaryWindow.hours(3)
    assert SummaryWindow.parse(WindowKind.COUNT) == SummaryWindow.count()


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: SummaryWindow.count(10**9), "message_limit must be between 1 and"),
        (lambda: SummaryWindow.hours(None), "between 1 and 168"),
        (lambda: SummaryWindow.range(ASKED_AT, ASKED_AT), "end after it starts"),
        (lambda: SummaryWindow.range(datetime.now(UTC) + timedelta(hours=1)), "starts in the future"),
    ],
)
def test_bad_windows_are_refused_where_they_are_made(build, words):
    with pytest.raises(InvalidInput, match=words):
        build()


def test_only_since_my_last_message_needs_a_requesting_member():
    SummaryWindow.count().check_requester(None)
    SummaryWindow.since_my_last_message().check_requester(7)
    with pytest.raises(InvalidInput, match="requesting member"):
        SummaryWindow.since_my_last_message().check_requester(None)
