"""The REST API: one NinjaAPI, each app's Router mounted once, errors as JSON.

Every error answers ``{"message": "..."}`` (validation errors add ``errors``),
whatever raised it: a domain error from a service, an auth failure, bad input.
"""

import json
import logging
import math

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI, Swagger
from ninja.errors import HttpError, Throttled, ValidationError
from ninja.parser import Parser

from chat.api import router as chat_router
from knowledge.api import router as knowledge_router
from lineled.admission import Busy, UserRate
from lineled.auth import API_AUTH
from lineled.errors import DomainError
from lineled.lib.text import lone_surrogate
from lineled.system_api import router as system_router
from monitoring.api import router as monitoring_router
from validation.api import router as validation_router
from voice.api import router as voice_router

logger = logging.getLogger(__name__)


class JSONParser(Parser):
    """JSON bodies whose text can be stored: a lone surrogate ("\\ud800") is refused
    here, as bad JSON is, rather than failing in the database."""

    def parse_body(self, request):
        data = json.loads(request.body)
        if (found := lone_surrogate(data)) is not None:
            raise ValueError(f"{found} is a lone surrogate, not a character; send valid Unicode")
        return data


class ApiDocs(Swagger):
    """Swagger UI in a page of our own (``templates/lineled/api_docs.html``): ninja's has no
    viewport meta, so phones drew it 980 px wide; ours also fits its tables to a phone
    and links back to the app."""

    template = "lineled/api_docs.html"


api = NinjaAPI(
    title="Line Lead API",
    version="1",
    description=(
        "Authenticate with the browser session (send the CSRF token on writes) or "
        "with a personal token: `Authorization: Bearer ll_...`. Requests are limited "
        "per user (and per address when not signed in), questions and answers being "
        "written more tightly: over a limit the answer is 429 at once, with "
        "`Retry-After` in seconds."
    ),
    auth=API_AUTH,
    # Every request of a user counts; some operations add a rate of their own.
    throttle=[UserRate("RATE_API_USER")],
    docs=ApiDocs(),
    docs_decorator=login_required,
    urls_namespace="api",
    parser=JSONParser(),
)

api.add_router("/", system_router)
api.add_router("/knowledge/", knowledge_router)
api.add_router("/chat/", chat_router)
api.add_router("/voice/", voice_router)
api.add_router("/monitoring/", monitoring_router)
api.add_router("/validation/", validation_router)


def _error(request, status: int, message: str, **extra):
    return api.create_response(request, {"message": message, **extra}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    response = _error(request, exc.status, exc.message)
    if isinstance(exc, Busy):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(Throttled)
def on_throttled(request, exc: Throttled):
    wait = max(1, math.ceil(exc.wait)) if exc.wait else None
    later = f"try again in {wait} s" if wait else "try again later"
    response = _error(request, 429, f"too many requests: {later}")
    if wait:
        response["Retry-After"] = str(wait)
    return response


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    messages = {401: "authentication required: sign in or send a valid bearer token"}
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):  # Ninja's parse error
        messages[400] = f"the request body could not be read as JSON: {exc.__cause__}"
    return _error(request, exc.status_code, messages.get(exc.status_code, str(exc)))


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    # Only reached where lineled.edge.BodyLimit does not run first (a WSGI server, tests).
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return _error(request, 413, f"the request body is over {limit:.1f} MB, the most accepted")


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = f"invalid input: {where + ': ' if where else ''}{first.get('msg', 'bad value')}"
    return _error(request, 422, message, errors=exc.errors)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, str(exc) or "not found")


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    logger.exception("unhandled API error on %s %s", request.method, request.path)
    return _error(request, 500, "internal error; it has been logged")
