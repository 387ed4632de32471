"""Shared fixtures. Fakes of external systems live in tests/fakes/."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytest_plugins = ["tests.fakes.discord.fixtures"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    # The default cache (no REDIS_URL) is the database cache: its table is part of the schema.
    with django_db_blocker.unblock():
        call_command("createcachetable", verbosity=0)
