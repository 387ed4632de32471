"""django-q2 entry points of the guilds app: sync functions, each calling one service."""

from __future__ import annotations

from guilds.activity import activity_forget_old


def forget_old_activity() -> int:
    """Once a day: member activity older than the catch-up horizon is deleted."""
    return activity_forget_old()
