"""Discord failures mapped once into the project's error hierarchy.

discord.py raises its own exceptions (Forbidden, NotFound, RateLimited, DiscordServerError, ...) and
aiohttp/OS errors leak through on network trouble. `translate()` turns any of them into one of the
classes below, so services and task wrappers only ever see SummaryBotError subclasses with a correct
`permanent` flag and `retry_after`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aiohttp
import discord

from summarybot.errors import ExternalServiceError, PermissionDenied

# Discord JSON error codes we branch on (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
MISSING_ACCESS = 50001
CANNOT_DM_USER = 50007
MISSING_PERMISSIONS = 50013
INVALID_WEBHOOK_TOKEN = 50027
INTERACTION_ALREADY_ACKNOWLEDGED = 40060

# After discord.py's own retries (5 tries, 1+2n s apart) give up, suggest this pause before the next attempt.
_UNAVAILABLE_RETRY_AFTER = 30.0


class DiscordError(ExternalServiceError):
    code = "discord_error"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool | None = None,
        discord_code: int | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        details = dict(details or {})
        if discord_code is not None:
            details.setdefault("discord_code", discord_code)
        if status is not None:
            details.setdefault("status", status)
        super().__init__(message, retry_after=retry_after, permanent=permanent, details=details)
        self.discord_code = discord_code
        self.status = status


class DiscordMissingAccess(DiscordError, PermissionDenied):
    """The bot lacks access or permissions; retrying will not help until an admin fixes the setup."""

    code = "discord_missing_access"
    http_status = 403
    permanent = True

    def __init__(
        self,
        message: str = "",
        *,
        missing: Sequence[str] = (),
        channel_id: int | None = None,
        discord_code: int | None = None,
        status: int | None = 403,
    ) -> None:
        self.missing_permissions = list(missing)
        self.channel_id = channel_id
        if not message:
            where = f" in channel {channel_id}" if channel_id else ""
            if self.missing_permissions:
                message = f"The bot is missing Discord permissions{where}: {', '.join(self.missing_permissions)}"
            else:
                message = f"The bot has no access{where}"
        super().__init__(
            message,
            permanent=True,
            discord_code=discord_code,
            status=status,
            details={"missing_permissions": self.missing_permissions, "channel_id": channel_id},
        )


class DiscordCannotMessageUser(DiscordError):
    """The user does not accept DMs from the bot (privacy settings, no shared guild, blocked)."""

    code = "discord_cannot_message_user"
    permanent = True


class DiscordNotFound(DiscordError):
    code = "discord_not_found"
    http_status = 404
    permanent = True


class DiscordInteractionExpired(DiscordError):
    """The interaction token is no longer valid (15 minutes): post in the channel instead."""

    code = "discord_interaction_expired"
    permanent = True


class DiscordInvalidRequest(DiscordError):
    """Discord rejected what we sent (too long, empty message, ...): a bug on our side, not worth a retry."""

    code = "discord_invalid_request"
    permanent = True


class DiscordAuthFailed(DiscordError):
    code = "discord_auth_failed"
    permanent = True


class DiscordRateLimited(DiscordError):
    code = "discord_rate_limited"
    http_status = 429
    permanent = False


class DiscordUnavailable(DiscordError):
    code = "discord_unavailable"
    http_status = 503
    permanent = False


def _json_code(exc: discord.HTTPException) -> int | None:
    return exc.code or None


def translate(exc: BaseException, *, channel_id: int | None = None) -> DiscordError:
    """Map any exception coming out of discord.py/aiohttp to a DiscordError (already mapped ones pass through)."""
    if isinstance(exc, DiscordError):
        return exc
    if isinstance(exc, discord.LoginFailure):
        return DiscordAuthFailed("Discord rejected the bot token", status=401)
    if isinstance(exc, discord.RateLimited):
        return DiscordRateLimited(
            f"Discord asked to wait {exc.retry_after:.1f}s, longer than we block for",
            retry_after=exc.retry_after,
            status=429,
        )
    if isinstance(exc, discord.HTTPException):
        status = exc.status
        code = _json_code(exc)
        if code in (UNKNOWN_WEBHOOK, UNKNOWN_INTERACTION, INVALID_WEBHOOK_TOKEN):
            return DiscordInteractionExpired("The interaction token has expired", discord_code=code, status=status)
        if status == 401:
            return DiscordAuthFailed("Discord rejected the bot token", discord_code=code, status=status)
        if code == CANNOT_DM_USER:
            return DiscordCannotMessageUser(
                "The user does not accept direct messages", discord_code=code, status=status
            )
        if isinstance(exc, discord.Forbidden) or status == 403:
            # 50001 on a channel means the bot cannot see it; 50013 names no permission, callers refine it.
            missing = ["view_channel"] if code == MISSING_ACCESS else []
            return DiscordMissingAccess(missing=missing, channel_id=channel_id, discord_code=code, status=status)
        if isinstance(exc, discord.NotFound) or status == 404:
            return DiscordNotFound(f"Discord says not found ({exc.text or status})", discord_code=code, status=status)
        if status == 429:
            # A 429 without Cloudflare's Via header: discord.py does not retry it (likely an IP-wide ban).
            return DiscordRateLimited("Discord refused the request (429)", retry_after=60.0, status=status)
        if status >= 500:
            return DiscordUnavailable(
                f"Discord is unavailable ({status})", retry_after=_UNAVAILABLE_RETRY_AFTER, status=status
            )
        return DiscordInvalidRequest(
            f"Discord rejected the request ({status}: {exc.text})", discord_code=code, status=status
        )
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, OSError, discord.GatewayNotFound)):
        return DiscordUnavailable(f"Cannot reach Discord ({type(exc).__name__})", retry_after=_UNAVAILABLE_RETRY_AFTER)
    raise TypeError(f"not a Discord error: {type(exc).__name__}") from exc


_TRANSLATABLE = (
    discord.DiscordException,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    TimeoutError,
    OSError,
)


@contextmanager
def translated(*, channel_id: int | None = None) -> Iterator[None]:
    """`with translated(): ...` re-raises discord.py/network errors as DiscordError subclasses."""
    try:
        yield
    except DiscordError:
        raise
    except _TRANSLATABLE as exc:
        if isinstance(exc, discord.ClientException) and not isinstance(exc, discord.LoginFailure):
            raise  # a programming error inside discord.py's client (bad arguments), not Discord's answer
        raise translate(exc, channel_id=channel_id) from exc
