"""Confluence: each summary becomes a page in a space the guild chose (under a parent page, if named),
in storage format, through atlassian-python-api.

Cloud (`https://<site>.atlassian.net/wiki`, an account email and an API token, basic auth) and Data Center
(its base URL and a personal access token, bearer auth) speak the same content API (`/rest/api/content`,
under `/wiki` on Cloud), so one client class serves both; only the auth differs. The library's Cloud class
addresses the v2 API, which has no lookup by title in a space key: hence the content API for both.

The body is XHTML: headings per section, lists of points, each point's jump links as `<a href>`; every
piece of text is escaped (members' words end up in it). Titles are unique per space, so ours carries the
date, time and the summary's id; that also makes an attempt idempotent: it first looks the title up, and
a page already there (an earlier attempt whose answer was lost) is the delivery.

The library's own retries (Retry-After, back-off) are off: the delivery service owns retries.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import requests
from atlassian.confluence import ConfluenceServer
from atlassian.errors import ApiError

from summarybot.errors import InvalidInput
from webhooks.http import OutboundResponse, ReceiverRejected, rejection
from webhooks.models import WebhookDestination
from webhooks.payloads import OutboundMessage, Outline, Point, page_outline
from webhooks.sdk_http import requests_session
from webhooks.transports.base import Receipt, Transport

CLOUD, DATACENTER = "cloud", "datacenter"
CREDENTIALS = {CLOUD: {"email", "api_token"}, DATACENTER: {"personal_token"}}
CONFIG_KEYS = frozenset({"space_key", "parent_page_id", "deployment"})
MAX_TITLE = 255
_SPACE_KEY = re.compile(r"^~?[A-Za-z0-9_-]{1,255}$")
# Characters XML 1.0 does not allow at all: Confluence refuses a body holding one.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _escape(text: str) -> str:
    return html.escape(_NOT_XML.sub("", text), quote=True)


def point_html(point: Point) -> str:
    parts = [f"<strong>{_escape(point.owner)}</strong>: " if point.owner else "", _escape(point.text)]
    if point.unverified:
        parts.append(" <em>(unverified)</em>")
    if point.links:
        links = " ".join(f'<a href="{_escape(url)}">{n}</a>' for n, url in enumerate(point.links, 1))
        parts.append(f" ({links})")
    return "".join(parts)


def storage_body(outline: Outline) -> str:
    parts = [f"<p><em>{_escape(outline.description)}</em></p>"] if outline.description else []
    for section in outline.sections:
        parts.append(f"<h2>{_escape(section.title)}</h2>")
        if section.prose:
            parts += [f"<p>{point_html(point)}</p>" for point in section.points]
        else:
            parts.append("<ul>" + "".join(f"<li>{point_html(point)}</li>" for point in section.points) + "</ul>")
    return "".join(parts) or "<p>Nothing worth summarizing was found.</p>"


def page_title(outline: Outline, message: OutboundMessage) -> str:
    """Unique in the space: the outline's title, the time, and the summary's id (the webhook-id for a test)."""
    tag = message.webhook_id[-8:] if message.test else str(message.data.get("id", ""))[:8]
    suffix = f" {outline.date:%H:%M} UTC · {tag}"
    return outline.title[:MAX_TITLE - len(suffix)] + suffix


def _rejected(exc: requests.HTTPError | ApiError) -> ReceiverRejected | None:
    response = getattr(exc, "response", None)
    if response is None and isinstance(exc, ApiError):
        response = getattr(exc.reason, "response", None)
    if response is None:
        return None
    answer = OutboundResponse(
        status_code=response.status_code, headers={k.lower(): v for k, v in response.headers.items()},
        body=response.content or b"", truncated=False,
    )
    return rejection(answer, who="Confluence", detail=str(exc))


class ConfluenceTransport(Transport):
    kind = "confluence"

    @classmethod
    def clean(cls, destination: WebhookDestination) -> None:
        config = dict(destination.config or {})
        unknown = sorted(set(config) - CONFIG_KEYS)
        if unknown:
            raise InvalidInput(f"Unknown Confluence settings: {', '.join(unknown)}.", details={"known": sorted(CONFIG_KEYS)})
        if not destination.url:
            raise InvalidInput("A Confluence destination needs config.base_url (https://<site>.atlassian.net/wiki, "
                               "or your Data Center's address).")
        space_key = str(config.get("space_key") or "").strip()
        if not _SPACE_KEY.match(space_key):
            raise InvalidInput("A Confluence destination needs config.space_key: the space's key (not its name).")
        config["space_key"] = space_key
        parent = config.get("parent_page_id")
        if parent in (None, ""):
            config.pop("parent_page_id", None)
        elif not str(parent).isdigit():
            raise InvalidInput("config.parent_page_id must be a page id (the number in the page's URL).")
        else:
            config["parent_page_id"] = str(parent)
        host = (urlsplit(destination.url).hostname or "").lower()
        deployment = config.get("deployment") or (CLOUD if host.endswith(".atlassian.net") else None)
        if deployment not in CREDENTIALS:
            raise InvalidInput("config.deployment must be \"cloud\" or \"datacenter\".")
        config["deployment"] = deployment
        destination.config = config
        credentials = destination.credentials or {}
        wanted = CREDENTIALS[deployment]
        if set(credentials) != wanted or not all(isinstance(v, str) and v.strip() for v in credentials.values()):
            raise InvalidInput(
                "Confluence Cloud needs credentials.email and credentials.api_token."
                if deployment == CLOUD else "Confluence Data Center needs credentials.personal_token."
            )
        url = destination.url.rstrip("/")
        if deployment == CLOUD and not url.endswith("/wiki"):
            url += "/wiki"  # Cloud serves Confluence's REST API under /wiki
        destination.url = url

    def _client(self) -> ConfluenceServer:
        credentials = self.destination.credentials
        auth: dict[str, Any] = (
            {"username": credentials["email"].strip(), "password": credentials["api_token"].strip()}
            if self.destination.config["deployment"] == CLOUD else {"token": credentials["personal_token"].strip()}
        )
        return ConfluenceServer(
            url=self.destination.url, session=requests_session(), cloud=self.destination.config["deployment"] == CLOUD,
            retry_with_header=False, backoff_and_retry=False, **auth,
        )

    def deliver(self, message: OutboundMessage) -> Receipt:
        outline = page_outline(message)
        config = self.destination.config
        title = page_title(outline, message)
        confluence = self._client()
        try:
            existing = (confluence.get_page_by_title(config["space_key"], title) or {}).get("results") or []
            if existing:
                return Receipt(status_code=200, body=f"Confluence page {existing[0]['id']} (made by an earlier attempt)")
            page = confluence.create_page(
                space=config["space_key"], title=title, body=storage_body(outline),
                parent_id=config.get("parent_page_id"), representation="storage",
            )
        except (requests.HTTPError, ApiError) as exc:
            mapped = _rejected(exc)
            if mapped is None:
                raise
            raise mapped from None
        finally:
            confluence.close()
        return Receipt(status_code=200, body=f"Confluence page {page['id']}: {title}")
