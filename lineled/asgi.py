"""ASGI entry point: HTTP through Django, websockets through Channels.

Request bodies over the caller's limit are refused before Django reads them
(lineled.edge.BodyLimit). Websockets only open from a page of the same origin
(scheme, host and port; lineled.edge.SameOriginValidator), at most a few at once per
sign-in (lineled.edge.SocketCap), and carry the Django session, so a consumer sees
``scope["user"]``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lineled.settings")
django_asgi_app = get_asgi_application()  # before importing consumers: it sets up Django

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from knowledge import vectors  # noqa: E402
from lineled.edge import BodyLimit, SameOriginValidator, SocketCap  # noqa: E402
from lineled.routing import websocket_urlpatterns  # noqa: E402

vectors.preload()  # the first question searches at once, like the recogniser (voice.stt)

application = ProtocolTypeRouter(
    {
        "http": BodyLimit(django_asgi_app),
        "websocket": SameOriginValidator(
            SocketCap(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
