"""The Discord REST client as the worker uses it: one login, its parts built on it.

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel_id, since=..., on_page=progress)
        await rest.delivery.send_message(channel_id, embeds=[...])

The parts share the session (and so its login, rate limits and caches) for the life of one `async with`.
"""

from __future__ import annotations

from types import TracebackType

from .access import ChannelAccess
from .delivery import Delivery
from .history import History
from .interactions import Interactions
from .session import CALL_TIMEOUT, DiscordSession


class DiscordRest:
    def __init__(
        self,
        *,
        token: str | None = None,
        api_base_url: str | None = None,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self.session = DiscordSession(token=token, api_base_url=api_base_url, call_timeout=call_timeout)
        self.access = ChannelAccess(self.session)
        self.history = History(self.session, self.access)
        self.delivery = Delivery(self.session, self.access)
        self.interactions = Interactions(self.session)

    async def __aenter__(self) -> DiscordRest:
        await self.session.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.session.close()
