"""Who the audit log names for what a Discord interaction changes: the member who invoked it."""

from __future__ import annotations

import discord

from guilds.audit import Actor, audit_actor_for_task
from guilds.models import ActorKind


def member_actor(interaction: discord.Interaction) -> Actor:
    user = interaction.user
    return Actor(kind=ActorKind.BOT, id=str(user.id), name=user.display_name)


def act_as_member(interaction: discord.Interaction) -> None:
    """For the rest of this interaction's task (discord.py gives each its own), changes are the member's."""
    audit_actor_for_task(member_actor(interaction))
