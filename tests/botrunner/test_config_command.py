"""/summary-config, /usage, /summary-optout and /summary-optin through the real bot and the fake Discord."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from guilds.models import Channel as ChannelRow
from guilds.models import Guild as GuildRow
from guilds.models import MemberOptOut
from summaries.models import UsageRecord
from tests.botrunner.bot_support import BotWorld, db

# The bot fixtures (bot_world) live in a module of their own; the shared conftest files stay untouched.
pytest_plugins = ["tests.botrunner.conftest_bot"]

pytestmark = pytest.mark.django_db(transaction=True)

EPHEMERAL = 1 << 6


async def guild_row(w: BotWorld) -> GuildRow:
    return await db(GuildRow.objects.get)(pk=w.guild.id)


async def config(w: BotWorld, sub: str, *, user: Any, options: Any = ()) -> tuple[dict[str, Any], str]:
    payload = w.slash("summary-config", user=user, subcommand=sub, options=options)
    await w.interact(payload)
    return payload, await w.answer_text(payload)


async def test_manage_server_member_changes_the_default_format(bot_world: BotWorld) -> None:
    w = bot_world
    payload, text = await config(w, "format", user=w.admin, options={"format": "brief"})
    assert (await w.callback(payload)).json["data"]["flags"] & EPHEMERAL
    assert "Brief" in text
    assert (await guild_row(w)).default_format == "brief"


async def test_plain_member_is_refused_and_nothing_changes(bot_world: BotWorld) -> None:
    w = bot_world
    _, text = await config(w, "format", user=w.member, options={"format": "brief"})
    assert "Manage Server" in text
    assert (await guild_row(w)).default_format == "structured"


async def test_invalid_language_is_explained(bot_world: BotWorld) -> None:
    w = bot_world
    _, text = await config(w, "language", user=w.admin, options={"language": "klingon!"})
    assert "not a language code" in text
    assert (await guild_row(w)).default_language == "auto"

    _, text = await config(w, "language", user=w.admin, options={"language": "pt-BR"})
    assert "Portuguese (Brazil)" in text
    assert (await guild_row(w)).default_language == "pt-BR"


async def test_redaction_optout_marker_emoji_and_cooldown(bot_world: BotWorld) -> None:
    w = bot_world
    await config(w, "redaction", user=w.admin, options={"enabled": False})
    await config(w, "optout-marker", user=w.admin, options={"marker": "[private]"})
    await config(w, "reaction-emoji", user=w.admin, options={"emoji": "📝"})
    await config(w, "cooldown", user=w.admin, options={"seconds": 120})
    guild = await guild_row(w)
    assert (guild.redact_pii, guild.opt_out_marker, guild.reaction_trigger_emoji, guild.member_cooldown_seconds) == (
        False,
        "[private]",
        "📝",
        120,
    )
    await config(w, "reaction-emoji", user=w.admin, options={"emoji": "off"})
    assert (await guild_row(w)).reaction_trigger_emoji == ""


async def test_admin_disables_a_channel_then_summaries_there_are_refused(bot_world: BotWorld) -> None:
    w = bot_world
    option, resolved = w.channel_option("channel", w.channel, user=w.admin)
    enabled_false = {"name": "enabled", "type": 5, "value": False}
    payload = w.slash(
        "summary-config", user=w.admin, subcommand="channel", options=[option, enabled_false], resolved=resolved
    )
    await w.interact(payload)
    text = await w.answer_text(payload)
    assert "are now **off**" in text
    assert not (await db(ChannelRow.objects.get)(pk=w.channel.id)).enabled

    payload = w.slash("summarize", user=w.member)
    await w.interact(payload)
    assert "turned off" in await w.answer_text(payload)


async def test_show_lists_settings_and_private_channels(bot_world: BotWorld) -> None:
    w = bot_world
    await db(ChannelRow.objects.filter(pk=w.channel.id).update)(is_locked=True)
    _, text = await config(w, "show", user=w.admin)
    assert "Default format:** Structured" in text
    assert f"<#{w.channel.id}>" in text  # listed among the private channels that are off


async def test_usage_reports_this_months_tokens_against_the_budget(bot_world: BotWorld) -> None:
    w = bot_world
    await db(UsageRecord.objects.create)(
        guild_id=w.guild.id,
        day=timezone.localdate(),
        provider="openai",
        model="gpt-4o-mini",
        prompt_tokens=120_000,
        completion_tokens=8_000,
        llm_calls=12,
        summaries=4,
        cost_usd=Decimal("0.25"),
    )
    await db(UsageRecord.objects.create)(  # last year's usage does not count
        guild_id=w.guild.id,
        day=date(2000, 1, 1),
        provider="openai",
        model="gpt-4o-mini",
        prompt_tokens=999_999,
    )
    payload = w.slash("usage", user=w.member)
    await w.interact(payload)
    edit = await w.fake.wait_for_request_async(lambda r: r.method == "PATCH" and payload["token"] in r.path)
    fields = {f["name"]: f["value"] for f in edit.json["embeds"][0]["fields"]}
    assert fields["Tokens"].startswith("128,000 (120,000 in, 8,000 out)")
    assert "Budget 5,000,000" in fields["Tokens"]
    assert fields["Cost"].startswith("$0.25")
    assert fields["Summaries"].startswith("4 ")


async def test_member_opts_out_and_back_in(bot_world: BotWorld) -> None:
    w = bot_world
    payload = w.slash("summary-optout", user=w.member)
    await w.interact(payload)
    assert "left out of new summaries in this server" in await w.answer_text(payload)
    assert await db(MemberOptOut.objects.filter(user_id=w.member.id, guild_id=w.guild.id).exists)()

    everywhere = w.slash("summary-optout", user=w.member, options={"scope": "everywhere"})
    await w.interact(everywhere)
    await w.answer_text(everywhere)
    assert await db(MemberOptOut.objects.filter(user_id=w.member.id, guild__isnull=True).exists)()

    back = w.slash("summary-optin", user=w.member)
    await w.interact(back)
    assert "include your messages again" in await w.answer_text(back)
    assert not await db(MemberOptOut.objects.filter(user_id=w.member.id, guild_id=w.guild.id).exists)()
    assert await db(MemberOptOut.objects.filter(user_id=w.member.id, guild__isnull=True).exists)()


async def test_a_reaction_trigger_must_be_an_emoji(bot_world: BotWorld) -> None:
    w = bot_world
    _, text = await config(w, "reaction-emoji", user=w.admin, options={"emoji": "summarize please"})
    assert "is not an emoji" in text
    await config(w, "reaction-emoji", user=w.admin, options={"emoji": "<:notes:112233445566778899>"})
    assert (await guild_row(w)).reaction_trigger_emoji == "<:notes:112233445566778899>"


async def test_a_new_reaction_emoji_takes_effect_at_once(bot_world: BotWorld) -> None:
    from summaries.models import SummaryJob
    from tests.botrunner.bot_support import eventually

    w = bot_world
    await config(w, "reaction-emoji", user=w.admin, options={"emoji": "📝"})
    first = w.fake.add_message(w.channel, w.member, "first discussion")
    await w.fake.dispatch_async("MESSAGE_REACTION_ADD", w.fake.reaction_add_payload(first, w.member, "📝"))
    await eventually(lambda: db(lambda: SummaryJob.objects.filter(after_message_id=first.id).first())())

    # The trigger cached 📝; the config command's event makes it read the new emoji straight away.
    await config(w, "reaction-emoji", user=w.admin, options={"emoji": "🧵"})
    second = w.fake.add_message(w.channel, w.member, "second discussion")
    # Another member: the first one is within the per-member cooldown.
    await w.fake.dispatch_async("MESSAGE_REACTION_ADD", w.fake.reaction_add_payload(second, w.admin, "🧵"))
    job = await eventually(lambda: db(lambda: SummaryJob.objects.filter(after_message_id=second.id).first())())
    assert job.source == "reaction"


async def test_config_changes_are_audit_logged_as_the_invoking_member(bot_world: BotWorld) -> None:
    from guilds.models import ActorKind, AuditEntry

    w = bot_world
    await config(w, "format", user=w.member, options={"format": "brief"})  # refused: Manage Server
    await config(w, "cooldown", user=w.admin, options={"seconds": 120})
    await db(ChannelRow.objects.filter(pk=w.channel.id).update)(is_locked=True, enabled=False)
    option, resolved = w.channel_option("channel", w.channel, user=w.admin)
    allow = [option, {"name": "enabled", "type": 5, "value": True}, {"name": "allow_private", "type": 5, "value": True}]
    payload = w.slash("summary-config", user=w.admin, subcommand="channel", options=allow, resolved=resolved)
    await w.interact(payload)
    await w.answer_text(payload)

    entries = await db(lambda: list(AuditEntry.objects.order_by("pk")))()
    assert [(e.action, e.actor_kind, e.actor_id, e.actor_name) for e in entries] == [
        ("guild.settings.update", ActorKind.BOT, str(w.admin.id), "admin"),
        ("channel.enable_locked", ActorKind.BOT, str(w.admin.id), "admin"),
    ]
    assert entries[0].changes == {"member_cooldown_seconds": [30, 120]}
    assert entries[1].changes == {"enabled": [False, True], "allow_when_locked": [False, True]}


async def test_an_opt_out_is_audit_logged_as_the_members_own_with_no_content(bot_world: BotWorld) -> None:
    from guilds.models import ActorKind, AuditEntry

    w = bot_world
    payload = w.slash("summary-optout", user=w.member)
    await w.interact(payload)
    await w.answer_text(payload)
    entry = await db(AuditEntry.objects.get)()
    assert (entry.action, entry.guild_id, entry.actor_kind, entry.actor_id) == (
        "member.optout", w.guild.id, ActorKind.BOT, str(w.member.id),
    )
    assert (entry.target_id, entry.changes) == (str(w.member.id), {})
