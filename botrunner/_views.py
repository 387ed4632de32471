"""The pager of posted summaries: buttons whose custom_id carries the summary id and the page.

The worker posts page 1 with `page_buttons(...)` (summaries.services.discord_results); a click reaches
`SummaryPageButton` here whatever process posted the message and however long ago: the state is in the
custom_id and the database, none in memory.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from channels.db import database_sync_to_async

from botrunner._errors import handle_interaction_error, reply_ephemeral
from summaries.services.discord_results import PAGE_BUTTON_PREFIX, SummaryPage, page_buttons, summary_page
from summarybot.errors import SummaryBotError

logger = logging.getLogger(__name__)

_NOOP = "noop"
_STYLES = {style.value: style for style in discord.ButtonStyle}


_TEMPLATE = rf"{PAGE_BUTTON_PREFIX}:(?P<summary_id>\d+):(?P<page>\d+|{_NOOP})"


class SummaryPageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_TEMPLATE):
    def __init__(
        self, *, custom_id: str, label: str = "", style: int = 2, disabled: bool = False, row: int | None = None
    ) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label or None,
            style=_STYLES.get(style, discord.ButtonStyle.secondary),
            custom_id=custom_id,
            disabled=disabled,
        )
        super().__init__(button, row=row)
        match = self.template.fullmatch(custom_id)
        assert match is not None  # DynamicItem.__init__ checked it against the same template
        self.summary_id = int(match["summary_id"])
        self.page: int | None = None if match["page"] == _NOOP else int(match["page"])

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SummaryPageButton:
        return cls(custom_id=match.string)

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.page is None:
            await interaction.response.defer()  # the page counter is a disabled label; nothing to do
            return
        try:
            page = await database_sync_to_async(summary_page)(
                summary_id=self.summary_id, page=self.page, user_id=interaction.user.id, guild_id=interaction.guild_id
            )
            await interaction.response.edit_message(
                embeds=[discord.Embed.from_dict(embed) for embed in page.embeds], view=pager_view(page)
            )
        except SummaryBotError as exc:
            await reply_ephemeral(interaction, exc.message)
        except Exception as exc:  # noqa: BLE001  mapped, and logged with ids, by the one error handler
            await handle_interaction_error(interaction, exc)


def pager_view(page: SummaryPage) -> discord.ui.View | None:
    """The same ◀ n/m ▶ row the worker posts (built from its `page_buttons`), or None for one page."""
    rows = page_buttons(page.summary_id, page.page, page.pages)
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for row_number, row in enumerate(rows):
        for button in row["components"]:  # type: ignore[union-attr]
            view.add_item(
                SummaryPageButton(
                    custom_id=str(button["custom_id"]),
                    label=str(button.get("label") or ""),
                    style=int(button.get("style", 2)),
                    disabled=bool(button.get("disabled")),
                    row=row_number,
                )
            )
    return view
