"""ASGI entry point: HTTP through Django, websockets through Channels (live job progress)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "summarybot.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

# Under ASGI each request runs its sync code in a thread of its own (asgiref's ThreadSensitiveContext), so a
# connection kept for reuse is never reused: every request left one open until its thread was collected,
# and a busy web process ran PostgreSQL out of connections ("too many clients"). Django's documentation
# says to disable persistent connections under ASGI; the worker and the bot are sync processes and keep theirs.
for _database in settings.DATABASES.values():
    _database["CONN_MAX_AGE"] = 0

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up first)
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from summarybot.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
