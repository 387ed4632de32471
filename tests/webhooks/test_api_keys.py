"""API keys: issued once, scoped, expiring, revocable; unknown and wrong keys look the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from summarybot.errors import InvalidInput
from tests.factories import GuildFactory
from webhooks.models import ApiKey
from webhooks.services import AuthenticationFailed, api_key_authenticate, api_key_issue, api_key_revoke

pytestmark = pytest.mark.django_db


def test_issued_key_authenticates_and_records_use_at_most_once_a_minute(django_assert_num_queries):
    issued = api_key_issue(guild=GuildFactory(), name="zapier", scopes=["summaries:write", "summaries:read"])
    assert issued.plaintext.startswith(issued.api_key.prefix + ".")
    key = api_key_authenticate(raw_key=issued.plaintext)
    assert key.pk == issued.api_key.pk and key.last_used_at is not None
    with django_assert_num_queries(1):  # the lookup only: last_used_at is fresh
        api_key_authenticate(raw_key=issued.plaintext)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    with django_assert_num_queries(2):
        api_key_authenticate(raw_key=issued.plaintext)


@pytest.mark.parametrize("mutate", ["unknown", "wrong_secret", "revoked", "expired", "empty"])
def test_bad_keys_get_the_same_answer(mutate):
    issued = api_key_issue(guild=GuildFactory(), name="k", scopes=["summaries:read"])
    raw = issued.plaintext
    if mutate == "unknown":
        raw = "sbk_00000000.nothing"
    elif mutate == "wrong_secret":
        raw = issued.api_key.prefix + ".wrong"
    elif mutate == "revoked":
        api_key_revoke(api_key=issued.api_key)
    elif mutate == "expired":
        ApiKey.objects.filter(pk=issued.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif mutate == "empty":
        raw = ""
    with pytest.raises(AuthenticationFailed) as excinfo:
        api_key_authenticate(raw_key=raw)
    assert excinfo.value.message == "Invalid API key."


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scopes": ["admin:everything"]}, "Unknown scopes"),
        ({"scopes": []}, "at least one scope"),
        ({"expires_at": timezone.now() - timedelta(days=1)}, "future"),
        ({"name": "  "}, "name"),
    ],
)
def test_invalid_issue_requests_change_nothing(kwargs, message):
    guild = GuildFactory()
    with pytest.raises(InvalidInput, match=message):
        api_key_issue(**{"guild": guild, "name": "k", "scopes": ["summaries:read"], **kwargs})
    assert not ApiKey.objects.exists()


def test_revoking_twice_reports_the_second_as_no_change():
    issued = api_key_issue(guild=GuildFactory(), name="k", scopes=["summaries:read"])
    assert api_key_revoke(api_key=issued.api_key) is True
    assert api_key_revoke(api_key=issued.api_key) is False
    assert issued.api_key.revoked_at is not None
