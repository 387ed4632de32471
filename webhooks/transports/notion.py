"""Notion: each summary becomes a page in a database the guild chose, through the official notion-client.

The page's properties are its title ("Summary of #channel · date") and, where the admin named them, a date,
the channel name, tags (the format) and the webhook-id; its blocks are the sections (headings) and the
points (bulleted items, the overview as a paragraph), each point followed by its numbered jump links.

Notion's limits shape the requests: at most 100 blocks per request (the page is created with the first 100,
the rest appended 100 at a time with `blocks.children.append`), at most 2000 characters per rich text
object (longer text is cut into several objects of one paragraph).

A retry must not make a second page. The page id is kept on the delivery as soon as Notion returns it, and
the next attempt counts the blocks the page already has and appends only the missing ones. When the answer
to the create itself was lost, only the database knows: with `id_property` set, the page carries the
webhook-id and an attempt first asks the database for it.

We pin Notion-Version 2022-06-28, whose `database_id` parent and `databases/{id}/query` are what an
admin's database id works with; later versions address data sources instead (one more lookup per page).
The client's own retries are off: the delivery service owns retries and their schedule.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from notion_client import Client
from notion_client.errors import HTTPResponseError

from summarybot.errors import InvalidInput
from webhooks.http import OutboundResponse, ReceiverRejected, rejection
from webhooks.models import WebhookDestination
from webhooks.payloads import OutboundMessage, Outline, Point, page_outline
from webhooks.sdk_http import httpx_client
from webhooks.transports.base import Receipt, Transport

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.notion.com"
NOTION_VERSION = "2022-06-28"
MAX_BLOCKS_PER_REQUEST = 100
MAX_TEXT = 2000
# A point is one idea; this only keeps a runaway one inside Notion's 100 rich text objects per block.
MAX_TEXT_OBJECTS = 80
CONFIG_KEYS = frozenset({"database_id", "title_property", "date_property", "channel_property", "tags_property",
                         "id_property"})
_NOTION_ID = re.compile(r"^[0-9a-f]{32}$")


def _text(content: str, *, link: str | None = None, bold: bool = False, italic: bool = False) -> Iterator[dict[str, Any]]:
    for start in range(0, len(content), MAX_TEXT):
        piece: dict[str, Any] = {"type": "text", "text": {"content": content[start:start + MAX_TEXT]}}
        if link:
            piece["text"]["link"] = {"url": link}
        if bold or italic:
            piece["annotations"] = {"bold": bold, "italic": italic}
        yield piece


def point_rich_text(point: Point) -> list[dict[str, Any]]:
    """'**owner**: text *(unverified)* ([1] [2])' with each number a link to the message it cites."""
    pieces: list[dict[str, Any]] = []
    if point.owner:
        pieces += [*_text(point.owner, bold=True), *_text(": ")]
    pieces += list(_text(point.text))[:MAX_TEXT_OBJECTS]
    if point.unverified:
        pieces += _text(" (unverified)", italic=True)
    for n, url in enumerate(point.links, 1):
        pieces += [*_text(" (" if n == 1 else " "), *_text(str(n), link=url)]
    if point.links:
        pieces += _text(")")
    return pieces


def _block(kind: str, rich_text: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "block", "type": kind, kind: {"rich_text": rich_text}}


def page_blocks(outline: Outline) -> list[dict[str, Any]]:
    blocks = [_block("paragraph", list(_text(outline.description, italic=True)))] if outline.description else []
    for section in outline.sections:
        blocks.append(_block("heading_2", list(_text(section.title))))
        kind = "paragraph" if section.prose else "bulleted_list_item"
        blocks += [_block(kind, point_rich_text(point)) for point in section.points]
    return blocks


def page_properties(outline: Outline, config: dict[str, Any], *, webhook_id: str, test: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {config.get("title_property") or "Name": {"title": list(_text(outline.title))}}
    if config.get("date_property"):
        properties[config["date_property"]] = {"date": {"start": outline.date.isoformat()}}
    if config.get("channel_property") and outline.channel_name:
        properties[config["channel_property"]] = {"rich_text": list(_text(f"#{outline.channel_name}"))}
    if config.get("tags_property"):
        tags = [outline.format or "summary"] + (["test"] if test else [])
        properties[config["tags_property"]] = {"multi_select": [{"name": tag} for tag in tags]}
    if config.get("id_property"):
        properties[config["id_property"]] = {"rich_text": list(_text(webhook_id))}
    return properties


def _rejected(exc: HTTPResponseError) -> ReceiverRejected:
    """Notion's error as ours: the shared status rule decides retryable (429, 5xx, 409) or permanent."""
    answer = OutboundResponse(
        status_code=exc.status, headers={k.lower(): v for k, v in exc.headers.items()},
        body=(exc.body or "").encode(), truncated=False,
    )
    code = getattr(exc.code, "value", exc.code)  # an APIErrorCode for the codes the client knows
    return rejection(answer, who="Notion", detail=f"{code}: {exc}")


class NotionTransport(Transport):
    kind = "notion"

    @classmethod
    def clean(cls, destination: WebhookDestination) -> None:
        config = dict(destination.config or {})
        unknown = sorted(set(config) - CONFIG_KEYS)
        if unknown:
            raise InvalidInput(f"Unknown Notion settings: {', '.join(unknown)}.", details={"known": sorted(CONFIG_KEYS)})
        database_id = str(config.get("database_id") or "").strip().lower().replace("-", "")
        if not _NOTION_ID.match(database_id):
            raise InvalidInput("A Notion destination needs config.database_id: the 32-character id of the database "
                               "(in its URL), shared with your integration.")
        config["database_id"] = database_id
        for name in CONFIG_KEYS - {"database_id"}:
            value = config.get(name)
            if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > 100):
                raise InvalidInput(f"config.{name} must be the name of a property of the database.")
        destination.config = config
        credentials = destination.credentials or {}
        if set(credentials) != {"token"} or not isinstance(credentials["token"], str) or not credentials["token"].strip():
            raise InvalidInput("A Notion destination needs credentials.token: the integration's secret.")
        destination.url = (destination.url or DEFAULT_BASE_URL).rstrip("/")

    def _client(self) -> Client:
        return Client(
            client=httpx_client(), auth=self.destination.credentials["token"].strip(), base_url=self.destination.url,
            notion_version=NOTION_VERSION, retry=False, logger=logger, log_level=logging.WARNING,
        )

    def deliver(self, message: OutboundMessage) -> Receipt:
        outline = page_outline(message)
        blocks = page_blocks(outline)
        client = self._client()
        try:
            page_id = self.remembered(message) or self._find(client, message)
            resumed = bool(page_id)
            if page_id:
                present = self._count_blocks(client, page_id)
            else:
                page = client.pages.create(
                    parent={"database_id": self.destination.config["database_id"]},
                    properties=page_properties(outline, self.destination.config, webhook_id=message.webhook_id,
                                               test=message.test),
                    children=blocks[:MAX_BLOCKS_PER_REQUEST],
                )
                page_id, present = page["id"], min(len(blocks), MAX_BLOCKS_PER_REQUEST)
                self.remember(message, page_id)
            for start in range(present, len(blocks), MAX_BLOCKS_PER_REQUEST):
                client.blocks.children.append(page_id, children=blocks[start:start + MAX_BLOCKS_PER_REQUEST])
        except HTTPResponseError as exc:
            raise _rejected(exc) from None
        finally:
            client.close()
        note = " (continued the page an earlier attempt made)" if resumed else ""
        return Receipt(status_code=200, body=f"Notion page {page_id}, {len(blocks)} blocks{note}")

    def _find(self, client: Client, message: OutboundMessage) -> str:
        """The page an earlier attempt made whose answer we never got (only with id_property)."""
        id_property = self.destination.config.get("id_property")
        if not id_property:
            return ""
        found = client.request(
            path=f"databases/{self.destination.config['database_id']}/query", method="POST",
            body={"filter": {"property": id_property, "rich_text": {"equals": message.webhook_id}}, "page_size": 1},
        )
        results = found.get("results") or []
        return results[0]["id"] if results else ""

    @staticmethod
    def _count_blocks(client: Client, page_id: str) -> int:
        count, cursor = 0, None
        while True:
            listing = client.blocks.children.list(
                page_id, page_size=100, **({"start_cursor": cursor} if cursor else {})
            )
            count += len(listing.get("results") or [])
            cursor = listing.get("next_cursor")
            if not listing.get("has_more") or not cursor:
                return count
