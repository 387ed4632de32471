"""Seed a demo guild (with a summarized sample conversation) into an empty database, so a first
`make run` has something to look at. Does nothing when any guild exists."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from guilds.models import Guild
from summaries.services.demo import demo_seed


class Command(BaseCommand):
    help = "Create a demo guild with a sample conversation and its summary, if the database is empty."

    def handle(self, *args: object, **options: object) -> None:
        if Guild.objects.exists():
            self.stdout.write("Guilds exist already; nothing seeded.")
            return
        guild = demo_seed()
        self.stdout.write(self.style.SUCCESS(f"Seeded demo guild {guild.name!r} ({guild.id})."))
