"""The project's one jump-link helper: where a Discord message lives on the web."""

from __future__ import annotations

DISCORD_WEB = "https://discord.com"


def jump_url(guild_id: int | None, channel_id: int, message_id: int) -> str:
    """https://discord.com/channels/<guild>/<channel>/<message>; direct messages use "@me" for the guild."""
    guild = str(guild_id) if guild_id is not None else "@me"
    return f"{DISCORD_WEB}/channels/{guild}/{channel_id}/{message_id}"
