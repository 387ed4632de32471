"""The project's settings as a production process runs them, for the benches' child processes (web server,
workers, bot): DEBUG off, so no connection keeps a log of its queries and no development-only path is on.
Their environment sets DJANGO_DEBUG=true only to be lent the development secrets."""

from summarybot.settings import *  # noqa: F403

DEBUG = False
DASHBOARD_DEV_LOGIN = False
