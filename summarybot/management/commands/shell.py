"""`manage.py shell`, quiet under `-c`: Django 5.2 prints "N objects imported automatically" to stdout
first, which breaks every script that runs `shell -c` and reads its output (a deploy check, a Makefile).
Interactive sessions keep the auto-imports and their message."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.shell import Command as DjangoShell


class Command(DjangoShell):
    def get_namespace(self, **options: Any) -> dict[str, Any]:
        if options.get("command"):
            options = {**options, "verbosity": 0}
        return super().get_namespace(**options)
