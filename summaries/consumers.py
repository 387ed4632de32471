"""The job page's websocket: a job's progress block, pushed as HTML each time the worker publishes.

The worker publishes to the group `job.<id>` (summaries.services.runner._publish). A socket is admitted as
a page is (guilds.dashboard.guild_page): a Discord login that may manage the server now, and a job of that
server the dashboard may show. It then gets the job's current state first (a late subscriber sees where
the job is), each published step after that, and the final state, after which the server closes it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from guilds.access import managed_guild_get
from summaries.services.job_page import JobState, dashboard_job_state, job_state_published
from summarybot.discord.errors import DiscordAuthFailed, DiscordError
from summarybot.discord_login.session import identity_of_session
from summarybot.errors import NotFound, PermissionDenied

logger = logging.getLogger(__name__)

# Close codes (the 4000-4999 range is the application's), after the HTTP answers a page would give.
CLOSE_LOGIN_NEEDED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_DISCORD_UNAVAILABLE = 4503
# The job ended: everything there is to say was sent.
CLOSE_FINISHED = 1000


def job_socket_path(*, guild_id: int, job_id: uuid.UUID) -> str:
    """Where the job page connects (the route is in summarybot/routing.py)."""
    return f"/ws/servers/{guild_id}/jobs/{job_id}/"


def group_name(job_id: uuid.UUID) -> str:
    return f"job.{job_id}"


def render_state(state: JobState) -> str:
    return render_to_string("summaries/_job_progress.html", {"state": state, "poll": False})


@database_sync_to_async
def _admit(scope: dict[str, Any], guild_id: int, job_id: uuid.UUID) -> int | None:
    """None when this socket may follow the job, else the close code: the session's user is asked of
    Discord (or its cached answer) exactly as for a page; one unit of ORM and HTTP work, off the loop."""
    user = scope.get("user")
    session = scope.get("session")
    identity = identity_of_session(session) if user is not None and user.is_authenticated and session else None
    if identity is None:
        return CLOSE_LOGIN_NEEDED
    try:
        managed_guild_get(identity=identity, guild_id=guild_id)
        dashboard_job_state(guild_id=guild_id, job_id=job_id)
    except DiscordAuthFailed:
        return CLOSE_LOGIN_NEEDED
    except DiscordError as exc:
        logger.warning("job socket could not ask Discord", extra={"code": exc.code, "status": exc.status})
        return CLOSE_DISCORD_UNAVAILABLE
    except NotFound:
        return CLOSE_NOT_FOUND
    except PermissionDenied:
        return CLOSE_FORBIDDEN
    return None


@database_sync_to_async
def _stored_fragment(guild_id: int, job_id: uuid.UUID) -> tuple[JobState, str]:
    # A finished job's block holds its summary: read and rendered off the loop.
    state = dashboard_job_state(guild_id=guild_id, job_id=job_id)
    return state, render_state(state)


class JobProgressConsumer(AsyncWebsocketConsumer):
    guild_id: int
    job_id: uuid.UUID
    shown_progress: int = 0
    done: bool = False

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        self.guild_id, self.job_id = int(kwargs["guild_id"]), kwargs["job_id"]
        refused = await _admit(self.scope, self.guild_id, self.job_id)
        if refused is not None:
            await self.close(code=refused)
            return
        # Join before reading the stored state: a step published in between then arrives after it, not never.
        await self.channel_layer.group_add(group_name(self.job_id), self.channel_name)
        await self.accept()
        await self._send_stored()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "job_id"):
            await self.channel_layer.group_discard(group_name(self.job_id), self.channel_name)

    async def job_progress(self, event: dict[str, Any]) -> None:
        """A step the worker published (type `job.progress`)."""
        if self.done:
            return
        state = job_state_published(guild_id=self.guild_id, message=event)
        if state.finished:
            await self._send_stored()  # with the error or the summary, which the message does not carry
            return
        # A step published before the stored state was read can arrive after it: never step backwards.
        if state.progress < self.shown_progress:
            return
        self.shown_progress = state.progress
        await self.send(text_data=render_state(state))

    async def _send_stored(self) -> None:
        state, fragment = await _stored_fragment(self.guild_id, self.job_id)
        self.shown_progress = max(self.shown_progress, state.progress)
        await self.send(text_data=fragment)
        if state.finished:
            self.done = True
            await self.close(code=CLOSE_FINISHED)
