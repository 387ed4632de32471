"""python manage.py inbound_secret create|list|revoke: a guild's signing secrets for inbound webhooks.

`create` prints the `whsec_…` secret once, alone on the last line (scripts take `tail -n 1`); senders
POST to /webhooks/inbound/<guild id>/ signed with it. Several secrets may be active at once (rotation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser

from guilds.selectors import guild_get
from summarybot.errors import SummaryBotError
from summarybot.operator_command import OperatorCommand
from webhooks.selectors import inbound_secret_get, inbound_secret_list
from webhooks.services import inbound_secret_create, inbound_secret_revoke


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


class Command(OperatorCommand):
    help = "Manage inbound webhook secrets: create (shown once), list a guild's, revoke one by id."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="create a secret; it is printed once, alone on the last line")
        create.add_argument("--guild", type=int, required=True, help="Discord guild id")
        create.add_argument("--name", required=True, help="which sender uses it, shown in lists")
        listing = actions.add_parser("list", help="a guild's secrets: id, name, created, state")
        listing.add_argument("--guild", type=int, required=True, help="Discord guild id")
        revoke = actions.add_parser("revoke", help="revoke the secret with this id")
        revoke.add_argument("secret_id", type=int, metavar="ID")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except SummaryBotError as exc:
            raise CommandError(exc.message) from None

    def _create(self, *, guild: int, name: str, **_: Any) -> None:
        issued = inbound_secret_create(guild=guild_get(guild_id=guild), name=name)
        secret = issued.inbound_secret
        self.stdout.write(
            f"Created inbound secret {secret.pk} ({secret.name}) for guild {secret.guild_id}; "
            f"senders POST to /webhooks/inbound/{secret.guild_id}/."
        )
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(issued.plaintext)

    def _list(self, *, guild: int, **_: Any) -> None:
        secrets = list(inbound_secret_list(guild_id=guild))
        if not secrets:
            self.stdout.write(f"Guild {guild} has no inbound secrets.")
            return
        self.stdout.write("id\tname\tcreated\tstate")
        for secret in secrets:
            state = f"revoked {_when(secret.revoked_at)}" if secret.revoked_at else "active"
            self.stdout.write("\t".join([str(secret.pk), secret.name, _when(secret.created_at), state]))

    def _revoke(self, *, secret_id: int, **_: Any) -> None:
        secret = inbound_secret_get(secret_id=secret_id)
        if inbound_secret_revoke(inbound_secret=secret):
            self.stdout.write(f"Revoked inbound secret {secret.pk} ({secret.name}) of guild {secret.guild_id}.")
        else:
            self.stdout.write(f"Inbound secret {secret.pk} ({secret.name}) was already revoked.")
