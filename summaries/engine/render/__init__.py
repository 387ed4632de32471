"""Renderers of a SummaryResult: Markdown, Discord embeds (as plain dicts) and JSON."""

from .discord import DiscordAttachment, DiscordRendering, render_discord
from .json import render_json
from .links import jump_url
from .markdown import render_markdown

__all__ = ["DiscordAttachment", "DiscordRendering", "jump_url", "render_discord", "render_json", "render_markdown"]
