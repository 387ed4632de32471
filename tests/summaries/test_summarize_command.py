"""manage.py summarize: an export in, Markdown or JSON out; clear exit code 2 on bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.fakes.openai_server import FakeOpenAI

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


# --- exports that used to crash with a traceback, one of them after the paid LLM calls -------------


def _with_first_message(change: Callable[[dict[str, Any]], None]) -> str:
    export = json.loads(EXPORT.read_text())
    change(export["messages"][0])
    return json.dumps(export)


HOSTILE_EXPORTS = {
    "deeply_nested": ('{"messages": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
    "non_integer_file_size": (
        _with_first_message(lambda m: m.update(attachments=[{"fileName": "a.png", "fileSizeBytes": "12 KB"}])),
        "attachments[0].fileSizeBytes must be a number of bytes, got '12 KB'",
    ),
    "id_1e999": (
        _with_first_message(lambda m: m.update(id="ID")).replace('"id": "ID"', '"id": 1e999'),
        "messages[0].id must be a Discord id",
    ),
    "lone_surrogate": (
        _with_first_message(lambda m: m.update(content="SURROGATE")).replace("SURROGATE", "fine \\ud800 or not"),
        "messages[0].content holds a lone UTF-16 surrogate",
    ),
}


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The command's environment for its own process: a migrated SQLite database of its own."""
    database = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    env = {**os.environ, "DJANGO_DEBUG": "true", "DATABASE_URL": f"sqlite:///{database}"}
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env


@pytest.mark.parametrize("name", sorted(HOSTILE_EXPORTS))
def test_a_hostile_export_exits_2_with_one_line_before_any_llm_call(
    name: str, cli_env: dict[str, str], fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    content, expected = HOSTILE_EXPORTS[name]
    path = tmp_path / f"{name}.json"
    path.write_text(content, encoding="utf-8")
    env = {
        **cli_env,
        "OPENAI_API_KEY": "sk-fake",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "SUMMARY_PROVIDER": "openai",
        "SUMMARY_MODEL": "gpt-4o-mini",
    }

    completed = subprocess.run(
        [sys.executable, "manage.py", "summarize", str(path), "--provider", "openai"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    (line,) = completed.stderr.splitlines()
    assert line.startswith("CommandError: ") and expected in line
    assert fake_openai.requests == []  # not even a models listing
