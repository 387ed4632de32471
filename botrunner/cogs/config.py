"""/summary-config: a server's summary settings, for members with Manage Server.

Hidden from other members by default_permissions, and checked again here (server admins can change
who sees a command, so the UI is not the rule).
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from channels.db import database_sync_to_async
from discord import app_commands
from discord.ext import commands

from botrunner._access import TargetChannel
from botrunner._choices import FORMAT_CHOICES, LANGUAGES, language_autocomplete
from guilds.models import SummaryFormat
from guilds.services import GuildConfig, channel_config_update, guild_config_get, guild_config_update
from summaries.engine.render.discord_limits import MESSAGE_CONTENT

logger = logging.getLogger(__name__)

manage_server = app_commands.checks.has_permissions(manage_guild=True)
_OFF = {"off", "none", "disable", "disabled", ""}


def _format_label(value: str) -> str:
    return dict(SummaryFormat.choices).get(value, value)


def _describe(config: GuildConfig) -> str:
    guild = config.guild
    language = guild.default_language
    lines = [
        f"**Default format:** {_format_label(guild.default_format)}",
        f"**Language:** {LANGUAGES.get(language, language)} (`{language}`)",
        f"**PII redaction:** {'on' if guild.redact_pii else 'off'}",
        f"**Opt-out marker:** {f'`{guild.opt_out_marker}`' if guild.opt_out_marker else 'off'}",
        f"**Reaction trigger:** {guild.reaction_trigger_emoji or 'off'}",
        f"**Cooldown per member:** {guild.member_cooldown_seconds} s",
    ]
    if config.special_channels:
        lines.append("**Channels with their own settings:**")
        for channel in config.special_channels[:20]:
            flags = []
            if not channel.enabled:
                flags.append("summaries off")
            if channel.allow_when_locked:
                flags.append("private channel allowed")
            if channel.format_override:
                flags.append(f"format {_format_label(channel.format_override)}")
            if channel.language_override:
                flags.append(f"language {channel.language_override}")
            lines.append(f"• <#{channel.id}>: {', '.join(flags) or 'custom'}")
    if config.locked_channels:
        names = ", ".join(f"<#{c.id}>" for c in config.locked_channels[:15])
        lines.append(f"**Private channels (off until allowed):** {names}")
    return "\n".join(lines)[:MESSAGE_CONTENT]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ConfigCog(commands.GroupCog, group_name="summary-config", group_description="Summary settings for this server"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    async def _update_guild(self, interaction: discord.Interaction, changes: dict[str, Any], done: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await database_sync_to_async(guild_config_update)(guild_id=interaction.guild_id, changes=changes)
        logger.info(
            "config changed from Discord",
            extra={"guild_id": interaction.guild_id, "user_id": interaction.user.id, "fields": sorted(changes)},
        )
        await interaction.edit_original_response(content=done)

    @app_commands.command(name="show", description="Show this server's summary settings")
    @manage_server
    async def show(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = await database_sync_to_async(guild_config_get)(guild_id=interaction.guild_id)
        await interaction.edit_original_response(content=_describe(config))

    @app_commands.command(name="format", description="The default summary format")
    @app_commands.choices(format=FORMAT_CHOICES)
    @manage_server
    async def format(self, interaction: discord.Interaction, format: app_commands.Choice[str]) -> None:
        await self._update_guild(
            interaction, {"default_format": format.value}, f"Summaries are now **{format.name}** by default."
        )

    @app_commands.command(name="language", description="The default summary language (auto = the conversation's)")
    @app_commands.autocomplete(language=language_autocomplete)
    @manage_server
    async def language(self, interaction: discord.Interaction, language: str) -> None:
        code = language.strip()
        await self._update_guild(
            interaction,
            {"default_language": code},
            f"Summaries are now written in **{LANGUAGES.get(code, code)}** by default.",
        )

    @app_commands.command(name="redaction", description="Redact emails, phone numbers and secrets before summarizing")
    @manage_server
    async def redaction(self, interaction: discord.Interaction, enabled: bool) -> None:
        await self._update_guild(
            interaction, {"redact_pii": enabled}, f"PII redaction is now **{'on' if enabled else 'off'}**."
        )

    @app_commands.command(
        name="optout-marker", description="Messages starting with this are never summarized ('off' to disable)"
    )
    @manage_server
    async def optout_marker(self, interaction: discord.Interaction, marker: app_commands.Range[str, 1, 32]) -> None:
        value = "" if marker.strip().lower() in _OFF else marker.strip()
        done = (
            f"Messages starting with `{value}` are now left out of summaries."
            if value
            else "The opt-out marker is off."
        )
        await self._update_guild(interaction, {"opt_out_marker": value}, done)

    @app_commands.command(
        name="reaction-emoji", description="Reacting with this emoji summarizes from that message ('off' to disable)"
    )
    @manage_server
    async def reaction_emoji(self, interaction: discord.Interaction, emoji: app_commands.Range[str, 1, 64]) -> None:
        value = "" if emoji.strip().lower() in _OFF else emoji.strip()
        done = f"Reacting with {value} now posts a summary in the channel." if value else "The reaction trigger is off."
        await self._update_guild(interaction, {"reaction_trigger_emoji": value}, done)
        if interaction.guild_id is not None:
            # Whoever caches guild settings (the reaction trigger does) listens for this event.
            self.bot.dispatch("guild_config_changed", interaction.guild_id)

    @app_commands.command(name="cooldown", description="Seconds a member waits between two summaries")
    @manage_server
    async def cooldown(self, interaction: discord.Interaction, seconds: app_commands.Range[int, 0, 3600]) -> None:
        await self._update_guild(
            interaction,
            {"member_cooldown_seconds": seconds},
            f"Members can now ask for a summary every **{seconds} s**.",
        )

    @app_commands.command(name="channel", description="Turn summaries on or off in a channel, or allow a private one")
    @app_commands.describe(
        channel="The channel or thread",
        enabled="Allow summaries there",
        allow_private="Allow summaries even though @everyone cannot see it",
    )
    @manage_server
    async def channel(
        self,
        interaction: discord.Interaction,
        channel: app_commands.Transform[app_commands.AppCommandChannel, TargetChannel],
        enabled: bool | None = None,
        allow_private: bool | None = None,
    ) -> None:
        changes: dict[str, Any] = {}
        if enabled is not None:
            changes["enabled"] = enabled
        if allow_private is not None:
            changes["allow_when_locked"] = allow_private
        await interaction.response.defer(ephemeral=True, thinking=True)
        if not changes:
            await interaction.edit_original_response(content="Nothing to change: set `enabled` or `allow_private`.")
            return
        updated = await database_sync_to_async(channel_config_update)(
            guild_id=interaction.guild_id, channel_id=channel.id, changes=changes
        )
        logger.info(
            "channel config changed from Discord",
            extra={"guild_id": interaction.guild_id, "channel_id": channel.id, "user_id": interaction.user.id},
        )
        state = "on" if updated.summaries_allowed else "off"
        note = (
            " (it is private: also set `allow_private` to turn it on)"
            if updated.is_locked and not updated.allow_when_locked
            else ""
        )
        await interaction.edit_original_response(content=f"Summaries in <#{channel.id}> are now **{state}**{note}.")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ConfigCog(bot))
