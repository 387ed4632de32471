"""Realistic synthetic conversations, for the benchmark and tests (deterministic for a given seed).

Bursty timing with occasional long silences, replies, mentions, custom emoji, links, code blocks and
attachments in roughly the proportions of a busy developer server.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from .types import Attachment, Author, ChatMessage

GUILD_ID = 800_000_000_000_000_001
CHANNEL_ID = 800_000_000_000_000_002
_BASE_ID = 1_100_000_000_000_000_000
_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

_NAMES = [
    ("alice", "Alice"),
    ("bob_builder", "Bob"),
    ("carol.dev", "Carol"),
    ("dmitri", "Dmitri K."),
    ("eve_sec", "Eve"),
    ("frank99", ""),
    ("grace_h", "Grace Hopper Fan"),
    ("heidi", "Heidi"),
    ("ivan_ops", "Ivan"),
    ("judy", "Judy M."),
    ("mallory", ""),
    ("niaj", "Niaj"),
    ("olivia.w", "Olivia"),
    ("peggy", "Peggy"),
    ("rupert_the_great", "Rupert"),
    ("sybil", "Sybil"),
    ("trent", "Trent"),
    ("victor_v", "Victor"),
    ("walter", "Walt"),
    ("yuki_tanaka", "Yuki"),
]
_SHORT = ["ok", "lol", "yes", "nope", "+1", "thanks!", "nice", "same here", "agreed", "on it", "brb", "ty", "haha"]
# Templates with slots, so that, as in a real channel, longer messages are almost never repeated verbatim
# (only the short reactions are).
_TEMPLATES = [
    "I think the {component} failed again on {env}, the logs show a {error}",
    "can you check whether the {component} is {state} after the {event}?",
    "we'll go with {tech} for the {component}, {tech2} keeps {problem} under load",
    "I'll {task} {when} and ping everyone",
    "the new endpoint returns {code} when the payload has {payload}",
    "does anyone know why the {component} takes {num} minutes now?",
    "let's go with {tech} for the {component}, the {metric} is about the same",
    "I pushed a fix for the {bug} in the {component} (PR #{num})",
    "the {component} looks great on {device} now, nice work {name}",
    "should we bump the {limit} or add a queue in front of the {component}?",
    "decided: we freeze features on {day} and only merge bug fixes after that",
    "TODO update the docs for the new {component} format",
    "I tried that but the {component} still {problem} every few minutes",
    "the {metric} went down from {num}ms to {num2}ms after the change to the {component}",
    "could you review my PR when you have a minute, it's the {component} {task_noun}",
    "we should really add tests for the {component} before the refactor",
    "the customer said the {component} is missing {payload} since {day}",
    "turns out the problem was the {bug} in the {component}",
    "who is on call {when}?",
    "the benchmark shows the new {component} path is {num}% faster than {tech}",
    "{name} mentioned the {component} on {env} needs a restart after {event}",
    "ok so the {error} only happens with {payload}, not on {env}",
    "I can take the {component} {task_noun}, {name} has the {bug}",
    "reverted {tech} {num}.{num2} because the {component} started {problem}",
]
_SLOTS = {
    "component": [
        "migration",
        "scheduler",
        "job queue",
        "cache",
        "webhook worker",
        "dashboard",
        "rate limiter",
        "export job",
        "gateway",
        "websocket",
        "CI pipeline",
        "search index",
        "auth service",
        "summary engine",
    ],
    "env": ["staging", "prod", "the canary", "my laptop", "the eu cluster", "the test server"],
    "error": [
        "lock timeout",
        "connection reset",
        "KeyError on user_id",
        "504 from the proxy",
        "deadlock",
        "memory spike",
        "missing migration",
        "SSL handshake error",
    ],
    "state": ["invalidated", "warmed up", "rotated", "deployed", "paused", "rebuilt"],
    "event": ["deploy", "release", "failover", "restart", "schema change", "upgrade"],
    "tech": ["postgres", "redis", "sqlite", "celery", "django-q2", "nginx", "uvicorn", "the smaller model"],
    "tech2": ["sqlite", "the old worker", "memcached", "the cron job", "the thread pool"],
    "problem": ["locking", "timing out", "dropping messages", "leaking memory", "disconnecting", "retrying forever"],
    "task": [
        "write the release notes",
        "rotate the keys",
        "fix the flaky test",
        "update the runbook",
        "look at the logs",
        "open an issue",
        "write the migration",
    ],
    "task_noun": ["retry logic", "refactor", "cleanup", "rewrite", "migration", "config change"],
    "when": ["tonight", "tomorrow", "this weekend", "after lunch", "before the release", "on Monday"],
    "code": ["500", "404", "422", "an empty body", "a stale cache entry"],
    "payload": ["an empty list", "unicode names", "threads", "attachments over 8MB", "old timestamps"],
    "metric": ["latency", "quality", "memory usage", "error rate", "p95", "cost per summary"],
    "bug": ["race condition", "timezone conversion", "off-by-one", "unbounded retry", "stale lock", "missing index"],
    "device": ["mobile", "the tablet", "dark mode", "Firefox", "the big screen"],
    "limit": ["rate limit", "pool size", "timeout", "batch size", "worker count"],
    "day": ["Friday", "Monday", "the 15th", "release day"],
    "name": ["Alice", "Bob", "Carol", "Dmitri", "Grace", "Ivan", "Yuki"],
}


def _sentence(rng: random.Random) -> str:
    template = rng.choice(_TEMPLATES)
    values = {slot: rng.choice(options) for slot, options in _SLOTS.items()}
    values.update(num=str(rng.randint(2, 990)), num2=str(rng.randint(2, 990)))
    return template.format(**values)


_LINKS = [
    "https://github.com/example/summarybot/pull/",
    "https://docs.djangoproject.com/en/5.2/topics/cache/",
    "https://discord.com/developers/docs/resources/message",
    "https://example.com/status/incident-",
]
_CODE = "```py\nasync def fetch(page: int) -> list[dict]:\n    return await client.get(f'/messages?page={page}')\n```"


def make_message(
    index: int,
    content: str,
    *,
    author_id: int = 1,
    author_name: str = "alice",
    display_name: str = "",
    bot: bool = False,
    minutes: float | None = None,
    kind: str = "default",
    reply_to: int | None = None,
    **extra: object,
) -> ChatMessage:
    """One message with a predictable id (`message_id(index)`) and time (`index` minutes after the start)."""
    return ChatMessage(
        id=message_id(index),
        channel_id=CHANNEL_ID,
        guild_id=GUILD_ID,
        author=Author(id=author_id, name=author_name, display_name=display_name, bot=bot),
        created_at=_START + timedelta(minutes=index if minutes is None else minutes),
        content=content,
        kind=kind,
        reply_to=reply_to,
        **extra,  # type: ignore[arg-type]
    )


def message_id(index: int) -> int:
    return _BASE_ID + index * 4096


def synthetic_conversation(count: int, *, seed: int = 7, authors: int = 12) -> list[ChatMessage]:
    rng = random.Random(seed)
    people = [
        Author(id=10_000 + i, name=name, display_name=display)
        for i, (name, display) in enumerate(_NAMES[: max(2, min(authors, len(_NAMES)))])
    ]
    messages: list[ChatMessage] = []
    when = _START
    for index in range(count):
        # Bursts of chat, with a long silence now and then.
        when += timedelta(
            seconds=rng.choice((5, 10, 20, 45, 60, 120)) if rng.random() > 0.01 else rng.randint(1800, 30000)
        )
        author = rng.choice(people)
        roll = rng.random()
        if roll < 0.25:
            content = rng.choice(_SHORT)
        else:
            content = " ".join(_sentence(rng) for _ in range(rng.choice((1, 1, 1, 2, 3))))
        mentions: dict[int, str] = {}
        if rng.random() < 0.08:
            other = rng.choice(people)
            mentions[other.id] = other.shown_name
            content = f"<@{other.id}> {content}"
        if rng.random() < 0.05:
            content += " <:pepe_laugh:987654321098765432>"
        if rng.random() < 0.04:
            link = rng.choice(_LINKS)
            content += f" {link}{rng.randint(100, 999) if link.endswith(('/', '-')) else ''}"
        if rng.random() < 0.01:
            content += "\n" + _CODE
        attachments = (Attachment(filename=f"screenshot-{index}.png"),) if rng.random() < 0.02 else ()
        reply_to = None
        if messages and rng.random() < 0.15:
            reply_to = messages[max(0, len(messages) - rng.randint(1, 8))].id
        messages.append(
            ChatMessage(
                id=message_id(index),
                channel_id=CHANNEL_ID,
                guild_id=GUILD_ID,
                author=author,
                created_at=when,
                content=content,
                kind="reply" if reply_to else "default",
                reply_to=reply_to,
                attachments=attachments,
                reactions=rng.choice((0, 0, 0, 0, 1, 2, 5)),
                user_mentions=mentions,
            )
        )
    return messages


def synthetic_days(
    days: int, per_day: int, *, seed: int = 7, authors: int = 12, start: datetime = _START
) -> list[ChatMessage]:
    """`days` days of a channel with `per_day` messages each, for rolling digests: the conversation of
    `synthetic_conversation` with each day's share of it fitted into that day (its bursts and silences
    scaled), so day d holds exactly messages [d * per_day, (d + 1) * per_day) within [start + d, start + d + 1).
    """
    messages = synthetic_conversation(days * per_day, seed=seed, authors=authors)
    fitted: list[ChatMessage] = []
    for day in range(days):
        share = messages[day * per_day : (day + 1) * per_day]
        first, last = share[0].created_at, share[-1].created_at
        span = (last - first).total_seconds() or 1.0
        day_start = start + timedelta(days=day, minutes=1)
        usable = timedelta(days=1, minutes=-2).total_seconds()  # a minute clear of each end
        for message in share:
            offset = (message.created_at - first).total_seconds() / span * usable
            fitted.append(dataclasses.replace(message, created_at=day_start + timedelta(seconds=offset)))
    return fitted
