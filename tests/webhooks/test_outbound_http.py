"""The outbound client's SSRF guard and limits, against real sockets (and, for DNS, a resolver we choose:
DNS is outside the machine; `localhost` is resolved for real)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from tests.fakes.webhook_receiver import Reply, WebhookReceiver
from webhooks.http import (
    MAX_RESPONSE_BYTES,
    AddressPolicy,
    DestinationRefused,
    OutboundClient,
    ReceiverRejected,
    ReceiverUnreachable,
    check_url,
    expect_success,
)

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("[::1]", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.5.4", "private"),
    ("192.168.0.10", "private"),
    ("[fc00::1]", "private"),
    ("169.254.10.20", "link-local"),
    ("[fe80::1]", "link-local"),
    ("224.0.0.1", "multicast"),
    ("[ff02::1]", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("[::]", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "not a public"),
    ("169.254.169.254", "metadata"),
    ("100.100.100.200", "metadata"),
    ("[fd00:ec2::254]", "metadata"),
    ("[::ffff:127.0.0.1]", "loopback"),
]


@pytest.fixture
def guarded() -> OutboundClient:
    client = OutboundClient(policy=AddressPolicy(allow_private=False))
    yield client
    client.close()


@pytest.mark.parametrize(("host", "reason"), REFUSED)
def test_every_refused_address_class_is_refused_before_a_socket_connects(guarded, host, reason):
    with pytest.raises(DestinationRefused, match=reason) as refused:
        guarded.post(f"https://{host}:9/hook", content=b"{}", headers={})
    assert refused.value.permanent and refused.value.code == "destination_refused"


def test_cloud_metadata_is_refused_even_with_private_networks_allowed():
    client = OutboundClient(policy=AddressPolicy(allow_private=True, require_https=False))
    with pytest.raises(DestinationRefused, match="metadata"):
        client.post("http://169.254.169.254/latest/meta-data/", content=b"", headers={})


def test_a_name_resolving_to_loopback_is_refused_localhost_for_real(guarded):
    with WebhookReceiver() as receiver:
        with pytest.raises(DestinationRefused, match="loopback"):
            guarded.post(f"https://localhost:{receiver.port}/hook", content=b"{}", headers={})
        assert receiver.requests == []


def test_a_dns_name_resolving_to_a_private_address_is_refused_when_saved_and_when_sending():
    policy = AddressPolicy(allow_private=False, resolver=lambda host, port: ["10.0.0.7"])
    with pytest.raises(DestinationRefused, match=r"hooks\.example\.com \(10\.0\.0\.7\): a private address"):
        check_url("https://hooks.example.com/x", policy=policy)
    with pytest.raises(DestinationRefused, match="private"):
        OutboundClient(policy=policy).post("https://hooks.example.com/x", content=b"", headers={})


def test_one_private_address_among_public_ones_refuses_the_host():
    policy = AddressPolicy(allow_private=False, resolver=lambda host, port: ["93.184.215.14", "192.168.1.1"])
    with pytest.raises(DestinationRefused, match="192.168.1.1"):
        check_url("https://mixed.example.com/", policy=policy)


def test_dns_rebinding_public_when_checked_loopback_at_connect_time_is_refused_at_the_socket():
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    policy = AddressPolicy(allow_private=False, resolver=lambda host, port: next(answers))
    check_url("https://rebind.example.com/hook", policy=policy)  # saved: it looked public
    with WebhookReceiver() as receiver:
        with pytest.raises(DestinationRefused, match="loopback"):
            OutboundClient(policy=policy).post(f"https://rebind.example.com:{receiver.port}/hook", content=b"", headers={})
        assert receiver.requests == []


def _stand_in_for_public(resolve_to: list[list[str]] | None = None) -> AddressPolicy:
    """127.0.0.2 plays a public receiver speaking http (the tests have no Internet and no certificates);
    every other address follows the rules."""
    answers = iter(resolve_to or [])

    def resolver(host: str, port: int) -> list[str]:
        return next(answers) if host == "hook.test" else [host]

    return AddressPolicy(
        allow_private=False, require_https=False, resolver=resolver,
        allowed_networks=(ipaddress.ip_network("127.0.0.2/32"),),
    )


def test_the_stand_in_public_receiver_is_reachable_through_the_guard():
    with WebhookReceiver(host="127.0.0.2") as public:
        response = OutboundClient(policy=_stand_in_for_public()).post(public.url, content=b"{}", headers={})
    assert response.ok and len(public.requests) == 1


def test_a_redirect_to_loopback_is_not_followed():
    with WebhookReceiver(host="127.0.0.1") as internal, WebhookReceiver(host="127.0.0.2") as public:
        public.default = Reply(302, headers={"Location": f"http://127.0.0.1:{internal.port}/admin"})
        with pytest.raises(DestinationRefused, match="another host"):
            OutboundClient(policy=_stand_in_for_public()).post(public.url, content=b"{}", headers={})
        assert len(public.requests) == 1 and internal.requests == []


def test_a_same_host_redirect_is_followed_through_the_guard_again():
    # hook.test resolves to the stand-in public address, then (at the redirect's connection) to loopback.
    with WebhookReceiver(host="127.0.0.2") as public:
        public.default = Reply(307, headers={"Location": "/moved"})
        client = OutboundClient(policy=_stand_in_for_public([["127.0.0.2"], ["127.0.0.1"]]))
        with pytest.raises(DestinationRefused, match="loopback"):
            client.post(f"http://hook.test:{public.port}/hook", content=b"{}", headers={})
        assert [r.path for r in public.requests] == ["/hook"]


def test_a_same_host_redirect_to_an_allowed_address_is_followed():
    with WebhookReceiver(host="127.0.0.2") as public:
        public.script = [Reply(308, headers={"Location": "/moved"})]
        client = OutboundClient(policy=_stand_in_for_public([["127.0.0.2"], ["127.0.0.2"]]))
        response = client.post(f"http://hook.test:{public.port}/hook", content=b"{}", headers={})
    assert response.ok and [(r.path, r.body) for r in public.requests] == [("/hook", b"{}"), ("/moved", b"{}")]


def test_plain_http_needs_the_development_setting():
    with pytest.raises(DestinationRefused, match="HTTPS"):
        check_url("http://hooks.example.com/x", policy=AddressPolicy(allow_private=False, resolver=lambda h, p: []))
    assert check_url("http://127.0.0.1:9/x", policy=AddressPolicy(allow_private=True, require_https=False))


def test_credentials_in_the_url_are_refused():
    with pytest.raises(DestinationRefused, match="header"):
        check_url("https://user:pw@hooks.example.com/x", policy=AddressPolicy(allow_private=True, require_https=False))


def test_the_response_body_is_capped():
    client = OutboundClient(policy=AddressPolicy(allow_private=True, require_https=False))
    with WebhookReceiver() as receiver:
        receiver.default = Reply(200, body="x" * (MAX_RESPONSE_BYTES * 3))
        response = client.post(receiver.url, content=b"{}", headers={})
    assert response.ok and response.truncated and len(response.body) == MAX_RESPONSE_BYTES


def test_a_closed_port_is_unreachable_and_worth_retrying():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = OutboundClient(policy=AddressPolicy(allow_private=True, require_https=False))
    with pytest.raises(ReceiverUnreachable) as unreachable:
        client.post(f"http://127.0.0.1:{port}/hook", content=b"{}", headers={})
    assert unreachable.value.retryable


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (401, True), (404, True), (410, True), (408, False), (409, False), (425, False), (429, False),
     (500, False), (502, False), (503, False)],
)
def test_4xx_are_permanent_except_408_409_425_429_and_5xx_retry(status, permanent):
    client = OutboundClient(policy=AddressPolicy(allow_private=True, require_https=False))
    with WebhookReceiver() as receiver:
        receiver.default = Reply(status, body="nope", headers={"Retry-After": "42"})
        with pytest.raises(ReceiverRejected) as rejected:
            expect_success(client.post(receiver.url, content=b"{}", headers={}))
    assert rejected.value.permanent is permanent and rejected.value.status_code == status
    assert rejected.value.body == "nope"
    # Retry-After is read on 429 and 503 only.
    assert rejected.value.retry_after == (42.0 if status in (429, 503) else None)
