"""What every message we post is made of: embeds from JSON dicts, at most one file, the summary pager,
and never a ping (a summary quotes people: it must not notify them or @everyone).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import discord
import discord.http

from .pager import PageButton, PagerPosition

NO_PINGS = discord.AllowedMentions.none()


def attached_file(file: tuple[str, bytes] | None) -> discord.File | None:
    if file is None:
        return None
    name, data = file
    return discord.File(io.BytesIO(data), filename=name)


def embeds_from(embeds: Sequence[dict[str, Any]]) -> list[discord.Embed]:
    return [discord.Embed.from_dict(e) for e in embeds]


def message_params(
    *,
    content: str | None,
    embeds: Sequence[dict[str, Any]],
    file: tuple[str, bytes] | None,
    pager: PagerPosition | None = None,
    channel_payload: dict[str, Any] | None = None,
    reply_to: int | None = None,
    channel_id: int | None = None,
    nonce: str | None = None,
) -> discord.http.MultipartParameters:
    """A new message's payload; `channel_payload` makes it a forum post (the message nests under "message").

    `nonce` (at most 25 characters) is sent with `enforce_nonce`: Discord answers a second create with the
    same nonce, from us in that channel within a few minutes, with the first message instead of a new one.
    """
    extra: dict[str, Any] = {}
    if nonce is not None:
        extra["nonce"] = nonce  # discord.py adds enforce_nonce: true with it
    if reply_to is not None:
        # A reply to a message deleted meanwhile is still posted, as a plain message.
        extra["message_reference"] = {"message_id": reply_to, "channel_id": channel_id, "fail_if_not_exists": False}
    if channel_payload is not None:
        extra["channel_payload"] = channel_payload
    made = attached_file(file)
    if made is not None:
        extra["file"] = made
    view = PageButton.view_for(pager) if pager is not None else None
    if view is not None:
        extra["view"] = view
    return discord.http.handle_message_parameters(
        content=content, embeds=embeds_from(embeds), allowed_mentions=NO_PINGS, **extra
    )


def edit_params(
    *,
    content: str | None,
    embeds: Sequence[dict[str, Any]] | None,
    file: tuple[str, bytes] | None,
    pager: PagerPosition | None,
) -> discord.http.MultipartParameters:
    """An edit's payload: None leaves a part as it is; a pager of one page clears the buttons."""
    missing: Any = discord.utils.MISSING
    return discord.http.handle_message_parameters(
        content=missing if content is None else content,
        embeds=missing if embeds is None else embeds_from(embeds),
        file=attached_file(file) or missing,
        view=missing if pager is None else PageButton.view_for(pager),
        allowed_mentions=NO_PINGS,
    )
