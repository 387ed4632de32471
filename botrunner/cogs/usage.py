"""/usage: this server's tokens and cost this month, against its budgets."""

from __future__ import annotations

import discord
from channels.db import database_sync_to_async
from discord import app_commands
from discord.ext import commands

from summaries.services.usage import MonthUsage, guild_usage


def _bar(used: float, budget: float) -> str:
    share = 0.0 if budget <= 0 else min(1.0, used / budget)
    filled = round(share * 10)
    return f"{'▰' * filled}{'▱' * (10 - filled)} {share:.0%}"


def usage_embed(usage: MonthUsage) -> discord.Embed:
    embed = discord.Embed(title=f"Usage since {usage.month_start:%B %d, %Y}", color=0x5865F2)
    tokens = f"{usage.tokens:,} ({usage.prompt_tokens:,} in, {usage.completion_tokens:,} out)"
    if usage.token_budget is not None:
        tokens += f"\nBudget {usage.token_budget:,} · {_bar(usage.tokens, usage.token_budget)}"
    embed.add_field(name="Tokens", value=tokens, inline=False)
    cost = f"${usage.cost_usd:,.2f}"
    if usage.cost_budget_usd is not None:
        cost += f"\nBudget ${usage.cost_budget_usd:,.2f} · {_bar(float(usage.cost_usd), float(usage.cost_budget_usd))}"
    embed.add_field(name="Cost", value=cost, inline=False)
    embed.add_field(name="Summaries", value=f"{usage.summaries:,} ({usage.llm_calls:,} model calls)", inline=False)
    return embed


class UsageCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="usage", description="This server's summary usage and budget this month")
    @app_commands.guild_only()
    async def usage(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        usage = await database_sync_to_async(guild_usage)(guild_id=interaction.guild_id)
        await interaction.edit_original_response(embed=usage_embed(usage))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(UsageCog(bot))
