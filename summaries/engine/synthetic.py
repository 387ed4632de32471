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


# --- channel shapes ---------------------------------------------------------------------------------
# The developer chat above is short sentences with a few links. Real channels differ exactly where a
# transcript costs most: many messages carry URLs (often the same ones), some are long technical messages
# with code and pasted logs, some are links alone, some are not in English. Each shape below mixes those in
# the proportions of one kind of public channel; the benchmark reports each shape on its own.

_GITHUB_REPOS = ["django/django", "encode/httpx", "pydantic/pydantic", "Rapptz/discord.py", "astral-sh/ruff"]
_GITHUB_FILES = ["src/core/engine.py", "django/db/models/query.py", "tests/test_client.py", "pyproject.toml"]
_DOC_LINKS = [
    "https://docs.python.org/3/library/asyncio-task.html#asyncio.TaskGroup",
    "https://docs.djangoproject.com/en/5.2/ref/models/querysets/#select-for-update",
    "https://discordpy.readthedocs.io/en/stable/api.html#discord.Message",
    "https://stackoverflow.com/questions/63872924/how-to-cancel-an-asyncio-task-from-another-thread",
    "https://arxiv.org/abs/2310.06825",
    "https://arxiv.org/pdf/2407.21783v2",
    "https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.3",
]
_MUSIC_LINKS = [
    "https://www.youtube.com/watch?v={yt}",
    "https://youtu.be/{yt}?si={si}",
    "https://open.spotify.com/track/{sp}?si={si}",
    "https://soundcloud.com/{artist}/{track}",
    "https://{artist}.bandcamp.com/album/{track}",
]
_ARTISTS = ["nightdrive", "lofi-girl", "kaytranada", "boards-of-canada", "floating-points", "aphex-twin"]
_TRACKS = ["midnight-city", "rain-on-glass", "late-night-tales", "silent-shout", "roygbiv", "xtal"]
_MUSIC_SHORT = [
    "this one slaps",
    "on repeat all week",
    "the bassline at 2:10 🔥",
    "anyone been to their live show?",
    "perfect for coding",
    "classic",
    "new album dropped today",
    "more like this please",
]
_LONG_TECH = [
    "I spent the afternoon on the {component} and I think I finally understand the {bug}: when the {event} "
    "happens while a request is still in flight, the {component} holds the old connection, so the next "
    "retry hits the {error} and the whole thing backs off for {num} seconds. The fix is probably to close the "
    "pool on {event} and let the next request open a fresh one, but that means touching the {tech} config too.",
    "Quick summary of where we are with the {component}: the {metric} is fine on {env} ({num}ms p50) but "
    "the {error} shows up about once every {num2} requests, always with {payload}. I can't reproduce it "
    "locally, which makes me think it's the {tech} version on the servers. Before anyone upgrades, can we "
    "agree to pin it in the lockfile and rebuild the images?",
    "Re the {task_noun}: my plan is to split the {component} into two steps, first the {tech} part behind a "
    "flag, then the cleanup once {name} has checked the {metric} on {env}. That keeps each PR small enough "
    "to review in one sitting, and we can revert the flag if the {error} comes back.",
]
_LOG_LINES = [
    "{ts} ERROR [{component}] {error} while handling request id={hexid}",
    "{ts} WARNING [{component}] retrying ({num}/5) after {error}",
    "{ts} INFO [{component}] connection pool size={num} in_use={num2}",
    '  File "/app/{file}", line {num}, in {func}',
    "    result = await self._client.request(method, url, timeout={num})",
    "{ts} DEBUG [{component}] sql=SELECT * FROM jobs WHERE status = 'queued' LIMIT {num}",
]
_FUNCS = ["fetch_page", "handle", "_send", "run_job", "dispatch", "get_or_create"]
_ESTONIAN = [
    "Tere! Kas keegi teab, millal {n}. kodutöö tähtaeg on?",
    "Mul ei tööta {n}. ülesande testid, kas kellelgi teisel on sama probleem?",
    "Loengu slaidid on nüüd Moodle'is üleval, vaadake {n}. nädala materjale.",
    "Ma arvan, et viga on selles, et tsükkel algab nullist, mitte ühest.",
    "Aitäh, nüüd sain aru! Praktikumis seletati seda natuke teistmoodi.",
    "Kas eksam on arvutiklassis või saab oma sülearvutiga teha?",
    "Proovisin uuesti ja nüüd läksid kõik testid läbi, probleem oli failinimes.",
    "Järgmine praktikum toimub neljapäeval kell {n} ruumis {room}.",
    "Kas keegi tahaks koos rühmatööd teha? Mul on veel üks koht vaba.",
    "Õppejõud ütles, et hilinenud tööde eest võetakse {n} punkti maha.",
    "See ülesanne oli päris keeruline, eriti rekursiooni osa.",
    "Kodutöö esitamise link ei avane, kas see on ainult minul nii?",
]
_ESTONIAN_SHORT = ["aitäh!", "jah", "ei", "ok", "sama siin", "👍", "lahe", "mina ka"]
_COURSE_LINKS = [
    "https://moodle.ut.ee/course/view.php?id=1234",
    "https://courses.cs.ut.ee/2024/programmeerimine/fall/Main/Praktikum{n}",
    "https://docs.python.org/3/tutorial/controlflow.html",
]

# name -> what the shape is modelled on; `shaped_conversation` builds each.
SHAPES = {
    "developer": "the developer chat above: short sentences, 4% links, 1% code",
    "github": "a developer channel full of GitHub links: ~50% with URLs, many repeated, code, logs, quotes",
    "links": "a music channel: ~60% link-only messages, repeated links, short comments",
    "technical": "long technical messages, code blocks and pasted logs, ~30% with URLs, replies quoting",
    "research": "a research discussion: long messages, paper and doc links (~35%), quotes of earlier messages",
    "estonian": "an Estonian course channel: non-English text, course links (~30%), short replies",
}


def _token(rng: random.Random, length: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _github_url(rng: random.Random) -> str:
    repo = rng.choice(_GITHUB_REPOS)
    kind = rng.random()
    if kind < 0.4:
        return f"https://github.com/{repo}/pull/{rng.randint(100, 19999)}"
    if kind < 0.7:
        return f"https://github.com/{repo}/issues/{rng.randint(100, 19999)}"
    if kind < 0.9:
        sha = _token(rng, 40, "0123456789abcdef")
        start = rng.randint(10, 900)
        return (
            f"https://github.com/{repo}/blob/{sha}/{rng.choice(_GITHUB_FILES)}#L{start}-L{start + rng.randint(3, 40)}"
        )
    return f"https://github.com/{repo}/commit/{_token(rng, 40, '0123456789abcdef')}"


def _music_url(rng: random.Random) -> str:
    return rng.choice(_MUSIC_LINKS).format(
        yt=_token(rng, 11, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
        si=_token(rng, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
        sp=_token(rng, 22, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
        artist=rng.choice(_ARTISTS),
        track=rng.choice(_TRACKS),
    )


def _fill(rng: random.Random, template: str) -> str:
    values = {slot: rng.choice(options) for slot, options in _SLOTS.items()}
    values.update(num=str(rng.randint(2, 990)), num2=str(rng.randint(2, 990)))
    return template.format(**values)


def _log_block(rng: random.Random, lines: int, *, fenced: bool) -> str:
    stamp = _START + timedelta(seconds=rng.randint(0, 86_400))
    out = []
    for n in range(lines):
        line = rng.choice(_LOG_LINES).format(
            ts=(stamp + timedelta(milliseconds=37 * n)).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3],
            component=rng.choice(_SLOTS["component"]),
            error=rng.choice(_SLOTS["error"]),
            hexid=_token(rng, 12, "0123456789abcdef"),
            num=rng.randint(1, 500),
            num2=rng.randint(1, 500),
            file=rng.choice(_GITHUB_FILES),
            func=rng.choice(_FUNCS),
        )
        out.append(line)
    body = "\n".join(out)
    return f"```\n{body}\n```" if fenced else body


def _code_block(rng: random.Random, lines: int) -> str:
    body = [f"async def {rng.choice(_FUNCS)}(self, page: int) -> list[dict]:"]
    for n in range(lines - 1):
        body.append(
            f"    value_{n} = await self.client.get(f'/items?page={{page}}&n={n}', timeout={rng.randint(1, 30)})"
        )
    return "```py\n" + "\n".join(body) + "\n```"


def _shape_content(shape: str, rng: random.Random, seen_urls: list[str]) -> str:
    """One message's text in the given shape. `seen_urls` is the channel's links so far: shared again often."""

    def url(make: object) -> str:
        if seen_urls and rng.random() < 0.3:
            return rng.choice(seen_urls[-40:])
        fresh = make(rng)  # type: ignore[operator]
        seen_urls.append(fresh)
        return fresh

    roll = rng.random()
    if shape == "github":
        if roll < 0.15:
            return url(_github_url)  # a link alone
        if roll < 0.45:
            return f"{_sentence(rng)} {url(_github_url)}"
        if roll < 0.55:
            return f"{_fill(rng, rng.choice(_LONG_TECH))} see {url(_github_url)} and {url(_github_url)}"
        if roll < 0.62:
            return f"{_sentence(rng)}\n{_code_block(rng, rng.randint(4, 30))}"
        if roll < 0.68:
            return f"getting this on {rng.choice(_SLOTS['env'])}:\n{_log_block(rng, rng.randint(6, 60), fenced=True)}"
        if roll < 0.85:
            return rng.choice(_SHORT)
        return _sentence(rng)
    if shape == "links":
        if roll < 0.55:
            return url(_music_url)
        if roll < 0.62:
            return f"{rng.choice(_MUSIC_SHORT)} {url(_music_url)}"
        if roll < 0.85:
            return rng.choice(_MUSIC_SHORT)
        return rng.choice(_SHORT)
    if shape == "technical":
        if roll < 0.25:
            text = _fill(rng, rng.choice(_LONG_TECH))
            return f"{text} (details in {url(_github_url)})" if rng.random() < 0.4 else text
        if roll < 0.4:
            return f"{_sentence(rng)}\n{_code_block(rng, rng.randint(6, 40))}"
        if roll < 0.52:
            return f"{_sentence(rng)}:\n{_log_block(rng, rng.randint(10, 80), fenced=rng.random() < 0.5)}"
        if roll < 0.75:
            link = url(lambda r: r.choice([_github_url(r), r.choice(_DOC_LINKS)]))
            return f"{_sentence(rng)} {link}"
        if roll < 0.85:
            return rng.choice(_SHORT)
        return _sentence(rng)
    if shape == "research":
        if roll < 0.3:
            return _fill(rng, rng.choice(_LONG_TECH))
        if roll < 0.6:
            return f"{_sentence(rng)} {url(lambda r: r.choice(_DOC_LINKS))}"
        if roll < 0.65:
            return url(lambda r: r.choice(_DOC_LINKS))
        if roll < 0.8:
            return " ".join(_sentence(rng) for _ in range(2))
        return rng.choice(_SHORT)
    if shape == "estonian":
        sentence = rng.choice(_ESTONIAN).format(n=rng.randint(1, 14), room=rng.randint(100, 420))
        if roll < 0.2:
            return f"{sentence} {url(lambda r: r.choice(_COURSE_LINKS).format(n=r.randint(1, 14)))}"
        if roll < 0.3:
            return url(lambda r: r.choice(_COURSE_LINKS).format(n=r.randint(1, 14)))
        if roll < 0.55:
            return rng.choice(_ESTONIAN_SHORT)
        if roll < 0.7:
            second = rng.choice(_ESTONIAN).format(n=rng.randint(1, 14), room=rng.randint(100, 420))
            return f"{sentence} {second}"
        return sentence
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def _quote_of(text: str) -> str:
    """The first line of a message as a Discord quote (what the reply button's "quote" pastes)."""
    first = text.split("\n", 1)[0]
    return "> " + first


def shaped_conversation(shape: str, count: int, *, seed: int = 7, authors: int = 12) -> list[ChatMessage]:
    """A conversation in one of the SHAPES (the "developer" shape is `synthetic_conversation` itself)."""
    if shape == "developer":
        return synthetic_conversation(count, seed=seed, authors=authors)
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    rng = random.Random(f"{shape}:{seed}")
    people = [
        Author(id=10_000 + i, name=name, display_name=display)
        for i, (name, display) in enumerate(_NAMES[: max(2, min(authors, len(_NAMES)))])
    ]
    messages: list[ChatMessage] = []
    seen_urls: list[str] = []
    when = _START
    quoting = shape in ("github", "technical", "research")
    for index in range(count):
        when += timedelta(
            seconds=rng.choice((5, 10, 20, 45, 60, 120)) if rng.random() > 0.01 else rng.randint(1800, 30000)
        )
        content = _shape_content(shape, rng, seen_urls)
        reply_to = None
        if messages and rng.random() < 0.15:
            parent = messages[max(0, len(messages) - rng.randint(1, 8))]
            reply_to = parent.id
            if quoting and rng.random() < 0.4 and len(parent.content) > 20:
                content = f"{_quote_of(parent.content)}\n{content}"
        messages.append(
            ChatMessage(
                id=message_id(index),
                channel_id=CHANNEL_ID,
                guild_id=GUILD_ID,
                author=rng.choice(people),
                created_at=when,
                content=content,
                kind="reply" if reply_to else "default",
                reply_to=reply_to,
                reactions=rng.choice((0, 0, 0, 0, 1, 2, 5)),
            )
        )
    return messages
