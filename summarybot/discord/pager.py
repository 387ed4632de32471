"""The ◀ n/m ▶ buttons under a posted summary: one DynamicItem that builds and parses its own custom_id.

    sumpage:<summary_id>:<page>    ◀ and ▶ (page is 0-based)
    sumpage:<summary_id>:noop      the disabled n/m label between them

All the state is in the custom_id and the database, so a click is answered by whatever bot process
receives it, however long ago the message was posted. Messages already in Discord carry these strings:
the format must never change. The worker only posts the buttons; the gateway bot subclasses PageButton
to answer clicks (its pager view), so nothing here needs the services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Self

import discord

PREFIX = "sumpage"
_NOOP = "noop"
# "-1" is on the wire: page 1's ◀ has always pointed at page -1 (disabled, never clicked), and DynamicItem
# checks every custom_id it builds against the template.
TEMPLATE = rf"{PREFIX}:(?P<summary_id>\d+):(?P<page>-?\d+|{_NOOP})"


@dataclass(frozen=True, slots=True)
class PagerPosition:
    """Where a posted summary stands: which summary, which page (0-based), out of how many."""

    summary_id: int
    page: int
    pages: int


class PageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """A page button; `page` None is the n/m label. Subclasses keep the template unless they pass one."""

    def __init_subclass__(cls, *, template: str | re.Pattern[str] = TEMPLATE, **kwargs: Any) -> None:
        super().__init_subclass__(template=template, **kwargs)

    def __init__(
        self,
        summary_id: int,
        page: int | None,
        *,
        label: str | None = None,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        target = _NOOP if page is None else str(page)
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label,
            style=discord.ButtonStyle.secondary,
            custom_id=f"{PREFIX}:{summary_id}:{target}",
            disabled=disabled,
        )
        super().__init__(button, row=row)
        self.summary_id = summary_id
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        page = match["page"]
        return cls(int(match["summary_id"]), None if page == _NOOP else int(page))

    @classmethod
    def view_for(cls, position: PagerPosition) -> discord.ui.View | None:
        """The ◀ n/m ▶ row made of `cls` buttons, or None when the summary has one page (no buttons)."""
        summary_id, page, pages = position.summary_id, position.page, position.pages
        if pages <= 1:
            return None
        view = discord.ui.View(timeout=None)
        view.add_item(cls(summary_id, page - 1, label="◀", disabled=page <= 0, row=0))
        view.add_item(cls(summary_id, None, label=f"{page + 1}/{pages}", disabled=True, row=0))
        view.add_item(cls(summary_id, page + 1, label="▶", disabled=page >= pages - 1, row=0))
        return view
