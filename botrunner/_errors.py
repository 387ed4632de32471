"""The bot's one mapping from errors to what the member sees: a short ephemeral message.

Used by the command tree's global error handler and by component callbacks (the pager), so that a
SummaryBotError reads the same wherever it surfaces.
"""

from __future__ import annotations

import logging
from contextlib import suppress

import discord
from discord import app_commands

from summarybot.errors import SummaryBotError

logger = logging.getLogger(__name__)

# interaction.extras key set when a command deferred with a visible "thinking…" message.
PUBLIC_DEFER = "summarybot_public_defer"

_PERMISSION_LABELS = {
    "manage_guild": "Manage Server",
    "view_channel": "View Channel",
    "read_message_history": "Read Message History",
    "send_messages_in_threads": "Send Messages in Threads",
}


def permission_label(name: str) -> str:
    """Discord's UI name of a permission ("read_message_history" -> "Read Message History")."""
    return _PERMISSION_LABELS.get(name) or name.replace("_", " ").title()


def _labels(names: list[str]) -> str:
    return ", ".join(permission_label(n) for n in names)


def _log_extra(interaction: discord.Interaction) -> dict[str, object]:
    command = interaction.command
    return {
        "interaction_id": interaction.id,
        "guild_id": interaction.guild_id,
        "channel_id": interaction.channel_id,
        "user_id": interaction.user.id if interaction.user else None,
        "command": command.qualified_name if command else None,
    }


def error_message(interaction: discord.Interaction, error: BaseException) -> str:
    """What to tell the member; unexpected errors are logged here with the interaction's ids."""
    if isinstance(error, (app_commands.CommandInvokeError, app_commands.TransformerError)) and isinstance(
        error.__cause__, SummaryBotError
    ):
        error = error.__cause__
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, SummaryBotError):
        logger.info("request refused", extra={**_log_extra(interaction), "error_code": error.code})
        return error.message
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_labels(error.missing_permissions)} permission to use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I need the {_labels(error.missing_permissions)} permission here to do that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only in a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    if isinstance(error, app_commands.TransformerError):
        return f"One of the options has a value I can't use here ({error.type.name} expected)."
    if isinstance(error, (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)):
        return "This command has changed since your Discord client loaded it; try again in a minute."
    logger.error("unexpected error handling an interaction", exc_info=error, extra=_log_extra(interaction))
    return (
        f"Sorry, something went wrong on our side. If it keeps happening, tell an admin (reference {interaction.id})."
    )


async def reply_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer privately, whatever state the interaction is in (fresh, deferred privately or publicly)."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
        elif interaction.extras.get(PUBLIC_DEFER):
            # A visible "thinking…" would show the refusal to the whole channel: answer privately instead.
            await interaction.followup.send(text, ephemeral=True)
            with suppress(discord.HTTPException):
                await interaction.delete_original_response()
        elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            await interaction.edit_original_response(content=text)
        else:
            await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException as exc:
        # The token expired or the interaction vanished: nothing left to answer through.
        logger.warning(
            "could not answer an interaction", extra={**_log_extra(interaction), "status": exc.status, "code": exc.code}
        )


async def handle_interaction_error(interaction: discord.Interaction, error: BaseException) -> None:
    await reply_ephemeral(interaction, error_message(interaction, error))
