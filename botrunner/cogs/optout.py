"""/summary-optout and /summary-optin: a member's messages left out of (or back in) summaries."""

from __future__ import annotations

from typing import Literal

import discord
from channels.db import database_sync_to_async
from discord import app_commands
from discord.ext import commands

from guilds.services import member_optout_create, member_optout_delete

Scope = Literal["this_server", "everywhere"]


def _guild_scope(interaction: discord.Interaction, scope: Scope) -> int | None:
    return None if scope == "everywhere" or interaction.guild_id is None else interaction.guild_id


def _where(guild_id: int | None) -> str:
    return "in this server" if guild_id else "in every server"


class OptOutCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="summary-optout", description="Leave your messages out of summaries")
    @app_commands.describe(scope="This server (default) or every server with this bot")
    async def optout(self, interaction: discord.Interaction, scope: Scope = "this_server") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild_scope(interaction, scope)
        created = await database_sync_to_async(member_optout_create)(user_id=interaction.user.id, guild_id=guild_id)
        text = (
            f"Done: your messages are left out of new summaries {_where(guild_id)}."
            if created
            else f"You had already opted out {_where(guild_id)}."
        )
        await interaction.edit_original_response(content=text)

    @app_commands.command(name="summary-optin", description="Let summaries include your messages again")
    @app_commands.describe(scope="This server (default) or every server with this bot")
    async def optin(self, interaction: discord.Interaction, scope: Scope = "this_server") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild_scope(interaction, scope)
        deleted = await database_sync_to_async(member_optout_delete)(user_id=interaction.user.id, guild_id=guild_id)
        text = (
            f"Done: summaries {_where(guild_id)} include your messages again."
            if deleted
            else f"You had not opted out {_where(guild_id)}; nothing to change."
        )
        await interaction.edit_original_response(content=text)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(OptOutCog(bot))
