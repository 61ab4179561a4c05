"""Page images behind visual citations, for every role (signed in, or by API token).

``?chunk=<id>`` highlights that passage; it must belong to the document and cover the
page (else 404; a non-number is a 400). Responses carry an ETag and Last-Modified and
answer 304 when the browser already has them.
"""

import re

from django.core.exceptions import BadRequest
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_safe

from knowledge import citations
from lineled.auth import role_or_token_required
from lineled.roles import Role

CACHE_SECONDS = 15 * 60  # then the browser revalidates with the ETag
CHUNK_ID = re.compile(r"[0-9]{1,18}")


def _target(request, document_id: int, number: int, thumbnail: bool) -> citations.PageImage:
    """The requested page image, looked up once per request (the ETag needs it too)."""
    if not hasattr(request, "_page_image"):
        raw = request.GET.get("chunk")
        if raw is not None and not CHUNK_ID.fullmatch(raw):
            raise BadRequest("chunk must be a passage id")
        chunk_id = int(raw) if raw is not None else None
        request._page_image = citations.get_page_image(
            document_id, number, chunk_id, thumbnail=thumbnail
        )
    return request._page_image


def _serves(thumbnail: bool):
    """Decorators shared by both views: GET/HEAD, a role (signed in or by bearer token),
    private and conditional."""

    def etag(request, document_id, number):
        return _target(request, document_id, number, thumbnail).etag

    def last_modified(request, document_id, number):
        return _target(request, document_id, number, thumbnail).last_modified

    def decorate(view):
        view = condition(etag_func=etag, last_modified_func=last_modified)(view)
        view = cache_control(private=True, max_age=CACHE_SECONDS)(view)
        return require_safe(role_or_token_required(Role.CREW)(view))

    return decorate


@_serves(thumbnail=False)
def page_image(request, document_id: int, number: int):
    return _target(request, document_id, number, False).response()


@_serves(thumbnail=True)
def page_thumbnail(request, document_id: int, number: int):
    return _target(request, document_id, number, True).response()
