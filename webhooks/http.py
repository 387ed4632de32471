"""The one outbound HTTP client: every request a transport makes to a URL a guild gave us goes through here.

A destination URL is chosen by whoever holds a guild's API key, so each request is treated as hostile to
our own network: the host is resolved at connect time and the connection goes to a vetted address only
(`_GuardedBackend`), so a name that resolved to a public address when the destination was saved and to
127.0.0.1 now (DNS rebinding) is refused at the socket, and TLS still checks the certificate against the
name (the address changes, SNI and Host do not). Redirects are followed only on the same host, and each
hop goes through the same guard. Responses are read up to a cap, within an overall deadline.

`OUTBOUND_ALLOW_PRIVATE_NETWORKS=true` lifts the private-address rule (development and tests, where the
receiver is on localhost) and the HTTPS requirement; cloud metadata addresses stay refused either way:
no development setup needs them and they hold the host's credentials.

Errors come out as one small hierarchy under ExternalServiceError: `DestinationRefused` (permanent: the
URL or an address it resolved to is not allowed), `ReceiverUnreachable`/`ReceiverTimeout` (retry), and
`ReceiverRejected` (the receiver answered non-2xx; permanent or not by status, with its Retry-After).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore2
import httpx2
from django.conf import settings
from django.utils import timezone

from summarybot.errors import ExternalServiceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
# Whatever the receiver does (a slow drip of bytes resets the read timeout), one request ends by then.
TOTAL_DEADLINE = 30.0
MAX_RESPONSE_BYTES = 64 * 1024
MAX_REDIRECTS = 3
# A Retry-After beyond this is capped: the schedule's own longest wait is 10 h.
MAX_RETRY_AFTER = 10 * 3600.0
USER_AGENT = "SummaryBotNG-Webhooks/1.0"
# 4xx answers worth another attempt (timeout, conflict, too early, rate limited); every other 4xx is permanent.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})

# Instance metadata services (AWS/GCP/Azure/Oracle link-local, AWS IPv6, ECS, Alibaba, Azure wire server):
# refused even with OUTBOUND_ALLOW_PRIVATE_NETWORKS, see the module docstring.
CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192")
)


class OutboundError(ExternalServiceError):
    code = "outbound_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: str = "",
        retry_after: float | None = None,
        permanent: bool | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, permanent=permanent)
        self.status_code = status_code
        self.body = body


class DestinationRefused(OutboundError):
    """The URL, or an address its host resolves to, is not one we send to. Fixing it needs a new URL."""

    code = "destination_refused"
    http_status = 400
    permanent = True


class ReceiverUnreachable(OutboundError):
    code = "receiver_unreachable"
    permanent = False


class ReceiverTimeout(ReceiverUnreachable):
    code = "receiver_timeout"


class ReceiverRejected(OutboundError):
    """The receiver answered, but not with a 2xx."""

    code = "receiver_rejected"


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status_code: int
    headers: Mapping[str, str]
    body: bytes  # at most MAX_RESPONSE_BYTES
    truncated: bool

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def text(self, limit: int = 1000) -> str:
        return self.body[:limit].decode("utf-8", errors="replace")


# --- The address policy ----------------------------------------------------------------------------


def refused_reason(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why we never connect to `ip`, or None when it is allowed."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip in CLOUD_METADATA:
        return "a cloud metadata address"
    if allow_private:
        return None
    for reason, flag in (
        ("a loopback address", ip.is_loopback),
        ("an unspecified address", ip.is_unspecified),
        ("a link-local address", ip.is_link_local),
        ("a multicast address", ip.is_multicast),
        ("a reserved address", ip.is_reserved),
        ("a private address", ip.is_private),
        # Shared address space (100.64/10), documentation ranges, 6to4 relays and the like.
        ("not a public address", not ip.is_global),
    ):
        if flag:
            return reason
    return None


def _system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ReceiverUnreachable(f"Cannot resolve {host!r} ({exc}).") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool
    # Plain http only where private networks are allowed (development); see `default_policy()`.
    require_https: bool = True
    resolver: Resolver = _system_resolver
    # Networks allowed whatever the rules say (an operator's own receivers; the tests' stand-in for "public").
    # Cloud metadata addresses stay refused.
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def vet(self, host: str, port: int) -> list[str]:
        """The addresses of `host` we may connect to, or DestinationRefused naming the first refused one.

        One refused address refuses the host: a name that mixes public and internal addresses is not one a
        receiver needs, and connecting to "the public one" would depend on resolution order.
        """
        addresses = self.resolver(host, port)
        if not addresses:
            raise ReceiverUnreachable(f"{host!r} resolves to no address.")
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            allowed = any(ip in network for network in self.allowed_networks)
            reason = refused_reason(ip, allow_private=self.allow_private or allowed)
            if reason is not None:
                shown = host if host == address else f"{host} ({address})"
                raise DestinationRefused(f"Refusing to connect to {shown}: {reason}.")
        return addresses


class _GuardedBackend(httpcore2.SyncBackend):
    """Resolves and vets the host at the moment of connecting, then connects to the vetted address.

    httpcore starts TLS on the returned stream with the URL's host name, so SNI and certificate checks
    use the name while the socket goes to the address we checked; nothing resolves the name again.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        last: Exception | None = None
        for address in self._policy.vet(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


class _GuardedTransport(httpx2.HTTPTransport):
    def __init__(self, policy: AddressPolicy, *, max_connections: int) -> None:
        super().__init__(trust_env=False, limits=httpx2.Limits(max_connections=max_connections))
        # The stock pool, rebuilt with our network backend (HTTPTransport takes no backend argument).
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=_GuardedBackend(policy),
        )


# --- URLs ------------------------------------------------------------------------------------------


def allow_private_networks() -> bool:
    return bool(getattr(settings, "OUTBOUND_ALLOW_PRIVATE_NETWORKS", False))


def default_policy() -> AddressPolicy:
    allow = allow_private_networks()
    return AddressPolicy(allow_private=allow, require_https=not allow)


def check_url(url: str, *, policy: AddressPolicy | None = None, resolve: bool = True) -> str:
    """The URL if we may send to it: http(s) with a host, no credentials in it, HTTPS unless private networks
    are allowed, and (with `resolve`) every address of its host allowed. DestinationRefused otherwise."""
    policy = policy or default_policy()
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DestinationRefused("The URL is not valid.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("The URL must be an http(s) URL with a host.")
    if parts.scheme != "https" and policy.require_https:
        raise DestinationRefused("The URL must use HTTPS.")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("Put credentials in a header, not in the URL.")
    if resolve:
        try:
            policy.vet(parts.hostname, port)
        except ReceiverUnreachable as exc:
            raise DestinationRefused(exc.message) from None
    return url.strip()


def _same_origin_host(first: str, second: str) -> bool:
    a, b = urlsplit(first), urlsplit(second)
    downgrade = a.scheme == "https" and b.scheme != "https"
    return (a.hostname or "").lower() == (b.hostname or "").lower() and not downgrade


# --- Classifying answers ----------------------------------------------------------------------------


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), capped; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - timezone.now()).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def expect_success(response: OutboundResponse) -> OutboundResponse:
    """The response if 2xx; otherwise ReceiverRejected, permanent for a 4xx other than 408/409/425/429."""
    if response.ok:
        return response
    raise rejection(response)


def rejection(response: OutboundResponse, *, who: str = "The receiver", detail: str = "") -> ReceiverRejected:
    """The error for a non-2xx answer. API transports (Notion, Confluence) use it on their clients' errors,
    naming the service and adding its message, so every kind classifies statuses the same way."""
    status = response.status_code
    permanent = 300 <= status < 500 and status not in RETRYABLE_4XX
    retry_after = retry_after_seconds(response.headers.get("retry-after")) if status in RETRY_AFTER_STATUSES else None
    return ReceiverRejected(
        f"{who} answered {status}." + (f" {detail[:300]}" if detail else ""), status_code=status, body=response.text(),
        retry_after=retry_after, permanent=permanent,
    )


# --- The client ---------------------------------------------------------------------------------------


class OutboundClient:
    """Thread-safe; share one per process (`outbound_client()`) so connections to a receiver are reused."""

    def __init__(self, *, policy: AddressPolicy | None = None, max_connections: int = 100) -> None:
        self.policy = policy or default_policy()
        self._client = httpx2.Client(
            transport=_GuardedTransport(self.policy, max_connections=max_connections),
            timeout=httpx2.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
            trust_env=False,
            # identity: the capped body we log is then readable, and no decompression bomb.
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        self._client.close()

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> OutboundResponse:
        """POST `content`; any HTTP answer is returned (see `expect_success`), transport failures raise."""
        return self.request("POST", url, content=content, headers=headers)

    def request(
        self, method: str, url: str, *, content: bytes = b"", headers: Mapping[str, str],
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> OutboundResponse:
        """Any method, for the API clients (notion-client, atlassian-python-api) that `webhooks.sdk_http` runs
        over this client. Same guard, timeouts and redirect rule as `post`."""
        check_url(url, policy=self.policy, resolve=False)
        deadline = time.monotonic() + TOTAL_DEADLINE
        for _hop in range(MAX_REDIRECTS + 1):
            response, location = self._send(method, url, content, headers, deadline, max_bytes)
            if location is None:
                return response
            target = urljoin(url, location)
            if not _same_origin_host(url, target):
                raise DestinationRefused(
                    f"The receiver redirected to another host ({urlsplit(target).hostname}); we do not follow that. "
                    "Use the final URL.", status_code=response.status_code,
                )
            check_url(target, policy=self.policy, resolve=False)
            url = target
        raise DestinationRefused(f"More than {MAX_REDIRECTS} redirects.")

    def _send(
        self, method: str, url: str, content: bytes, headers: Mapping[str, str], deadline: float, max_bytes: int
    ) -> tuple[OutboundResponse, str | None]:
        try:
            with self._client.stream(method, url, content=content, headers=dict(headers)) as response:
                body, truncated = bytearray(), False
                for chunk in response.iter_raw():
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        body, truncated = body[:max_bytes], True
                        break
                    if time.monotonic() > deadline:
                        truncated = True
                        break
                answer = OutboundResponse(
                    status_code=response.status_code, headers=dict(response.headers), body=bytes(body),
                    truncated=truncated,
                )
                location = response.headers.get("location") if response.is_redirect else None
                return answer, location
        except httpx2.TimeoutException as exc:
            raise ReceiverTimeout(f"The receiver did not answer in time ({type(exc).__name__}).") from None
        except (httpx2.TransportError, OSError) as exc:
            raise ReceiverUnreachable(f"Cannot reach the receiver ({type(exc).__name__}: {exc}).") from None


@lru_cache(maxsize=2)
def _shared(allow_private: bool) -> OutboundClient:
    return OutboundClient(policy=AddressPolicy(allow_private=allow_private, require_https=not allow_private))


def outbound_client() -> OutboundClient:
    """This process's client for the current setting (tests flip OUTBOUND_ALLOW_PRIVATE_NETWORKS)."""
    return _shared(allow_private_networks())
