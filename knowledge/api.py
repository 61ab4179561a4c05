"""Knowledge endpoints: the document library (managers write, every role reads) and
search. A signed-in user with no role reads nothing."""

from pathlib import PurePath

from django.urls import reverse
from ninja import File, Form, Query, Router, UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from knowledge import services
from knowledge.ingest.detect import KIND_NAMES, MB, NAME_KINDS, SIZE_LIMITS, Rejected
from knowledge.models import Chunk, Document, Page
from knowledge.schemas import (
    DocumentFilters,
    DocumentOut,
    DocumentPatch,
    PageOut,
    SearchOut,
    UploadOut,
    page_image_urls,
)
from knowledge.search import MAX_TOP_K
from knowledge.search import search as find_passages
from lineled.auth import require_role
from lineled.errors import DomainError, Invalid, NotFound
from lineled.roles import Role
from lineled.schemas import ErrorOut

router = Router(tags=["knowledge"])

LARGEST_UPLOAD = max(SIZE_LIMITS.values())
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}  # of the manager-only endpoints


class TooLarge(DomainError):
    status = 413


def _reader(request) -> None:
    """Reading the knowledge base takes a role, as chat does."""
    require_role(request, Role.CREW)


def _document(document_id: int) -> Document:
    document = Document.objects.select_related("uploaded_by").filter(pk=document_id).first()
    if document is None:
        raise NotFound(f"no document with id {document_id}")
    return document


def _read_upload(file: UploadedFile | None) -> bytes:
    """The uploaded bytes, once the size is known to be within the kind's limit."""
    if file is None:
        raise Invalid("no file was sent; choose a file to upload in the `file` field")
    name = PurePath(file.name or "").name or "the file"
    if not file.size:
        raise Invalid(f"{name} is empty")
    kind = NAME_KINDS.get(PurePath(name).suffix.lower())
    limit = SIZE_LIMITS.get(kind, LARGEST_UPLOAD)
    if file.size > limit:
        what = KIND_NAMES.get(kind, "a file")
        raise TooLarge(f"{name} is {file.size / MB:.1f} MB; {what} may be at most {limit // MB} MB")
    return file.read()


@router.get(
    "/documents",
    response={200: list[DocumentOut], 403: ErrorOut},
    summary="The library's documents",
)
@paginate(LimitOffsetPagination, max_limit=200)
def list_documents(request, filters: Query[DocumentFilters]):
    """Every document, by title; filter by status, kind or words in the title."""
    _reader(request)
    documents = Document.objects.select_related("uploaded_by")
    if filters.status:
        documents = documents.filter(status=filters.status)
    if filters.kind:
        documents = documents.filter(kind=filters.kind)
    if filters.q.strip():
        documents = documents.filter(title__icontains=filters.q.strip())
    return documents


@router.post(
    "/documents",
    response={200: UploadOut, 201: UploadOut, 413: ErrorOut, **ERRORS},
    summary="Upload a document (manager)",
)
def upload_document(
    request,
    file: UploadedFile | None = File(None, description="PDF, DOCX, Markdown, text, PNG or JPEG."),
    title: str = Form("", max_length=300, description="Defaults to the file name."),
    caption: str = Form("", max_length=5000, description="For images: what the picture shows."),
):
    """201 and a queued document for a new file; 200 with ``duplicate`` for known bytes."""
    require_role(request, Role.MANAGER)
    data = _read_upload(file)
    try:
        document, created = services.upload(
            filename=file.name,
            data=data,
            title=title.strip(),
            uploaded_by=request.auth,
            caption=caption.strip(),
        )
    except Rejected as exc:
        raise Invalid(str(exc)) from None
    document.duplicate = not created
    return Status(201 if created else 200, document)


@router.get(
    "/documents/{document_id}",
    response={200: DocumentOut, 403: ErrorOut, 404: ErrorOut},
    summary="A document",
)
def get_document(request, document_id: int):
    _reader(request)
    return _document(document_id)


@router.patch(
    "/documents/{document_id}",
    response={200: DocumentOut, 409: ErrorOut, **ERRORS},
    summary="Rename or re-caption a document (manager)",
)
def update_document(request, document_id: int, changes: DocumentPatch):
    """A new caption on an image re-ingests it, so search finds the new words."""
    require_role(request, Role.MANAGER)
    return services.change(_document(document_id), title=changes.title, caption=changes.caption)


@router.delete(
    "/documents/{document_id}",
    response={204: None, **ERRORS},
    summary="Delete a document and its files (manager)",
)
def delete_document(request, document_id: int):
    require_role(request, Role.MANAGER)
    services.delete_document(_document(document_id))
    return Status(204, None)


@router.post(
    "/documents/{document_id}/reingest",
    response={202: DocumentOut, 409: ErrorOut, **ERRORS},
    summary="Ingest a document again (manager)",
)
def reingest_document(request, document_id: int):
    require_role(request, Role.MANAGER)
    return Status(202, services.reingest(_document(document_id)))


@router.get(
    "/documents/{document_id}/pages/{number}",
    response={200: PageOut, 403: ErrorOut, 404: ErrorOut},
    summary="One page: its text, image and the passages on it",
)
def get_page(request, document_id: int, number: int):
    _reader(request)
    page = Page.objects.select_related("document").filter(document=document_id, number=number)
    page = page.first()
    if page is None:
        document = _document(document_id)
        raise NotFound(f"{document.title} has no page {number}")
    chunks = Chunk.objects.filter(
        document=document_id, first_page__lte=number, last_page__gte=number
    ).order_by("order")
    return {
        "document_id": document_id,
        "number": page.number,
        "page_count": page.document.page_count,
        "text": page.text,
        "width": page.width,
        "height": page.height,
        **page_image_urls(document_id, number),
        "chunks": list(chunks),
    }


@router.get(
    "/search",
    response={200: SearchOut, 400: ErrorOut, 403: ErrorOut},
    summary="Passages that answer a query",
)
def search(
    request,
    q: str = Query(..., max_length=500, description="What to look for, in plain words."),
    top_k: int = Query(5, description=f"How many passages, 1 to {MAX_TOP_K}."),
):
    """The best passages of ready documents, best first, with page images to cite."""
    _reader(request)
    try:
        passages = find_passages(q, top_k=top_k)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    results = []
    for passage in passages:
        first = passage.pages[0] if passage.pages else 1
        viewer = reverse("knowledge:page", args=[passage.document_id, first])
        results.append(
            {
                **passage.as_json(),
                "url": f"{viewer}?chunk={passage.chunk_id}",
                **page_image_urls(passage.document_id, first, passage.chunk_id),
            }
        )
    return {"query": q, "results": results}
