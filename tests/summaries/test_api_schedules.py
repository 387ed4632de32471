"""REST API: schedules through API keys — definitions, timing, actions, scopes and tenant isolation.

Requests go through the real URL conf, authentication, throttle, exception handler and schedule services;
time is frozen with time-machine. A run's jobs are made by the task function django-q2 would call
(summaries.tasks.run_schedule_now), as the worker would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_q.models import OrmQ
from django_q.models import Schedule as QSchedule

from summaries.models import JobSource, Schedule, SummaryJob
from summaries.services.schedules import TWIN_PREFIX, schedule_create, schedule_pause, twin_name
from summaries.tasks import run_schedule_now
from tests.api_support import assert_envelope
from tests.factories import ChannelFactory, GuildFactory, WebhookDestinationFactory
from webhooks.services import api_key_issue

pytestmark = pytest.mark.django_db

MAY_2 = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)  # 14:00 in Berlin (CEST, UTC+2)
SCHEDULE_SCOPES = ["schedules:read", "schedules:write", "summaries:read"]
FIELDS = {
    "id", "name", "scope", "channel_ids", "category_id", "whole_guild", "excluded_channel_ids", "frequency",
    "every_hours", "cron", "time_of_day", "weekdays", "day_of_month", "timezone", "lookback_hours", "format",
    "language", "min_messages", "mode", "discord_channel_id", "destination_ids", "enabled", "paused_reason",
    "consecutive_failures", "next_run_at", "last_run_at",
}


def key_for(guild, scopes: list[str] | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    raw = api_key_issue(guild=guild, name="test", scopes=scopes or SCHEDULE_SCOPES).plaintext
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def send(client, method: str, path: str, headers: dict[str, str], body: object = None):  # type: ignore[no-untyped-def]
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method)(path, data=data, content_type="application/json", **headers)


def when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def twin(schedule_id: int) -> QSchedule | None:
    return QSchedule.objects.filter(name=twin_name(schedule_id)).first()


def twins() -> int:
    return QSchedule.objects.filter(name__startswith=TWIN_PREFIX).count()


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    guild = GuildFactory(timezone="Europe/Berlin", member_cooldown_seconds=0)
    channels = [ChannelFactory(guild=guild, name=name) for name in ("general", "dev", "design")]
    return guild, channels


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    with time_machine.travel(MAY_2, tick=False) as traveller:
        yield traveller


def daily_body(channels, **overrides: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"name": "standup digest", "channel_ids": [str(c.id) for c in channels], "frequency": "daily",
            "time_of_day": "09:00", **overrides}


def a_schedule(guild, channels, **overrides: object) -> Schedule:  # type: ignore[no-untyped-def]
    fields = {"name": "standup digest", "channel_ids": [c.id for c in channels], "frequency": "daily",
              "time_of_day": "09:00", **overrides}
    return schedule_create(guild_id=guild.id, **fields)


# --- Create, read, list ---------------------------------------------------------------------------------


def test_a_daily_digest_of_three_channels_is_created_armed_at_local_time_and_read_back(world, client, frozen):
    guild, channels = world
    headers = key_for(guild)
    destination = WebhookDestinationFactory(guild=guild)
    created = send(client, "post", "/api/v1/schedules", headers, daily_body(
        channels, format="brief", language="en", min_messages=3, destination_ids=[destination.pk],
        discord_channel_id=str(channels[0].id),
    ))
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == FIELDS
    assert created["Location"].endswith(f"/api/v1/schedules/{body['id']}")
    assert body["channel_ids"] == [str(c.id) for c in channels]  # snowflakes as strings
    assert body["discord_channel_id"] == str(channels[0].id) and body["destination_ids"] == [destination.pk]
    assert body["scope"] == "#general, #dev, #design"
    assert (body["frequency"], body["time_of_day"], body["timezone"]) == ("daily", "09:00", "Europe/Berlin")
    assert (body["format"], body["language"], body["min_messages"], body["mode"]) == ("brief", "en", 3, "per_channel")
    assert (body["enabled"], body["paused_reason"], body["consecutive_failures"], body["last_run_at"]) == (
        True, "", 0, None,
    )
    # 09:00 in Berlin (CEST) the next morning, and django-q2's twin fires then.
    assert when(body["next_run_at"]) == datetime(2024, 5, 3, 7, 0, tzinfo=UTC)
    assert twin(body["id"]).next_run == when(body["next_run_at"])

    assert send(client, "get", f"/api/v1/schedules/{body['id']}", headers).json() == body
    listed = send(client, "get", "/api/v1/schedules", headers).json()
    assert listed == {"results": [body], "next": None}


def test_other_frequencies_keep_only_their_own_timing_fields(world, client, frozen):
    guild, channels = world
    headers = key_for(guild)
    weekly = send(client, "post", "/api/v1/schedules", headers, daily_body(
        channels[:1], frequency="weekly", weekdays=[4, 0], time_of_day="8:30", timezone="America/New_York",
        every_hours=6, day_of_month=3,
    )).json()
    assert (weekly["weekdays"], weekly["time_of_day"], weekly["every_hours"], weekly["day_of_month"]) == (
        [0, 4], "08:30", None, None,
    )
    assert when(weekly["next_run_at"]) == datetime(2024, 5, 3, 12, 30, tzinfo=UTC)  # Friday 08:30 EDT
    cron = send(client, "post", "/api/v1/schedules", headers, {
        "name": "whole server", "whole_guild": True, "excluded_channel_ids": [channels[2].id], "frequency": "cron",
        "cron": "0 18 * * 1-5",
    }).json()
    assert (cron["scope"], cron["cron"], cron["time_of_day"]) == ("whole server minus 1 channel", "0 18 * * 1-5", None)
    assert when(cron["next_run_at"]) == datetime(2024, 5, 2, 16, 0, tzinfo=UTC)


def test_created_paused_it_has_no_next_run_and_no_twin(world, client, frozen):
    guild, channels = world
    body = send(client, "post", "/api/v1/schedules", key_for(guild), daily_body(channels, enabled=False)).json()
    assert (body["enabled"], body["next_run_at"], body["paused_reason"]) == (False, None, "Created paused.")
    assert twin(body["id"]) is None


def test_the_list_filters_by_enabled_and_pages_with_a_cursor(world, client, frozen):
    guild, channels = world
    headers = key_for(guild)
    schedules = []
    for n in range(3):
        frozen.shift(timedelta(seconds=1))  # distinct creation times: the cursor's order
        schedules.append(a_schedule(guild, channels, name=f"digest {n}"))
    schedule_pause(guild_id=guild.id, schedule_id=schedules[1].pk)

    page = send(client, "get", "/api/v1/schedules?limit=2", headers).json()
    seen = [s["id"] for s in page["results"]]
    assert len(seen) == 2 and page["next"]
    page = client.get(page["next"], **headers).json()
    seen += [s["id"] for s in page["results"]]
    assert seen == [s.pk for s in reversed(schedules)] and page["next"] is None  # newest first

    paused = send(client, "get", "/api/v1/schedules?enabled=false", headers).json()["results"]
    running = send(client, "get", "/api/v1/schedules?enabled=true", headers).json()["results"]
    assert [s["id"] for s in paused] == [schedules[1].pk]
    assert {s["id"] for s in running} == {schedules[0].pk, schedules[2].pk}
    for bad in ("enabled=maybe", "limit=0", "limit=101", "cursor=garbage"):
        assert_envelope(send(client, "get", f"/api/v1/schedules?{bad}", headers), 404 if "cursor" in bad else 400)


# --- Bad input: 400 naming the field (or the rule), nothing written ---------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": None}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"frequency": "fortnightly"}, "frequency"),
        ({"time_of_day": "25:00"}, "time_of_day"),
        ({"time_of_day": "9am"}, "time_of_day"),
        ({"time_of_day": 900}, "time_of_day"),
        ({"channel_ids": ["general"]}, "channel_ids"),
        ({"channel_ids": "123"}, "channel_ids"),
        ({"channel_ids": ["²"]}, "channel_ids"),
        ({"category_id": -4}, "category_id"),
        ({"whole_guild": "perhaps"}, "whole_guild"),
        ({"weekdays": [7]}, "weekdays"),
        ({"every_hours": 0}, "every_hours"),
        ({"day_of_month": 32}, "day_of_month"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"lookback_hours": 745}, "lookback_hours"),
        ({"format": "poem"}, "format"),
        ({"language": "not a language"}, "language"),
        ({"min_messages": 0}, "min_messages"),
        ({"mode": "both"}, "mode"),
        ({"destination_ids": ["first"]}, "destination_ids"),
        ({"enabled": "sometimes"}, "enabled"),
        ({"colour": "blue"}, "colour"),
        ({"next_run_at": "2024-05-03T07:00:00Z"}, "next_run_at"),
        ({"id": 7}, "id"),
    ],
)
def test_a_bad_field_is_400_naming_it_and_creates_nothing(world, client, overrides, field):
    guild, channels = world
    body = {k: v for k, v in daily_body(channels, **overrides).items() if v is not None}
    error = assert_envelope(send(client, "post", "/api/v1/schedules", key_for(guild), body), 400, "invalid_input")
    assert field in error["details"], error
    assert not Schedule.objects.exists() and twins() == 0


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"frequency": "weekly"}, "weekday"),
        ({"frequency": "every_n_hours"}, "every_hours"),
        ({"frequency": "monthly"}, "day_of_month"),
        ({"frequency": "cron"}, "cron"),
        ({"frequency": "cron", "cron": "61 * * * *"}, "cron"),
        ({"time_of_day": None}, "time of day"),
        ({"whole_guild": True}, "one scope"),
        ({"channel_ids": []}, "one scope"),
        ({"mode": "combined"}, "needs a channel to post in"),
    ],
)
def test_a_definition_the_rules_refuse_is_400_with_the_reason(world, client, overrides, words):
    guild, channels = world
    body = daily_body(channels, **overrides)
    if overrides.get("time_of_day", "") is None:
        del body["time_of_day"]
    error = assert_envelope(send(client, "post", "/api/v1/schedules", key_for(guild), body), 400, "invalid_input")
    assert words in error["message"], error
    assert not Schedule.objects.exists()


def test_a_body_that_is_not_an_object_or_not_json_is_400(world, client):
    guild, _ = world
    headers = key_for(guild)
    for body in ([1, 2], "daily", 3):
        assert_envelope(send(client, "post", "/api/v1/schedules", headers, body), 400, "invalid_input")
    broken = client.post("/api/v1/schedules", data="{nope", content_type="application/json", **headers)
    assert_envelope(broken, 400)


def test_a_channel_or_destination_that_is_not_this_servers_is_not_found(world, client):
    guild, channels = world
    headers = key_for(guild)
    theirs = ChannelFactory(guild=GuildFactory())
    for body in (
        daily_body([channels[0], theirs]),
        daily_body(channels, discord_channel_id=str(theirs.id)),
        daily_body(channels, destination_ids=[WebhookDestinationFactory(guild=theirs.guild).pk]),
    ):
        assert_envelope(send(client, "post", "/api/v1/schedules", headers, body), 404, "not_found")
    assert not Schedule.objects.exists()


# --- Update ------------------------------------------------------------------------------------------


def test_patch_that_changes_the_timing_moves_the_next_run_and_its_twin(world, client, frozen):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    headers = key_for(guild)
    assert schedule.next_run_at == datetime(2024, 5, 3, 7, 0, tzinfo=UTC)

    renamed = send(client, "patch", f"/api/v1/schedules/{schedule.pk}", headers, {"name": "morning digest"})
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "morning digest"
    assert when(renamed.json()["next_run_at"]) == schedule.next_run_at  # timing unchanged: slot kept

    moved = send(client, "patch", f"/api/v1/schedules/{schedule.pk}", headers, {"time_of_day": "18:00"}).json()
    assert (moved["time_of_day"], when(moved["next_run_at"])) == ("18:00", datetime(2024, 5, 2, 16, 0, tzinfo=UTC))
    assert twin(schedule.pk).next_run == datetime(2024, 5, 2, 16, 0, tzinfo=UTC)
    assert twins() == 1

    hourly = send(client, "patch", f"/api/v1/schedules/{schedule.pk}", headers, {
        "frequency": "every_n_hours", "every_hours": 6, "timezone": "UTC",
    }).json()
    assert when(hourly["next_run_at"]) == datetime(2024, 5, 2, 18, 0, tzinfo=UTC)


def test_patch_with_a_new_scope_replaces_the_old_one(world, client, frozen):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    body = send(client, "patch", f"/api/v1/schedules/{schedule.pk}", key_for(guild), {"whole_guild": True}).json()
    assert (body["whole_guild"], body["channel_ids"], body["scope"]) == (True, [], "whole server")


def test_a_bad_patch_is_400_naming_the_field_and_changes_nothing(world, client, frozen):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    headers = key_for(guild)
    path = f"/api/v1/schedules/{schedule.pk}"
    for body, field in (
        ({"time_of_day": "7 o'clock"}, "time_of_day"),
        ({"consecutive_failures": 0}, "consecutive_failures"),
        ({"paused_reason": "x"}, "paused_reason"),
        ({"frequency": "weekly", "weekdays": [9]}, "weekdays"),
        ({"name": ""}, "name"),
    ):
        error = assert_envelope(send(client, "patch", path, headers, body), 400, "invalid_input")
        assert field in error["details"], error
    error = assert_envelope(send(client, "patch", path, headers, {"frequency": "weekly"}), 400, "invalid_input")
    assert "weekday" in error["message"]
    unchanged = Schedule.objects.get(pk=schedule.pk)
    assert (unchanged.frequency, unchanged.time_of_day, unchanged.next_run_at) == (
        "daily", schedule.time_of_day, schedule.next_run_at,
    )


def test_put_is_not_offered(world, client):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    response = send(client, "put", f"/api/v1/schedules/{schedule.pk}", key_for(guild), daily_body(channels))
    assert_envelope(response, 405, "method_not_allowed")


def test_patch_enabled_false_pauses_and_true_resumes(world, client, frozen):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    headers = key_for(guild)
    path = f"/api/v1/schedules/{schedule.pk}"
    paused = send(client, "patch", path, headers, {"enabled": False}).json()
    assert (paused["enabled"], paused["next_run_at"], paused["paused_reason"]) == (False, None, "Paused by an admin.")
    assert twin(schedule.pk) is None
    resumed = send(client, "patch", path, headers, {"enabled": True}).json()
    assert (resumed["enabled"], resumed["paused_reason"]) == (True, "") and resumed["next_run_at"]
    assert twin(schedule.pk) is not None


# --- Actions: pause, resume, run, delete ------------------------------------------------------------------


def test_pause_with_a_reason_then_resume_from_the_next_slot_forgiving_failures(world, client, frozen):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=2)
    headers = key_for(guild)

    paused = send(client, "post", f"/api/v1/schedules/{schedule.pk}/pause", headers, {"reason": "release freeze"})
    assert paused.status_code == 200, paused.content
    body = paused.json()
    assert (body["enabled"], body["paused_reason"], body["next_run_at"]) == (False, "release freeze", None)
    assert twin(schedule.pk) is None
    assert send(client, "post", f"/api/v1/schedules/{schedule.pk}/pause", headers).json()["paused_reason"] == (
        "Paused by an admin."
    )

    frozen.shift(timedelta(days=2))  # the slots of May 3 and 4 pass while it is paused
    resumed = send(client, "post", f"/api/v1/schedules/{schedule.pk}/resume", headers)
    assert resumed.status_code == 200, resumed.content
    body = resumed.json()
    assert (body["enabled"], body["paused_reason"], body["consecutive_failures"]) == (True, "", 0)
    assert when(body["next_run_at"]) == datetime(2024, 5, 5, 7, 0, tzinfo=UTC)
    assert twin(schedule.pk).next_run == datetime(2024, 5, 5, 7, 0, tzinfo=UTC)


def test_action_bodies_are_checked(world, client):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    headers = key_for(guild)
    for action, body, field in (
        ("pause", {"reason": "x" * 201}, "reason"),
        ("pause", {"why": "x"}, "why"),
        ("resume", {"now": True}, "now"),
        ("run", {"slot": "2024-05-01T00:00:00Z"}, "slot"),
    ):
        error = assert_envelope(send(client, "post", f"/api/v1/schedules/{schedule.pk}/{action}", headers, body), 400)
        assert field in error["details"], error
    assert Schedule.objects.get(pk=schedule.pk).enabled


def test_run_now_queues_a_run_whose_summaries_the_summaries_list_shows_with_the_schedule(
    world, client, frozen, django_capture_on_commit_callbacks
):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    headers = key_for(guild)
    path = f"/api/v1/schedules/{schedule.pk}/run"

    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "post", path, headers)
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) == {"schedule_id", "slot", "summary_ids", "summaries_url"}
    assert (body["schedule_id"], when(body["slot"]), body["summary_ids"]) == (schedule.pk, MAY_2, [])
    assert body["summaries_url"].endswith(f"/api/v1/summaries?schedule_id={schedule.pk}")
    [queued] = OrmQ.objects.all()  # the run is a django-q2 task, as the worker will take it
    assert queued.task["func"] == "summaries.tasks.run_schedule_now"

    assert run_schedule_now(schedule.pk, body["slot"]) == "queued 3 jobs"  # what the worker runs
    listed = client.get(body["summaries_url"], **headers).json()["results"]
    assert len(listed) == 3 and {s["schedule_id"] for s in listed} == {schedule.pk}
    assert {s["channel_id"] for s in listed} == {str(c.id) for c in channels}
    jobs = SummaryJob.objects.filter(schedule=schedule)
    assert {(j.source, j.until) for j in jobs} == {(JobSource.SCHEDULE, MAY_2)}

    # Asked again in the same second, it is the same run: its summaries are there to name.
    again = send(client, "post", path, headers).json()
    assert sorted(again["summary_ids"]) == sorted(s["id"] for s in listed)
    assert Schedule.objects.get(pk=schedule.pk).next_run_at == schedule.next_run_at  # timetable untouched


def test_a_paused_schedule_can_still_be_run_now(world, client, frozen):
    guild, channels = world
    schedule = a_schedule(guild, channels, enabled=False)
    assert send(client, "post", f"/api/v1/schedules/{schedule.pk}/run", key_for(guild)).status_code == 202


def test_delete_removes_the_schedule_and_its_django_q_twin_and_keeps_its_summaries(world, client, frozen):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    run_schedule_now(schedule.pk, MAY_2.isoformat())
    assert twin(schedule.pk) is not None
    headers = key_for(guild)

    response = send(client, "delete", f"/api/v1/schedules/{schedule.pk}", headers)
    assert response.status_code == 204 and not response.content
    assert not Schedule.objects.exists() and twins() == 0
    assert SummaryJob.objects.count() == 3 and not SummaryJob.objects.filter(schedule__isnull=False).exists()
    assert_envelope(send(client, "get", f"/api/v1/schedules/{schedule.pk}", headers), 404, "not_found")
    assert_envelope(send(client, "delete", f"/api/v1/schedules/{schedule.pk}", headers), 404, "not_found")


@pytest.mark.parametrize("schedule_id", ["424242", "abc", "1.5", "-1", "99999999999999999999999"])
def test_an_unknown_or_malformed_id_is_404_on_every_endpoint(world, client, schedule_id):
    guild, _ = world
    headers = key_for(guild)
    for method, suffix in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/run"), ("post", "/pause"),
                           ("post", "/resume")):
        body = {"name": "x"} if method == "patch" else None
        assert_envelope(send(client, method, f"/api/v1/schedules/{schedule_id}{suffix}", headers, body), 404)


# --- Scopes and tenant isolation -------------------------------------------------------------------------

ENDPOINTS = [
    ("list", "get", "", "schedules:read"),
    ("create", "post", "", "schedules:write"),
    ("retrieve", "get", "{id}", "schedules:read"),
    ("update", "patch", "{id}", "schedules:write"),
    ("delete", "delete", "{id}", "schedules:write"),
    ("run", "post", "{id}/run", "schedules:write"),
    ("pause", "post", "{id}/pause", "schedules:write"),
    ("resume", "post", "{id}/resume", "schedules:write"),
]


def call(client, endpoint: str, schedule: Schedule, channels, headers):  # type: ignore[no-untyped-def]
    _, method, suffix, _ = next(e for e in ENDPOINTS if e[0] == endpoint)
    path = "/api/v1/schedules" + ("/" + suffix.format(id=schedule.pk) if suffix else "")
    body = {"create": daily_body(channels), "update": {"name": "renamed"}}.get(endpoint)
    return send(client, method, path, headers, body)


@pytest.mark.parametrize("endpoint", [e[0] for e in ENDPOINTS])
def test_a_key_without_the_endpoints_scope_gets_403_and_changes_nothing(world, client, endpoint, frozen):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    needed = next(e[3] for e in ENDPOINTS if e[0] == endpoint)
    other_scopes = [s for s in ("schedules:read", "schedules:write", "summaries:read", "summaries:write") if s != needed]
    error = assert_envelope(call(client, endpoint, schedule, channels, key_for(guild, other_scopes)), 403, "missing_scope")
    assert needed in error["message"]
    after = Schedule.objects.get()
    assert (after.pk, after.name, after.enabled, after.next_run_at) == (
        schedule.pk, schedule.name, True, schedule.next_run_at,
    )


@pytest.mark.parametrize("endpoint", [e[0] for e in ENDPOINTS])
def test_another_guilds_key_gets_404_or_nothing_and_the_owners_key_gets_through(
    world, client, endpoint, frozen, django_capture_on_commit_callbacks
):
    guild, channels = world
    schedule = a_schedule(guild, channels)
    theirs = GuildFactory()

    with django_capture_on_commit_callbacks() as queued:
        their_answer = call(client, endpoint, schedule, channels, key_for(theirs))
    if endpoint == "list":
        assert their_answer.json() == {"results": [], "next": None}
    else:
        # Their schedule does not exist for them; for create, our channels are not in their server.
        assert_envelope(their_answer, 404, "not_found")
    assert not queued  # no run was asked for
    after = Schedule.objects.get()
    assert (after.pk, after.name, after.enabled, after.next_run_at) == (
        schedule.pk, schedule.name, True, schedule.next_run_at,
    )
    assert not Schedule.objects.filter(guild=theirs).exists() and twin(schedule.pk) is not None

    ours = call(client, endpoint, schedule, channels, key_for(guild))
    assert ours.status_code in (200, 201, 202, 204), ours.content
    if endpoint == "list":
        assert [s["id"] for s in ours.json()["results"]] == [schedule.pk]


def test_the_schema_documents_every_schedule_operation(client, db):
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    operations = {
        operation["operationId"]
        for path, methods in paths.items() if path.startswith("/api/v1/schedules")
        for operation in methods.values()
    }
    assert operations == {
        "schedules_list", "schedules_create", "schedules_retrieve", "schedules_partial_update", "schedules_destroy",
        "schedules_run", "schedules_pause", "schedules_resume",
    }


def test_schedule_changes_over_the_api_are_audit_logged_as_the_key(world, client, frozen):
    from guilds.models import ActorKind, AuditEntry

    guild, channels = world
    headers = key_for(guild)
    prefix = headers["HTTP_AUTHORIZATION"].split()[1].split(".")[0]
    schedule = a_schedule(guild, channels[:1])  # made by no front door: the system's
    refused = send(client, "patch", f"/api/v1/schedules/{schedule.pk}", headers, {"frequency": "weekly"})
    assert refused.status_code == 400
    send(client, "patch", f"/api/v1/schedules/{schedule.pk}", headers, {"time_of_day": "18:00"})
    send(client, "post", f"/api/v1/schedules/{schedule.pk}/pause", headers, {"reason": "holidays"})

    entries = list(AuditEntry.objects.filter(target_type="schedule").order_by("pk"))
    assert [(e.action, e.actor_kind, e.actor_id) for e in entries] == [
        ("schedule.create", ActorKind.SYSTEM, ""),
        ("schedule.update", ActorKind.API_KEY, prefix),
        ("schedule.pause", ActorKind.API_KEY, prefix),
    ]
    assert entries[1].changes == {"time_of_day": ["09:00:00", "18:00:00"]}
    assert entries[2].changes == {"enabled": [True, False], "paused_reason": ["", "holidays"]}
