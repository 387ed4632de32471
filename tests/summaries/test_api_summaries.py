"""REST API: summaries and usage through API keys, end to end against the fake Discord.

Requests go through the real URL conf, authentication, throttle and exception handler; a POSTed job runs
through the worker's task function like any other job (tests/summaries/test_job_runner.py).
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from guilds.models import Channel, Guild
from summaries.models import DeliveryMode, JobSource, JobStatus, SummaryJob, UsageRecord
from summaries.tasks import run_summary_job
from summarybot.api import LimitedJSONParser, PayloadTooLarge
from tests.api_support import assert_envelope
from tests.factories import ChannelFactory, GuildFactory, ScheduleFactory, SummaryFactory, SummaryJobFactory
from tests.fakes.discord import FakeDiscord
from webhooks.models import ApiKey
from webhooks.services import api_key_issue, api_key_revoke

JUMP = re.compile(r"^https://discord\.com/channels/(\d+)/(\d+)/(\d+)$")
ALL_SCOPES = ["summaries:read", "summaries:write", "usage:read"]


def key_for(guild: Guild, scopes: list[str] | None = None) -> str:
    return api_key_issue(guild=guild, name="test", scopes=scopes or ALL_SCOPES).plaintext


def auth(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, raw: str, body: object, **headers: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/summaries", data=json.dumps(body), content_type="application/json", **auth(raw), **headers)


# --- End to end: POST, the worker runs the job against the fake Discord, GET shows the cited summary ---


@pytest.fixture
def world(discord_settings: FakeDiscord, settings):  # type: ignore[no-untyped-def]
    settings.OPENAI_API_KEY = ""  # the offline engine: no LLM needed to cite messages
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    bob = fake.add_member(guild, username="bob", global_name="Bob")
    channel = fake.add_channel(guild, "general")
    db_guild = Guild.objects.create(id=guild.id, name="Guild", bot_present=True, member_cooldown_seconds=0)
    Channel.objects.create(id=channel.id, guild_id=guild.id, name="general")
    lines = [
        (alice, "Should we ship the release on Tuesday?"),
        (bob, "Yes, let's go with Tuesday, code freeze Friday."),
        (alice, "I'll write the release notes by Thursday."),
        (bob, "The flaky login test is fixed: https://git.example.com/pr/812"),
    ]
    messages = [fake.add_message(channel, author=a, content=f"{t} (#{n})") for n, (a, t) in
                enumerate(lines[n % 4] for n in range(60))]
    return fake, db_guild, channel, messages


@pytest.mark.django_db(transaction=True)
def test_posted_window_runs_through_the_worker_and_reads_back_cited_with_jump_links(world, client):
    fake, guild, channel, messages = world
    raw = key_for(guild)

    created = post(client, raw, {"channel_id": str(channel.id), "messages": 40, "format": "brief"})
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["status"] == "queued" and body["url"].endswith(f"/api/v1/summaries/{body['id']}")
    assert created["Location"] == body["url"]
    job = SummaryJob.objects.get(pk=body["id"])
    assert (job.source, job.delivery_mode, job.api_key.guild_id) == (JobSource.API, DeliveryMode.NONE, guild.id)

    assert run_summary_job(str(job.pk)) == "done"

    done = client.get(f"/api/v1/summaries/{job.pk}", **auth(raw)).json()
    assert done["status"] == "done" and done["progress"] == 100 and done["completed_at"]
    assert done["format"] == "brief" and done["markdown"] and done["usage"]["model"] == "local-extractive"
    window_ids = {m.id for m in messages[-40:]}
    assert done["items"]
    for item in done["items"]:
        assert set(item) >= {"section", "text", "message_ids", "links"}
        assert len(item["links"]) == len(item["message_ids"])
        for link, message_id in zip(item["links"], item["message_ids"], strict=True):
            g, c, m = (int(x) for x in JUMP.match(link).groups())
            assert (g, c, m) == (guild.id, channel.id, int(message_id)) and m in window_ids
    # An API summary is read through the API: nothing was posted to Discord.
    assert not fake.requests_matching("POST", r"/channels/\d+/messages")

    markdown = client.get(f"/api/v1/summaries/{job.pk}?format=markdown", **auth(raw))
    assert markdown.status_code == 200 and markdown["Content-Type"].startswith("text/markdown")
    assert markdown.content.decode() == done["markdown"]

    listed = client.get(f"/api/v1/summaries?status=done&channel_id={channel.id}", **auth(raw)).json()
    assert [s["id"] for s in listed["results"]] == [str(job.pk)] and listed["next"] is None


# --- Requests: idempotency, channel rules, bad input ---


@pytest.fixture
def guild_channel(db):  # type: ignore[no-untyped-def]
    guild = GuildFactory(member_cooldown_seconds=0)
    return guild, ChannelFactory(guild=guild)


def test_same_idempotency_key_and_body_return_the_same_summary_another_body_is_422(guild_channel, client):
    guild, channel = guild_channel
    raw = key_for(guild)
    body = {"channel_id": channel.id, "hours": 6}
    first = post(client, raw, body, HTTP_IDEMPOTENCY_KEY="order-42")
    again = post(client, raw, body, HTTP_IDEMPOTENCY_KEY="order-42")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]

    changed = post(client, raw, {"channel_id": channel.id, "hours": 7}, HTTP_IDEMPOTENCY_KEY="order-42")
    error = assert_envelope(changed, 422, "idempotency_key_reused")
    assert error["details"]["summary_id"] == first.json()["id"]
    assert SummaryJob.objects.count() == 1

    other = post(client, raw, body, HTTP_IDEMPOTENCY_KEY="order-43")
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


@pytest.mark.parametrize(
    ("channel_kwargs", "status", "code"),
    [
        ({"is_locked": True}, 403, "permission_denied"),
        ({"enabled": False}, 403, "permission_denied"),
        ({"deleted_at": timezone.now()}, 404, "not_found"),
    ],
)
def test_channel_rules_hold_for_api_requests(client, db, channel_kwargs, status, code):
    guild = GuildFactory()
    channel = ChannelFactory(guild=guild, **channel_kwargs)
    assert_envelope(post(client, key_for(guild), {"channel_id": channel.id}), status, code)
    assert not SummaryJob.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"channel_id": "general"},
        {"channel_id": 1, "hours": 0},
        {"channel_id": 1, "hours": 500},
        {"channel_id": 1, "messages": -3},
        {"channel_id": 1, "messages": "many"},
        {"channel_id": 1, "messages": [{"author": "a", "content": "hi", "timestamp": "2026-01-01T00:00:00Z"}]},
        {"channel_id": 1, "hours": 2, "after": "2026-01-01T00:00:00Z"},
        {"channel_id": 1, "after": "yesterday"},
        {"channel_id": 1, "after": "2026-01-02T00:00:00Z", "before": "2026-01-01T00:00:00Z"},
        {"channel_id": 1, "after": "123", "before": "2026-01-01T00:00:00Z"},
        {"channel_id": 1, "before": "2026-01-01T00:00:00Z"},
        {"channel_id": 1, "format": "poem"},
        {"channel_id": 1, "language": "not a language"},
        {"channel_id": 1, "window": "hours"},
        [1, 2, 3],
        "just text",
    ],
)
def test_bad_input_is_400_with_the_envelope_never_500(guild_channel, client, body):
    guild, channel = guild_channel
    if isinstance(body, dict) and body.get("channel_id") == 1:
        body = {**body, "channel_id": channel.id}
    assert_envelope(post(client, key_for(guild), body), 400, "invalid_input")
    assert not SummaryJob.objects.exists()


def test_malformed_json_and_a_long_idempotency_key_are_400(guild_channel, client):
    guild, channel = guild_channel
    raw = key_for(guild)
    broken = client.post("/api/v1/summaries", data="{not json", content_type="application/json", **auth(raw))
    assert_envelope(broken, 400)
    assert_envelope(post(client, raw, {"channel_id": channel.id}, HTTP_IDEMPOTENCY_KEY="k" * 129), 400, "invalid_input")



def test_message_id_and_time_windows_are_stored_on_the_job(guild_channel, client):
    guild, channel = guild_channel
    raw = key_for(guild)
    by_id = post(client, raw, {"channel_id": channel.id, "after": "1000", "before": 2000, "messages": 50})
    by_time = post(client, raw, {"channel_id": channel.id, "after": "2026-01-01T00:00:00Z", "before": "2026-01-01T06:00"})
    assert (by_id.status_code, by_time.status_code) == (202, 202)
    job = SummaryJob.objects.get(pk=by_id.json()["id"])
    assert (job.window_kind, job.after_message_id, job.before_message_id, job.message_limit) == ("from_message", 1001, 2000, 50)
    job = SummaryJob.objects.get(pk=by_time.json()["id"])
    assert job.window_kind == "range" and job.until - job.since == timedelta(hours=6)


def test_a_body_over_one_mebibyte_is_413_with_the_envelope(guild_channel, client):
    guild, channel = guild_channel
    body = {"channel_id": channel.id, "language": "en", "padding": "x" * (1024 * 1024)}
    assert_envelope(post(client, key_for(guild), body), 413, "payload_too_large")
    assert not SummaryJob.objects.exists()


def test_a_body_without_a_length_is_still_read_no_further_than_the_limit(settings):
    settings.API_MAX_BODY_BYTES = 64
    stream = io.BytesIO(json.dumps({"channel_id": 1, "language": "x" * 1000}).encode())
    with pytest.raises(PayloadTooLarge):
        LimitedJSONParser().parse(stream)
    assert stream.tell() == 65
    assert LimitedJSONParser().parse(io.BytesIO(b'{"channel_id": 1}')) == {"channel_id": 1}


def test_the_guilds_concurrency_limit_is_429_with_retry_after(guild_channel, client):
    guild, channel = guild_channel
    Guild.objects.filter(pk=guild.pk).update(max_concurrent_jobs=1)
    raw = key_for(guild)
    assert post(client, raw, {"channel_id": channel.id}).status_code == 202
    refused = post(client, raw, {"channel_id": channel.id, "hours": 2})
    assert_envelope(refused, 429, "limit_exceeded")
    assert int(refused["Retry-After"]) == 30 and SummaryJob.objects.count() == 1


def test_the_throttle_answers_429_with_retry_after_per_key(guild_channel, client, settings):
    guild, _ = guild_channel
    settings.API_THROTTLE_RATE = "2/day"
    raw, other = key_for(guild), key_for(guild)
    assert [client.get("/api/v1/usage", **auth(raw)).status_code for _ in range(2)] == [200, 200]
    throttled = client.get("/api/v1/usage", **auth(raw))
    assert_envelope(throttled, 429, "throttled")
    assert 0 < int(throttled["Retry-After"]) <= 86400  # fixed windows: the rest of the day
    assert client.get("/api/v1/usage", **auth(other)).status_code == 200  # counted per key


# --- Authentication and scopes ---


@pytest.mark.parametrize(
    "case", ["missing", "unknown", "wrong_secret", "expired", "revoked", "not_bearer", "wrong_x_api_key"]
)
def test_every_bad_key_gets_the_same_401(guild_channel, client, case):
    guild, _ = guild_channel
    issued = api_key_issue(guild=guild, name="k", scopes=ALL_SCOPES)
    headers = auth(issued.plaintext)
    if case == "missing":
        headers = {}
    elif case == "unknown":
        headers = auth("sbk_00000000.nothing")
    elif case == "wrong_secret":
        headers = auth(issued.api_key.prefix + ".wrong")
    elif case == "expired":
        ApiKey.objects.filter(pk=issued.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "revoked":
        api_key_revoke(api_key=issued.api_key)
    elif case == "not_bearer":
        headers = {"HTTP_AUTHORIZATION": f"Basic {issued.plaintext}"}
    elif case == "wrong_x_api_key":
        headers = {"HTTP_X_API_KEY": issued.api_key.prefix + ".wrong"}
    response = client.get("/api/v1/summaries", **headers)
    error = assert_envelope(response, 401, "authentication_failed")
    assert error["message"] == "Invalid API key." and response["WWW-Authenticate"].startswith("Bearer")


def test_x_api_key_header_is_accepted(guild_channel, client):
    guild, _ = guild_channel
    response = client.get("/api/v1/summaries", HTTP_X_API_KEY=key_for(guild))
    assert response.status_code == 200 and response.json() == {"results": [], "next": None}


@pytest.mark.parametrize(
    ("method", "path", "scope_held"),
    [
        ("post", "/api/v1/summaries", "summaries:read"),
        ("get", "/api/v1/summaries", "summaries:write"),
        ("get", "/api/v1/summaries/00000000-0000-0000-0000-000000000000", "usage:read"),
        ("get", "/api/v1/usage", "summaries:read"),
    ],
)
def test_a_key_without_the_scope_gets_403(guild_channel, client, method, path, scope_held):
    guild, channel = guild_channel
    raw = key_for(guild, [scope_held])
    if method == "post":
        response = post(client, raw, {"channel_id": channel.id})
    else:
        response = client.get(path, **auth(raw))
    error = assert_envelope(response, 403)
    # The scope as a key lists it ('summaries:read'), not the enum's repr (ApiScope.SUMMARIES_READ).
    needed = {"post": "summaries:write", "get": "summaries:read"}[method] if path != "/api/v1/usage" else "usage:read"
    assert f"lacks the '{needed}' scope" in error["message"]
    assert not SummaryJob.objects.exists()


def test_methods_a_resource_does_not_offer_are_refused(guild_channel, client):
    guild, _ = guild_channel
    response = client.delete("/api/v1/usage", **auth(key_for(guild)))
    assert_envelope(response, 405, "method_not_allowed")
    assert_envelope(client.delete("/api/v1/usage"), 401)  # still no answer at all without a key



def test_options_describes_the_endpoint_to_any_valid_key_and_to_no_one_else(guild_channel, client):
    # Fuzzing found OPTIONS answered "lacks the scope" to a valid key: it describes what the endpoint takes.
    guild, _ = guild_channel
    response = client.options("/api/v1/summaries", **auth(key_for(guild, ["usage:read"])))
    assert response.status_code == 200 and response.json()["name"]
    assert_envelope(client.options("/api/v1/summaries"), 401)

# --- Tenant isolation: another guild's key sees nothing of this guild ---


@pytest.fixture
def two_guilds(db):  # type: ignore[no-untyped-def]
    ours, theirs = GuildFactory(member_cooldown_seconds=0), GuildFactory()
    channel = ChannelFactory(guild=ours)
    job = SummaryJobFactory(guild=ours, channel_id=channel.id, status=JobStatus.DONE, finished_at=timezone.now())
    SummaryFactory(job=job, guild=ours, channel_id=channel.id)
    UsageRecord.objects.create(
        guild=ours, day=timezone.localdate(), provider="openai", model="m", prompt_tokens=900, completion_tokens=100,
        llm_calls=3, summaries=1, cost_usd=Decimal("0.5"),
    )
    return ours, theirs, channel, job


@pytest.mark.parametrize(
    "request_",
    ["get_summary", "get_summary_markdown", "list_summaries", "list_by_channel", "post_summary", "usage"],
)
def test_another_guilds_key_sees_nothing_of_this_guild(two_guilds, client, request_):
    ours, theirs, channel, job = two_guilds
    own_key, their_key = key_for(ours), key_for(theirs)

    def call(raw: str):  # type: ignore[no-untyped-def]
        if request_ == "get_summary":
            return client.get(f"/api/v1/summaries/{job.pk}", **auth(raw))
        if request_ == "get_summary_markdown":
            return client.get(f"/api/v1/summaries/{job.pk}?format=markdown", **auth(raw))
        if request_ == "list_summaries":
            return client.get("/api/v1/summaries", **auth(raw))
        if request_ == "list_by_channel":
            return client.get(f"/api/v1/summaries?channel_id={channel.id}", **auth(raw))
        if request_ == "post_summary":
            return post(client, raw, {"channel_id": channel.id})
        return client.get("/api/v1/usage", **auth(raw))

    theirs_sees = call(their_key)
    if request_ in ("get_summary", "get_summary_markdown", "post_summary"):
        assert_envelope(theirs_sees, 404, "not_found")
    elif request_ == "usage":
        assert theirs_sees.json()["tokens"] == 0
    else:
        assert theirs_sees.json() == {"results": [], "next": None}
    assert SummaryJob.objects.filter(guild=theirs).count() == 0

    ours_sees = call(own_key)  # the same request with the right guild's key does find it
    assert ours_sees.status_code in (200, 202)
    if request_ == "usage":
        assert ours_sees.json()["tokens"] == 1000 and ours_sees.json()["cost_usd"] == "0.500000"
    elif request_.startswith("list"):
        assert [s["id"] for s in ours_sees.json()["results"]] == [str(job.pk)]


def test_a_members_private_summary_is_not_the_keys_to_read(two_guilds, client):
    ours, _, channel, _ = two_guilds
    private = SummaryJobFactory(guild=ours, channel_id=channel.id, source=JobSource.SLASH_COMMAND, visibility="private")
    raw = key_for(ours)
    assert_envelope(client.get(f"/api/v1/summaries/{private.pk}", **auth(raw)), 404)
    assert str(private.pk) not in json.dumps(client.get("/api/v1/summaries", **auth(raw)).json())


def test_an_id_that_is_no_uuid_is_404_with_the_envelope(two_guilds, client):
    ours, *_ = two_guilds
    assert_envelope(client.get("/api/v1/summaries/../../etc", **auth(key_for(ours))), 404)
    assert_envelope(client.get("/api/v1/summaries/12345", **auth(key_for(ours))), 404, "not_found")


# --- Lists, filters, the unfinished summary, the schema ---


def test_list_filters_and_cursor_pagination(two_guilds, client):
    ours, _, channel, done_job = two_guilds
    queued = [SummaryJobFactory(guild=ours, channel_id=channel.id) for _ in range(3)]
    elsewhere = SummaryJobFactory(guild=ours, channel_id=ChannelFactory(guild=ours).id)
    raw = key_for(ours)

    page = client.get("/api/v1/summaries?limit=2", **auth(raw)).json()
    seen = [s["id"] for s in page["results"]]
    while page["next"]:
        page = client.get(page["next"], **auth(raw)).json()
        seen += [s["id"] for s in page["results"]]
    assert sorted(seen) == sorted(str(j.pk) for j in [done_job, *queued, elsewhere]) and len(seen) == 5

    queued_only = client.get(f"/api/v1/summaries?status=queued&channel_id={channel.id}", **auth(raw)).json()
    assert {s["id"] for s in queued_only["results"]} == {str(j.pk) for j in queued}
    SummaryJob.objects.filter(pk=done_job.pk).update(created_at=timezone.now() - timedelta(days=3))
    recent = client.get(
        "/api/v1/summaries", {"since": (timezone.now() - timedelta(days=1)).isoformat()}, **auth(raw)
    ).json()
    assert str(done_job.pk) not in {s["id"] for s in recent["results"]} and len(recent["results"]) == 4
    for bad in ("status=asleep", "since=yesterday", "channel_id=general", "limit=0"):
        assert_envelope(client.get(f"/api/v1/summaries?{bad}", **auth(raw)), 400, "invalid_input")


def test_an_unfinished_summary_has_no_markdown_yet(two_guilds, client):
    ours, _, channel, _ = two_guilds
    job = SummaryJobFactory(guild=ours, channel_id=channel.id, status=JobStatus.SUMMARIZING, progress=40)
    raw = key_for(ours)
    body = client.get(f"/api/v1/summaries/{job.pk}", **auth(raw)).json()
    assert (body["status"], body["progress"], body["markdown"], body["items"]) == ("running", 40, None, [])
    assert_envelope(client.get(f"/api/v1/summaries/{job.pk}?format=markdown", **auth(raw)), 409, "conflict")
    assert_envelope(client.get(f"/api/v1/summaries/{job.pk}?format=pdf", **auth(raw)), 400)


def test_the_schema_and_docs_are_served_without_a_key_with_local_assets(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/summaries", "/api/v1/summaries/{summary_id}", "/api/v1/usage"} <= set(paths)
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html and "unpkg" not in html


def test_a_schedules_summaries_name_it_and_can_be_listed_by_it(two_guilds, client):
    ours, theirs, channel, by_hand = two_guilds
    schedule = ScheduleFactory(guild=ours, channel_ids=[channel.id])
    made = SummaryJobFactory(guild=ours, channel_id=channel.id, source=JobSource.SCHEDULE, schedule=schedule)
    raw = key_for(ours)

    listed = client.get(f"/api/v1/summaries?schedule_id={schedule.pk}", **auth(raw)).json()
    assert [(s["id"], s["schedule_id"]) for s in listed["results"]] == [(str(made.pk), schedule.pk)]
    assert client.get(f"/api/v1/summaries/{by_hand.pk}", **auth(raw)).json()["schedule_id"] is None
    assert client.get(f"/api/v1/summaries?schedule_id={schedule.pk}", **auth(key_for(theirs))).json()["results"] == []
    for bad in ("schedule_id=daily", "schedule_id=0"):
        assert_envelope(client.get(f"/api/v1/summaries?{bad}", **auth(raw)), 400, "invalid_input")


@pytest.mark.parametrize("channel_id", ["²", "١٢٣", "1²"])
def test_an_id_of_digits_that_are_not_ascii_is_400_not_500(guild_channel, client, channel_id):
    # "²".isdigit() is true and int("²") raises: such an id once crashed the request.
    guild, _ = guild_channel
    error = assert_envelope(post(client, key_for(guild), {"channel_id": channel_id}), 400, "invalid_input")
    assert "channel_id" in error["details"]
