"""The audit log as the services write it: one entry per change, the actor the front door set, only the fields
that changed, nothing for a refused or rolled-back change, and never a secret's value."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from guilds.audit import (
    SYSTEM,
    Actor,
    audit_actor,
    audit_actor_current,
    audit_actor_for_task,
    audit_actor_narrow,
    audit_record,
)
from guilds.models import ActorKind, AuditEntry, Channel
from guilds.services import (
    LockedChannelNeedsConfirmation,
    channel_config_update,
    channel_summaries_set,
    guild_config_update,
    member_optout_create,
    member_optout_delete,
)
from summaries.services.privacy import member_export, member_forget
from summaries.services.retention import retention_apply
from summaries.services.schedules import (
    schedule_create,
    schedule_delete,
    schedule_pause,
    schedule_resume,
    schedule_run_now,
    schedule_update,
)
from summarybot.errors import InvalidInput
from tests.factories import ChannelFactory, GuildFactory
from webhooks.services.destinations import (
    destination_create,
    destination_delete,
    destination_disable,
    destination_enable,
    destination_rotate_secret,
    destination_update,
)
from webhooks.services.keys import api_key_issue, api_key_revoke

pytestmark = pytest.mark.django_db

DANA = Actor(kind=ActorKind.DASHBOARD, id="223344556677889900", name="dana")


def stored_text() -> str:
    """Every audit entry, every column, as one string: what a database dump of the table would show."""
    return json.dumps(list(AuditEntry.objects.values()), default=str)


def only_entry() -> AuditEntry:
    [entry] = AuditEntry.objects.all()
    return entry


# --- The actor --------------------------------------------------------------------------------------


def test_without_a_front_door_the_entry_says_system() -> None:
    guild = GuildFactory()
    guild_config_update(guild_id=guild.id, changes={"member_cooldown_seconds": 45})
    entry = only_entry()
    assert (entry.actor_kind, entry.actor_id, entry.actor_name) == (ActorKind.SYSTEM, "", "")


def test_the_actor_ends_with_its_block_even_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), audit_actor(DANA):
        assert audit_actor_current() == DANA
        raise RuntimeError("the view failed")
    assert audit_actor_current() == SYSTEM


def test_narrowing_is_refused_outside_a_block_and_undone_at_its_end() -> None:
    with pytest.raises(RuntimeError):
        audit_actor_narrow(DANA)
    with audit_actor(SYSTEM):
        audit_actor_narrow(DANA)
        assert audit_actor_current() == DANA
    assert audit_actor_current() == SYSTEM


def test_a_task_actor_needs_a_task_and_stays_in_it() -> None:
    with pytest.raises(RuntimeError):
        audit_actor_for_task(DANA)

    async def interaction() -> Actor:
        audit_actor_for_task(DANA)
        await asyncio.sleep(0)
        return audit_actor_current()

    async def main() -> tuple[Actor, Actor]:
        seen = await asyncio.create_task(interaction())
        return seen, audit_actor_current()

    assert asyncio.run(main()) == (DANA, SYSTEM)


@pytest.mark.django_db(transaction=True)
def test_sync_work_run_from_two_tasks_keeps_each_tasks_actor() -> None:
    """The bot's shape: each interaction is a task that calls sync services in asgiref's one shared thread."""
    first, second = GuildFactory(), GuildFactory()
    ada = Actor(kind=ActorKind.BOT, id="1", name="ada")
    bo = Actor(kind=ActorKind.BOT, id="2", name="bo")

    async def interaction(actor: Actor, guild_id: int) -> None:
        audit_actor_for_task(actor)
        await asyncio.sleep(0)  # let the other task set its own actor in between
        await sync_to_async(guild_config_update, thread_sensitive=True)(
            guild_id=guild_id, changes={"member_cooldown_seconds": 5}
        )

    async def main() -> None:
        await asyncio.gather(interaction(ada, first.id), interaction(bo, second.id))
        # The shared thread kept nothing: sync work started later, by no one, is the system's.
        await sync_to_async(guild_config_update, thread_sensitive=True)(
            guild_id=first.id, changes={"member_cooldown_seconds": 6}
        )

    asyncio.run(main())
    by_guild = {(e.guild_id, e.changes["member_cooldown_seconds"][1]): e.actor_id for e in AuditEntry.objects.all()}
    assert by_guild == {(first.id, 5): "1", (second.id, 5): "2", (first.id, 6): ""}


# --- Guild and channel settings ---------------------------------------------------------------------


def test_a_settings_change_records_only_what_changed_with_before_and_after() -> None:
    guild = GuildFactory(default_format="structured", member_cooldown_seconds=30)
    with audit_actor(DANA):
        guild_config_update(
            guild_id=guild.id,
            changes={
                "default_format": "brief",
                "member_cooldown_seconds": 30,
                "monthly_cost_budget_usd": Decimal("9.5"),
            },
        )
    entry = only_entry()
    assert (entry.guild_id, entry.action, entry.target_type, entry.target_id) == (
        guild.id,
        "guild.settings.update",
        "guild",
        str(guild.id),
    )
    assert (entry.actor_kind, entry.actor_id, entry.actor_name) == (ActorKind.DASHBOARD, DANA.id, "dana")
    assert entry.changes == {"default_format": ["structured", "brief"], "monthly_cost_budget_usd": [None, "9.5"]}


def test_saving_unchanged_settings_records_nothing() -> None:
    guild = GuildFactory(member_cooldown_seconds=30)
    guild_config_update(guild_id=guild.id, changes={"member_cooldown_seconds": 30})
    assert not AuditEntry.objects.exists()


def test_a_refused_or_rolled_back_change_records_nothing() -> None:
    guild = GuildFactory()
    with pytest.raises(InvalidInput):
        guild_config_update(guild_id=guild.id, changes={"default_language": "klingon!"})
    with pytest.raises(InvalidInput):
        schedule_create(guild_id=guild.id, name="", frequency="daily", channel_ids=[ChannelFactory(guild=guild).id])
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        guild_config_update(guild_id=guild.id, changes={"member_cooldown_seconds": 1})
        1 / 0  # noqa: B018 - whatever fails after the service, in the caller's transaction
    assert not AuditEntry.objects.exists()


def test_the_openai_key_is_set_changed_and_cleared_never_stored() -> None:
    guild = GuildFactory()
    for key in ("sk-first-abcdef", "sk-second-ghijkl", ""):
        guild_config_update(guild_id=guild.id, changes={"llm_api_key": key})
    words = [e.changes["llm_api_key"] for e in AuditEntry.objects.order_by("pk")]
    assert words == ["set", "changed", "cleared"]
    assert "sk-first" not in stored_text() and "sk-second" not in stored_text()


def test_enabling_a_locked_channel_is_its_own_action() -> None:
    guild = GuildFactory()
    open_channel = ChannelFactory(guild=guild, name="general")
    locked = ChannelFactory(guild=guild, name="mods", is_locked=True)
    with pytest.raises(LockedChannelNeedsConfirmation):
        channel_summaries_set(guild_id=guild.id, channel_id=locked.id, on=True)
    assert not AuditEntry.objects.exists()

    channel_summaries_set(guild_id=guild.id, channel_id=locked.id, on=True, confirm_locked=True)
    channel_summaries_set(guild_id=guild.id, channel_id=open_channel.id, on=False)
    channel_config_update(guild_id=guild.id, channel_id=open_channel.id, changes={"format_override": "brief"})
    enabled, disabled, updated = AuditEntry.objects.order_by("pk")
    assert (enabled.action, enabled.target_label, enabled.changes) == (
        "channel.enable_locked",
        "#mods",
        {"allow_when_locked": [False, True]},
    )
    assert (disabled.action, disabled.changes) == ("channel.disable", {"enabled": [True, False]})
    assert (updated.action, updated.changes) == ("channel.update", {"format_override": ["", "brief"]})
    assert Channel.objects.get(pk=locked.pk).summaries_allowed


def test_opt_outs_are_the_members_own_and_record_no_content() -> None:
    guild = GuildFactory()
    member = Actor(kind=ActorKind.BOT, id="42", name="ann")
    with audit_actor(member):
        assert member_optout_create(user_id=42, guild_id=guild.id)
        assert not member_optout_create(user_id=42, guild_id=guild.id)  # already out: nothing new
        assert member_optout_delete(user_id=42, guild_id=None) is False
        assert member_optout_delete(user_id=42, guild_id=guild.id)
    out, back = AuditEntry.objects.order_by("pk")
    assert [(e.action, e.actor_id, e.target_type, e.target_id, e.changes) for e in (out, back)] == [
        ("member.optout", "42", "member", "42", {}),
        ("member.optin", "42", "member", "42", {}),
    ]


# --- Schedules --------------------------------------------------------------------------------------


def test_each_schedule_action_records_its_entry() -> None:
    guild = GuildFactory()
    channel = ChannelFactory(guild=guild)
    with audit_actor(DANA):
        schedule = schedule_create(
            guild_id=guild.id, name="daily dev", frequency="daily", channel_ids=[channel.id], time_of_day="09:00"
        )
        schedule_update(guild_id=guild.id, schedule_id=schedule.pk, time_of_day="18:30", name="daily dev")
        schedule_pause(guild_id=guild.id, schedule_id=schedule.pk, reason="holidays")
        schedule_resume(guild_id=guild.id, schedule_id=schedule.pk)
        schedule_run_now(guild_id=guild.id, schedule_id=schedule.pk)
        schedule_delete(guild_id=guild.id, schedule_id=schedule.pk)
    entries = list(AuditEntry.objects.order_by("pk"))
    assert [e.action for e in entries] == [
        "schedule.create",
        "schedule.update",
        "schedule.pause",
        "schedule.resume",
        "schedule.run_now",
        "schedule.delete",
    ]
    assert {(e.target_id, e.target_label, e.actor_id) for e in entries} == {(str(schedule.pk), "daily dev", DANA.id)}
    created, updated, paused, resumed, run, deleted = (e.changes for e in entries)
    assert created["name"] == [None, "daily dev"] and created["channel_ids"] == [None, [channel.id]]
    assert created["time_of_day"] == [None, "09:00:00"] and "cron" not in created  # empty fields left out
    assert updated == {"time_of_day": ["09:00:00", "18:30:00"]}  # the unchanged name is not a change
    assert paused == {"enabled": [True, False], "paused_reason": ["", "holidays"]}
    assert resumed == {"enabled": [False, True], "paused_reason": ["holidays", ""]}
    assert run == {}
    assert deleted["name"] == ["daily dev", None]


# --- Destinations and keys: secrets never stored -----------------------------------------------------


def test_destination_actions_record_secrets_only_as_words(settings) -> None:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    guild = GuildFactory()
    url = "http://127.0.0.1:9/in/TOKEN-in-the-url"
    created = destination_create(
        guild_id=guild.id,
        kind="webhook",
        name="ci",
        url=url,
        headers={"Authorization": "Bearer hdr-secret-123"},
    )
    destination = created.destination
    rotated = destination_rotate_secret(destination=destination)
    destination_update(destination=destination, changes={"name": "ci hook", "url": url + "2"})
    destination_disable(destination=destination, reason="Disabled by an admin.")
    destination_disable(destination=destination, reason="again")  # already off: no change, no entry
    destination_enable(destination=destination)
    destination_delete(destination=destination)

    entries = list(AuditEntry.objects.order_by("pk"))
    assert [e.action for e in entries] == [
        "destination.create",
        "destination.rotate_secret",
        "destination.update",
        "destination.disable",
        "destination.enable",
        "destination.delete",
    ]
    create, rotate, update, disable, enable, delete = (e.changes for e in entries)
    assert create["url"] == "set" and create["secret"] == "set" and create["headers"] == "set"
    assert create["name"] == [None, "ci"] and create["events"] == [None, ["summary.completed"]]
    assert rotate == {"secret": "changed"}
    assert update == {"name": ["ci", "ci hook"], "url": "changed"}
    assert disable == {"enabled": [True, False], "disabled_reason": ["", "Disabled by an admin."]}
    assert enable == {"enabled": [False, True], "disabled_reason": ["Disabled by an admin.", ""]}
    assert delete["url"] == "cleared" and delete["name"] == ["ci hook", None]
    text = stored_text()
    for secret in (created.secret, rotated, "TOKEN-in-the-url", "hdr-secret-123", "whsec_"):
        assert secret not in text


def test_an_api_key_is_named_by_its_prefix_never_its_secret_or_digest() -> None:
    guild = GuildFactory()
    issued = api_key_issue(guild=guild, name="notion-sync", scopes=["usage:read"])
    assert api_key_revoke(api_key=issued.api_key)
    assert not api_key_revoke(api_key=issued.api_key)
    created, revoked = AuditEntry.objects.order_by("pk")
    assert (created.action, created.target_id, created.target_label) == (
        "apikey.create",
        issued.api_key.prefix,
        "notion-sync",
    )
    assert created.changes == {"name": [None, "notion-sync"], "scopes": [None, ["usage:read"]]}
    assert revoked.action == "apikey.revoke" and revoked.changes["revoked_at"][0] is None
    secret_part = issued.plaintext.split(".", 1)[1]
    assert secret_part not in stored_text() and issued.api_key.digest not in stored_text()


# --- GDPR and retention -----------------------------------------------------------------------------


def test_forgetting_a_member_records_counts_only_and_blanks_their_name_where_they_acted() -> None:
    guild, other = GuildFactory(), GuildFactory()
    member = Actor(kind=ActorKind.DASHBOARD, id="77", name="zelda-the-admin")
    with audit_actor(member):
        guild_config_update(guild_id=guild.id, changes={"member_cooldown_seconds": 3})
        guild_config_update(guild_id=other.id, changes={"member_cooldown_seconds": 3})
        member_optout_create(user_id=77, guild_id=guild.id)

    removed = member_forget(user_id=77, guild_id=guild.id)

    assert removed["audit log names blanked"] == 2
    assert set(AuditEntry.objects.filter(guild=guild, actor_id="77").values_list("actor_name", flat=True)) == {""}
    assert AuditEntry.objects.get(guild=other, actor_id="77").actor_name == "zelda-the-admin"  # another guild's
    forget = AuditEntry.objects.get(action="member.forget")
    assert (forget.guild_id, forget.target_id, forget.actor_kind) == (guild.id, "77", ActorKind.SYSTEM)
    assert forget.changes == {"audit log names blanked": [2, 0]}


def test_gdpr_commands_are_operator_actions_and_forget_says_it_blanked_names() -> None:
    GuildFactory()
    with audit_actor(Actor(kind=ActorKind.BOT, id="88", name="yuri")):
        member_optout_create(user_id=88, guild_id=None)
    out = StringIO()
    call_command("gdpr_forget", "--user", "88", stdout=out)
    call_command("gdpr_export", "--user", "88", stdout=StringIO())
    assert "audit log names blanked: 1" in out.getvalue()
    forget, export = AuditEntry.objects.filter(action__in=["member.forget", "member.export"]).order_by("pk")
    for entry in (forget, export):
        assert (entry.guild_id, entry.actor_kind, entry.target_id) == (None, ActorKind.OPERATOR, "88")
    assert (forget.actor_id, export.actor_id) == ("gdpr_forget", "gdpr_export")
    assert forget.actor_name.startswith("manage.py gdpr_forget") and export.changes == {}
    assert "yuri" not in stored_text()


def test_member_export_alone_is_recorded_with_no_content() -> None:
    data = member_export(user_id=99)
    entry = only_entry()
    assert (entry.action, entry.guild_id, entry.changes) == ("member.export", None, {})
    assert data["user_id"] == "99"


def test_retention_keeps_audit_entries_past_the_guilds_retention_until_their_own(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AUDIT_LOG_RETENTION_DAYS = 365
    guild = GuildFactory(retention_days=7)
    now = timezone.now()
    for days in (30, 364, 366):
        audit_record(action="guild.settings.update", guild_id=guild.id)
        AuditEntry.objects.filter(pk=AuditEntry.objects.latest("pk").pk).update(created_at=now - timedelta(days=days))
    deleted = retention_apply(now=now)
    assert deleted["audit entries"] == 1
    kept = sorted((now - e.created_at).days for e in AuditEntry.objects.all())
    assert kept == [30, 364]
