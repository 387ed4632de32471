"""Readiness of the LLM: GET /models against the fake, cached five minutes, clear failures."""

from __future__ import annotations

import logging
import socket

import pytest

from summaries.llm import errors
from summaries.llm.readiness import llm_readiness, log_llm_readiness

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


def test_offline_engine_when_no_key_or_local(settings):
    settings.SUMMARY_PROVIDER = "auto"
    settings.OPENAI_API_KEY = ""
    assert llm_readiness() == "offline engine"
    settings.SUMMARY_PROVIDER = "local"
    settings.OPENAI_API_KEY = "sk-present"
    assert llm_readiness() == "offline engine"


def test_provider_openai_without_key_fails(settings):
    settings.SUMMARY_PROVIDER = "openai"
    settings.OPENAI_API_KEY = ""
    with pytest.raises(errors.LLMAuthError, match="OPENAI_API_KEY"):
        llm_readiness()


def test_listed_model_is_ready_and_the_list_is_cached(openai_settings, fake_openai):
    assert llm_readiness() == "model gpt-4o-mini ok"
    assert llm_readiness() == "model gpt-4o-mini ok"

    model_calls = [r for r in fake_openai.requests if r.path == "/v1/models"]
    assert len(model_calls) == 1
    assert model_calls[0].authorization == "Bearer sk-test-fake"


def test_unlisted_model_fails_with_its_name(openai_settings, fake_openai):
    openai_settings.SUMMARY_MODEL = "gpt-imaginary"
    with pytest.raises(errors.LLMModelNotFound, match="gpt-imaginary is not listed"):
        llm_readiness()


def test_unlisted_fallback_is_reported_without_failing(openai_settings):
    openai_settings.SUMMARY_FALLBACK_MODELS = ["gpt-4o", "gpt-gone"]
    assert llm_readiness() == "model gpt-4o-mini ok; fallback not listed: gpt-gone"


def test_refused_key_fails_and_is_not_cached(openai_settings, fake_openai):
    fake_openai.api_key = "sk-the-real-one"
    with pytest.raises(errors.LLMAuthError, match="refused OPENAI_API_KEY"):
        llm_readiness()

    openai_settings.OPENAI_API_KEY = "sk-the-real-one"  # the operator fixes the key: the next probe sees it
    assert llm_readiness() == "model gpt-4o-mini ok"


def test_unreachable_endpoint_fails(openai_settings):
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    openai_settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"

    with pytest.raises(errors.LLMUnavailable, match="could not connect"):
        llm_readiness()


def test_a_hanging_endpoint_costs_one_timeout_not_one_per_probe(openai_settings, fake_openai):
    openai_settings.OPENAI_TIMEOUT_SECONDS = 0.2
    fake_openai.models_delay = 1.0

    for _ in range(3):
        with pytest.raises(errors.LLMUnavailable, match="timed out"):
            llm_readiness()

    assert len([r for r in fake_openai.requests if r.path == "/v1/models"]) == 1


def test_startup_check_logs_a_warning_instead_of_raising(openai_settings, caplog):
    openai_settings.SUMMARY_MODEL = "gpt-imaginary"
    with caplog.at_level(logging.WARNING, logger="summaries.llm.readiness"):
        assert log_llm_readiness() is False
    assert "gpt-imaginary is not listed" in caplog.text
    assert "sk-test-fake" not in caplog.text

    openai_settings.SUMMARY_MODEL = "gpt-4o-mini"
    assert log_llm_readiness() is True


def test_ready_endpoint_reports_the_llm_check_without_its_url(openai_settings, client, caplog):
    openai_settings.SUMMARY_MODEL = "gpt-imaginary"

    with caplog.at_level(logging.WARNING, logger="summarybot.health"):
        response = client.get("/ready")

    body = response.json()
    assert "llm" in body["failing"]
    assert body["checks"]["llm"] == "fail"
    # The endpoint (often a private URL) and the model are in the log only, never in the public answer.
    assert openai_settings.OPENAI_BASE_URL not in response.content.decode()
    assert "gpt-imaginary" not in response.content.decode()
    assert "gpt-imaginary" in caplog.text
    assert "sk-test-fake" not in caplog.text


def test_a_spawning_worker_logs_an_unusable_model(openai_settings, fake_openai, caplog):
    from django_q.signals import post_spawn

    openai_settings.SUMMARY_MODEL = "gpt-imaginary"
    with caplog.at_level(logging.WARNING, logger="summaries.llm.readiness"):
        post_spawn.send(sender="django_q", proc_name="Process-1")
    assert any("LLM not ready" in r.getMessage() and "gpt-imaginary" in r.getMessage() for r in caplog.records)
