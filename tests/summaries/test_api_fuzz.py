"""REST API fuzzing: schemathesis generates requests for every operation in our OpenAPI document.

The schema is read from the running app (`/api/v1/schema/`) and each request goes through the real URL conf,
authentication, throttle and exception handler, inside the test's transaction. The properties: the server
never answers 5xx, and every 4xx body is the `{"error": {"code", "message", "details"}}` envelope.

Half of the generated requests name the mirrored channel, an existing summary, schedule and Zapier hook (and
a target URL the outbound guard accepts), so they get past the "unknown channel / summary / schedule / hook"
answers and into the services. A POSTed job, a schedule's run or a hook's delivery is enqueued on commit,
which never comes inside a test transaction: nothing runs in the background.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.test.client import ClientHandler
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import wsgi

from summaries.models import JobStatus
from summaries.services.schedules import schedule_materialize
from tests.factories import (
    ChannelFactory,
    GuildFactory,
    ScheduleFactory,
    SummaryFactory,
    SummaryJobFactory,
    WebhookDestinationFactory,
)
from webhooks.services import api_key_issue

# The id drf-spectacular gives as the example of every snowflake: the examples phase asks for this channel.
CHANNEL_ID = 1100000000000000001
SUMMARY_ID = uuid.UUID("5b1e7a1c-0000-4000-8000-00000000f022")
SCHEDULE_ID = 4242
# A local target for the hooks: private networks are allowed in the fuzz so a subscribe can succeed (nothing
# is sent: deliveries are queued on commit, which never comes).
HOOK_TARGET = "http://127.0.0.1:9/zapier-hook"
HOOK_ID = 4343


class DjangoTestWSGI:
    """Django's test-client handler as a WSGI app. Django's own WSGIHandler closes "old" connections around
    every request, which inside the test's transaction would end it; the test client's handler does not."""

    def __init__(self) -> None:
        self.handler = ClientHandler(enforce_csrf_checks=True)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        response = self.handler(environ)
        headers = list(response.items()) + [("Set-Cookie", c.output(header="")) for c in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [b"".join(response.streaming_content) if response.streaming else response.content]


def error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is `{"error": {"code", "message", "details"}}` with a code and a message."""
    if not 400 <= response.status_code < 500:
        return None
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) == {"error"}, f"not an error envelope: {body!r}"
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, f"bad error: {error!r}"
    assert isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str) and error["message"]
    return True


@pytest.fixture
def fuzz_world(db, settings):  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, wsgi.HOST]
    # Hundreds of requests from one key and one address: the throttles have their own tests.
    settings.API_THROTTLE_RATE = settings.API_IP_THROTTLE_RATE = None
    guild = GuildFactory(member_cooldown_seconds=0)
    channel = ChannelFactory(guild=guild, id=CHANNEL_ID)
    job = SummaryJobFactory(id=SUMMARY_ID, guild=guild, channel_id=channel.id, status=JobStatus.DONE, finished_at=timezone.now())
    SummaryFactory(job=job, guild=guild, channel_id=channel.id)
    schedule_materialize(schedule=ScheduleFactory(
        id=SCHEDULE_ID, guild=guild, channel_ids=[channel.id], next_run_at=timezone.now() + timedelta(hours=1)
    ))
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    WebhookDestinationFactory(id=HOOK_ID, guild=guild, kind="zapier", url=HOOK_TARGET, events=["summary.completed"])
    scopes = ["summaries:read", "summaries:write", "usage:read", "schedules:read", "schedules:write",
              "hooks:read", "hooks:write"]
    return api_key_issue(guild=guild, name="fuzz", scopes=scopes).plaintext


# The document `/api/v1/schema/` serves, built by the same generator the view runs. (Loaded at import rather
# than from a fixture: schemathesis' fixture-based loader does not work with pytest 9.)
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@schema.hook
def flatmap_case(context: Any, case: Any) -> st.SearchStrategy[Any]:
    """Half of the cases name the mirrored channel, the existing summary and schedule wherever they name one."""

    def with_known_ids(known: bool) -> Any:
        if known:
            if isinstance(case.body, dict):
                for field in ("channel_id", "discord_channel_id"):
                    if field in case.body:
                        case.body[field] = str(CHANNEL_ID)
                if isinstance(case.body.get("channel_ids"), list):
                    case.body["channel_ids"] = [str(CHANNEL_ID)]
                if "target_url" in case.body:
                    case.body["target_url"] = HOOK_TARGET
            if case.query:
                if "channel_id" in case.query:
                    case.query["channel_id"] = str(CHANNEL_ID)
                if "schedule_id" in case.query:
                    case.query["schedule_id"] = SCHEDULE_ID
            if case.path_parameters and "summary_id" in case.path_parameters:
                case.path_parameters["summary_id"] = str(SUMMARY_ID)
            if case.path_parameters and "schedule_id" in case.path_parameters:
                case.path_parameters["schedule_id"] = str(SCHEDULE_ID)
            if case.path_parameters and "hook_id" in case.path_parameters:
                case.path_parameters["hook_id"] = str(HOOK_ID)
        return case

    return st.booleans().map(with_known_ids)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_no_operation_answers_5xx_and_every_4xx_is_the_error_envelope(case, fuzz_world):
    case.call_and_validate(
        app=DjangoTestWSGI(),
        headers={"Authorization": f"Bearer {fuzz_world}"},
        checks=[not_a_server_error, error_envelope],
    )
