"""/schedule: recurring summaries of a server, for members with Manage Server.

Each command parses its options, calls one schedule service (summaries/services/schedules.py) in one sync
unit of work, and formats the answer, privately. Refusals are the services' InvalidInput/NotFound, turned
into an ephemeral explanation by the bot's one error handler. Like /summary-config, the commands are
hidden from other members by default_permissions and checked again here.
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from dataclasses import dataclass

import discord
from channels.db import database_sync_to_async
from discord import app_commands
from discord.ext import commands

from botrunner._access import TargetChannel
from botrunner._audit import act_as_member
from botrunner._choices import FORMAT_CHOICES, language_autocomplete, timezone_autocomplete
from botrunner._errors import handle_interaction_error
from summaries.engine.render.discord_limits import MESSAGE_CONTENT
from summaries.models import Schedule, ScheduleFrequency, ScheduleMode
from summaries.schedule_times import describe
from summaries.selectors import schedule_get, schedule_scope_label, schedule_timing, schedules_for_guild
from summaries.services.schedule_runs import scope_channel_ids
from summaries.services.schedules import (
    schedule_create,
    schedule_delete,
    schedule_pause,
    schedule_resume,
    schedule_run_now,
)
from summarybot.errors import InvalidInput

logger = logging.getLogger(__name__)

manage_server = app_commands.checks.has_permissions(manage_guild=True)
Channel = app_commands.Transform[app_commands.AppCommandChannel, TargetChannel]

FREQUENCY_CHOICES = [app_commands.Choice(name=label, value=value) for value, label in ScheduleFrequency.choices]
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MAX_AUTOCOMPLETE = 25  # Discord's limit
_MAX_MENTIONS = 20  # channels named in an answer before "and N more"
CONFIRM_SECONDS = 120.0


def parse_weekdays(text: str | None) -> list[int]:
    """"mon,wed,fri" (or full names, or 0 = Monday … 6 = Sunday) to weekday numbers."""
    days = []
    for word in re.split(r"[\s,;]+", (text or "").strip().lower()):
        if not word:
            continue
        if word.isdigit() and int(word) <= 6:
            days.append(int(word))
        elif len(word) >= 3 and any(day.startswith(word) for day in _WEEKDAYS):
            days.append(next(number for number, day in enumerate(_WEEKDAYS) if day.startswith(word)))
        else:
            raise InvalidInput(f"I don't know the weekday {word!r}: list days like mon,wed,fri.")
    return days


def _mentions(channel_ids: list[int]) -> str:
    shown = ", ".join(f"<#{channel_id}>" for channel_id in channel_ids[:_MAX_MENTIONS])
    more = len(channel_ids) - _MAX_MENTIONS
    return shown + (f" and {more} more" if more > 0 else "")


def _next_run(schedule: Schedule) -> str:
    """"Mon 03 Mar 2025, 09:00 Europe/Berlin (<t:…:F>)": the schedule's own clock, and the reader's."""
    if schedule.next_run_at is None:
        return "none (paused)"
    local = schedule.next_run_at.astimezone(zoneinfo.ZoneInfo(schedule.timezone))
    return f"{local:%a %d %b %Y, %H:%M} {schedule.timezone} (<t:{int(schedule.next_run_at.timestamp())}:F>)"


def _title(schedule: Schedule) -> str:
    return f"**{schedule.name}** (id {schedule.pk})"


def _line(schedule: Schedule) -> str:
    """One schedule in /schedule list."""
    state = (
        f"next <t:{int(schedule.next_run_at.timestamp())}:R>"
        if schedule.enabled and schedule.next_run_at is not None
        else f"⏸️ paused: {schedule.paused_reason or 'no reason given'}"
    )
    return (
        f"`{schedule.pk}` **{schedule.name}** · {schedule_scope_label(schedule)} · "
        f"{describe(schedule_timing(schedule))} · {state}"
    )


def _fit(lines: list[str], *, more: str) -> str:
    """As many lines as fit in one message, then how many did not."""
    text = ""
    for shown, line in enumerate(lines):
        tail = more.format(len(lines) - shown)
        if len(text) + len(line) + 1 + len(tail) + 1 > MESSAGE_CONTENT:
            return text + tail
        text += line + "\n"
    return text.rstrip("\n")


# --- The sync units of work (each runs in database_sync_to_async) ---------------------------------


@dataclass(frozen=True, slots=True)
class _Created:
    text: str
    schedule_id: int


def _create(*, guild_id: int, **fields: object) -> _Created:
    schedule = schedule_create(guild_id=guild_id, **fields)  # type: ignore[arg-type]
    text = (
        f"✅ Created {_title(schedule)}: {schedule_scope_label(schedule)}, {describe(schedule_timing(schedule))}.\n"
        f"Next run: {_next_run(schedule)}"
    )
    return _Created(text=text, schedule_id=schedule.pk)


def _list(*, guild_id: int) -> str:
    lines = [_line(schedule) for schedule in schedules_for_guild(guild_id=guild_id)]
    if not lines:
        return "This server has no schedules yet. Create one with `/schedule create`."
    return _fit(lines, more="…and {} more.")


def _pause(*, guild_id: int, schedule_id: str, reason: str) -> str:
    schedule = schedule_pause(guild_id=guild_id, schedule_id=schedule_id, reason=reason)
    return f"⏸️ Paused {_title(schedule)} ({schedule.paused_reason.rstrip('.')}). Resume it with `/schedule resume`."


def _resume(*, guild_id: int, schedule_id: str) -> str:
    schedule = schedule_resume(guild_id=guild_id, schedule_id=schedule_id)
    return f"▶️ Resumed {_title(schedule)}. Next run: {_next_run(schedule)}"


def _run_now(*, guild_id: int, schedule_id: str) -> str:
    schedule = schedule_get(guild_id=guild_id, schedule_id=schedule_id)
    schedule_run_now(guild_id=guild_id, schedule_id=schedule.pk)
    channels = scope_channel_ids(schedule=schedule)
    if not channels:
        return (
            f"Queued a run of {_title(schedule)}, but none of its channels can be summarized right now "
            "(turned off, private, or deleted): it will count as a failed run."
        )
    where = f"in <#{schedule.discord_channel_id}>" if schedule.discord_channel_id else "in each channel"
    return (
        f"🚀 Queued a run of {_title(schedule)} for {_mentions(channels)}. The digests are posted {where} shortly; "
        f"a channel with fewer than {schedule.min_messages} messages in the window is skipped."
    )


def _delete_question(*, guild_id: int, schedule_id: str) -> tuple[int, str, str]:
    """The schedule's id, its title, and the question to confirm."""
    schedule = schedule_get(guild_id=guild_id, schedule_id=schedule_id)
    question = (
        f"Delete {_title(schedule)}: {schedule_scope_label(schedule)}, {describe(schedule_timing(schedule))}? "
        "Its future runs stop; the summaries it made stay."
    )
    return schedule.pk, _title(schedule), question


def schedule_id_choices(*, guild_id: int, current: str) -> list[app_commands.Choice[str]]:
    """The guild's schedules whose name or id contains what was typed, as "name (id 12)"."""
    needle = current.strip().lower()
    choices = []
    for pk, name in schedules_for_guild(guild_id=guild_id).values_list("pk", "name"):
        if not needle or needle in name.lower() or needle == str(pk):
            choices.append(app_commands.Choice(name=f"{name} (id {pk})"[:100], value=str(pk)))
            if len(choices) == _MAX_AUTOCOMPLETE:
                break
    return choices


async def schedule_id_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    # Autocomplete runs before any check: a member without Manage Server learns no schedule's name.
    if interaction.guild_id is None or not interaction.permissions.manage_guild:
        return []
    return await database_sync_to_async(schedule_id_choices)(guild_id=interaction.guild_id, current=current)


class ConfirmDelete(discord.ui.View):
    """Delete / Keep buttons under the question; only the admin who asked can press them."""

    def __init__(self, *, asked_by: discord.Interaction, guild_id: int, schedule_id: int, label: str) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.asked_by = asked_by
        self.guild_id = guild_id
        self.schedule_id = schedule_id
        self.label = label

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        allowed = interaction.user.id == self.asked_by.user.id and interaction.permissions.manage_guild
        if allowed:
            # A button press runs in a task of its own, outside the command tree's check.
            act_as_member(interaction)
        return allowed

    @discord.ui.button(label="Delete", style=discord.ButtonStyle.danger)
    async def delete(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmDelete]) -> None:
        self.stop()
        await database_sync_to_async(schedule_delete)(guild_id=self.guild_id, schedule_id=self.schedule_id)
        logger.info(
            "schedule deleted from Discord",
            extra={"guild_id": self.guild_id, "schedule_id": self.schedule_id, "user_id": interaction.user.id},
        )
        await interaction.response.edit_message(
            content=f"🗑️ Deleted {self.label}. The summaries it made stay.", view=None
        )

    @discord.ui.button(label="Keep it", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmDelete]) -> None:
        self.stop()
        await interaction.response.edit_message(content=f"Kept {self.label}.", view=None)

    async def on_timeout(self) -> None:
        try:
            await self.asked_by.edit_original_response(content=f"No answer: kept {self.label}.", view=None)
        except discord.HTTPException:
            pass  # the answer was dismissed or the token expired: nothing to tidy

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[ConfirmDelete], /
    ) -> None:
        await handle_interaction_error(interaction, error)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ScheduleCog(commands.GroupCog, group_name="schedule", group_description="Recurring summaries of this server"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="create", description="Summarize channels (or the whole server) on a schedule")
    @app_commands.describe(
        name="A name to recognize it by",
        frequency="How often it runs",
        channel="A channel to summarize (default: this one)",
        channel2="Another channel to summarize",
        channel3="A third channel to summarize",
        whole_server="Summarize every channel of the server everyone can read, instead of listed channels",
        time="Local time of day, HH:MM (24-hour); for hourly only the minute counts",
        weekdays="Weekly: the days, e.g. mon,wed,fri",
        day_of_month="Monthly: the day (29-31 run on the last day of shorter months)",
        every_hours="Every N hours: N",
        cron="Cron: five fields in local time, e.g. 0 9 * * 1-5",
        timezone="IANA time zone (default: the server's)",
        format="Summary format (default: each channel's)",
        language="Summary language (default: each channel's)",
        post_to="Post every digest in this channel (default: each in its own channel)",
        min_messages="Skip a channel with fewer messages than this in the window (default 5)",
        combined="One digest with a section per channel, posted in post_to (default: one post per channel)",
    )
    @app_commands.choices(frequency=FREQUENCY_CHOICES, format=FORMAT_CHOICES)
    @app_commands.autocomplete(timezone=timezone_autocomplete, language=language_autocomplete)
    @manage_server
    async def create(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 100],
        frequency: app_commands.Choice[str],
        channel: Channel | None = None,
        channel2: Channel | None = None,
        channel3: Channel | None = None,
        whole_server: bool = False,
        time: app_commands.Range[str, 1, 8] | None = None,
        weekdays: app_commands.Range[str, 1, 100] | None = None,
        day_of_month: app_commands.Range[int, 1, 31] | None = None,
        every_hours: app_commands.Range[int, 1, 168] | None = None,
        cron: app_commands.Range[str, 1, 100] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        format: app_commands.Choice[str] | None = None,
        language: app_commands.Range[str, 1, 16] | None = None,
        post_to: Channel | None = None,
        min_messages: app_commands.Range[int, 1, 10_000] = 5,
        combined: bool = False,
    ) -> None:
        listed = [picked.id for picked in (channel, channel2, channel3) if picked is not None]
        if whole_server and listed:
            raise InvalidInput("Pick channels or whole_server, not both.")
        if not whole_server and not listed:
            if interaction.channel_id is None:
                raise InvalidInput("Pick a channel to summarize, or whole_server.")
            listed = [interaction.channel_id]
        days = parse_weekdays(weekdays)
        await interaction.response.defer(ephemeral=True, thinking=True)
        created = await database_sync_to_async(_create)(
            guild_id=interaction.guild_id,
            name=name,
            frequency=frequency.value,
            channel_ids=listed,
            whole_guild=whole_server,
            time_of_day=time,
            weekdays=days,
            day_of_month=day_of_month,
            every_hours=every_hours,
            cron=cron or "",
            timezone=timezone,
            format=format.value if format else "",
            language=language or "",
            discord_channel_id=post_to.id if post_to else None,
            min_messages=min_messages,
            mode=ScheduleMode.COMBINED if combined else ScheduleMode.PER_CHANNEL,
        )
        logger.info(
            "schedule created from Discord",
            extra={"guild_id": interaction.guild_id, "schedule_id": created.schedule_id, "user_id": interaction.user.id},
        )
        await interaction.edit_original_response(content=created.text)

    @app_commands.command(name="list", description="This server's schedules")
    @manage_server
    async def list_(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await database_sync_to_async(_list)(guild_id=interaction.guild_id)
        await interaction.edit_original_response(content=text)

    @app_commands.command(name="pause", description="Stop a schedule's runs until it is resumed")
    @app_commands.describe(id="The schedule", reason="Shown with the schedule while it is paused")
    @app_commands.autocomplete(id=schedule_id_autocomplete)
    @manage_server
    async def pause(
        self, interaction: discord.Interaction, id: str, reason: app_commands.Range[str, 1, 200] | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await database_sync_to_async(_pause)(guild_id=interaction.guild_id, schedule_id=id, reason=reason or "")
        logger.info("schedule paused from Discord", extra={"guild_id": interaction.guild_id, "user_id": interaction.user.id})
        await interaction.edit_original_response(content=text)

    @app_commands.command(name="resume", description="Run a paused schedule again, from its next slot")
    @app_commands.describe(id="The schedule")
    @app_commands.autocomplete(id=schedule_id_autocomplete)
    @manage_server
    async def resume(self, interaction: discord.Interaction, id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await database_sync_to_async(_resume)(guild_id=interaction.guild_id, schedule_id=id)
        logger.info("schedule resumed from Discord", extra={"guild_id": interaction.guild_id, "user_id": interaction.user.id})
        await interaction.edit_original_response(content=text)

    @app_commands.command(name="run", description="Run a schedule now (its timetable stays as it is)")
    @app_commands.describe(id="The schedule")
    @app_commands.autocomplete(id=schedule_id_autocomplete)
    @manage_server
    async def run(self, interaction: discord.Interaction, id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await database_sync_to_async(_run_now)(guild_id=interaction.guild_id, schedule_id=id)
        logger.info("schedule run from Discord", extra={"guild_id": interaction.guild_id, "user_id": interaction.user.id})
        await interaction.edit_original_response(content=text)

    @app_commands.command(name="delete", description="Delete a schedule (asks to confirm)")
    @app_commands.describe(id="The schedule")
    @app_commands.autocomplete(id=schedule_id_autocomplete)
    @manage_server
    async def delete(self, interaction: discord.Interaction, id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = interaction.guild_id
        assert guild_id is not None  # guild_only
        pk, label, question = await database_sync_to_async(_delete_question)(guild_id=guild_id, schedule_id=id)
        view = ConfirmDelete(asked_by=interaction, guild_id=guild_id, schedule_id=pk, label=label)
        await interaction.edit_original_response(content=question, view=view)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ScheduleCog(bot))
