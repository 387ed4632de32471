"""The OpenAI provider through the unmodified SDK against the fake server: replies, every failure class,
structured-output fallback and the fallback model chain."""

from __future__ import annotations

import json
import logging

import pytest

from summaries.llm import errors
from summaries.llm.base import ChatRequest
from summaries.llm.openai_provider import RetryPolicy
from tests.fakes import openai_server as fake

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {
    "name": "summary_brief",
    "schema": {
        "type": "object",
        "properties": {
            "language": {"type": "string"},
            "key_points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}, "refs": {"type": "array", "items": {"type": "integer"}}},
                    "required": ["text", "refs"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["language", "key_points"],
        "additionalProperties": False,
    },
}
TRANSCRIPT = (
    "Chat log from 2026-11-21 10:00 UTC. People: a=Alice, b=Bob\n0 a: ship friday?\n1 b ^0: yes\n2 a +95m: done"
)


def request(**overrides: object) -> ChatRequest:
    arguments: dict[str, object] = {
        "messages": [{"role": "system", "content": "Summarize."}, {"role": "user", "content": TRANSCRIPT}],
        "json_schema": SCHEMA,
        "max_output_tokens": 256,
        **overrides,
    }
    return ChatRequest(**arguments)  # type: ignore[arg-type]


async def test_structured_reply_round_trips_with_strict_schema_and_usage(fake_openai, make_provider):
    provider = make_provider()

    response = await provider.chat(request())

    data = json.loads(response.content)
    cited = {ref for point in data["key_points"] for ref in point["refs"]}
    assert cited == {0, 1, 2}
    assert response.model == "gpt-4o-mini"
    assert response.prompt_tokens == fake_openai.chat_requests[0].prompt_tokens > 0
    assert response.completion_tokens > 0
    sent = fake_openai.chat_requests[0]
    assert sent.response_format["type"] == "json_schema"
    assert sent.response_format["json_schema"]["strict"] is True
    assert sent.authorization == "Bearer sk-test-fake"
    assert sent.body["max_tokens"] == 256  # a compatible endpoint: the widely known parameter


@pytest.mark.parametrize(
    "scripted",
    [
        fake.rate_limited(retry_after_ms=60),
        fake.rate_limited(retry_after=0.06),
        fake.rate_limited(reset_requests="60ms"),
        fake.rate_limited(reset_tokens="0.06s"),
    ],
    ids=["retry-after-ms", "retry-after", "reset-requests", "reset-tokens"],
)
async def test_rate_limited_waits_as_told_then_succeeds(fake_openai, make_provider, scripted):
    fake_openai.enqueue(scripted)
    provider = make_provider(retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.001))

    response = await provider.chat(request())

    first, second = fake_openai.chat_requests
    assert json.loads(response.content)["key_points"]
    # The server's hint (60 ms) was honoured, not the 1 ms back-off.
    assert second.started - first.finished >= 0.055


async def test_rate_limit_longer_than_the_wait_budget_is_raised_with_retry_after(fake_openai, make_provider):
    fake_openai.enqueue(fake.rate_limited(retry_after=30))
    provider = make_provider()

    with pytest.raises(errors.LLMRateLimited) as caught:
        await provider.chat(request())

    assert caught.value.retry_after == 30
    assert caught.value.retryable
    assert len(fake_openai.chat_requests) == 1


async def test_insufficient_quota_is_permanent_and_never_retried(fake_openai, make_provider):
    fake_openai.enqueue(fake.insufficient_quota())
    provider = make_provider()

    with pytest.raises(errors.LLMQuotaExceeded) as caught:
        await provider.chat(request())

    assert caught.value.permanent
    assert len(fake_openai.chat_requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_retried_then_succeeds(fake_openai, make_provider, status):
    fake_openai.enqueue(fake.server_error(status))
    provider = make_provider()

    response = await provider.chat(request())

    assert json.loads(response.content)["language"] == "en"
    assert [r.status for r in fake_openai.chat_requests] == [status, 200]


async def test_dropped_connection_is_retried(fake_openai, make_provider):
    fake_openai.enqueue(fake.dropped_connection())
    provider = make_provider()

    await provider.chat(request())

    assert len(fake_openai.chat_requests) == 2


async def test_timeouts_are_retried_then_reported_unavailable(fake_openai, make_provider):
    fake_openai.enqueue(fake.slow(3), fake.slow(3), fake.slow(3))
    provider = make_provider(timeout=0.2)

    with pytest.raises(errors.LLMUnavailable) as caught:
        await provider.chat(request())

    assert "timed out" in caught.value.message
    assert caught.value.retryable
    assert len(fake_openai.chat_requests) == 3  # max_attempts


async def test_context_length_exceeded_is_permanent_for_the_engine_to_replan(fake_openai, make_provider):
    fake_openai.enqueue(fake.context_length_exceeded())
    provider = make_provider()

    with pytest.raises(errors.LLMContextLengthExceeded) as caught:
        await provider.chat(request())

    assert caught.value.permanent
    assert len(fake_openai.chat_requests) == 1


async def test_a_prompt_over_the_servers_context_is_classified_as_context_length(fake_openai, make_provider):
    fake_openai.max_context_tokens = 50
    provider = make_provider()

    with pytest.raises(errors.LLMContextLengthExceeded):
        await provider.chat(request(max_output_tokens=40))

    assert len(fake_openai.chat_requests) == 1


@pytest.mark.parametrize("scripted", [fake.unauthorized(), fake.forbidden()], ids=["401", "403"])
async def test_refused_credentials_are_permanent_auth_errors(fake_openai, make_provider, scripted):
    fake_openai.enqueue(scripted)
    provider = make_provider()

    with pytest.raises(errors.LLMAuthError) as caught:
        await provider.chat(request())

    assert caught.value.permanent
    assert "sk-" not in caught.value.message  # the server echoed a key fragment; we do not repeat it
    assert len(fake_openai.chat_requests) == 1


async def test_malformed_json_is_passed_through_for_the_engine_to_validate(fake_openai, make_provider):
    fake_openai.enqueue(fake.content('{"key_points": [ {"text": "unterminated'))
    provider = make_provider()

    response = await provider.chat(request())

    assert response.content == '{"key_points": [ {"text": "unterminated'
    assert len(fake_openai.chat_requests) == 1


async def test_invented_citations_are_passed_through_for_the_engine_to_drop(fake_openai, make_provider):
    fake_openai.enqueue(fake.invented_citations())
    provider = make_provider()

    response = await provider.chat(request())

    cited = {ref for point in json.loads(response.content)["key_points"] for ref in point["refs"]}
    assert fake.INVENTED_REF_NUMBER in cited
    assert {0, 1, 2} <= cited


async def test_json_schema_unsupported_falls_back_to_json_mode_and_is_remembered(fake_openai, make_provider):
    fake_openai.supports_json_schema = False
    provider = make_provider()

    response = await provider.chat(request())

    assert json.loads(response.content)["key_points"]
    rejected, accepted = fake_openai.chat_requests
    assert rejected.response_format["type"] == "json_schema" and rejected.status == 400
    assert accepted.response_format == {"type": "json_object"}
    system = accepted.messages[0]
    assert system["role"] == "system" and system["content"].startswith("Summarize.")
    assert json.dumps(SCHEMA["schema"], separators=(",", ":")) in system["content"]

    # Another provider (another process, say) on the same endpoint goes straight to JSON mode.
    fake_openai.reset()
    await make_provider().chat(request())
    assert [r.response_format["type"] for r in fake_openai.chat_requests] == ["json_object"]


async def test_a_schema_that_is_not_strict_compatible_is_sent_without_strict(fake_openai, make_provider):
    loose = {"name": "loose", "schema": {"type": "object", "properties": {"summary": {"type": "string"}}}}
    provider = make_provider()

    await provider.chat(request(json_schema=loose))

    assert fake_openai.chat_requests[0].response_format["json_schema"]["strict"] is False


async def test_plain_text_request_sends_no_response_format(fake_openai, make_provider):
    provider = make_provider()

    response = await provider.chat(request(json_schema=None))

    assert fake_openai.chat_requests[0].response_format is None
    assert response.content.startswith("A summary of 3 messages")


async def test_reasoning_models_get_max_completion_tokens_and_no_temperature(fake_openai, make_provider):
    provider = make_provider(model="o3-mini")

    await provider.chat(request())

    body = fake_openai.chat_requests[0].body
    assert body["max_completion_tokens"] == 256
    assert "temperature" not in body and "max_tokens" not in body


async def test_unavailable_primary_falls_back_to_the_next_model(fake_openai, make_provider):
    fake_openai.enqueue(*[fake.service_unavailable(model="gpt-4o")] * 3)
    provider = make_provider(model="gpt-4o", fallback_models=["gpt-4o-mini"])

    response = await provider.chat(request())

    assert response.model == "gpt-4o-mini"
    assert [r.model for r in fake_openai.chat_requests] == ["gpt-4o"] * 3 + ["gpt-4o-mini"]


async def test_model_not_found_falls_back_at_once(fake_openai, make_provider):
    provider = make_provider(model="gpt-retired", fallback_models=["gpt-4o-mini", "gpt-4.1-mini"])

    response = await provider.chat(request())

    assert response.model == "gpt-4o-mini"
    assert [(r.model, r.status) for r in fake_openai.chat_requests] == [("gpt-retired", 404), ("gpt-4o-mini", 200)]


async def test_permanent_errors_do_not_walk_the_fallback_chain(fake_openai, make_provider):
    fake_openai.enqueue(fake.unauthorized())
    provider = make_provider(fallback_models=["gpt-4o"])

    with pytest.raises(errors.LLMAuthError):
        await provider.chat(request())

    assert len(fake_openai.chat_requests) == 1


async def test_the_last_models_error_is_raised_when_the_whole_chain_fails(fake_openai, make_provider):
    provider = make_provider(model="gpt-retired", fallback_models=["gpt-gone"])

    with pytest.raises(errors.LLMModelNotFound) as caught:
        await provider.chat(request())

    assert "gpt-gone" in caught.value.message


async def test_a_503_with_retry_after_is_retried_when_the_server_said(fake_openai, make_provider):
    unavailable = fake.service_unavailable()
    unavailable.headers["retry-after-ms"] = "80"
    fake_openai.enqueue(unavailable)
    provider = make_provider()

    await provider.chat(request())

    first, second = fake_openai.chat_requests
    assert second.started - first.finished >= 0.075


async def test_logs_carry_ids_never_the_prompt_or_the_key(fake_openai, make_provider, caplog):
    fake_openai.enqueue(fake.server_error())
    provider = make_provider(model="gpt-4o", fallback_models=["gpt-4o-mini"], retry=RetryPolicy(max_attempts=1))

    with caplog.at_level(logging.DEBUG, logger="summaries.llm"):
        await provider.chat(request())

    assert any(getattr(r, "model", None) == "gpt-4o" for r in caplog.records)
    text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert "sk-test-fake" not in text
    assert "ship friday" not in text and "Summarize." not in text
