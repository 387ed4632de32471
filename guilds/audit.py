"""The audit log: who changed what in a guild, the values before and after, and when.

Two halves that never meet in code:
- each front door says who is acting, once for the whole request, command or interaction:
  `with audit_actor(Actor(kind=ActorKind.DASHBOARD, id=..., name=...)):` (the dashboard's guild_page, the
  REST API's base view, the inbound webhook, the operator commands' base class; the bot sets it for the
  interaction's own task);
- each service that changes something calls `audit_record(...)` inside its transaction, after the change
  succeeded: a refused change records nothing and a rolled-back one takes its entry with it.

The actor lives in a context variable, not in a thread or a global: asgiref copies the context into the
thread that runs a sync view and every asyncio task has its own copy, so one request's actor is never
another's. With no actor set, an entry says `system` (the worker disabling a failing destination).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from guilds.models import ActorKind, AuditEntry

# What entries are about (the services pass these as target_type), as the audit page names them.
TARGET_TYPES: dict[str, str] = {
    "guild": "Server settings",
    "channel": "Channel",
    "schedule": "Schedule",
    "destination": "Destination",
    "apikey": "API key",
    "inbound_secret": "Inbound secret",
    "member": "Member",
}
# The actions the services record, offered as suggestions by the page's "action starts with" filter.
ACTIONS: tuple[str, ...] = (
    "guild.settings.update",
    "channel.enable", "channel.enable_locked", "channel.disable", "channel.update",
    "schedule.create", "schedule.update", "schedule.delete", "schedule.pause", "schedule.resume", "schedule.run_now",
    "destination.create", "destination.update", "destination.delete", "destination.rotate_secret",
    "destination.disable", "destination.enable",
    "apikey.create", "apikey.revoke", "inbound_secret.create", "inbound_secret.revoke",
    "member.optout", "member.optin", "member.forget", "member.export",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # an ActorKind
    id: str = ""  # Discord user id, API key prefix, inbound secret id, command name
    name: str = ""  # a snapshot of how they were called then


SYSTEM = Actor(kind=ActorKind.SYSTEM)

_current: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)
# True inside an `audit_actor` block: audit_actor_narrow may change the actor only where a block will undo it.
_scoped: ContextVar[bool] = ContextVar("audit_actor_scoped", default=False)


@contextmanager
def audit_actor(actor: Actor) -> Iterator[Actor]:
    """Everything recorded inside the block is `actor`'s doing."""
    actor_token = _current.set(actor)
    scope_token = _scoped.set(True)
    try:
        yield actor
    finally:
        _scoped.reset(scope_token)
        _current.reset(actor_token)


def audit_actor_narrow(actor: Actor) -> None:
    """Name the actor once it is known, inside a block opened before it was (DRF authenticates inside its own
    dispatch, which the API's base view wraps); the block's end undoes it."""
    if not _scoped.get():
        raise RuntimeError("audit_actor_narrow outside an audit_actor block: the actor would outlive the request")
    _current.set(actor)


def audit_actor_for_task(actor: Actor) -> None:
    """The rest of the current asyncio task acts as `actor`. For the bot, where discord.py runs each
    interaction in a task of its own: the task's context is its own copy and ends with it."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    if task is None:
        raise RuntimeError("audit_actor_for_task outside an asyncio task: the actor would outlive the interaction")
    _current.set(actor)


def audit_actor_current() -> Actor:
    return _current.get()


def _jsonable(value: Any) -> Any:
    """The value as the JSON column stores it (times and decimals as strings, sets as sorted lists)."""
    if isinstance(value, (set, frozenset)):
        value = sorted(value)
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_snapshot(obj: Any, fields: Collection[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def audit_diff(before: Mapping[str, Any], after: Mapping[str, Any], *, secrets: Collection[str] = ()) -> dict[str, Any]:
    """The fields of `after` whose value differs from `before`, as `[before, after]`.

    A field in `secrets` is write-only: only "set", "changed" or "cleared" is kept, never a value.
    """
    changes: dict[str, Any] = {}
    for name, new in after.items():
        old = before.get(name)
        if old == new or (name in secrets and not old and not new):
            continue  # equal values (10 and 10.00 too): not a change
        if name in secrets:
            changes[name] = "set" if not old else "cleared" if not new else "changed"
            continue
        old_json, new_json = _jsonable(old), _jsonable(new)
        if old_json != new_json:
            changes[name] = [old_json, new_json]
    return changes


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def audit_created(after: Mapping[str, Any], *, secrets: Collection[str] = ()) -> dict[str, Any]:
    """What a new object was made with (its empty fields left out), as `[None, value]`."""
    return audit_diff({}, {name: value for name, value in after.items() if not _empty(value)}, secrets=secrets)


def audit_deleted(before: Mapping[str, Any], *, secrets: Collection[str] = ()) -> dict[str, Any]:
    """What a deleted object was (its empty fields left out), as `[value, None]`."""
    kept = {name: value for name, value in before.items() if not _empty(value)}
    return audit_diff(kept, dict.fromkeys(kept), secrets=secrets)


def audit_record(
    *,
    action: str,
    guild_id: int | None,
    target_type: str = "",
    target_id: Any = "",
    target_label: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Record that the current actor did `action` (call it inside the change's transaction, after it worked)."""
    actor = _current.get()
    return AuditEntry.objects.create(
        guild_id=guild_id,
        actor_kind=actor.kind,
        actor_id=actor.id[:64],
        actor_name=actor.name[:100],
        action=action,
        target_type=target_type,
        target_id=str(target_id if target_id is not None else "")[:64],
        target_label=target_label[:200],
        changes=_jsonable(dict(changes or {})),
    )


def audit_forget_actor_name(*, user_id: int, guild_id: int | None) -> int:
    """Blank a forgotten member's display name where they acted (the id stays: it is what the entry is about);
    in one guild, or everywhere (operator-wide entries included) when `guild_id` is None."""
    entries = AuditEntry.objects.filter(
        actor_kind__in=(ActorKind.DASHBOARD, ActorKind.BOT), actor_id=str(user_id)
    ).exclude(actor_name="")
    if guild_id is not None:
        entries = entries.filter(guild_id=guild_id)
    return entries.update(actor_name="")


def audit_prune(*, before: datetime) -> int:
    """Delete entries older than `before` (AUDIT_LOG_RETENTION_DAYS, applied by the daily retention task)."""
    deleted, _ = AuditEntry.objects.filter(created_at__lt=before).delete()
    return deleted
