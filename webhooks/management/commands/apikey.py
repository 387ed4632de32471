"""python manage.py apikey create|list|revoke: issue, inspect and revoke a guild's REST API keys.

`create` prints the key once, alone on the last line of its output (scripts take `tail -n 1`); only a
digest is stored, so it can never be shown again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from guilds.selectors import guild_get
from summarybot.errors import SummaryBotError
from summarybot.operator_command import OperatorCommand
from webhooks.models import ApiKey, ApiScope
from webhooks.selectors import api_key_get_by_prefix, api_key_list
from webhooks.services import api_key_issue, api_key_revoke


def _when(value: datetime | None, never: str = "never") -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else never


def _state(api_key: ApiKey) -> str:
    if api_key.revoked_at is not None:
        return f"revoked {_when(api_key.revoked_at)}"
    if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
        return "expired"
    return "active"


class Command(OperatorCommand):
    help = "Manage REST API keys: create (the key is shown once), list a guild's keys, revoke one by prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="issue a key; it is printed once, alone on the last line")
        create.add_argument("--guild", type=int, required=True, help="Discord guild id")
        create.add_argument("--name", required=True, help="what the key is for, shown in lists")
        create.add_argument(
            "--scope", action="append", required=True, dest="scopes",
            help=f"repeat for several; one of: {', '.join(ApiScope.values)}",
        )
        create.add_argument("--expires", type=int, metavar="DAYS", help="expire after DAYS days (default: never)")
        listing = actions.add_parser("list", help="a guild's keys: prefix, name, scopes, dates, state")
        listing.add_argument("--guild", type=int, required=True, help="Discord guild id")
        revoke = actions.add_parser("revoke", help="revoke the key with this prefix (sbk_…)")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except SummaryBotError as exc:
            raise CommandError(exc.message) from None

    def _create(self, *, guild: int, name: str, scopes: list[str], expires: int | None, **_: Any) -> None:
        if expires is not None and expires < 1:
            raise CommandError("--expires must be at least 1 day")
        issued = api_key_issue(
            guild=guild_get(guild_id=guild),
            name=name,
            scopes=scopes,
            expires_at=timezone.now() + timedelta(days=expires) if expires else None,
        )
        key = issued.api_key
        self.stdout.write(
            f"Created API key {key.prefix} ({key.name}) for guild {key.guild_id}; scopes {', '.join(key.scopes)}; "
            f"expires {_when(key.expires_at)}."
        )
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(issued.plaintext)

    def _list(self, *, guild: int, **_: Any) -> None:
        keys = list(api_key_list(guild_id=guild))
        if not keys:
            self.stdout.write(f"Guild {guild} has no API keys.")
            return
        self.stdout.write("prefix\tname\tscopes\tcreated\tlast used\texpires\tstate")
        for key in keys:
            self.stdout.write(
                "\t".join([
                    key.prefix, key.name, ",".join(key.scopes), _when(key.created_at), _when(key.last_used_at),
                    _when(key.expires_at), _state(key),
                ])
            )

    def _revoke(self, *, prefix: str, **_: Any) -> None:
        key = api_key_get_by_prefix(prefix=prefix)
        if api_key_revoke(api_key=key):
            self.stdout.write(f"Revoked API key {key.prefix} ({key.name}) of guild {key.guild_id}.")
        else:
            self.stdout.write(f"API key {key.prefix} ({key.name}) was already revoked.")
