"""Per-address throttles of the REST API, and which address a request counts as coming from.

Requests go through the real URL conf, authentication, throttles and exception handler; the counters
live in the configured cache (the database cache, or Redis when REDIS_URL is set). Each test sends from
its own addresses so that counters kept by Redis across tests never meet, and rates are per day so that
no test straddles the boundary of a fixed window.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import RequestFactory

from summarybot.throttles import client_ip
from tests.api_support import assert_envelope
from tests.factories import GuildFactory
from webhooks.services import api_key_issue

pytestmark = pytest.mark.django_db


def addresses(count: int) -> list[str]:
    """Addresses no other test uses (10.x.y.z from a fresh uuid)."""
    seed = uuid.uuid4().int
    return [f"10.{(seed >> 8) % 250}.{seed % 250}.{n + 1}" for n in range(count)]


@pytest.fixture
def raw_key():  # type: ignore[no-untyped-def]
    guild = GuildFactory()
    return api_key_issue(guild=guild, name="t", scopes=["usage:read", "summaries:read"]).plaintext


def usage(client, key: str | None, address: str, **headers: str):  # type: ignore[no-untyped-def]
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client.get("/api/v1/usage", REMOTE_ADDR=address, **headers)


def test_an_address_is_throttled_after_its_rate_with_retry_after_and_the_envelope(client, settings, raw_key):
    settings.API_IP_THROTTLE_RATE = "3/day"
    (address,) = addresses(1)
    assert [usage(client, raw_key, address).status_code for _ in range(3)] == [200, 200, 200]
    throttled = usage(client, raw_key, address)
    assert_envelope(throttled, 429, "throttled")
    assert 0 < int(throttled["Retry-After"]) <= 86400  # fixed windows: the rest of the day


def test_a_flood_of_bad_keys_from_one_address_is_throttled_and_each_bad_key_below_the_rate_is_the_same_401(
    client, settings, raw_key
):
    settings.API_IP_THROTTLE_RATE = "3/day"
    (address,) = addresses(1)
    for guess in ("sbk_00000000.nothing", "sbk_11111111.wrong", None):
        error = assert_envelope(usage(client, guess, address), 401, "authentication_failed")
        assert error["message"] == "Invalid API key."
    # The address used its allowance on bad keys: even the right key waits now.
    throttled = usage(client, raw_key, address)
    assert_envelope(throttled, 429, "throttled")
    assert int(throttled["Retry-After"]) > 0


def test_addresses_are_counted_independently_and_apart_from_the_key(client, settings, raw_key):
    settings.API_IP_THROTTLE_RATE = "1/day"
    settings.API_THROTTLE_RATE = "100/day"
    first, second, third = addresses(3)
    assert usage(client, raw_key, first).status_code == 200
    assert usage(client, raw_key, first).status_code == 429
    assert usage(client, raw_key, second).status_code == 200
    assert usage(client, None, third).status_code == 401


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(client, settings, raw_key):
    settings.API_IP_THROTTLE_RATE = "2/day"
    assert settings.TRUSTED_PROXY_COUNT == 0  # the default
    peer, *claimed = addresses(4)
    statuses = [usage(client, raw_key, peer, HTTP_X_FORWARDED_FOR=fake).status_code for fake in claimed]
    assert statuses == [200, 200, 429]  # one peer, whatever it claims


def test_behind_one_trusted_proxy_the_address_it_appended_is_counted_not_what_the_client_claimed(
    client, settings, raw_key
):
    settings.API_IP_THROTTLE_RATE = "2/day"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy, real, other, *claimed = addresses(6)
    # The client prepends whatever it likes; the proxy appends the address it saw, last.
    statuses = [
        usage(client, raw_key, proxy, HTTP_X_FORWARDED_FOR=f"{fake}, {real}").status_code for fake in claimed
    ]
    assert statuses == [200, 200, 429]
    # Another client behind the same proxy has its own allowance.
    assert usage(client, raw_key, proxy, HTTP_X_FORWARDED_FOR=other).status_code == 200


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.7", "198.51.100.1", "203.0.113.7"),
        (1, "10.0.0.2", "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        (2, "10.0.0.2", "198.51.100.1, 203.0.113.7, 10.0.0.3", "203.0.113.7"),
        # Fewer entries than trusted proxies, or an entry that is no address: not through the proxies.
        (2, "10.0.0.2", "203.0.113.7", "10.0.0.2"),
        (1, "10.0.0.2", "198.51.100.1, not-an-ip", "10.0.0.2"),
        (1, "10.0.0.2", "", "10.0.0.2"),
        # One host usually holds a whole /64; an IPv4-mapped address is its IPv4 address.
        (0, "2001:db8:1:2:aaaa::1", "", "2001:db8:1:2::/64"),
        (0, "::ffff:203.0.113.7", "", "203.0.113.7"),
        (0, "", "", "unknown"),
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
