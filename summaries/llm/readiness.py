"""Readiness of the configured LLM provider, for /ready (replaced by a /models probe in the client)."""

from django.conf import settings


def llm_readiness() -> str:
    if settings.SUMMARY_PROVIDER == "local" or not settings.OPENAI_API_KEY:
        return "offline engine (no OPENAI_API_KEY)"
    return f"openai model {settings.SUMMARY_MODEL}"
