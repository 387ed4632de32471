"""manage.py summarize: an export in, Markdown or JSON out; clear exit code 2 on bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "dce"
EXPORT = FIXTURES / "backend.json"
BASE = 1180000000000000000


def run(*args: str, stdin: io.StringIO | None = None) -> str:
    out = io.StringIO()
    extra = {"stdin": stdin} if stdin is not None else {}
    call_command("summarize", *args, stdout=out, **extra)
    return out.getvalue()


def test_markdown_output_links_every_cited_point() -> None:
    markdown = run(str(EXPORT), "--provider", "local")
    assert markdown.startswith("# #backend\n")
    assert "## Decisions" in markdown and "## Action items" in markdown and "## Links shared" in markdown
    assert "https://discord.com/channels/873290765519851561/873290766002196530/" in markdown
    assert "bob.builder@example.com" not in markdown  # redacted before anything else


def test_json_output_has_the_documented_fields() -> None:
    data = json.loads(run(str(EXPORT), "--provider", "local", "--output", "json", "--format", "technical"))
    assert (data["format"], data["model"], data["language"]) == ("technical", "local-extractive", "en")
    assert data["message_count"] == 11  # 15 exported, minus a join, a pin, a bot and an opted-out message
    assert data["markdown"].startswith("# #backend")
    assert data["usage"]["llm_calls"] == 0
    assert {"prompt_tokens", "completion_tokens", "llm_calls"} <= set(data["usage"])
    exported_ids = {BASE + i * 100000 for i in range(15)}
    assert data["items"] and all(set(item["message_ids"]) <= exported_ids for item in data["items"])
    assert {item["section"] for item in data["items"]} >= {"overview", "problems", "solutions"}


def test_reads_the_export_from_stdin() -> None:
    data = json.loads(run("-", "--provider", "local", "--output", "json", stdin=io.StringIO(EXPORT.read_text())))
    assert data["message_count"] == 11


def test_an_empty_export_is_exit_code_2() -> None:
    with pytest.raises(CommandError, match="no messages") as caught:
        run(str(FIXTURES / "empty.json"), "--provider", "local")
    assert caught.value.returncode == 2


def test_a_malformed_export_exits_2_with_one_clear_line_on_stderr() -> None:
    env = {**os.environ, "DJANGO_DEBUG": "true"}
    completed = subprocess.run(
        [sys.executable, "manage.py", "summarize", str(FIXTURES / "truncated.json"), "--provider", "local"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CommandError: The export is not valid JSON")


def test_only_excluded_messages_is_exit_code_2() -> None:
    export = json.loads(EXPORT.read_text())
    export["messages"] = [m for m in export["messages"] if m["author"]["isBot"]]
    with pytest.raises(CommandError, match="No messages left") as caught:
        run("-", "--provider", "local", stdin=io.StringIO(json.dumps(export)))
    assert caught.value.returncode == 2
