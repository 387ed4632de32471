"""`manage.py gdpr_forget --user DISCORD_USER_ID [--guild ID]`: remove a member's content and traces.

Prints what it removed, one line per kind (their name blanked in the audit log included); the service
(summaries.services.privacy) records the audit entry, with counts only.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from summaries.services.privacy import member_forget
from summarybot.errors import NotFound
from summarybot.operator_command import OperatorCommand


def snowflake(option: str, value: str | None) -> int | None:
    """A Discord id, checked here rather than by argparse so a bad one is one line on stderr, not a usage text."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise CommandError(f"{option} must be a Discord id (digits only), got {value!r}")
    return int(value)


class Command(OperatorCommand):
    help = "Remove a member's names, excerpts and cached content (their opt-outs stay), and say what was removed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The member's Discord user id")
        parser.add_argument("--guild", help="Only in this guild (default: every guild)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = snowflake("--user", options["user"])
        guild = snowflake("--guild", options["guild"])
        assert user is not None
        try:
            removed = member_forget(user_id=user, guild_id=guild)
        except NotFound as exc:
            raise CommandError(exc.message) from None
        where = f"guild {guild}" if guild else "every guild"
        self.stdout.write(f"Forgot member {user} in {where}:")
        for kind, count in removed.items():
            self.stdout.write(f"  {kind}: {count}")
