"""Bot memory per guild: a real `manage.py runbot` against the fake Discord with 10, 1,000 and 5,000 guilds.

    .venv/bin/python bench/bench_bot_memory.py [--guilds 10 1000 5000] [--channels 20] [--members 50]
        [--settle 20] [--no-doc]

Each guild has `--channels` text channels and `--members` members (and its owner and the bot). The bot
connects with its own intents (botrunner.bot.bot_intents: no GUILD_MEMBERS), so the fake gateway's
GUILD_CREATE carries what Discord's would: every channel, every role, and of the members only the bot
itself. The bot mirrors each guild and its channels into a fresh SQLite database (its on_guild_available),
then idles; once every guild is mirrored and its memory has stopped growing for `--settle` seconds, its
RSS and PSS are read from /proc. Reported: memory at each size and MB per 1,000 guilds (the slope between
the two largest sizes, and between the smallest and the largest).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _django import production_child_env  # noqa: E402
from _docs import write_section as write_doc_section  # noqa: E402

SECTION = "## Bot memory per guild"


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of one process, in MB."""
    values = {"Rss": 0, "Pss": 0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key = line.split(":")[0]
        if key in values:
            values[key] = int(line.split()[1])
    return values["Rss"] / 1024, values["Pss"] / 1024


def migrated_template(tmp: Path) -> Path:
    template = tmp / "template.sqlite3"
    env = {**os.environ, "DJANGO_DEBUG": "true", "DATABASE_URL": f"sqlite:///{template}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    return template


def mirrored_guilds(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM guilds_guild WHERE bot_present").fetchone()[0]
    except sqlite3.Error:
        return 0


def run_size(guilds: int, args: argparse.Namespace, template: Path, tmp: Path) -> dict:
    from tests.fakes.discord import FakeDiscord

    db = tmp / f"bot-{guilds}.sqlite3"
    shutil.copy(template, db)
    with FakeDiscord() as fake:
        built = time.monotonic()
        for n in range(guilds):
            guild = fake.add_guild(f"Guild {n}")
            for c in range(args.channels):
                fake.add_channel(guild, f"channel-{c}")
            for m in range(args.members):
                fake.add_member(guild, username=f"g{n}m{m}")
        print(f"{guilds} guilds built in the fake in {time.monotonic() - built:.1f} s", flush=True)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db}",
            "LOG_LEVEL": "WARNING",
            "DISCORD_TOKEN": fake.bot_token,
            "DISCORD_API_BASE_URL": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "PROMETHEUS_MULTIPROC_DIR": "",
            # As in production (DEBUG off: no log of the mirroring's queries weighing in the bot's memory).
            **production_child_env(),
        }
        started = time.monotonic()
        bot = subprocess.Popen(
            [sys.executable, "manage.py", "runbot"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = started + args.timeout
            while mirrored_guilds(db) < guilds:
                if bot.poll() is not None:
                    raise SystemExit(f"runbot ended ({bot.returncode}): {bot.stderr.read()[-3000:]}")  # type: ignore[union-attr]
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {mirrored_guilds(db)} of {guilds} guilds mirrored in {args.timeout} s")
                time.sleep(0.5)
            ready_s = time.monotonic() - started
            # Level: the largest RSS seen until it has not grown for `settle` seconds.
            peak, steady_since = memory_mb(bot.pid)[0], time.monotonic()
            while time.monotonic() - steady_since < args.settle:
                time.sleep(1)
                rss = memory_mb(bot.pid)[0]
                if rss > peak + 0.5:
                    peak, steady_since = rss, time.monotonic()
            rss, pss = memory_mb(bot.pid)
        finally:
            bot.send_signal(signal.SIGTERM)
            try:
                bot.wait(timeout=30)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()
    return {"guilds": guilds, "rss_mb": rss, "pss_mb": pss, "ready_s": ready_s}


def report(results: list[dict], args: argparse.Namespace) -> str:
    results = sorted(results, key=lambda r: r["guilds"])
    lines = [
        SECTION,
        "",
        f"`bench/bench_bot_memory.py --guilds {' '.join(str(r['guilds']) for r in results)} --channels {args.channels} "
        f"--members {args.members}`: one `manage.py runbot` process (its own intents: no GUILD_MEMBERS) against the "
        f"fake gateway, each guild with {args.channels} text channels and {args.members} members, mirrored into "
        f"SQLite, then idle, with production settings (DEBUG off); memory once it stopped growing for {args.settle:.0f} s. {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {date.today().isoformat()}.",
        "",
        "| guilds | RSS | PSS | connected and mirrored after |",
        "|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['guilds']:,} | {r['rss_mb']:.0f} MB | {r['pss_mb']:.0f} MB | {r['ready_s']:.0f} s |")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        per_k = (large["rss_mb"] - small["rss_mb"]) / ((large["guilds"] - small["guilds"]) / 1000)
        lines += [
            "",
            f"**{per_k:.1f} MB of RSS per 1,000 guilds** ({small['guilds']:,} → {large['guilds']:,}), "
            f"on a base of {small['rss_mb']:.0f} MB.",
        ]
        if len(results) >= 3:
            mid = results[-2]
            per_k_top = (large["rss_mb"] - mid["rss_mb"]) / ((large["guilds"] - mid["guilds"]) / 1000)
            lines[-1] += f" Between {mid['guilds']:,} and {large['guilds']:,}: {per_k_top:.1f} MB per 1,000."
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, nargs="+", default=[10, 1000, 5000])
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds without growth before reading memory")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the guilds to be mirrored")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = migrated_template(Path(tmp))
        results = []
        for guilds in args.guilds:
            result = run_size(guilds, args, template, Path(tmp))
            print(result, flush=True)
            results.append(result)
    text = report(results, args)
    print(text)
    if not args.no_doc:
        write_doc_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
