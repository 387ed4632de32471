"""The official API clients, run over our one outbound client (`webhooks.http`).

notion-client speaks httpx and atlassian-python-api speaks requests. Both let the caller supply the
HTTP layer (an `httpx.Client` with a transport, a `requests.Session` with an adapter), so each gets a thin
adapter whose every request goes through `OutboundClient.request()`. Chosen over guarding each library's
own connection pool (an httpcore backend, a urllib3 connection class) because then there is one guard to
keep right, not three: the same resolve-and-vet at connect time (DNS rebinding), the same timeouts and
overall deadline, no cross-host redirects, no proxies or .netrc from the environment, and the same
errors (`DestinationRefused`, `ReceiverTimeout`, `ReceiverUnreachable`) whichever library asked. The
libraries keep what they are for: building requests, auth headers, parsing answers into their errors.

API answers can be larger than a webhook receiver's (a page of 100 blocks echoed back), so the cap here is
SDK_MAX_RESPONSE_BYTES; an answer cut at the cap is an error, never half a JSON document to parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import httpx
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from webhooks.http import OutboundClient, OutboundResponse, ReceiverRejected, outbound_client

SDK_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
# Framing and encoding are the outbound client's business (it asks for identity encoding so the capped body
# is readable); the libraries' own values for these would contradict it.
_DROPPED_REQUEST_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "accept-encoding", "user-agent",
})
_DROPPED_RESPONSE_HEADERS = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection"})


def _send(client: OutboundClient, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> OutboundResponse:
    kept = {k: v for k, v in headers.items() if k.lower() not in _DROPPED_REQUEST_HEADERS}
    answer = client.request(method, url, content=body, headers=kept, max_bytes=SDK_MAX_RESPONSE_BYTES)
    if answer.truncated:
        raise ReceiverRejected(
            f"The answer to {method} {url.split('?', 1)[0]} was larger than {SDK_MAX_RESPONSE_BYTES} bytes or too slow.",
            status_code=answer.status_code, permanent=False,
        )
    return answer


def _response_headers(answer: OutboundResponse) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED_RESPONSE_HEADERS}


class GuardedHttpxTransport(httpx.BaseTransport):
    """An httpx transport (for notion-client) that sends through the outbound client."""

    def __init__(self, client: OutboundClient | None = None) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        client = self._client or outbound_client()
        answer = _send(client, request.method, str(request.url), request.read(), request.headers)
        return httpx.Response(answer.status_code, headers=_response_headers(answer), content=answer.body, request=request)


def httpx_client() -> httpx.Client:
    return httpx.Client(transport=GuardedHttpxTransport(), trust_env=False, follow_redirects=False)


class GuardedRequestsAdapter(BaseAdapter):
    """A requests adapter (for atlassian-python-api) that sends through the outbound client."""

    def __init__(self, client: OutboundClient | None = None) -> None:
        super().__init__()
        self._client = client

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True,
             cert: Any = None, proxies: Any = None) -> requests.Response:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        if not isinstance(body, bytes):
            raise TypeError("Streamed request bodies are not supported here.")
        client = self._client or outbound_client()
        answer = _send(client, request.method or "GET", request.url or "", body, request.headers)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(_response_headers(answer))
        response._content = answer.body
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url or ""
        response.request = request
        try:
            response.reason = HTTPStatus(answer.status_code).phrase
        except ValueError:
            response.reason = ""
        return response

    def close(self) -> None:
        pass  # the outbound client is shared by the process


def requests_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies, CA bundles or .netrc credentials from the environment
    adapter = GuardedRequestsAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
