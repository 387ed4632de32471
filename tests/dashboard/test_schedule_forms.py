"""Creating, editing and deleting schedules in the dashboard: one form over the same services as the
/schedule command and /api/v1/schedules, the next runs previewed by the scheduler's own code, and who may.

The manager logs in through the real allauth flow against the fake Discord; time is frozen after that
(2 May 2024, 12:00 UTC = 14:00 in Berlin) so the stored next runs can be checked to the minute.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_q.models import Schedule as QSchedule

from guilds.models import Channel, ChannelKind, Guild
from summaries.forms import ScheduleForm
from summaries.models import JobSource, Schedule, SummaryJob
from summaries.services.dashboard import schedule_form_choices
from summaries.services.schedules import TWIN_PREFIX, schedule_create, twin_name
from summarybot.errors import InvalidInput, NotFound
from tests.dashboard.conftest import Server, log_in, make_server, point_settings_at
from tests.factories import ChannelFactory, SummaryJobFactory, WebhookDestinationFactory
from tests.fakes.discord import FakeDiscord

pytestmark = pytest.mark.django_db

MAY_2 = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)  # a Thursday; 14:00 in Berlin (CEST, UTC+2)


@pytest.fixture
def berlin(server: Server) -> Server:
    server.guild.timezone = "Europe/Berlin"
    server.guild.save(update_fields=["timezone"])
    return server


@pytest.fixture
def frozen(manager_client: Client) -> Iterator[Client]:
    """The logged-in manager's client, with time frozen on MAY_2 (after the login, which needs real time)."""
    with time_machine.travel(MAY_2, tick=False):
        yield manager_client


def twin(schedule_id: int) -> QSchedule | None:
    return QSchedule.objects.filter(name=twin_name(schedule_id)).first()


def twins() -> int:
    return QSchedule.objects.filter(name__startswith=TWIN_PREFIX).count()


def form(server: Server, **overrides: Any) -> dict[str, Any]:
    """What the browser posts for a daily 09:00 Berlin digest of #general; None leaves a field out."""
    data: dict[str, Any] = {
        "name": "standup digest",
        "scope": "channels",
        "channel_ids": [server.general.id],
        "category_id": "",
        "excluded_channel_ids": [],
        "frequency": "daily",
        "time_of_day": "09:00",
        "every_hours": "",
        "weekdays": [],
        "day_of_month": "",
        "cron": "",
        "timezone": "Europe/Berlin",
        "lookback_hours": "",
        "min_messages": "5",
        "mode": "per_channel",
        "discord_channel_id": "",
        "destination_ids": [],
        "format": "",
        "language": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def new_url(server: Server) -> str:
    return f"/servers/{server.guild.id}/schedules/new/"


def edit_url(server: Server, schedule: Schedule) -> str:
    return f"/servers/{server.guild.id}/schedules/{schedule.pk}/edit/"


def invalid_fields(html: str) -> set[str]:
    return set(re.findall(r'class="field invalid" id="field-([a-z_]+)"', html))


def top_errors(html: str) -> str:
    found = re.search(r'id="form-errors">(.*?)</div>', html, re.DOTALL)
    return found.group(1) if found else ""


def options(html: str, select: str) -> dict[str, str]:
    """value -> label of a <select>'s options."""
    body = re.search(rf'<select name="{select}".*?</select>', html, re.DOTALL)
    assert body is not None, select
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body.group(0)))


def a_schedule(server: Server, **fields: Any) -> Schedule:
    arguments = {
        "name": "standup digest",
        "channel_ids": [server.general.id],
        "frequency": "daily",
        "time_of_day": "09:00",
        "timezone": "Europe/Berlin",
        **fields,
    }
    return schedule_create(guild_id=server.guild.id, **arguments)


def snapshot() -> list[dict[str, Any]]:
    """Every schedule as stored, with its destinations, and every twin: what a refused POST must not change."""
    rows = [
        {**row, "destinations": sorted(Schedule.objects.get(pk=row["id"]).destinations.values_list("pk", flat=True))}
        for row in Schedule.objects.order_by("pk").values()
    ]
    return [*rows, *QSchedule.objects.order_by("pk").values("name", "next_run", "repeats")]


# --- The page ------------------------------------------------------------------------------------------


def test_the_new_form_offers_this_servers_summarizable_channels_categories_and_destinations_by_name(
    oauth_discord: FakeDiscord, berlin: Server, manager_client: Client
) -> None:
    guild = berlin.guild
    category = ChannelFactory(guild=guild, name="projects", kind=ChannelKind.CATEGORY)
    forum = ChannelFactory(guild=guild, name="help-forum", kind=ChannelKind.FORUM)
    off = ChannelFactory(guild=guild, name="off-topic", enabled=False)
    gone = ChannelFactory(guild=guild, name="old", deleted_at=MAY_2)
    voice = ChannelFactory(guild=guild, name="lounge", kind=ChannelKind.VOICE)
    unlocked = ChannelFactory(guild=guild, name="staff", is_locked=True, allow_when_locked=True)
    destination = WebhookDestinationFactory(guild=guild, name="team webhook")
    other = make_server(oauth_discord, "Beta")
    WebhookDestinationFactory(guild=other.guild, name="their webhook")

    page = manager_client.get(new_url(berlin)).content.decode()

    channels = options(page, "channel_ids")
    assert channels == {
        str(berlin.general.id): "#general",
        str(forum.id): "#help-forum (forum)",
        str(unlocked.id): "#staff",
    }  # not the private #mods-only, the turned-off, the deleted, the voice channel or Beta's
    assert str(off.id) not in channels and str(gone.id) not in channels and str(voice.id) not in channels
    assert options(page, "category_id") == {"": "—", str(category.id): "projects"}
    posts = options(page, "discord_channel_id")
    assert str(berlin.general.id) in posts and str(forum.id) not in posts and str(voice.id) not in posts
    assert f'value="{destination.pk}"' in page and "team webhook" in page and "their webhook" not in page
    # The time zone select lists the IANA names, the server's own chosen.
    assert re.search(r'<option value="Europe/Berlin" selected>', page)
    assert len(options(page, "timezone")) > 300
    # Every control has a label; the preview refreshes itself over htmx.
    for control in re.findall(r'<(?:input|select)[^>]*\bid="(id_[a-z_0-9]+)"', page):
        assert f'for="{control}"' in page, control
    assert f'hx-get="/servers/{guild.id}/schedules/preview/"' in page


def test_a_server_in_utc_gets_utc_as_the_default_time_zone(server: Server, manager_client: Client) -> None:
    page = manager_client.get(new_url(server)).content.decode()
    assert re.search(r'<option value="UTC" selected>', page)


# --- Create: each frequency ----------------------------------------------------------------------------

FREQUENCIES = [
    # (form fields, stored timing fields, next run in UTC)
    (
        {"frequency": "hourly", "time_of_day": "00:15"},
        {"frequency": "hourly", "every_hours": None, "weekdays": [], "day_of_month": None, "cron": ""},
        datetime(2024, 5, 2, 12, 15, tzinfo=UTC),
    ),
    (
        {"frequency": "every_n_hours", "every_hours": "6", "time_of_day": "08:00"},
        {"frequency": "every_n_hours", "every_hours": 6, "weekdays": [], "day_of_month": None, "cron": ""},
        datetime(2024, 5, 2, 18, 0, tzinfo=UTC),
    ),  # 08, 14, 20, 02 local: 14:00 is now, so 20:00 CEST
    (
        {"frequency": "daily", "time_of_day": "09:00", "every_hours": "6", "weekdays": [1]},
        {"frequency": "daily", "every_hours": None, "weekdays": [], "day_of_month": None, "cron": ""},
        datetime(2024, 5, 3, 7, 0, tzinfo=UTC),
    ),  # other frequencies' fields are dropped, as the API does
    (
        {"frequency": "weekly", "weekdays": [4, 0], "time_of_day": "08:30"},
        {"frequency": "weekly", "every_hours": None, "weekdays": [0, 4], "day_of_month": None, "cron": ""},
        datetime(2024, 5, 3, 6, 30, tzinfo=UTC),
    ),  # Friday 08:30 CEST
    (
        {"frequency": "monthly", "day_of_month": "31", "time_of_day": "09:00"},
        {"frequency": "monthly", "every_hours": None, "weekdays": [], "day_of_month": 31, "cron": ""},
        datetime(2024, 5, 31, 7, 0, tzinfo=UTC),
    ),
    (
        {"frequency": "cron", "cron": " 0 18 * * 1-5 ", "time_of_day": ""},
        {"frequency": "cron", "every_hours": None, "weekdays": [], "day_of_month": None, "cron": "0 18 * * 1-5"},
        datetime(2024, 5, 2, 16, 0, tzinfo=UTC),
    ),  # Thursday 18:00 CEST
]


@pytest.mark.parametrize(("fields", "stored", "next_run"), FREQUENCIES, ids=[f[1]["frequency"] for f in FREQUENCIES])
def test_each_frequency_is_created_through_the_service_with_its_django_q_twin(
    berlin: Server, frozen: Client, fields: dict[str, Any], stored: dict[str, Any], next_run: datetime
) -> None:
    response = frozen.post(new_url(berlin), form(berlin, **fields))

    assert response.status_code == 302 and response["Location"] == f"/servers/{berlin.guild.id}/schedules/"
    schedule = Schedule.objects.get()
    assert {field: getattr(schedule, field) for field in stored} == stored
    assert (schedule.guild_id, schedule.name, schedule.channel_ids, schedule.timezone) == (
        berlin.guild.id,
        "standup digest",
        [berlin.general.id],
        "Europe/Berlin",
    )
    assert (schedule.enabled, schedule.min_messages, schedule.mode, schedule.format, schedule.language) == (
        True,
        5,
        "per_channel",
        "",
        "",
    )
    assert schedule.next_run_at == next_run
    assert twin(schedule.pk).next_run == next_run and twins() == 1
    listed = frozen.get(response["Location"]).content.decode()
    assert "Schedule standup digest created." in listed and f'id="schedule-{schedule.pk}"' in listed


def test_a_combined_digest_of_a_category_with_everything_set(berlin: Server, frozen: Client) -> None:
    guild = berlin.guild
    category = ChannelFactory(guild=guild, name="projects", kind=ChannelKind.CATEGORY)
    noisy = ChannelFactory(guild=guild, name="bots", parent_id=category.id)
    destination = WebhookDestinationFactory(guild=guild)
    response = frozen.post(
        new_url(berlin),
        form(
            berlin,
            scope="category",
            category_id=category.id,
            excluded_channel_ids=[noisy.id],
            channel_ids=[berlin.general.id],  # left over from another choice of scope: not stored
            mode="combined",
            discord_channel_id=berlin.general.id,
            destination_ids=[destination.pk],
            format="brief",
            language="de",
            lookback_hours="48",
            min_messages="3",
            timezone="America/New_York",
        ),
    )

    assert response.status_code == 302, invalid_fields(response.content.decode())
    schedule = Schedule.objects.get()
    assert (schedule.category_id, schedule.channel_ids, schedule.whole_guild, schedule.excluded_channel_ids) == (
        category.id,
        [],
        False,
        [noisy.id],
    )
    assert (schedule.mode, schedule.discord_channel_id, schedule.format, schedule.language) == (
        "combined",
        berlin.general.id,
        "brief",
        "de",
    )
    assert (schedule.lookback_hours, schedule.min_messages, schedule.timezone) == (48, 3, "America/New_York")
    assert list(schedule.destinations.all()) == [destination]
    assert schedule.next_run_at == datetime(2024, 5, 2, 13, 0, tzinfo=UTC)  # 09:00 EDT today


def test_the_whole_server_minus_excluded_channels(berlin: Server, frozen: Client) -> None:
    response = frozen.post(new_url(berlin), form(berlin, scope="whole_guild", excluded_channel_ids=[berlin.general.id]))
    assert response.status_code == 302
    schedule = Schedule.objects.get()
    assert (schedule.whole_guild, schedule.channel_ids, schedule.category_id, schedule.excluded_channel_ids) == (
        True,
        [],
        None,
        [berlin.general.id],
    )


# --- Edit ----------------------------------------------------------------------------------------------


def test_the_edit_form_shows_the_schedule_as_stored(berlin: Server, frozen: Client) -> None:
    destination = WebhookDestinationFactory(guild=berlin.guild)
    schedule = a_schedule(berlin, frequency="weekly", weekdays=[2], destination_ids=[destination.pk], lookback_hours=30)
    page = frozen.get(edit_url(berlin, schedule)).content.decode()
    assert 'value="standup digest"' in page
    assert re.search(rf'<option value="{berlin.general.id}" selected>#general</option>', page)
    assert re.search(r'<option value="weekly" selected>', page)
    assert re.search(r'value="2"[^>]*checked', page) and re.search(rf'value="{destination.pk}"[^>]*checked', page)
    assert 'name="lookback_hours" value="30"' in page and 'name="time_of_day" value="09:00"' in page


def test_editing_the_timing_moves_the_next_run_and_its_twin(berlin: Server, frozen: Client) -> None:
    schedule = a_schedule(berlin)
    assert schedule.next_run_at == datetime(2024, 5, 3, 7, 0, tzinfo=UTC)
    response = frozen.post(edit_url(berlin, schedule), form(berlin, name="evening digest", time_of_day="18:30"))
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.name, schedule.time_of_day.strftime("%H:%M")) == ("evening digest", "18:30")
    assert schedule.next_run_at == datetime(2024, 5, 2, 16, 30, tzinfo=UTC)
    assert twin(schedule.pk).next_run == schedule.next_run_at and twins() == 1


def test_editing_anything_else_keeps_the_next_run_and_an_edit_never_resumes(berlin: Server, frozen: Client) -> None:
    schedule = a_schedule(berlin)
    before = schedule.next_run_at
    assert (
        frozen.post(edit_url(berlin, schedule), form(berlin, min_messages="12", format="detailed")).status_code == 302
    )
    schedule.refresh_from_db()
    assert (schedule.min_messages, schedule.format, schedule.next_run_at) == (12, "detailed", before)

    frozen.post(f"/servers/{berlin.guild.id}/schedules/{schedule.pk}/pause/")
    assert frozen.post(edit_url(berlin, schedule), form(berlin, min_messages="7")).status_code == 302
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.min_messages, schedule.next_run_at, twin(schedule.pk)) == (False, 7, None, None)


def test_a_channel_turned_off_since_stays_listed_when_editing(berlin: Server, frozen: Client) -> None:
    dev = ChannelFactory(guild=berlin.guild, name="dev")
    schedule = a_schedule(berlin, channel_ids=[berlin.general.id, dev.id])
    Channel.objects.filter(pk=dev.id).update(enabled=False)
    page = frozen.get(edit_url(berlin, schedule)).content.decode()
    assert options(page, "channel_ids")[str(dev.id)] == "#dev (summaries off)"
    assert (
        frozen.post(
            edit_url(berlin, schedule), form(berlin, channel_ids=[berlin.general.id, dev.id], name="renamed")
        ).status_code
        == 302
    )
    schedule.refresh_from_db()
    assert (schedule.name, schedule.channel_ids) == ("renamed", [berlin.general.id, dev.id])
    # A new schedule is not offered the turned-off channel.
    assert str(dev.id) not in options(frozen.get(new_url(berlin)).content.decode(), "channel_ids")


def test_a_thread_set_over_the_api_as_the_post_channel_survives_an_edit(berlin: Server, frozen: Client) -> None:
    thread = ChannelFactory(
        guild=berlin.guild, name="digests", kind=ChannelKind.PUBLIC_THREAD, parent_id=berlin.general.id
    )
    schedule = a_schedule(berlin, mode="combined", discord_channel_id=thread.id)
    page = frozen.get(edit_url(berlin, schedule)).content.decode()
    assert re.search(rf'<option value="{thread.id}" selected>#digests \(thread\)</option>', page)
    assert str(thread.id) not in options(page, "channel_ids")
    posted = form(berlin, name="renamed", mode="combined", discord_channel_id=thread.id)
    assert frozen.post(edit_url(berlin, schedule), posted).status_code == 302
    schedule.refresh_from_db()
    assert (schedule.name, schedule.discord_channel_id) == ("renamed", thread.id)
    # Offered to the schedule that has it, not to every new one.
    assert str(thread.id) not in options(frozen.get(new_url(berlin)).content.decode(), "discord_channel_id")


def test_another_servers_schedule_has_no_edit_page(oauth_discord: FakeDiscord, berlin: Server, frozen: Client) -> None:
    other = make_server(oauth_discord, "Beta")
    theirs = schedule_create(
        guild_id=other.guild.id, name="theirs", channel_ids=[other.general.id], frequency="daily", time_of_day="09:00"
    )
    before = snapshot()
    assert frozen.get(edit_url(berlin, theirs)).status_code == 404
    assert frozen.post(edit_url(berlin, theirs), form(berlin)).status_code == 404
    assert frozen.get(f"/servers/{berlin.guild.id}/schedules/999999/edit/").status_code == 404
    assert snapshot() == before


# --- Delete --------------------------------------------------------------------------------------------


def test_delete_asks_first_then_removes_the_schedule_and_its_twin_and_keeps_its_summaries(
    berlin: Server, frozen: Client
) -> None:
    schedule = a_schedule(berlin)
    job = SummaryJobFactory(
        guild=berlin.guild, channel_id=berlin.general.id, source=JobSource.SCHEDULE, schedule=schedule, status="done"
    )
    url = f"/servers/{berlin.guild.id}/schedules/{schedule.pk}/delete/"

    asked = frozen.post(url)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Delete the schedule standup digest?" in page and 'name="confirm" value="yes"' in page
    assert Schedule.objects.filter(pk=schedule.pk).exists() and twin(schedule.pk) is not None

    done = frozen.post(url, {"confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == f"/servers/{berlin.guild.id}/schedules/"
    assert not Schedule.objects.filter(pk=schedule.pk).exists() and twin(schedule.pk) is None
    assert SummaryJob.objects.get(pk=job.pk).schedule_id is None
    assert "Schedule standup digest deleted." in frozen.get(done["Location"]).content.decode()
    assert frozen.post(url, {"confirm": "yes"}).status_code == 404  # already gone
    assert frozen.get(url).status_code == 405  # deleting is a POST, never a link


# --- Refusals: the right field says why, and nothing changes -------------------------------------------

REFUSALS = [
    ("bad cron", {"frequency": "cron", "cron": "*/15 * * * *"}, "cron", "at most once an hour"),
    ("cron of four fields", {"frequency": "cron", "cron": "0 9 * *"}, "cron", "five fields"),
    ("bad time zone", {"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice"),
    ("combined without a post channel", {"mode": "combined"}, "discord_channel_id", "needs a channel to post in"),
    ("weekly without weekdays", {"frequency": "weekly"}, "weekdays", "at least one weekday"),
    ("every N hours without N", {"frequency": "every_n_hours"}, "every_hours", "every_hours between 1 and 168"),
    ("every N hours out of range", {"frequency": "every_n_hours", "every_hours": "200"}, "every_hours", "between 1"),
    ("monthly without a day", {"frequency": "monthly"}, "day_of_month", "day_of_month between 1 and 31"),
    ("daily without a time", {"time_of_day": ""}, "time_of_day", "needs a time of day"),
    ("a time that is no time", {"time_of_day": "25:99"}, "time_of_day", "Enter a valid time"),
    ("no channel chosen", {"channel_ids": []}, "scope", "Choose one scope"),
    ("a category scope without a category", {"scope": "category"}, "scope", "Choose one scope"),
    ("lookback too long", {"lookback_hours": "1000"}, "lookback_hours", "between 1 and 744"),
    ("min messages zero", {"min_messages": "0"}, "min_messages", "between 1 and 10000"),
    ("min messages missing", {"min_messages": ""}, "min_messages", "This field is required"),
    ("min messages not a number", {"min_messages": "many"}, "min_messages", "Enter a whole number"),
    ("bad language", {"language": "klingon!"}, "language", "not a language code"),
    ("no name", {"name": ""}, "name", "This field is required"),
    ("an unknown frequency", {"frequency": "fortnightly"}, "frequency", "Select a valid choice"),
]


@pytest.mark.parametrize(("case", "fields", "field", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_schedule_names_the_field_and_stores_nothing(
    berlin: Server, frozen: Client, case: str, fields: dict[str, Any], field: str, message: str
) -> None:
    existing = a_schedule(berlin, name="kept")
    before = snapshot()

    created = frozen.post(new_url(berlin), form(berlin, **fields))
    edited = frozen.post(edit_url(berlin, existing), form(berlin, **fields))

    for response in (created, edited):
        assert response.status_code == 400
        page = response.content.decode()
        assert invalid_fields(page) == {field}, (case, invalid_fields(page), top_errors(page))
        errors = re.search(rf'id="field-{field}">.*?<div class="errors" role="alert">(.*?)</div>', page, re.DOTALL)
        assert errors is not None and message in errors.group(1).replace("&#x27;", "'")
    assert snapshot() == before


def test_another_servers_channel_category_or_destination_is_refused_and_stores_nothing(
    oauth_discord: FakeDiscord, berlin: Server, frozen: Client
) -> None:
    other = make_server(oauth_discord, "Beta")
    their_category = ChannelFactory(guild=other.guild, kind=ChannelKind.CATEGORY)
    their_destination = WebhookDestinationFactory(guild=other.guild)
    existing = a_schedule(berlin, name="kept")
    before = snapshot()
    cases = [
        ({"channel_ids": [other.general.id]}, "channel_ids"),
        ({"scope": "whole_guild", "excluded_channel_ids": [other.general.id]}, "excluded_channel_ids"),
        ({"scope": "category", "category_id": their_category.id}, "category_id"),
        ({"discord_channel_id": other.general.id}, "discord_channel_id"),
        ({"destination_ids": [their_destination.pk]}, "destination_ids"),
    ]
    for fields, field in cases:
        for url in (new_url(berlin), edit_url(berlin, existing)):
            response = frozen.post(url, form(berlin, **fields))
            assert response.status_code == 400 and invalid_fields(response.content.decode()) == {field}, fields
    assert snapshot() == before


@pytest.mark.parametrize("state", ["turned off", "private", "deleted"])
def test_a_channel_that_cannot_be_summarized_is_not_accepted_for_a_new_schedule(
    berlin: Server, frozen: Client, state: str
) -> None:
    channel = {
        "turned off": lambda: ChannelFactory(guild=berlin.guild, enabled=False),
        "private": lambda: berlin.secret,  # locked, and not enabled anyway
        "deleted": lambda: ChannelFactory(guild=berlin.guild, deleted_at=MAY_2),
    }[state]()
    response = frozen.post(new_url(berlin), form(berlin, channel_ids=[channel.id]))
    assert response.status_code == 400 and invalid_fields(response.content.decode()) == {"channel_ids"}
    assert not Schedule.objects.exists() and twins() == 0


def test_a_refusal_the_service_does_not_pin_on_a_field_is_shown_above_the_form(berlin: Server) -> None:
    schedule_form = ScheduleForm(form(berlin), choices=schedule_form_choices(guild_id=berlin.guild.id))
    assert schedule_form.is_valid(), schedule_form.errors
    schedule_form.add_service_error(NotFound("That server is not set up yet."))
    schedule_form.add_service_error(
        InvalidInput("The schedule is not valid.", details={"lookback_hours": ["Too long."]})
    )
    assert schedule_form.non_field_errors() == ["That server is not set up yet."]
    assert schedule_form.errors["lookback_hours"] == ["Too long."]


def test_a_channel_deleted_while_the_form_was_open_is_reported_and_nothing_is_stored(
    berlin: Server, frozen: Client
) -> None:
    dev = ChannelFactory(guild=berlin.guild, name="dev")
    schedule_form = ScheduleForm(
        form(berlin, channel_ids=[dev.id]), choices=schedule_form_choices(guild_id=berlin.guild.id)
    )
    assert schedule_form.is_valid()
    Channel.objects.filter(pk=dev.id).update(deleted_at=MAY_2)
    try:
        schedule_create(guild_id=berlin.guild.id, **schedule_form.service_arguments())
    except NotFound as exc:
        schedule_form.add_service_error(exc)
    assert schedule_form.errors == {"channel_ids": [f"I don't know the channel {dev.id} in this server."]}
    assert not Schedule.objects.exists()


# --- The next runs --------------------------------------------------------------------------------------


def preview_url(server: Server) -> str:
    return f"/servers/{server.guild.id}/schedules/preview/"


def run_times(html: str) -> list[tuple[str, str]]:
    """(ISO instant, shown local time) of each previewed run."""
    return re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', html)


def test_the_preview_shows_the_next_three_runs_across_a_dst_change(berlin: Server, manager_client: Client) -> None:
    with time_machine.travel(datetime(2024, 3, 29, 12, 0, tzinfo=UTC), tick=False):
        response = manager_client.get(
            preview_url(berlin),
            {"frequency": "daily", "time_of_day": "09:00", "timezone": "Europe/Berlin"},
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a partial, for htmx to swap in
    assert run_times(html) == [
        ("2024-03-30T08:00:00+00:00", "Sat 30 Mar 2024, 09:00 CET"),
        ("2024-03-31T07:00:00+00:00", "Sun 31 Mar 2024, 09:00 CEST"),  # clocks went forward that night
        ("2024-04-01T07:00:00+00:00", "Mon 1 Apr 2024, 09:00 CEST"),
    ]
    assert "2024-03-30 08:00 UTC" in html and "2024-03-31 07:00 UTC" in html


def test_the_preview_says_why_there_are_no_runs(berlin: Server, frozen: Client) -> None:
    bad_cron = frozen.get(preview_url(berlin), {"frequency": "cron", "cron": "61 * * * *", "timezone": "UTC"})
    assert bad_cron.status_code == 200 and run_times(bad_cron.content.decode()) == []
    assert "is not a cron expression of five fields" in bad_cron.content.decode().replace("&#x27;", "'")
    bad_zone = frozen.get(preview_url(berlin), {"frequency": "daily", "time_of_day": "09:00", "timezone": "Nowhere"})
    assert "Fix the timing fields" in bad_zone.content.decode()
    # The other fields (no name, no channel) do not matter to the preview.
    weekly = frozen.get(
        preview_url(berlin),
        {"frequency": "weekly", "weekdays": ["0"], "time_of_day": "07:00", "timezone": "Asia/Tokyo"},
    )
    assert [instant for instant, _ in run_times(weekly.content.decode())] == [
        "2024-05-05T22:00:00+00:00",
        "2024-05-12T22:00:00+00:00",
        "2024-05-19T22:00:00+00:00",
    ]


def test_without_javascript_the_preview_button_shows_the_same_runs_and_saves_nothing(
    berlin: Server, frozen: Client
) -> None:
    fields = form(berlin, frequency="weekly", weekdays=["0"], time_of_day="07:00", timezone="Asia/Tokyo")
    page = frozen.post(new_url(berlin), {**fields, "preview": "1"})
    assert page.status_code == 200
    partial = frozen.get(preview_url(berlin), fields)
    assert run_times(page.content.decode()) == run_times(partial.content.decode()) != []
    assert not Schedule.objects.exists() and twins() == 0
    # A refused POST shows the preview too, for what was valid of the timing.
    refused = frozen.post(new_url(berlin), {**fields, "name": ""}).content.decode()
    assert run_times(refused) == run_times(partial.content.decode())


def test_the_first_previewed_run_is_the_next_run_the_schedule_gets(berlin: Server, frozen: Client) -> None:
    fields = form(berlin, frequency="every_n_hours", every_hours="5", time_of_day="01:00")
    [(first, _), *_] = run_times(frozen.get(preview_url(berlin), fields).content.decode())
    frozen.post(new_url(berlin), fields)
    assert Schedule.objects.get().next_run_at == datetime.fromisoformat(first)


# --- Who may --------------------------------------------------------------------------------------------


def _pages(server: Server, schedule: Schedule) -> list[tuple[str, str]]:
    base = f"/servers/{server.guild.id}/schedules"
    return [
        ("get", f"{base}/new/"),
        ("post", f"{base}/new/"),
        ("get", f"{base}/{schedule.pk}/edit/"),
        ("post", f"{base}/{schedule.pk}/edit/"),
        ("post", f"{base}/{schedule.pk}/delete/"),
        ("get", f"{base}/preview/"),
    ]


def test_anonymous_visitors_are_sent_to_log_in_and_change_nothing(client: Client, berlin: Server) -> None:
    schedule = a_schedule(berlin)
    before = snapshot()
    for method, url in _pages(berlin, schedule):
        response = getattr(client, method)(url, {**form(berlin, name="hijacked"), "confirm": "yes"})
        assert response.status_code == 302 and "/login/" in response["Location"], (method, url)
    assert snapshot() == before


def test_a_member_without_manage_server_gets_403_and_changes_nothing(
    client: Client, oauth_discord: FakeDiscord, berlin: Server
) -> None:
    schedule = a_schedule(berlin)
    before = snapshot()
    log_in(client, oauth_discord, berlin.member)
    for method, url in _pages(berlin, schedule):
        assert getattr(client, method)(url, {**form(berlin, name="x"), "confirm": "yes"}).status_code == 403, url
    assert snapshot() == before


def test_a_manager_of_another_server_gets_404_and_changes_nothing(
    client: Client, oauth_discord: FakeDiscord, berlin: Server
) -> None:
    schedule = a_schedule(berlin)
    other = make_server(oauth_discord, "Beta")
    before = snapshot()
    log_in(client, oauth_discord, other.manager)
    for method, url in _pages(berlin, schedule):
        assert getattr(client, method)(url, {**form(berlin, name="x"), "confirm": "yes"}).status_code == 404, url
    # Through their own server's URLs, this server's schedule is not theirs either.
    for method, url in _pages(other, schedule)[2:5]:
        assert getattr(client, method)(url, {**form(other, name="x"), "confirm": "yes"}).status_code == 404, url
    assert snapshot() == before


def test_the_manager_reaches_every_page(berlin: Server, frozen: Client) -> None:
    schedule = a_schedule(berlin)
    for method, url in _pages(berlin, schedule):
        if method == "get":
            assert frozen.get(url).status_code == 200, url
    assert frozen.post(f"/servers/{berlin.guild.id}/schedules/{schedule.pk}/delete/").status_code == 200


# --- In a browser ---------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium)")
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_preview_follows_the_fields_and_the_schedule_is_created(  # type: ignore[no-untyped-def]
    live_server, discord_settings: FakeDiscord, settings, tmp_path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements/dev.txt)")
    point_settings_at(settings, discord_settings)
    server = make_server(discord_settings, "Alpha")
    Guild.objects.filter(pk=server.guild.pk).update(timezone="Asia/Tokyo")
    discord_settings.oauth_login_as(server.manager)
    shots = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)

    # Playwright's sync API keeps an event loop in this thread: the ORM is used only before and after it.
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(f"{live_server.url}/login/")
            page.get_by_role("button", name="Log in with Discord").click()
            page.wait_for_url(f"{live_server.url}/")
            page.goto(f"{live_server.url}/servers/{server.guild.id}/schedules/")
            page.get_by_role("link", name="New schedule").click()
            preview = page.locator("#schedule-preview")
            sync_api.expect(preview).to_contain_text("needs a time of day")  # daily, but no time yet: loaded by htmx
            page.get_by_label("Name", exact=True).fill("weekday mornings")
            page.get_by_label("Channels", exact=True).select_option(str(server.general.id))
            page.get_by_label("How often").select_option("cron")
            page.get_by_label("Cron expression").fill("30 8 * * 1-5")
            page.get_by_label("Cron expression").press("Tab")  # a change event: htmx asks for the preview
            sync_api.expect(preview.locator("li")).to_have_count(3)
            sync_api.expect(preview.locator("li").first).to_contain_text("08:30 JST")
            page.screenshot(path=str(shots / "schedule-form.png"), full_page=True)
            page.get_by_role("button", name="Create").click()
            sync_api.expect(page.get_by_role("status")).to_contain_text("Schedule weekday mornings created.")
            sync_api.expect(page.locator("td.state time.next-run")).to_contain_text("08:30 JST")
            sync_api.expect(page.locator("tbody tr").first).to_contain_text("cron '30 8 * * 1-5' (Asia/Tokyo)")
            page.screenshot(path=str(shots / "schedules.png"), full_page=True)
        finally:
            browser.close()

    schedule = Schedule.objects.get()
    assert (schedule.name, schedule.frequency, schedule.cron, schedule.timezone) == (
        "weekday mornings",
        "cron",
        "30 8 * * 1-5",
        "Asia/Tokyo",
    )
    assert schedule.channel_ids == [server.general.id] and twin(schedule.pk) is not None
