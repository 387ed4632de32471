"""python manage.py rotate_encryption_keys [--batch-size N]: re-encrypt every stored secret with the first key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from summarybot.key_rotation import FieldRotation, encryption_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEY. Run after prepending "
        "a new key; once it reports no undecryptable values, the old keys can be removed. Safe to rerun."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")

        def report(result: FieldRotation) -> None:
            line = f"{result.label}: {result.rotated} re-encrypted, {result.current} already under the first key"
            if result.changed_meanwhile:
                line += f", {result.changed_meanwhile} changed meanwhile"
            if result.undecryptable:
                line += f", {result.undecryptable} undecryptable"
            self.stdout.write(line)

        results = encryption_keys_rotate(batch_size=batch_size, on_field=report)
        rotated = sum(r.rotated for r in results)
        undecryptable = sum(r.undecryptable for r in results)
        self.stdout.write(f"Total: {rotated} re-encrypted in {len(results)} fields.")
        if undecryptable:
            raise CommandError(
                f"{undecryptable} stored secrets open with no key of FIELD_ENCRYPTION_KEY (pks in the log); they read "
                "as unset until the key they were made with is added back, or they are set again"
            )
