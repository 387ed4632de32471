"""The summaries archive (search, filters, pages) and the summary page, with who may see what.

Summaries are stored the way the worker stores them (summary_store: Markdown, citations, usage), so the
search runs over what a real summary holds. These tests pass on SQLite (a plain match) and on PostgreSQL
(full-text search over migration 0014's stored vector): run them with DATABASE_URL set for the latter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guilds.models import Channel, Guild
from summaries.engine.types import Author, ChatMessage, SummaryItem, SummaryResult, Usage
from summaries.models import PostedTranscript, Summary, SummaryJob
from summaries.services.staleness import summaries_mark_stale
from summaries.services.store import summary_store
from tests.dashboard.conftest import Server, log_in, make_server
from tests.factories import ChannelFactory, ScheduleFactory, SummaryJobFactory, snowflake
from tests.fakes.discord import FakeDiscord

pytestmark = pytest.mark.django_db

Point = tuple[str, str, Sequence[int]]  # section, text, cited message ids


def store(
    guild: Guild,
    channel_id: int | None,
    points: Sequence[Point],
    *,
    format: str = "structured",
    source: str = "api",
    visibility: str = "private",
    created_at: datetime | None = None,
    threads: dict[int, int] | None = None,
    title: str | None = None,
    **job_fields: object,
) -> SummaryJob:
    """A finished job and its summary, stored by the worker's own service."""
    job = SummaryJobFactory(
        guild=guild,
        channel_id=channel_id,
        source=source,
        visibility=visibility,
        format=format,
        status="done",
        **job_fields,
    )
    cited = sorted({message_id for _, _, ids in points for message_id in ids})
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    messages = [
        ChatMessage(
            id=message_id,
            channel_id=(threads or {}).get(message_id, channel_id or 0),
            guild_id=guild.id,
            author=Author(id=7, name="dana"),
            created_at=start + timedelta(minutes=n),
            content="…",
        )
        for n, message_id in enumerate(cited)
    ]
    result = SummaryResult(
        format=format,
        language="en",
        model="gpt-4o-mini",
        provider="openai",
        items=[SummaryItem(section=section, text=text, message_ids=list(ids)) for section, text, ids in points],
        message_count=max(len(cited), 1),
        participant_count=1,
        usage=Usage(prompt_tokens=1234, completion_tokens=321, llm_calls=2, cost_usd=0.0123),
        first_message_at=start,
        last_message_at=start + timedelta(minutes=len(cited)),
        guild_id=guild.id,
        channel_id=channel_id,
        message_channels=dict(threads or {}),
    )
    summary = summary_store(
        guild_id=guild.id,
        channel_id=channel_id,
        result=result,
        messages=messages,
        job=job,
        title=title or ("Summary of the posted messages" if channel_id is None else f"Summary of #{channel_id}"),
    )
    if created_at is not None:
        Summary.objects.filter(pk=summary.pk).update(created_at=created_at)
        SummaryJob.objects.filter(pk=job.pk).update(created_at=created_at)
    return job


def ids_on(page: str) -> list[str]:
    """The summaries an archive page lists, in order (their ids, from the links to their pages)."""
    return re.findall(r'/summaries/([0-9a-f-]{36})/"', page)


def archive(client: Client, server: Server, **params: str) -> str:
    response = client.get(f"/servers/{server.guild.id}/summaries/", params)
    assert response.status_code == 200
    return response.content.decode()


# ------------------------------------------------------------------------------------------ search
def test_search_finds_summaries_by_the_words_of_their_points(manager_client: Client, server: Server) -> None:
    general = server.general.id
    rollback = store(
        server.guild,
        general,
        [
            ("overview", "The team planned the database migration.", [11]),
            ("decisions", "Keep a rollback script for every deploy.", [12]),
        ],
    )
    party = store(server.guild, general, [("overview", "Plans for the holiday party in December.", [13])])
    # A member's private summary says the same words: the archive (like the API) never shows it.
    private = store(server.guild, general, [("overview", "My own rollback notes.", [14])], source="slash_command")

    found = archive(manager_client, server, q="rollback")

    assert ids_on(found) == [str(rollback.pk)]
    assert "<mark>rollback</mark>" in found.casefold()
    assert "1 summary match" in found
    assert str(private.pk) not in found and str(party.pk) not in found
    assert ids_on(archive(manager_client, server, q="HOLIDAY party")) == [str(party.pk)]
    assert ids_on(archive(manager_client, server, q="rollback -database")) == []
    assert set(ids_on(archive(manager_client, server))) == {str(rollback.pk), str(party.pk)}


def test_search_words_are_escaped_in_the_snippet(manager_client: Client, server: Server) -> None:
    store(
        server.guild,
        server.general.id,
        [("overview", "Someone pasted <img src=x onerror=alert(1)> in the outage.", [21])],
    )

    found = archive(manager_client, server, q="outage")

    assert "<img" not in found
    assert "&lt;img src=x onerror=alert(1)&gt;" in found


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's match finds parts of words")
def test_sqlite_marks_the_words_in_the_text_not_in_its_escaping(manager_client: Client, server: Server) -> None:
    store(server.guild, server.general.id, [("overview", "Q&A about the amplifier.", [22])])

    found = archive(manager_client, server, q="amp")

    assert "Q&amp;A about the <mark>amp</mark>lifier." in found


@pytest.mark.skipif(connection.vendor != "postgresql", reason="stemming and ranking are PostgreSQL's full-text search")
def test_postgres_search_stems_words_and_ranks_the_best_match_first(manager_client: Client, server: Server) -> None:
    once = store(
        server.guild,
        server.general.id,
        [("overview", "One deployment went out.", [31])],
        created_at=timezone.now() - timedelta(days=1),
    )
    often = store(
        server.guild,
        server.general.id,
        [
            ("overview", "Deploys all day.", [32]),
            ("key_points", "Deploying twice broke the deployed cache.", [33]),
        ],
        created_at=timezone.now() - timedelta(days=2),
    )

    found = archive(manager_client, server, q="deploy")

    assert ids_on(found) == [str(often.pk), str(once.pk)]  # the older one matches more often: first
    assert "best match first" in found


# ----------------------------------------------------------------------------------------- filters
def test_filters_by_channel_format_and_dates_combine_with_the_search(manager_client: Client, server: Server) -> None:
    now = timezone.now()
    dev = ChannelFactory(guild=server.guild, name="dev")
    recent_general = store(
        server.guild,
        server.general.id,
        [("overview", "Release notes drafted.", [41])],
        created_at=now - timedelta(days=1),
    )
    old_general = store(
        server.guild,
        server.general.id,
        [("overview", "Release planning started.", [42])],
        created_at=now - timedelta(days=20),
    )
    brief_dev = store(
        server.guild,
        dev.id,
        [("overview", "Release blocker found.", [43])],
        format="brief",
        created_at=now - timedelta(days=2),
    )

    page = archive(manager_client, server)
    assert (
        f'<option value="{dev.id}">#dev</option>' in page
        and f'<option value="{server.secret.id}">#mods-only</option>' in page
    )

    by_channel = archive(manager_client, server, q="release", channel=str(server.general.id))
    assert set(ids_on(by_channel)) == {str(recent_general.pk), str(old_general.pk)}
    assert ids_on(archive(manager_client, server, q="release", format="brief")) == [str(brief_dev.pk)]
    since = (now - timedelta(days=5)).date().isoformat()
    assert set(ids_on(archive(manager_client, server, q="release", since=since))) == {
        str(recent_general.pk),
        str(brief_dev.pk),
    }
    until = (now - timedelta(days=10)).date().isoformat()
    assert ids_on(archive(manager_client, server, until=until)) == [str(old_general.pk)]
    assert ids_on(archive(manager_client, server, channel=str(dev.id), format="structured")) == []


def test_a_bad_filter_is_explained_and_the_others_still_apply(manager_client: Client, server: Server) -> None:
    kept = store(server.guild, server.general.id, [("overview", "Kept.", [51])])
    store(
        server.guild, server.general.id, [("overview", "Too old.", [52])], created_at=datetime(2019, 6, 1, tzinfo=UTC)
    )

    page = archive(manager_client, server, since="2020-01-01", until="2019-01-01", channel="12345")

    assert "The end date is before the start date." in page
    assert "Select a valid choice." in page
    # The valid `since` still filters; the bad `until` and channel do not.
    assert ids_on(page) == [str(kept.pk)]


def test_summaries_of_channels_locked_or_turned_off_since_stay_in_the_archive(
    manager_client: Client, server: Server
) -> None:
    job = store(server.guild, server.secret.id, [("overview", "Moderation policy agreed.", [61])], source="schedule")
    Channel.objects.filter(pk=server.secret.id).update(enabled=False, is_locked=True, allow_when_locked=False)

    page = archive(manager_client, server, channel=str(server.secret.id))

    assert ids_on(page) == [str(job.pk)]
    assert "#mods-only" in page


def test_the_archive_pages_by_25_newest_first(manager_client: Client, server: Server) -> None:
    now = timezone.now()
    jobs = [
        store(
            server.guild,
            server.general.id,
            [("overview", f"Standup number {n}.", [100 + n])],
            created_at=now - timedelta(hours=n),
        )
        for n in range(30)
    ]

    first = archive(manager_client, server)
    second = archive(manager_client, server, page="2")

    assert ids_on(first) == [str(job.pk) for job in jobs[:25]]
    assert ids_on(second) == [str(job.pk) for job in jobs[25:]]
    assert "Page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "Page 2 of 2" in second and 'rel="prev"' in second
    # The page links keep the search and filters.
    searched = archive(manager_client, server, q="standup", format="structured")
    assert "?q=standup&amp;format=structured&amp;page=2" in searched


def test_htmx_gets_only_the_results(manager_client: Client, server: Server) -> None:
    job = store(server.guild, server.general.id, [("overview", "Only the list.", [71])])

    response = manager_client.get(f"/servers/{server.guild.id}/summaries/", {"q": "list"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert ids_on(body) == [str(job.pk)]
    assert "<html" not in body and 'class="tabs"' not in body


# ------------------------------------------------------------------------------------ summary page
def test_the_summary_page_shows_sections_jump_links_usage_staleness_and_its_schedule(
    manager_client: Client, server: Server
) -> None:
    guild, general = server.guild, server.general.id
    thread = snowflake()
    schedule = ScheduleFactory(guild=guild, name="Morning digest", channel_ids=[general])
    job = store(
        guild,
        general,
        [
            ("overview", "The release was discussed.", [81]),
            ("decisions", "Ship on Friday.", [82, 83]),
            ("action_items", "Write the changelog.", [84]),
        ],
        source="schedule",
        schedule=schedule,
        threads={83: thread},
    )
    summaries_mark_stale(message_ids=[82], deleted=False)

    page = manager_client.get(f"/servers/{guild.id}/summaries/{job.pk}/").content.decode()

    for title, text in (
        ("Overview", "The release was discussed."),
        ("Decisions", "Ship on Friday."),
        ("Action items", "Write the changelog."),
    ):
        assert f"<h2>{title}</h2>" in page and text in page
    assert page.index("Overview") < page.index("Decisions") < page.index("Action items")
    for channel, message in ((general, 81), (general, 82), (thread, 83), (general, 84)):
        assert f'href="https://discord.com/channels/{guild.id}/{channel}/{message}"' in page
    assert "1234 prompt + 321 completion" in page and "$0.0123" in page and "gpt-4o-mini" in page
    assert "Stale:" in page and "A cited message was edited" in page
    assert "Morning digest" in page and f"#schedule-{schedule.pk}" in page
    assert "Summary of #" in page


def test_a_posted_messages_summary_names_its_messages_without_links(manager_client: Client, server: Server) -> None:
    job = store(server.guild, None, [("overview", "Comments on the RFC.", [1, 2])])
    PostedTranscript.objects.create(job=job, messages=[], message_ids=["c-17", "c-18"])

    page = manager_client.get(f"/servers/{server.guild.id}/summaries/{job.pk}/").content.decode()

    assert "Comments on the RFC." in page
    assert "<code" in page and "c-17" in page and "c-18" in page
    assert "discord.com/channels" not in page
    assert "posted messages" in page


def test_a_job_without_a_summary_shows_its_state(manager_client: Client, server: Server) -> None:
    job = SummaryJobFactory(
        guild=server.guild, channel_id=server.general.id, status="failed", error_message="The LLM timed out."
    )

    page = manager_client.get(f"/servers/{server.guild.id}/summaries/{job.pk}/")

    assert page.status_code == 200
    assert "The LLM timed out." in page.content.decode()


# -------------------------------------------------------------------------------------- who sees what
def test_another_guilds_summary_is_404_and_never_listed(
    manager_client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    beta = make_server(oauth_discord, "Beta")
    theirs = store(beta.guild, beta.general.id, [("overview", "Secret roadmap of Beta.", [91])])
    private = store(
        server.guild, server.general.id, [("overview", "A member's own roadmap.", [92])], source="slash_command"
    )

    assert ids_on(archive(manager_client, server, q="roadmap")) == []
    assert manager_client.get(f"/servers/{server.guild.id}/summaries/{theirs.pk}/").status_code == 404
    assert manager_client.get(f"/servers/{server.guild.id}/summaries/{private.pk}/").status_code == 404
    assert manager_client.get(f"/servers/{beta.guild.id}/summaries/{theirs.pk}/").status_code == 404


@pytest.mark.parametrize("page", ["summaries/", "summaries/{job}/"])
def test_permission_matrix(client: Client, oauth_discord: FakeDiscord, server: Server, page: str) -> None:
    job = store(server.guild, server.general.id, [("overview", "Visible to managers.", [95])])
    url = f"/servers/{server.guild.id}/{page.format(job=job.pk)}"
    beta = make_server(oauth_discord, "Beta")

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]

    log_in(client, oauth_discord, server.member)
    assert client.get(url).status_code == 403
    client.logout()

    log_in(client, oauth_discord, beta.manager)
    assert client.get(url).status_code == 404
    client.logout()

    log_in(client, oauth_discord, server.manager)
    assert "Visible to managers." in client.get(url).content.decode()


# ------------------------------------------------------------------------------------------ queries
def _queries(client: Client, url: str, **params: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "standup"}, {"q": "standup", "format": "structured", "page": "2"}])
def test_the_archive_costs_the_same_queries_with_5_or_40_summaries(
    manager_client: Client, server: Server, django_assert_max_num_queries: Any, params: dict[str, str]
) -> None:
    url = f"/servers/{server.guild.id}/summaries/"

    def add(n: int) -> None:
        for _ in range(n):
            channel = ChannelFactory(guild=server.guild)
            store(server.guild, channel.id, [("overview", "Standup notes.", [snowflake()])])

    add(5)
    _queries(manager_client, url, **params)  # warm: the permission answer is cached after the first request
    few = _queries(manager_client, url, **params)
    add(35)
    with django_assert_max_num_queries(few):
        manager_client.get(url, params)
    assert few <= 9


def test_the_summary_page_costs_a_fixed_number_of_queries(
    manager_client: Client, server: Server, django_assert_max_num_queries: Any
) -> None:
    schedule = ScheduleFactory(guild=server.guild)
    small = store(
        server.guild, server.general.id, [("overview", "Short.", [201])], source="schedule", schedule=schedule
    )
    large = store(
        server.guild,
        server.general.id,
        [
            (section, f"Point {n} of {section}.", [300 + 10 * n + k for k in range(3)])
            for n, section in enumerate(
                [
                    "overview",
                    "key_points",
                    "key_points",
                    "decisions",
                    "action_items",
                    "open_questions",
                    "key_points",
                    "decisions",
                ]
            )
        ],
        source="schedule",
        schedule=schedule,
    )
    _queries(manager_client, f"/servers/{server.guild.id}/summaries/{small.pk}/")
    few = _queries(manager_client, f"/servers/{server.guild.id}/summaries/{small.pk}/")

    with django_assert_max_num_queries(few):
        page = manager_client.get(f"/servers/{server.guild.id}/summaries/{large.pk}/")
    assert page.content.decode().count("https://discord.com/channels/") == 24
    assert few <= 9
