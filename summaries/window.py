"""Which messages of a channel a summary covers: one validated, immutable value and its rules.

Every front door (the slash and context commands, the reaction trigger; later the REST API and schedules)
builds a window with a named constructor, so the rules and their messages live here only. A job stores it
in its columns (`as_job_fields` / `from_job`), and the worker turns it back into the one history query it
issues (`history`). Nothing here knows a Django request or discord.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from summaries.models import WindowKind
from summarybot.errors import InvalidInput

if TYPE_CHECKING:
    from summaries.models import SummaryJob

# A count window without a number, and a since-last-summary window in a channel never summarized.
DEFAULT_MESSAGE_LIMIT = 200
MAX_WINDOW_HOURS = 168


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What the worker asks Discord's history for: at most `limit` messages within the bounds."""

    limit: int
    after_id: int | None = None
    before_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Since-my-last-message has no bound Discord can filter on: walk back from before_id, page by page,
    # to the requester's own last message, at most `limit` messages.
    to_requesters_last_message: bool = False
    # A catch-up reads its bounded window, then keeps only what came after the requester's last message in it.
    after_requesters_last_message: bool = False
    # A count window is exactly its limit; any other window reaching the limit was cut short.
    limit_cuts_short: bool = True

    def capped(self, fetched: int) -> bool:
        return self.limit_cuts_short and fetched >= self.limit


@dataclass(frozen=True, slots=True)
class SummaryWindow:
    """Build it with a named constructor (they validate); `from_job` alone trusts what it is given.

    `limit` caps any window's message count (a count window's is its count); `before_message_id` ends any
    window before that message (by default it ends when it was asked for).
    """

    kind: str
    limit: int | None = None
    lookback_hours: int | None = None
    after_message_id: int | None = None
    before_message_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def count(cls, messages: int | None = None, *, before_message_id: int | None = None) -> SummaryWindow:
        """The last `messages` messages, DEFAULT_MESSAGE_LIMIT when not given."""
        _check_limit(messages)
        return cls(
            WindowKind.COUNT, limit=messages or DEFAULT_MESSAGE_LIMIT, before_message_id=before_message_id or None
        )

    @classmethod
    def hours(
        cls, hours: int | None, *, limit: int | None = None, before_message_id: int | None = None
    ) -> SummaryWindow:
        _check_limit(limit)
        if hours is None or not 1 <= hours <= MAX_WINDOW_HOURS:
            raise InvalidInput(f"hours must be between 1 and {MAX_WINDOW_HOURS} (one week).")
        return cls(WindowKind.HOURS, limit=limit, lookback_hours=hours, before_message_id=before_message_id or None)

    @classmethod
    def since_last_summary(cls, *, limit: int | None = None, before_message_id: int | None = None) -> SummaryWindow:
        _check_limit(limit)
        return cls(WindowKind.SINCE_LAST_SUMMARY, limit=limit, before_message_id=before_message_id or None)

    @classmethod
    def since_my_last_message(cls, *, before_message_id: int | None = None) -> SummaryWindow:
        """Needs a requesting member: see `check_requester`. Its walk is bounded by the window maximum."""
        return cls(WindowKind.SINCE_MY_LAST_MESSAGE, before_message_id=before_message_id or None)

    @classmethod
    def catch_up(cls, *, after_message_id: int | None, max_hours: int) -> SummaryWindow:
        """Since the member's last message or their last catch-up (`after_message_id`), whichever is later,
        and at most `max_hours` back. Needs a requesting member."""
        if not 1 <= max_hours <= MAX_WINDOW_HOURS:
            raise InvalidInput(f"A catch-up reaches back between 1 and {MAX_WINDOW_HOURS} hours.")
        return cls(WindowKind.CATCH_UP, lookback_hours=max_hours, after_message_id=after_message_id or None)

    @classmethod
    def from_message(
        cls, message_id: int | None, *, limit: int | None = None, before_message_id: int | None = None
    ) -> SummaryWindow:
        """From that message (included) on."""
        _check_limit(limit)
        if not message_id:
            raise InvalidInput("A 'from message' window needs the message to start from.")
        return cls(
            WindowKind.FROM_MESSAGE,
            limit=limit,
            after_message_id=message_id,
            before_message_id=before_message_id or None,
        )

    @classmethod
    def range(
        cls,
        since: datetime | None,
        until: datetime | None = None,
        *,
        limit: int | None = None,
        before_message_id: int | None = None,
    ) -> SummaryWindow:
        """Between two aware times; without `until`, from `since` to when it is asked for."""
        _check_limit(limit)
        if since is None:
            raise InvalidInput("A range window needs a start time.")
        if until is not None and until <= since:
            raise InvalidInput("The range must end after it starts.")
        if until is None and since > timezone.now():
            raise InvalidInput("The range starts in the future.")
        return cls(WindowKind.RANGE, limit=limit, since=since, until=until, before_message_id=before_message_id or None)

    @classmethod
    def parse(
        cls,
        kind: str,
        *,
        limit: int | None = None,
        hours: int | None = None,
        after_message_id: int | None = None,
        before_message_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> SummaryWindow:
        """From loose fields (a form's kind select, an API body): the named constructor for `kind`.

        Fields that `kind` does not use are ignored.
        """
        if kind not in WindowKind.values:
            raise InvalidInput(f"Unknown window {kind!r}; use one of: {', '.join(WindowKind.values)}.")
        if kind == WindowKind.COUNT:
            return cls.count(limit, before_message_id=before_message_id)
        if kind == WindowKind.HOURS:
            return cls.hours(hours, limit=limit, before_message_id=before_message_id)
        if kind == WindowKind.SINCE_LAST_SUMMARY:
            return cls.since_last_summary(limit=limit, before_message_id=before_message_id)
        if kind == WindowKind.SINCE_MY_LAST_MESSAGE:
            return cls.since_my_last_message(before_message_id=before_message_id)
        if kind == WindowKind.CATCH_UP:
            raise InvalidInput("A catch-up is asked for by a member, with /catchup.")
        if kind == WindowKind.FROM_MESSAGE:
            return cls.from_message(after_message_id, limit=limit, before_message_id=before_message_id)
        return cls.range(since, until, limit=limit, before_message_id=before_message_id)

    @classmethod
    def from_job(cls, job: SummaryJob) -> SummaryWindow:
        """The window a job stores, as it was validated when the job was asked for.

        Not validated again: a job queued under older limits (a lowered SUMMARY_MAX_WINDOW_MESSAGES, a range
        that has since started) still runs, or is retried, as it was accepted.
        """
        return cls(
            kind=job.window_kind,
            limit=job.message_limit,
            lookback_hours=job.hours,
            after_message_id=job.after_message_id,
            before_message_id=job.before_message_id,
            since=job.since,
            until=job.until,
        )

    def as_job_fields(self) -> dict[str, Any]:
        """The SummaryJob columns that store this window."""
        return {
            "window_kind": self.kind,
            "message_limit": self.limit,
            "hours": self.lookback_hours,
            "after_message_id": self.after_message_id,
            "before_message_id": self.before_message_id,
            "since": self.since,
            "until": self.until,
        }

    def check_requester(self, requested_by_user_id: int | None) -> None:
        """Since-my-last-message is relative to a member: a request with none (an API key, a schedule) can't."""
        if self.kind in (WindowKind.SINCE_MY_LAST_MESSAGE, WindowKind.CATCH_UP) and requested_by_user_id is None:
            raise InvalidInput(f"'{WindowKind(self.kind).label}' needs a requesting member.")

    @property
    def needs_previous_summary(self) -> bool:
        """The worker looks up the channel's previous summary to know where this window starts."""
        return self.kind == WindowKind.SINCE_LAST_SUMMARY

    def history(
        self, *, asked_at: datetime, asked_at_id: int | None, previous_summary_last_id: int | None = None
    ) -> HistoryQuery:
        """The history query for this window.

        `asked_at` is when the window was asked for (the job's creation) and `asked_at_id` a snowflake of that
        moment (the interaction id, if any); `previous_summary_last_id` is the last message the channel's
        previous summary covered, for since-last-summary.
        """
        cap = settings.SUMMARY_MAX_WINDOW_MESSAGES
        # A window ends when it was asked for: the interaction id is a snowflake of that moment, so the
        # bot's own "thinking…" response and anything said later stay out of it.
        before_id = self.before_message_id or asked_at_id
        if self.kind == WindowKind.SINCE_MY_LAST_MESSAGE:
            return HistoryQuery(limit=cap, before_id=before_id, to_requesters_last_message=True)
        if self.kind == WindowKind.CATCH_UP:
            return HistoryQuery(
                limit=cap, after_id=self.after_message_id, before_id=before_id,
                since=asked_at - timedelta(hours=self.lookback_hours or MAX_WINDOW_HOURS),
                after_requesters_last_message=True,
            )

        after_id = previous_summary_last_id if self.kind == WindowKind.SINCE_LAST_SUMMARY else None
        # A channel never summarized has no "since": then it is the usual count, not the whole history.
        never_summarized = self.kind == WindowKind.SINCE_LAST_SUMMARY and not after_id
        limit = self.limit or (DEFAULT_MESSAGE_LIMIT if never_summarized else cap)
        since: datetime | None = None
        until: datetime | None = None
        if self.kind == WindowKind.HOURS:
            since = asked_at - timedelta(hours=self.lookback_hours or 1)
        elif self.kind == WindowKind.RANGE:
            since, until = self.since, self.until
        elif self.kind == WindowKind.FROM_MESSAGE:
            after_id = (self.after_message_id or 1) - 1  # the chosen message itself is included
        return HistoryQuery(
            limit=limit, after_id=after_id, before_id=before_id, since=since, until=until,
            limit_cuts_short=self.kind != WindowKind.COUNT,
        )


def _check_limit(limit: int | None) -> None:
    if limit is not None and not 1 <= limit <= settings.SUMMARY_MAX_WINDOW_MESSAGES:
        raise InvalidInput(f"message_limit must be between 1 and {settings.SUMMARY_MAX_WINDOW_MESSAGES}.")
