"""Shared fixtures. Fakes of external systems live in tests/fakes/."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

pytest_plugins = ["tests.fakes.discord.fixtures"]


@pytest.fixture(scope="session", autouse=True)
def _close_sync_to_async_connections(django_db_setup):  # type: ignore[no-untyped-def]
    """Services run ORM work from coroutines through sync_to_async's one shared thread; its connection
    must be closed before the test database is dropped (PostgreSQL refuses to drop a database in use)."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())


@pytest.fixture(autouse=True)
def _address_throttles_out_of_the_way(settings):  # type: ignore[no-untyped-def]
    """Every test client request comes from 127.0.0.1, and on Redis the throttle counters outlive a test:
    the whole suite would share one address's allowance. The throttle tests set the rates they test."""
    settings.API_IP_THROTTLE_RATE = settings.INBOUND_THROTTLE_RATE = "1000000/min"
