"""/schedule create|list|pause|resume|delete|run through the real bot and the fake Discord."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.models import Schedule as QSchedule

from guilds.models import Channel as ChannelRow
from guilds.models import Guild as GuildRow
from summaries.models import Schedule, SummaryJob
from summaries.services.schedules import RUN_NOW_TASK, schedule_create, twin_name
from summaries.tasks import run_schedule_now, run_summary_job
from tests.botrunner.bot_support import BotWorld, db, eventually, run_task
from tests.fakes.discord import RecordedRequest
from tests.fakes.discord.state import Channel

# The bot fixtures (bot_world) live in a module of their own; the shared conftest files stay untouched.
pytest_plugins = ["tests.botrunner.conftest_bot"]

pytestmark = pytest.mark.django_db(transaction=True)

EPHEMERAL = 1 << 6


async def add_channel(w: BotWorld, name: str) -> Channel:
    """A new channel, announced to the bot and mirrored like any other."""
    channel = w.fake.add_channel(w.guild, name)
    await w.fake.dispatch_async("CHANNEL_CREATE", w.fake.channel_payload(channel))
    await eventually(lambda: db(ChannelRow.objects.filter(pk=channel.id).exists)())
    return channel


async def schedule_cmd(
    w: BotWorld, sub: str, *, user: Any = None, options: Any = (), channels: dict[str, Channel] | None = None
) -> tuple[dict[str, Any], str]:
    """Run `/schedule <sub>`; `channels` are channel options (name -> channel), resolved as Discord does."""
    user = user or w.admin
    raw = [{"name": name, "type": _type(value), "value": value} for name, value in dict(options).items()]
    resolved: dict[str, Any] = {"channels": {}}
    for name, channel in (channels or {}).items():
        option, entry = w.channel_option(name, channel, user=user)
        raw.append(option)
        resolved["channels"].update(entry["channels"])
    payload = w.slash("schedule", user=user, subcommand=sub, options=raw, resolved=resolved if channels else None)
    await w.interact(payload)
    text = await w.answer_text(payload)
    return payload, text


def _type(value: Any) -> int:
    return 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3


async def schedules() -> list[Schedule]:
    return await db(lambda: list(Schedule.objects.order_by("pk")))()


async def twin_exists(schedule: Schedule) -> bool:
    return await db(QSchedule.objects.filter(name=twin_name(schedule.pk)).exists)()


async def create_daily(w: BotWorld, name: str = "daily digest", **options: Any) -> Schedule:
    _, text = await schedule_cmd(
        w, "create", options={"name": name, "frequency": "daily", "time": "09:00", **options},
        channels={"channel": w.channel},
    )
    assert "Created" in text, text
    return (await schedules())[-1]


# --- create ------------------------------------------------------------------------------------------


async def test_create_a_daily_digest_of_one_channel_answers_its_id_scope_and_next_run(bot_world: BotWorld) -> None:
    w = bot_world
    await db(GuildRow.objects.filter(pk=w.guild.id).update)(timezone="Europe/Berlin")
    payload, text = await schedule_cmd(
        w, "create", options={"name": "dev digest", "frequency": "daily", "time": "09:00"},
        channels={"channel": w.channel},
    )
    assert (await w.callback(payload)).json["data"]["flags"] & EPHEMERAL

    (schedule,) = await schedules()
    assert schedule.channel_ids == [w.channel.id]
    assert schedule.timezone == "Europe/Berlin"  # the guild's, as none was given
    assert schedule.frequency == "daily" and schedule.time_of_day.strftime("%H:%M") == "09:00"
    assert await twin_exists(schedule)
    assert f"(id {schedule.pk})" in text and "#general" in text
    assert "09:00 Europe/Berlin" in text
    assert f"<t:{int(schedule.next_run_at.timestamp())}:F>" in text


async def test_create_over_three_channels_posting_in_another(bot_world: BotWorld) -> None:
    w = bot_world
    dev, ops, digests = [await add_channel(w, name) for name in ("dev", "ops", "digests")]
    _, text = await schedule_cmd(
        w, "create",
        options={"name": "weekly recap", "frequency": "weekly", "time": "17:30", "weekdays": "mon, Wednesday,fri",
                 "timezone": "America/New_York", "format": "brief", "language": "fr", "min_messages": 10},
        channels={"channel": dev, "channel2": ops, "channel3": w.channel, "post_to": digests},
    )
    (schedule,) = await schedules()
    assert schedule.channel_ids == [dev.id, ops.id, w.channel.id]
    assert schedule.weekdays == [0, 2, 4]
    assert (schedule.timezone, schedule.format, schedule.language, schedule.min_messages) == (
        "America/New_York", "brief", "fr", 10
    )
    assert schedule.discord_channel_id == digests.id
    assert await twin_exists(schedule)
    assert "#dev, #ops, #general" in text and "17:30 America/New_York" in text


async def test_create_a_combined_digest_and_it_needs_a_channel_to_post_in(bot_world: BotWorld) -> None:
    w = bot_world
    dev, digests = [await add_channel(w, name) for name in ("dev", "digests")]
    _, text = await schedule_cmd(
        w, "create", options={"name": "no target", "frequency": "daily", "time": "09:00", "combined": True},
        channels={"channel": dev},
    )
    assert "needs a channel to post in" in text and await schedules() == []
    await schedule_cmd(
        w, "create", options={"name": "daily digest", "frequency": "daily", "time": "09:00", "combined": True},
        channels={"channel": dev, "channel2": w.channel, "post_to": digests},
    )
    (schedule,) = await schedules()
    assert (schedule.mode, schedule.discord_channel_id) == ("combined", digests.id)


async def test_create_a_whole_server_schedule(bot_world: BotWorld) -> None:
    w = bot_world
    _, text = await schedule_cmd(
        w, "create", options={"name": "server", "frequency": "every_n_hours", "every_hours": 6, "whole_server": True,
                              "timezone": "UTC"},
    )
    (schedule,) = await schedules()
    assert schedule.whole_guild and schedule.channel_ids == [] and schedule.every_hours == 6
    assert await twin_exists(schedule)
    assert "whole server" in text and "every 6 hours" in text


async def test_create_without_channels_schedules_the_channel_it_was_used_in(bot_world: BotWorld) -> None:
    w = bot_world
    await schedule_cmd(w, "create", options={"name": "here", "frequency": "hourly"})
    (schedule,) = await schedules()
    assert schedule.channel_ids == [w.channel.id]


@pytest.mark.parametrize(
    ("options", "explanation"),
    [
        ({"frequency": "daily", "time": "25:00"}, "must be HH:MM"),
        ({"frequency": "daily"}, "needs a time of day"),
        ({"frequency": "cron", "cron": "every monday"}, "is not a cron expression"),
        ({"frequency": "daily", "time": "09:00", "timezone": "Mars/Olympus"}, "is not an IANA time zone"),
        ({"frequency": "weekly", "time": "09:00"}, "needs at least one weekday"),
        ({"frequency": "weekly", "time": "09:00", "weekdays": "mon,someday"}, "I don't know the weekday 'someday'"),
        ({"frequency": "monthly", "time": "09:00"}, "needs day_of_month"),
        ({"frequency": "daily", "time": "09:00", "whole_server": True}, "not both"),
    ],
)
async def test_bad_input_is_explained_privately_and_writes_nothing(
    bot_world: BotWorld, options: dict[str, Any], explanation: str
) -> None:
    w = bot_world
    payload, text = await schedule_cmd(w, "create", options={"name": "bad", **options}, channels={"channel": w.channel})
    assert explanation in text
    request = await w.callback(payload)
    assert request.json["data"]["flags"] & EPHEMERAL
    assert await schedules() == []
    assert not await db(QSchedule.objects.filter(name__startswith="summarybot-schedule-").exists)()


async def test_posting_in_an_unknown_channel_is_refused(bot_world: BotWorld) -> None:
    w = bot_world
    stranger = w.fake.add_channel(w.guild, "never-mirrored")  # not announced to the bot
    _, text = await schedule_cmd(
        w, "create", options={"name": "x", "frequency": "hourly"}, channels={"channel": w.channel, "post_to": stranger}
    )
    assert f"I don't know the channel to post in {stranger.id}" in text
    assert await schedules() == []


async def test_a_member_without_manage_server_is_refused_and_nothing_changes(bot_world: BotWorld) -> None:
    w = bot_world
    schedule = await create_daily(w)
    _, text = await schedule_cmd(
        w, "create", user=w.member, options={"name": "mine", "frequency": "hourly"}, channels={"channel": w.channel}
    )
    assert "Manage Server" in text
    for sub in ("pause", "delete", "run"):
        _, text = await schedule_cmd(w, sub, user=w.member, options={"id": str(schedule.pk)})
        assert "Manage Server" in text
    _, text = await schedule_cmd(w, "list", user=w.member)
    assert "Manage Server" in text and "daily digest" not in text

    (unchanged,) = await schedules()
    assert unchanged.enabled and unchanged.name == "daily digest"
    assert await twin_exists(unchanged)
    assert not await db(OrmQ.objects.exists)()


# --- list, pause, resume, delete ---------------------------------------------------------------------


async def test_list_shows_each_schedule_with_scope_frequency_next_run_and_pause_reason(bot_world: BotWorld) -> None:
    w = bot_world
    daily = await create_daily(w, "a daily", timezone="UTC")
    hourly = await create_daily(w, "b hourly", frequency="hourly")
    _, text = await schedule_cmd(w, "pause", options={"id": str(hourly.pk), "reason": "holidays"})
    assert "Paused **b hourly**" in text and "(holidays)" in text

    _, text = await schedule_cmd(w, "list")
    first, second = text.splitlines()
    assert first.startswith(f"`{daily.pk}` **a daily**")
    assert "#general" in first and "daily at 09:00 (UTC)" in first
    assert f"<t:{int(daily.next_run_at.timestamp())}:R>" in first
    assert second.startswith(f"`{hourly.pk}` **b hourly**") and "paused: holidays" in second


async def test_a_long_list_fits_in_one_message_and_says_how_many_more(bot_world: BotWorld) -> None:
    w = bot_world

    def create_many() -> None:
        for number in range(40):
            schedule_create(guild_id=w.guild.id, name=f"{number:02} " + "x" * 90, frequency="hourly",
                            channel_ids=[w.channel.id])

    await db(create_many)()
    _, text = await schedule_cmd(w, "list")
    assert len(text) <= 2000
    shown = len(re.findall(r"^`\d+` ", text, flags=re.M))
    assert 5 < shown < 40 and text.endswith(f"…and {40 - shown} more.")


async def test_list_of_a_server_without_schedules(bot_world: BotWorld) -> None:
    _, text = await schedule_cmd(bot_world, "list")
    assert "no schedules yet" in text


async def test_pause_then_resume(bot_world: BotWorld) -> None:
    w = bot_world
    schedule = await create_daily(w)
    await schedule_cmd(w, "pause", options={"id": str(schedule.pk)})
    (paused,) = await schedules()
    assert not paused.enabled and paused.next_run_at is None and paused.paused_reason == "Paused by an admin."
    assert not await twin_exists(paused)

    _, text = await schedule_cmd(w, "resume", options={"id": str(schedule.pk)})
    (resumed,) = await schedules()
    assert resumed.enabled and resumed.next_run_at is not None and await twin_exists(resumed)
    assert "Resumed **daily digest**" in text and f"<t:{int(resumed.next_run_at.timestamp())}:F>" in text


async def test_an_unknown_or_foreign_id_is_not_found(bot_world: BotWorld) -> None:
    w = bot_world
    other = await db(GuildRow.objects.create)(id=4242, name="Other")
    foreign = await db(Schedule.objects.create)(guild=other, name="theirs", frequency="hourly", channel_ids=[1])
    for sub, value in (("pause", str(foreign.pk)), ("resume", "999999"), ("run", "daily"), ("delete", str(foreign.pk))):
        _, text = await schedule_cmd(w, sub, options={"id": value})
        assert f"No schedule {value} in this server." in text
    assert (await db(Schedule.objects.get)(pk=foreign.pk)).enabled


def buttons(message: Any) -> dict[str, str]:
    return {c["label"]: c["custom_id"] for row in message.components for c in row["components"]}


async def delete_question(w: BotWorld, schedule: Schedule) -> tuple[dict[str, Any], Any]:
    payload, text = await schedule_cmd(w, "delete", options={"id": str(schedule.pk)})
    assert text.startswith("Delete **daily digest**")
    (question,) = w.fake.interaction_messages(payload)
    return payload, question


async def click(w: BotWorld, message: Any, label: str) -> RecordedRequest:
    payload = w.fake.component_payload(message=message, user=w.admin, custom_id=buttons(message)[label])
    await w.interact(payload)
    return await w.callback(payload)


async def test_delete_asks_to_confirm_and_deletes_on_the_button(bot_world: BotWorld) -> None:
    w = bot_world
    schedule = await create_daily(w)
    _, question = await delete_question(w, schedule)
    assert question.flags & EPHEMERAL
    assert set(buttons(question)) == {"Delete", "Keep it"}
    assert len(await schedules()) == 1  # asking deletes nothing

    answer = await click(w, question, "Delete")
    assert answer.json["type"] == 7  # the question is edited into the answer
    assert "Deleted **daily digest**" in answer.json["data"]["content"]
    assert answer.json["data"]["components"] == []
    assert await schedules() == []
    assert not await twin_exists(schedule)


async def test_delete_kept_when_the_admin_changes_their_mind(bot_world: BotWorld) -> None:
    w = bot_world
    schedule = await create_daily(w)
    _, question = await delete_question(w, schedule)
    answer = await click(w, question, "Keep it")
    assert "Kept **daily digest**" in answer.json["data"]["content"]
    assert len(await schedules()) == 1 and await twin_exists(schedule)


async def test_confirming_a_delete_that_someone_else_already_did_is_explained(bot_world: BotWorld) -> None:
    w = bot_world
    schedule = await create_daily(w)
    _, question = await delete_question(w, schedule)
    _, other = await delete_question(w, schedule)
    await click(w, other, "Delete")
    answer = await click(w, question, "Delete")
    assert answer.json["data"]["flags"] & EPHEMERAL
    assert f"No schedule {schedule.pk} in this server." in answer.json["data"]["content"]


# --- autocomplete --------------------------------------------------------------------------------------


async def autocomplete(w: BotWorld, sub: str, option: str, typed: str, *, user: Any = None) -> list[dict[str, Any]]:
    payload = w.slash(
        "schedule", user=user or w.admin, subcommand=sub,
        options=[{"name": option, "type": 3, "value": typed, "focused": True}],
    )
    payload["type"] = 4  # APPLICATION_COMMAND_AUTOCOMPLETE
    await w.interact(payload)
    callback = await w.callback(payload)
    assert callback.json["type"] == 8
    return list(callback.json["data"]["choices"])


async def test_ids_autocomplete_from_this_servers_schedules_by_name(bot_world: BotWorld) -> None:
    w = bot_world
    dev = await create_daily(w, "dev digest")
    ops = await create_daily(w, "ops digest")
    other = await db(GuildRow.objects.create)(id=4242, name="Other")
    await db(Schedule.objects.create)(guild=other, name="dev elsewhere", frequency="hourly", channel_ids=[1])

    choices = await autocomplete(w, "pause", "id", "")
    assert choices == [
        {"name": f"dev digest (id {dev.pk})", "value": str(dev.pk)},
        {"name": f"ops digest (id {ops.pk})", "value": str(ops.pk)},
    ]
    assert [c["value"] for c in await autocomplete(w, "run", "id", "OPS")] == [str(ops.pk)]
    assert await autocomplete(w, "delete", "id", "dev", user=w.member) == []  # no names for non-admins


async def test_timezone_autocomplete_offers_iana_names(bot_world: BotWorld) -> None:
    w = bot_world
    values = [c["value"] for c in await autocomplete(w, "create", "timezone", "new york")]
    assert values == ["America/New_York"]
    values = [c["value"] for c in await autocomplete(w, "create", "timezone", "berl")]
    assert values == ["Europe/Berlin"]
    assert "UTC" in [c["value"] for c in await autocomplete(w, "create", "timezone", "")]
    assert len(await autocomplete(w, "create", "timezone", "a")) == 25


# --- run now ------------------------------------------------------------------------------------------


def queued_runs() -> list[tuple[Any, ...]]:
    return [tuple(task.args()) for task in OrmQ.objects.all() if task.func() == RUN_NOW_TASK]


async def test_run_queues_a_run_and_the_worker_posts_the_digest_once(bot_world: BotWorld, settings) -> None:  # type: ignore[no-untyped-def]
    w = bot_world
    settings.OPENAI_API_KEY = ""  # the offline engine: this test is about the Discord round trip
    settings.SUMMARY_PROVIDER = "local"
    digests = await add_channel(w, "digests")
    _, text = await schedule_cmd(
        w, "create", options={"name": "hourly", "frequency": "hourly", "timezone": "UTC"},
        channels={"channel": w.channel, "post_to": digests},
    )
    (schedule,) = await schedules()
    w.fake.add_messages(w.channel, 20, authors=[w.member, w.admin], content="release on friday? {i}",
                        start=timezone.now() - timedelta(minutes=30),
                        interval=timedelta(seconds=1))

    _, text = await schedule_cmd(w, "run", options={"id": str(schedule.pk)})
    assert "Queued a run of **hourly**" in text and f"<#{w.channel.id}>" in text and f"<#{digests.id}>" in text
    (run,) = await db(queued_runs)()
    assert run[0] == schedule.pk

    assert await run_task(run_schedule_now, *run) == "queued 1 job"
    (job,) = await db(lambda: list(SummaryJob.objects.filter(schedule_id=schedule.pk)))()
    assert await run_task(run_summary_job, str(job.pk)) == "done"

    def posted() -> list[RecordedRequest]:
        return [r for r in w.fake.requests_matching("POST", rf"^/channels/{digests.id}/messages$") if r.status == 200]

    (post,) = posted()
    assert "general" in post.json["embeds"][0]["title"]
    assert await run_task(run_summary_job, str(job.pk)) != "done"  # a redelivered task posts nothing more
    assert len(posted()) == 1
    assert (await db(Schedule.objects.get)(pk=schedule.pk)).next_run_at == schedule.next_run_at  # timetable kept


async def test_run_of_a_schedule_with_nothing_to_summarize_says_so(bot_world: BotWorld) -> None:
    w = bot_world
    schedule = await create_daily(w)
    await db(ChannelRow.objects.filter(pk=w.channel.id).update)(enabled=False)
    await db(Schedule.objects.filter(pk=schedule.pk).update)(channel_ids=[], whole_guild=True)
    _, text = await schedule_cmd(w, "run", options={"id": str(schedule.pk)})
    assert "none of its channels can be summarized" in text
    assert len(await db(queued_runs)()) == 1


def test_weekday_names_and_numbers_are_read() -> None:
    from botrunner.cogs.schedules import parse_weekdays

    assert parse_weekdays("Mon, tues;WEDNESDAY 4 sun") == [0, 1, 2, 4, 6]
    assert parse_weekdays("") == []
    with pytest.raises(Exception, match=re.escape("'mo'")):
        parse_weekdays("mo")


async def test_creating_and_deleting_on_the_button_are_audit_logged_as_the_admin(bot_world: BotWorld) -> None:
    from guilds.models import ActorKind, AuditEntry

    w = bot_world
    schedule = await create_daily(w)
    _, question = await delete_question(w, schedule)
    await click(w, question, "Delete")  # a component interaction: its own task, outside the command tree
    entries = await db(lambda: list(AuditEntry.objects.order_by("pk")))()
    assert [(e.action, e.actor_kind, e.actor_id, e.target_id) for e in entries] == [
        ("schedule.create", ActorKind.BOT, str(w.admin.id), str(schedule.pk)),
        ("schedule.delete", ActorKind.BOT, str(w.admin.id), str(schedule.pk)),
    ]
    assert entries[1].changes["name"] == ["daily digest", None]
