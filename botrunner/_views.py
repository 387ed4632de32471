"""The pager of posted summaries, answered: a click on ◀ or ▶ turns the message to that page.

The buttons and their custom_id are summarybot.discord.pager's (the worker posts page 1 with them); a click
reaches `SummaryPageButton` here whatever process posted the message and however long ago: the state is
in the custom_id and the database, none in memory.
"""

from __future__ import annotations

import logging

import discord
from channels.db import database_sync_to_async

from botrunner._errors import handle_interaction_error, reply_ephemeral
from summaries.services.discord_results import SummaryPage, summary_page
from summarybot.discord.pager import PageButton, PagerPosition
from summarybot.errors import SummaryBotError

logger = logging.getLogger(__name__)


class SummaryPageButton(PageButton):
    async def callback(self, interaction: discord.Interaction) -> None:
        if self.page is None:
            await interaction.response.defer()  # the page counter is a disabled label; nothing to do
            return
        try:
            page = await database_sync_to_async(summary_page)(
                summary_id=self.summary_id,
                page=self.page,
                user_id=interaction.user.id,
                guild_id=interaction.guild_id,
                message_id=interaction.message.id if interaction.message else None,
            )
            await interaction.response.edit_message(
                embeds=[discord.Embed.from_dict(embed) for embed in page.embeds], view=pager_view(page)
            )
        except SummaryBotError as exc:
            await reply_ephemeral(interaction, exc.message)
        except Exception as exc:  # noqa: BLE001  mapped, and logged with ids, by the one error handler
            await handle_interaction_error(interaction, exc)


def pager_view(page: SummaryPage) -> discord.ui.View | None:
    """The same ◀ n/m ▶ row the worker posts, made of buttons this bot answers; None for one page."""
    return SummaryPageButton.view_for(PagerPosition(page.summary_id, page.page, page.pages))
