"""Discord permission arithmetic: pure functions on bitfields, shared by the bot cogs and the worker.

The algorithm is Discord's documented one (base permissions from roles, then the channel's overwrites
in the order @everyone, roles, member). Threads take their permissions from the parent channel, so
callers pass the parent's overwrites for a thread. Nothing here does I/O: the gateway bot feeds it from
its cache, the REST client from fetched JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

# Bit values from https://discord.com/developers/docs/topics/permissions (names as in discord.py).
PERMISSION_BITS: dict[str, int] = {
    "create_instant_invite": 1 << 0,
    "kick_members": 1 << 1,
    "ban_members": 1 << 2,
    "administrator": 1 << 3,
    "manage_channels": 1 << 4,
    "manage_guild": 1 << 5,
    "add_reactions": 1 << 6,
    "view_audit_log": 1 << 7,
    "priority_speaker": 1 << 8,
    "stream": 1 << 9,
    "view_channel": 1 << 10,
    "send_messages": 1 << 11,
    "send_tts_messages": 1 << 12,
    "manage_messages": 1 << 13,
    "embed_links": 1 << 14,
    "attach_files": 1 << 15,
    "read_message_history": 1 << 16,
    "mention_everyone": 1 << 17,
    "use_external_emojis": 1 << 18,
    "view_guild_insights": 1 << 19,
    "connect": 1 << 20,
    "speak": 1 << 21,
    "manage_roles": 1 << 28,
    "manage_webhooks": 1 << 29,
    "use_application_commands": 1 << 31,
    "manage_threads": 1 << 34,
    "create_public_threads": 1 << 35,
    "create_private_threads": 1 << 36,
    "send_messages_in_threads": 1 << 38,
    "moderate_members": 1 << 40,
}
ALL_PERMISSIONS = (1 << 53) - 1

VIEW_CHANNEL = PERMISSION_BITS["view_channel"]
READ_MESSAGE_HISTORY = PERMISSION_BITS["read_message_history"]
SEND_MESSAGES = PERMISSION_BITS["send_messages"]
SEND_MESSAGES_IN_THREADS = PERMISSION_BITS["send_messages_in_threads"]
ADMINISTRATOR = PERMISSION_BITS["administrator"]

# What reading a channel's history needs, and what posting a summary into it needs on top.
READ_PERMISSIONS: tuple[str, ...] = ("view_channel", "read_message_history")
DELIVERY_PERMISSIONS: tuple[str, ...] = ("send_messages", "embed_links", "attach_files", "create_public_threads")

# Sending in a channel you cannot send in also takes away these (Discord's implicit denial).
_NEEDS_SEND = (
    PERMISSION_BITS["send_tts_messages"]
    | PERMISSION_BITS["mention_everyone"]
    | PERMISSION_BITS["embed_links"]
    | PERMISSION_BITS["attach_files"]
)
# A member in time-out keeps only these two.
_TIMEOUT_ALLOWED = VIEW_CHANNEL | READ_MESSAGE_HISTORY

THREAD_TYPES = frozenset({10, 11, 12})


@dataclass(frozen=True, slots=True)
class Overwrite:
    """One channel permission overwrite; `is_member` false means it targets a role (or @everyone)."""

    id: int
    allow: int
    deny: int
    is_member: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Overwrite:
        return cls(
            id=int(data["id"]),  # type: ignore[arg-type]
            allow=int(data.get("allow", 0) or 0),  # type: ignore[arg-type]
            deny=int(data.get("deny", 0) or 0),  # type: ignore[arg-type]
            is_member=int(data.get("type", 0) or 0) == 1,  # type: ignore[arg-type]
        )


def base_permissions(
    *,
    guild_id: int,
    owner_id: int | None,
    member_id: int,
    member_role_ids: Iterable[int],
    role_permissions: Mapping[int, int],
) -> int:
    """Guild-wide permissions: @everyone (the role whose id is the guild id) OR the member's roles."""
    if owner_id is not None and member_id == owner_id:
        return ALL_PERMISSIONS
    perms = role_permissions.get(guild_id, 0)
    for role_id in member_role_ids:
        perms |= role_permissions.get(role_id, 0)
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def apply_overwrites(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
    overwrites: Sequence[Overwrite],
) -> int:
    """Apply a channel's overwrites in Discord's order: @everyone, all the member's roles at once, the member."""
    if base & ADMINISTRATOR or base == ALL_PERMISSIONS:
        return ALL_PERMISSIONS
    perms = base
    role_ids = set(member_role_ids)
    everyone = next((o for o in overwrites if not o.is_member and o.id == guild_id), None)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for ow in overwrites:
        if not ow.is_member and ow.id in role_ids:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    member = next((o for o in overwrites if o.is_member and o.id == member_id), None)
    if member is not None:
        perms = (perms & ~member.deny) | member.allow
    return perms


def channel_permissions(
    *,
    guild_id: int,
    owner_id: int | None,
    member_id: int,
    member_role_ids: Iterable[int],
    role_permissions: Mapping[int, int],
    overwrites: Sequence[Overwrite],
    is_thread: bool = False,
    timed_out_until: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Effective permissions of a member in a channel (for a thread: pass the parent's overwrites)."""
    role_ids = list(member_role_ids)
    base = base_permissions(
        guild_id=guild_id,
        owner_id=owner_id,
        member_id=member_id,
        member_role_ids=role_ids,
        role_permissions=role_permissions,
    )
    perms = apply_overwrites(
        base, guild_id=guild_id, member_id=member_id, member_role_ids=role_ids, overwrites=overwrites
    )
    if perms == ALL_PERMISSIONS:
        return perms
    if timed_out_until is not None and timed_out_until > (now or datetime.now(UTC)):
        perms &= _TIMEOUT_ALLOWED
    # Discord's implicit rules: no view means nothing else applies; no send takes the send-derived ones.
    if not perms & VIEW_CHANNEL:
        return 0
    send_bit = SEND_MESSAGES_IN_THREADS if is_thread else SEND_MESSAGES
    if not perms & send_bit:
        perms &= ~_NEEDS_SEND
    return perms


def permission_names(perms: int) -> list[str]:
    return [name for name, bit in PERMISSION_BITS.items() if perms & bit]


def missing_permissions(perms: int, required: Iterable[str], *, is_thread: bool = False) -> list[str]:
    """Names from `required` that `perms` lacks; in a thread "send_messages" means send_messages_in_threads."""
    missing = []
    for name in required:
        check = "send_messages_in_threads" if is_thread and name == "send_messages" else name
        if check == "create_public_threads" and is_thread:
            # A thread cannot hold threads; delivery into a thread posts in it directly.
            continue
        if not perms & PERMISSION_BITS[check]:
            missing.append(check)
    return missing


def to_bitfield(names: Iterable[str]) -> int:
    value = 0
    for name in names:
        value |= PERMISSION_BITS[name]
    return value


# What the bot asks for when it is invited (the dashboard's invite link): reading history, posting results
# in channels and threads (and new threads for them), and reacting to mention questions while it answers.
INVITE_PERMISSION_NAMES: tuple[str, ...] = (
    *READ_PERMISSIONS,
    *DELIVERY_PERMISSIONS,
    "send_messages_in_threads",
    "add_reactions",
)
INVITE_PERMISSIONS = to_bitfield(INVITE_PERMISSION_NAMES)
# Who may configure a server from the dashboard: its owner, or a member with either of these.
MANAGE_SERVER_PERMISSIONS = PERMISSION_BITS["administrator"] | PERMISSION_BITS["manage_guild"]
