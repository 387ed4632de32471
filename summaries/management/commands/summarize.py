"""Summarize a DiscordChatExporter JSON export from the command line.

    python manage.py summarize export.json --format structured --provider local --output json
    cat export.json | python manage.py summarize -

Exit codes: 0 done, 2 malformed or empty export (one line on stderr), 1 any other failure.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from summarybot.errors import InvalidInput, SummaryBotError

from ...chunk_cache import DjangoChunkCache
from ...engine.dce import DceExport, load_dce, load_dce_file
from ...engine.formats import FORMATS
from ...engine.options import SummaryOptions
from ...engine.pipeline import summarize
from ...engine.render.json import render_json_dict
from ...engine.render.markdown import render_markdown
from ...engine.types import SummaryResult
from ...llm.factory import build_provider


class Command(BaseCommand):
    help = "Summarize a DiscordChatExporter JSON export (a path, or - for stdin)."
    # call_command(..., stdin=io.StringIO(...)) in tests; sys.stdin otherwise.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the export file, or - to read it from stdin")
        parser.add_argument("--format", default="structured", choices=sorted(FORMATS))
        parser.add_argument("--language", default="auto", help='"auto" (the conversation\'s) or a language')
        parser.add_argument(
            "--provider",
            choices=("openai", "local"),
            default=None,
            help="openai, or local for the offline extractive engine (default: SUMMARY_PROVIDER)",
        )
        parser.add_argument("--output", choices=("markdown", "json"), default="markdown")

    def handle(self, *args: Any, **options: Any) -> None:
        export = self._load(options["path"], options.get("stdin"))
        if not export.messages:
            raise CommandError("The export contains no messages.", returncode=2)
        summary_options = SummaryOptions(
            format=options["format"],
            language=options["language"],
            model=settings.SUMMARY_MODEL,
            context_tokens=settings.SUMMARY_CONTEXT_TOKENS,
            map_concurrency=settings.SUMMARY_MAP_CONCURRENCY,
            max_prompt_tokens=settings.SUMMARY_MAX_TOKENS_PER_REQUEST,
            prices=dict(settings.SUMMARY_PRICES),
        )
        try:
            result = asyncio.run(self._summarize(export, summary_options, options["provider"], options["verbosity"]))
        except InvalidInput as exc:
            raise CommandError(exc.message, returncode=2) from None
        except SummaryBotError as exc:
            raise CommandError(f"{exc.code}: {exc.message}", returncode=1) from None

        title = f"#{export.channel_name}" if export.channel_name else "Summary"
        if options["output"] == "json":
            self.stdout.write(json.dumps(render_json_dict(result, title=title), ensure_ascii=False))
        else:
            self.stdout.write(render_markdown(result, title=title), ending="")

    def _load(self, path: str, stdin: Any) -> DceExport:
        try:
            if path == "-":
                stream = stdin if stdin is not None else sys.stdin
                raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
                return load_dce(raw)
            return load_dce_file(path)
        except InvalidInput as exc:
            raise CommandError(exc.message, returncode=2) from None

    async def _summarize(
        self, export: DceExport, options: SummaryOptions, provider_name: str | None, verbosity: int
    ) -> SummaryResult:
        # Created and closed inside this event loop, as every async client must be.
        provider = build_provider(provider=provider_name)

        def progress(stage: str, done: int, total: int) -> None:
            if verbosity >= 2:
                self.stderr.write(f"{stage} {done}/{total}")

        try:
            return await summarize(
                export.messages,
                options,
                provider=provider,
                cache=DjangoChunkCache() if provider is not None else None,
                on_progress=progress,
            )
        finally:
            if provider is not None:
                await provider.aclose()
