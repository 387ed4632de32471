"""Running the project's own commands in child processes against the test database."""

from __future__ import annotations

from django.db import connection


def database_url() -> str:
    """The test database as a DATABASE_URL, so a child process (worker, command) shares it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
