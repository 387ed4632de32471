"""Request throttles for the HTTP front doors (REST API, inbound webhooks), counted in the shared cache.

Each throttle counts requests per identity (a key's prefix, a client address, a guild) in fixed windows
(`120/min`: at most 120 in each clock minute), with the atomic counters of `summarybot.counters`, so
every web process counts together on Redis and on the database cache alike, and concurrent requests
cannot overwrite each other's count (DRF's own throttles read, append and write back a list, which
loses counts under exactly the load they exist for). Over the rate: DRF's `Throttled`, which the
exception handler answers with 429, the error envelope and `Retry-After` (seconds to the next window).

The client's address is the socket peer (`REMOTE_ADDR`). Only when the operator says how many proxies
in front of the app append to `X-Forwarded-For` (`DJANGO_TRUSTED_PROXY_COUNT`) is that header read,
and then only the entry the outermost of those proxies wrote (the address it saw the request come
from): what a client puts in the header itself is to the left of it and never chosen.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from django.conf import settings
from rest_framework import throttling
from rest_framework.request import Request

from summarybot.config import parse_rate
from summarybot.counters import atomic_incr, shared_cache


def client_ip(request: Any) -> str:
    """The address a request came from, as the throttles count it.

    The socket peer, unless DJANGO_TRUSTED_PROXY_COUNT = N > 0 proxies each append the address they
    saw to X-Forwarded-For: then the N-th entry from the right, the one the outermost trusted proxy wrote.
    A header with fewer entries, or an entry that is no address, means the request did not come through
    those proxies as configured: the socket peer again. IPv6 addresses count per /64 (one host commonly
    holds a whole /64), IPv4-mapped ones as their IPv4 address.
    """
    meta = request.META
    address = meta.get("REMOTE_ADDR", "") or ""
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        entries = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(entries) >= trusted and _parse_ip(entries[-trusted]) is not None:
            address = entries[-trusted]
    parsed = _parse_ip(address)
    if parsed is None:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class CounterThrottle(throttling.BaseThrottle):
    """A fixed-window request counter per identity; subclasses name the scope, the rate and the identity."""

    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def get_rate(self) -> str | None:
        """The rate setting's value; None turns this throttle off (the fuzz tests do)."""
        raise NotImplementedError

    def identity(self, request: Request, view: Any) -> str | None:
        """Whom this request is counted against; None: not counted by this throttle."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        ident = self.identity(request, view)
        return ident is None or self.hit(ident)

    def hit(self, ident: str) -> bool:
        """Count one request of `ident`; False (and `wait()` set) when it is over the rate."""
        rate = self.get_rate()
        if not rate:
            return True
        allowed, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        window_end = (window + 1) * period
        key = f"throttle:{self.scope}:{ident}:{window}"
        count = atomic_incr(shared_cache(), key, 1, timeout=window_end - now + 1)
        if count <= allowed:
            return True
        self._wait = window_end - now
        return False

    def wait(self) -> float | None:
        return self._wait


class ClientIpThrottle(CounterThrottle):
    """Per client address (see `client_ip`), checked before the request's credentials are even read."""

    def identity(self, request: Request, view: Any) -> str | None:
        return client_ip(request)
