"""Inbound webhooks: `schedule.updated` changes a schedule through the same checks as PATCH /api/v1/schedules.

Events are signed by the `standardwebhooks` library (and hmac for the GitHub style), never by our code;
they go through the real URL conf, view, schedule service and exception handler. Time is frozen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django_q.models import Schedule as QSchedule

from summaries.models import Schedule
from summaries.services.schedules import schedule_create, twin_name
from tests.api_support import assert_envelope
from tests.factories import ChannelFactory, GuildFactory
from tests.webhooks.test_inbound import send, standard_headers
from webhooks.models import InboundEvent
from webhooks.services import inbound_secret_create

pytestmark = pytest.mark.django_db

MAY_2 = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
OURS = "the fixture's schedule"


def schedule_event(schedule_id: object, **changes: object) -> bytes:
    return json.dumps({"type": "schedule.updated", "data": {"schedule_id": schedule_id, **changes}}).encode()


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    with time_machine.travel(MAY_2, tick=False):
        guild = GuildFactory(timezone="Europe/Berlin")
        channel = ChannelFactory(guild=guild, name="dev")
        schedule = schedule_create(
            guild_id=guild.id, name="dev digest", channel_ids=[channel.id], frequency="daily", time_of_day="09:00"
        )
        secret = inbound_secret_create(guild=guild, name="ci").plaintext
        yield guild, schedule, secret


def test_a_signed_schedule_update_moves_the_next_run_and_answers_with_the_schedule(setup, client):
    guild, schedule, secret = setup
    assert schedule.next_run_at == datetime(2024, 5, 3, 7, 0, tzinfo=UTC)
    body = schedule_event(str(schedule.pk), time_of_day="18:00", format="brief")
    response = send(client, guild.id, body, standard_headers(secret, body, at=MAY_2))
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["type"], answer["webhook_id"]) == ("schedule.updated", "msg_1")
    assert (answer["schedule"]["id"], answer["schedule"]["time_of_day"], answer["schedule"]["format"]) == (
        schedule.pk, "18:00", "brief",
    )
    changed = Schedule.objects.get(pk=schedule.pk)
    assert changed.next_run_at == datetime(2024, 5, 2, 16, 0, tzinfo=UTC)  # 18:00 in Berlin, today
    assert QSchedule.objects.get(name=twin_name(schedule.pk)).next_run == changed.next_run_at
    event = InboundEvent.objects.get()
    assert (event.event_type, event.job, event.status_code) == ("schedule.updated", None, 200)


def test_a_replayed_update_gets_the_first_answer_and_changes_nothing_again(setup, client):
    guild, schedule, secret = setup
    body = schedule_event(schedule.pk, name="renamed by the sender")
    first = send(client, guild.id, body, standard_headers(secret, body, msg_id="msg_once", at=MAY_2))
    Schedule.objects.filter(pk=schedule.pk).update(name="renamed by an admin since")
    again = send(client, guild.id, body, standard_headers(secret, body, msg_id="msg_once", at=MAY_2))
    assert (first.status_code, again.status_code, again["Webhook-Replayed"]) == (200, 200, "true")
    assert again.json() == first.json()
    assert Schedule.objects.get(pk=schedule.pk).name == "renamed by an admin since"


def test_pausing_by_webhook_with_enabled_false(setup, client):
    guild, schedule, secret = setup
    body = schedule_event(schedule.pk, enabled=False)
    response = send(client, guild.id, body, standard_headers(secret, body, at=MAY_2))
    assert response.json()["schedule"]["enabled"] is False
    assert Schedule.objects.get(pk=schedule.pk).next_run_at is None
    assert not QSchedule.objects.filter(name=twin_name(schedule.pk)).exists()


def test_a_github_style_signed_update_is_accepted(setup, client):
    guild, schedule, secret = setup
    body = schedule_event(schedule.pk, min_messages=10)
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    response = send(client, guild.id, body, {"HTTP_X_SIGNATURE_256": f"sha256={digest}"})
    assert response.status_code == 200 and response.json()["schedule"]["min_messages"] == 10


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"time_of_day": "18:00"}, "schedule_id"),
        ({"schedule_id": "daily"}, "schedule_id"),
        ({"schedule_id": True}, "schedule_id"),
        ({"schedule_id": OURS, "time_of_day": "6pm"}, "time_of_day"),
        ({"schedule_id": OURS, "weekdays": [8]}, "weekdays"),
        ({"schedule_id": OURS, "colour": "blue"}, "colour"),
        ({"schedule_id": OURS, "next_run_at": "2024-05-03T00:00:00Z"}, "next_run_at"),
    ],
)
def test_invalid_data_is_400_naming_the_field_and_is_not_recorded(setup, client, data, field):
    guild, schedule, secret = setup
    if data.get("schedule_id") is OURS:
        data = {**data, "schedule_id": schedule.pk}
    body = json.dumps({"type": "schedule.updated", "data": data}).encode()
    error = assert_envelope(send(client, guild.id, body, standard_headers(secret, body, at=MAY_2)), 400, "invalid_input")
    assert field in error["details"], error
    assert not InboundEvent.objects.exists()
    assert Schedule.objects.get(pk=schedule.pk).time_of_day == schedule.time_of_day


def test_data_that_is_not_an_object_is_400(setup, client):
    guild, _, secret = setup
    body = b'{"type": "schedule.updated", "data": [1, 2]}'
    assert_envelope(send(client, guild.id, body, standard_headers(secret, body, at=MAY_2)), 400, "invalid_input")


def test_a_change_the_rules_refuse_is_400_with_the_reason(setup, client):
    guild, schedule, secret = setup
    body = schedule_event(schedule.pk, frequency="weekly")
    error = assert_envelope(send(client, guild.id, body, standard_headers(secret, body, at=MAY_2)), 400, "invalid_input")
    assert "weekday" in error["message"]
    assert Schedule.objects.get(pk=schedule.pk).frequency == "daily" and not InboundEvent.objects.exists()


def test_another_guilds_schedule_is_not_found_and_untouched(setup, client):
    guild, schedule, _ = setup
    other = GuildFactory()
    other_secret = inbound_secret_create(guild=other, name="theirs").plaintext
    body = schedule_event(schedule.pk, name="hijacked")
    error = assert_envelope(send(client, other.id, body, standard_headers(other_secret, body, at=MAY_2)), 404)
    assert error["code"] == "not_found"
    # Signed with our guild's secret but sent to theirs: not verified at all.
    _, _, ours = setup
    assert_envelope(send(client, other.id, body, standard_headers(ours, body, at=MAY_2)), 401)
    assert Schedule.objects.get(pk=schedule.pk).name == "dev digest" and not InboundEvent.objects.exists()


def test_an_inbound_update_is_audit_logged_as_the_secret_that_signed_it(setup, client):
    from guilds.models import ActorKind, AuditEntry

    guild, schedule, secret = setup
    refused = schedule_event(schedule.pk, frequency="weekly")
    send(client, guild.id, refused, standard_headers(secret, refused, msg_id="msg_refused", at=MAY_2))
    body = schedule_event(schedule.pk, name="renamed by CI")
    send(client, guild.id, body, standard_headers(secret, body, at=MAY_2))
    send(client, guild.id, body, standard_headers(secret, body, at=MAY_2))  # a replay: no second effect

    [entry] = AuditEntry.objects.filter(action="schedule.update")
    inbound = InboundEvent.objects.get()
    assert (entry.actor_kind, entry.actor_id, entry.actor_name) == (
        ActorKind.INBOUND_WEBHOOK, str(inbound.secret_id), "ci",
    )
    assert entry.changes == {"name": ["dev digest", "renamed by CI"]} and entry.guild_id == guild.id
    assert secret not in json.dumps(list(AuditEntry.objects.values("changes", "actor_name", "target_label")))
