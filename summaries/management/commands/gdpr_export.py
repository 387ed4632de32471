"""`manage.py gdpr_export --user DISCORD_USER_ID [--output FILE]`: what is stored about a member, as JSON.

The service (summaries.services.privacy) records the audit entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from summaries.management.commands.gdpr_forget import snowflake
from summaries.services.privacy import member_export
from summarybot.operator_command import OperatorCommand


class Command(OperatorCommand):
    help = "Write everything stored about a member as JSON, to stdout or --output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The member's Discord user id")
        parser.add_argument("--output", type=Path, help="Write to this file (default: stdout)")

    def handle(self, *args: Any, output: Path | None, **options: Any) -> None:
        user = snowflake("--user", options["user"])
        assert user is not None
        if output is not None and not output.parent.is_dir():
            raise CommandError(f"cannot write {output}: its directory does not exist")
        text = json.dumps(member_export(user_id=user), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None
        self.stderr.write(f"Wrote what is stored about member {user} to {output}.")
