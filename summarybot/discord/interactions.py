"""Answering an interaction after the bot deferred it: edits of the original response and follow-ups.

Both go through the interaction's token (valid 15 minutes), not the bot's channel permissions; a dead
token comes back as DiscordInteractionExpired so the caller can post elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord
import discord.http

from .outgoing import NO_PINGS, attached_file, edit_params, embeds_from
from .pager import PagerPosition
from .session import DiscordSession


class Interactions:
    def __init__(self, session: DiscordSession) -> None:
        self._session = session

    async def interaction_followup(
        self,
        application_id: int,
        token: str,
        *,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] = (),
        file: tuple[str, bytes] | None = None,
        ephemeral: bool = False,
    ) -> int:
        """A follow-up message on an interaction; DiscordInteractionExpired once the token is dead (15 min)."""
        # An application webhook (type 3), built the way discord.py's Interaction.followup builds it:
        # only that type may send ephemeral messages.
        webhook = discord.Webhook.from_state(
            data={"id": application_id, "type": 3, "token": token},
            state=self._session.client._connection,
        )
        kwargs: dict[str, Any] = {}
        made = attached_file(file)
        if made is not None:
            kwargs["file"] = made
        message = await self._session.call(
            webhook.send(
                content=content or discord.utils.MISSING,
                embeds=embeds_from(embeds),
                ephemeral=ephemeral,
                allowed_mentions=NO_PINGS,
                wait=True,
                **kwargs,
            )
        )
        return int(message.id)

    async def edit_original_response(
        self,
        application_id: int,
        token: str,
        *,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] | None = None,
        file: tuple[str, bytes] | None = None,
        pager: PagerPosition | None = None,
    ) -> int:
        """Edit the interaction's original (deferred) response; returns its message id.

        `None` leaves a part as it is; `content=""` / `embeds=[]` clear it. A `pager` sets the ◀ n/m ▶
        buttons for that summary page (none for a one-page summary).
        """
        route = discord.http.Route(
            "PATCH",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            webhook_id=application_id,
            webhook_token=token,
        )
        http = self._session.http
        with edit_params(content=content, embeds=embeds, file=file, pager=pager) as params:
            if params.files:
                request = http.request(route, form=params.multipart, files=params.files)
            else:
                request = http.request(route, json=params.payload)
            data = await self._session.call(request)
        return int(data["id"])
