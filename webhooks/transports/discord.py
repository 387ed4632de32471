"""Discord: a channel through our bot (the Discord REST client), or a Discord webhook URL (plain HTTPS).

Both post the bot's own rendering (see `webhooks.payloads.discord_message`). Through the bot, every post
carries a nonce derived from the delivery's webhook-id with `enforce_nonce`, so a retry that follows an
attempt whose answer was lost gets the first message back instead of a second one (Discord keeps nonces a
few minutes). Webhook executions have no nonce: a lost answer there can mean a second post on retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2

from summarybot.discord.client import DiscordRest
from summarybot.errors import PermissionDenied
from webhooks.http import expect_success, outbound_client
from webhooks.payloads import DiscordMessage, OutboundMessage, discord_message
from webhooks.transports.base import Receipt, Transport

NO_MENTIONS = {"parse": []}


def message_nonce(webhook_id: str) -> str:
    return hashlib.sha256(webhook_id.encode()).hexdigest()[:25]  # Discord's limit is 25 characters


class DiscordChannelTransport(Transport):
    kind = "discord_channel"
    uses_url = False

    def deliver(self, message: OutboundMessage) -> Receipt:
        rendered = discord_message(message)
        message_id = asyncio.run(self._post(rendered, message_nonce(message.webhook_id)))
        return Receipt(status_code=None, body=f"Discord message {message_id}")

    async def _post(self, rendered: DiscordMessage, nonce: str) -> int:
        channel_id = self.destination.discord_channel_id
        assert channel_id is not None
        async with DiscordRest() as rest:
            channel = await rest.history.channel_info(channel_id)
            if channel.guild_id != self.destination.guild_id:
                # Checked on every send, not only on save: one server's destination never posts in another's.
                raise PermissionDenied(f"Channel {channel_id} is not in this server; nothing was posted.")
            return await rest.delivery.send_message(channel_id, embeds=rendered.embeds, file=rendered.file, nonce=nonce)


def execute_url(url: str) -> str:
    """The webhook URL with `wait=true`: Discord then answers with the message (and errors) synchronously."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "wait"] + [("wait", "true")]
    return urlunsplit(parts._replace(query=urlencode(query)))


class DiscordWebhookTransport(Transport):
    kind = "discord_webhook"

    def deliver(self, message: OutboundMessage) -> Receipt:
        rendered = discord_message(message)
        payload = {"embeds": rendered.embeds, "allowed_mentions": NO_MENTIONS}
        if rendered.file is None:
            body, content_type = json.dumps(payload).encode(), "application/json"
        else:
            # Multipart as Discord documents it: the JSON in payload_json, the file as files[0].
            name, data = rendered.file
            request = httpx2.Request(
                "POST", "http://multipart.invalid/", data={"payload_json": json.dumps(payload)},
                files={"files[0]": (name, data, "text/markdown")},
            )
            body, content_type = request.read(), request.headers["Content-Type"]
        response = expect_success(
            outbound_client().post(execute_url(self.destination.url), content=body, headers={"Content-Type": content_type})
        )
        return Receipt(status_code=response.status_code, body=response.text())
