"""The manager screens of the knowledge app: the document library (and its rows alone,
for the page to swap in) and the page viewer.

The original file is a download for every role, like the page images that citations
show: crew follow citations to the source. A user with no role gets neither.
"""

import mimetypes

from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from knowledge import services
from knowledge.ingest.detect import KIND_NAMES, MB, NAME_KINDS, SIZE_LIMITS
from knowledge.models import Chunk, Document, Page
from knowledge.schemas import page_image_urls
from lineled.auth import role_required
from lineled.roles import Role


@require_GET
@role_required(Role.MANAGER)
def library(request):
    context = {
        "documents": services.library(),
        "accept": ",".join(NAME_KINDS),
        "limits_mb": {kind: limit // MB for kind, limit in SIZE_LIMITS.items()},
        "largest_upload": max(SIZE_LIMITS.values()),
        "upload_limits": {
            ext: {"bytes": SIZE_LIMITS[kind], "what": KIND_NAMES[kind]}
            for ext, kind in NAME_KINDS.items()
        },
    }
    return render(request, "knowledge/library.html", context)


@never_cache
@require_GET
@role_required(Role.MANAGER)
def library_rows(request):
    """The library's rows of the documents named by ``?id=`` (one or more), rendered as
    the page renders them, for the page to swap in (htmx, library.js): a row asks again
    while its document is being ingested, and after an action changed it. A document
    deleted since has no row, so its row goes."""
    ids = request.GET.getlist("id")
    if not ids or not all(value.isdigit() for value in ids):
        return HttpResponseBadRequest("?id= must name documents by number")
    documents = services.library([int(value) for value in ids])
    return render(request, "knowledge/_document_rows.html", {"documents": documents})


@require_GET
@role_required(Role.MANAGER)
def document(request, document_id: int):
    get_object_or_404(Document, pk=document_id)
    return redirect("knowledge:page", document_id=document_id, number=1)


@require_GET
@role_required(Role.CREW)
def original(request, document_id: int):
    document = get_object_or_404(Document, pk=document_id)
    try:
        handle = document.original.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("The original file is missing.") from None
    content_type = mimetypes.guess_type(document.filename)[0] or "application/octet-stream"
    return FileResponse(
        handle, as_attachment=True, filename=document.filename, content_type=content_type
    )


@require_GET
@role_required(Role.MANAGER)
def page(request, document_id: int, number: int):
    """One page with the passages on it; ``?chunk=<id>`` selects (highlights) one.

    A document with no pages yet (queued, processing or failed) shows its status on
    page 1 instead of a 404, since that is where the library links to.
    """
    doc = get_object_or_404(Document.objects.select_related("uploaded_by"), pk=document_id)
    current = Page.objects.filter(document=doc, number=number).first()
    if current is None and (number != 1 or doc.pages.exists()):
        raise Http404(f"{doc.title} has no page {number}.")
    chunks = list(Chunk.objects.filter(document=doc, first_page__lte=number, last_page__gte=number))
    selected = _selected_chunk(request, chunks)
    page_count = doc.pages.count() if current else 0
    context = {
        "document": doc,
        "page": current,
        "number": number,
        "page_count": page_count,
        "previous": number - 1 if number > 1 else None,
        "next": number + 1 if number < page_count else None,
        "chunks": chunks,
        "selected": selected,
        "image": page_image_urls(doc.pk, number, selected.pk if selected else None),
    }
    return render(request, "knowledge/page.html", context)


def _selected_chunk(request, chunks: list[Chunk]) -> Chunk | None:
    wanted = request.GET.get("chunk", "")
    return next((c for c in chunks if str(c.pk) == wanted), None)
