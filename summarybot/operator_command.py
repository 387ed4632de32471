"""The base of management commands that change something: the audit log names the operator's command.

Django's management commands are a front door like any other: each says who is acting once, here, for
everything its handle() does (guilds/audit.py).
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand

from guilds.audit import Actor, audit_actor
from guilds.models import ActorKind


def operator_actor(command: str) -> Actor:
    """The command's name, and the account that ran it when the system can tell (a container may not)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = ""
    name = f"manage.py {command}" + (f" (as {user})" if user else "")
    return Actor(kind=ActorKind.OPERATOR, id=command, name=name)


class OperatorCommand(BaseCommand):
    def execute(self, *args: Any, **options: Any) -> str | None:
        with audit_actor(operator_actor(self.__module__.rsplit(".", 1)[-1])):
            return super().execute(*args, **options)
