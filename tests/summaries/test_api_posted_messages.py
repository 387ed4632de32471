"""REST API and inbound webhooks: summarizing messages the integration posts instead of a channel.

Posted messages are not on Discord: the job runs with no bot token at all, cites the messages by the ids
the integration gave (or their positions), makes no jump links, and erases the posted text once the
summary is stored. Redaction applies exactly as to Discord messages.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from summaries.models import DeliveryMode, JobSource, JobStatus, PostedTranscript, SummaryJob
from summaries.tasks import run_summary_job
from tests.api_support import assert_envelope
from tests.factories import GuildFactory
from webhooks.services import api_key_issue, inbound_secret_create

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LINES = [
    ("Dana", "Should we move the launch to Tuesday?"),
    ("Eli", "Yes, let's go with Tuesday; the code freeze is Friday."),
    ("Dana", "I'll write the release notes by Thursday."),
    ("Eli", "The flaky login test is fixed now."),
]


def conversation(count: int = 24, *, ids: bool = True) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = []
    for n in range(count):
        author, text = LINES[n % len(LINES)]
        message: dict[str, object] = {
            "author": author, "content": f"{text} ({n})", "timestamp": (START + timedelta(minutes=n)).isoformat(),
        }
        if ids:
            message["id"] = f"comment-{n}"
        messages.append(message)
    return messages


def post(client, raw: str, body: object, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/summaries", data=json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}", **headers,
    )


@pytest.fixture
def guild(db):  # type: ignore[no-untyped-def]
    return GuildFactory(member_cooldown_seconds=0, max_concurrent_jobs=10)


@pytest.fixture
def raw_key(guild) -> str:  # type: ignore[no-untyped-def]
    return api_key_issue(guild=guild, name="notion", scopes=["summaries:read", "summaries:write"]).plaintext


@pytest.fixture
def no_discord(settings):  # type: ignore[no-untyped-def]
    # No bot token and an endpoint nothing listens on: any Discord call would fail the job.
    settings.DISCORD_TOKEN = ""
    settings.DISCORD_API_BASE_URL = "http://127.0.0.1:9/api/v10"
    settings.OPENAI_API_KEY = ""
    settings.SUMMARY_PROVIDER = "local"
    return settings


@pytest.mark.django_db(transaction=True)
def test_posted_messages_are_summarized_without_discord_and_cited_by_the_integrations_ids(guild, raw_key, client,
                                                                                          no_discord):
    messages = conversation()
    created = post(client, raw_key, {"messages": messages, "format": "brief"})
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["channel_id"] is None and body["status"] == "queued"
    job = SummaryJob.objects.get(pk=body["id"])
    assert (job.channel_id, job.source, job.delivery_mode, job.message_limit) == (None, JobSource.API, DeliveryMode.NONE, 24)

    assert run_summary_job(str(job.pk)) == "done"

    done = client.get(f"/api/v1/summaries/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {raw_key}").json()
    assert done["status"] == "done" and done["items"], done
    given = {m["id"] for m in messages}
    cited = [message_id for item in done["items"] for message_id in item["message_ids"]]
    assert cited and set(cited) <= given
    assert all(item["links"] == [] for item in done["items"])
    assert "discord.com" not in done["markdown"] and "posted messages" in done["markdown"]
    # The posted text is gone once summarized; the ids that name the citations stay.
    transcript = PostedTranscript.objects.get(job=job)
    assert transcript.messages == [] and transcript.message_ids == [m["id"] for m in messages]


@pytest.mark.django_db(transaction=True)
def test_without_ids_messages_are_cited_by_their_position_in_time_order(guild, raw_key, client, no_discord):
    messages = conversation(12, ids=False)
    shuffled = messages[6:] + messages[:6]
    created = post(client, raw_key, {"messages": shuffled})
    assert created.status_code == 202, created.content
    job = SummaryJob.objects.get(pk=created.json()["id"])
    stored = PostedTranscript.objects.get(job=job)
    assert [m["content"] for m in stored.messages] == [m["content"] for m in messages]  # sorted by timestamp
    assert stored.message_ids == [str(n) for n in range(1, 13)]

    assert run_summary_job(str(job.pk)) == "done"
    done = client.get(f"/api/v1/summaries/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {raw_key}").json()
    cited = {message_id for item in done["items"] for message_id in item["message_ids"]}
    assert cited and cited <= {str(n) for n in range(1, 13)}


@pytest.mark.django_db(transaction=True)
def test_posted_messages_are_redacted_before_the_llm(guild, raw_key, client, openai_settings, fake_openai):
    openai_settings.DISCORD_TOKEN = ""
    messages = conversation(8)
    messages[2]["content"] = "mail me at dana.private@example.org or call +1 415 555 0132"
    created = post(client, raw_key, {"messages": messages})
    assert created.status_code == 202, created.content

    assert run_summary_job(created.json()["id"]) == "done"

    sent = json.dumps([request.body for request in fake_openai.chat_requests])
    assert fake_openai.chat_requests
    assert "dana.private@example.org" not in sent and "555 0132" not in sent
    assert "release notes" in sent


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": []}, "messages"),
        ({"messages": conversation(3), "channel_id": "123"}, "channel_id"),
        ({"messages": conversation(3), "hours": 6}, "hours"),
        ({"messages": [{"content": "hi", "timestamp": "2026-01-01T00:00:00Z"}]}, "messages"),
        ({"messages": [{"author": "a", "content": "hi", "timestamp": "yesterday"}]}, "messages"),
        ({"messages": [{"author": "a", "content": "x" * 4001, "timestamp": "2026-01-01T00:00:00Z"}]}, "messages"),
        ({"messages": [{"author": "a", "content": "hi", "timestamp": "2026-01-01T00:00:00Z", "id": "x" * 65}]}, "messages"),
        ({"messages": ["just text"]}, "messages"),
        ({"messages": [*conversation(2), {**conversation(1)[0]}]}, "messages"),  # a repeated id
        ({"messages": [conversation(1)[0], conversation(2, ids=False)[1]]}, "messages"),  # ids for some only
        ({"messages": {"author": "a"}}, "messages"),
        ({}, "channel_id"),
    ],
)
def test_bad_posted_messages_are_a_400_naming_the_field_and_write_nothing(guild, raw_key, client, body, field):
    response = post(client, raw_key, body)
    error = assert_envelope(response, 400, "invalid_input")
    assert field in error["details"], error
    assert not SummaryJob.objects.exists() and not PostedTranscript.objects.exists()


def test_a_bad_message_is_named_by_its_index(guild, raw_key, client):
    messages = conversation(3)
    del messages[1]["author"]
    error = assert_envelope(post(client, raw_key, {"messages": messages}), 400, "invalid_input")
    assert set(error["details"]["messages"]) == {"1"} and "author" in error["details"]["messages"]["1"]


def test_more_messages_than_the_window_limit_are_refused(guild, raw_key, client, settings):
    settings.SUMMARY_MAX_WINDOW_MESSAGES = 5
    error = assert_envelope(post(client, raw_key, {"messages": conversation(6)}), 400, "invalid_input")
    assert "At most 5" in json.dumps(error["details"])
    assert post(client, raw_key, {"messages": conversation(5)}).status_code == 202


def test_numeric_ids_are_accepted_as_strings(guild, raw_key, client):
    messages = [{**m, "id": 1000 + n} for n, m in enumerate(conversation(3))]
    response = post(client, raw_key, {"messages": messages})
    assert response.status_code == 202, response.content
    assert PostedTranscript.objects.get().message_ids == ["1000", "1001", "1002"]


def test_the_idempotency_key_covers_the_posted_messages(guild, raw_key, client):
    messages = conversation(4)
    first = post(client, raw_key, {"messages": messages}, HTTP_IDEMPOTENCY_KEY="page-7")
    again = post(client, raw_key, {"messages": messages}, HTTP_IDEMPOTENCY_KEY="page-7")
    assert (first.status_code, again.status_code) == (202, 200) and first.json()["id"] == again.json()["id"]
    edited = [*messages[:-1], {**messages[-1], "content": "something else"}]
    assert_envelope(post(client, raw_key, {"messages": edited}, HTTP_IDEMPOTENCY_KEY="page-7"), 422)
    assert SummaryJob.objects.count() == 1


def test_an_inbound_webhook_can_post_messages_too(guild, client):
    secret = inbound_secret_create(guild=guild, name="zapier").plaintext
    body = json.dumps({"type": "summary.requested", "data": {"messages": conversation(5)}})
    at = datetime.now(tz=UTC)
    response = client.post(
        f"/webhooks/inbound/{guild.id}/", data=body, content_type="application/json",
        HTTP_WEBHOOK_ID="msg_posted", HTTP_WEBHOOK_TIMESTAMP=str(int(at.timestamp())),
        HTTP_WEBHOOK_SIGNATURE=Webhook(secret).sign(msg_id="msg_posted", timestamp=at, data=body),
    )
    assert response.status_code == 202, response.content
    job = SummaryJob.objects.get(pk=response.json()["summary_id"])
    assert (job.channel_id, job.source, job.status) == (None, JobSource.WEBHOOK, JobStatus.QUEUED)
    assert len(PostedTranscript.objects.get(job=job).messages) == 5
