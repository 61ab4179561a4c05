"""Adding, ingesting and deleting documents.

Ingestion runs in two phases so that nothing is ever half-indexed: first the file is
parsed and its page images written (progress is visible as pages_done), then pages
and chunks replace the old ones in one transaction. A failure marks the document
failed with a readable reason, removes what the attempt wrote and keeps the original.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from knowledge import citations, ragie, safety
from knowledge.ingest import chunking, pdf, textdocs
from knowledge.ingest.blocks import Block
from knowledge.ingest.detect import Rejected, detect
from knowledge.models import Chunk, Document, Page
from knowledge.search import schema
from knowledge.signals import knowledge_changed

logger = logging.getLogger(__name__)

# Raised whenever parsing or chunking changes what a document becomes, so documents
# ingested by older rules can be found and ingested again (load_demo does it for the
# demo manuals). 2: headers by position, bold by font name, chunk context. 3: a PDF
# table is one block, a row a line, cells between " | ". 4: a table stays with its caption.
INGEST_VERSION = 4


def add_document(*, filename: str, data: bytes, title: str = "", uploaded_by=None, caption=""):
    """Store an upload as a queued document; the same bytes twice give the same document.

    Returns (document, created). Raises Rejected for files we cannot read.
    """
    found = detect(filename, data)
    if found.kind == Document.Kind.PDF:
        pdf.open_pdf(data).close()  # damaged or locked: refused now, not at ingestion
    checksum = hashlib.sha256(data).hexdigest()
    existing = Document.objects.filter(checksum=checksum).first()
    if existing:
        return existing, False
    name = PurePath(filename).name
    if not title and found.kind == Document.Kind.PDF:
        title = pdf.metadata_title(data)
    document = Document(
        title=(title or PurePath(name).stem.replace("_", " ").replace("-", " ")).strip()[:300],
        filename=name[:255],
        checksum=checksum,
        kind=found.kind,
        size=len(data),
        caption=caption,
        uploaded_by=uploaded_by,
    )
    document.original.save(name, ContentFile(data), save=False)
    try:
        document.save()
    except Exception:
        default_storage.delete(document.original.name)
        raise
    return document, True


def stuck_after():
    """How long a document may sit in "processing" without progress before its worker
    is presumed dead (no task runs longer than CELERY_TASK_TIME_LIMIT)."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def is_busy(document: Document) -> bool:
    """Being ingested right now (processing, and not stuck)."""
    return (
        document.status == Document.Status.PROCESSING
        and document.updated_at >= timezone.now() - stuck_after()
    )


def requeue(document: Document) -> None:
    Document.objects.filter(pk=document.pk).update(status=Document.Status.QUEUED, error="")
    document.refresh_from_db()


def ingest(document_id: int) -> Document:
    """Parse, render and index one document. Safe to call again (re-ingest)."""
    now = timezone.now()
    claimed = (
        Document.objects.filter(pk=document_id)
        .filter(~Q(status=Document.Status.PROCESSING) | Q(updated_at__lt=now - stuck_after()))
        .update(status=Document.Status.PROCESSING, pages_done=0, error="", updated_at=now)
    )
    document = Document.objects.get(pk=document_id)
    if not claimed:
        return document  # someone else is on it
    written: list[str] = []
    try:
        pages, drafts = _parse(document, written)
        with transaction.atomic():
            replaced = _replace_index(document, pages, drafts)
        # The old page images go only now: a failed re-ingest leaves them all in place.
        for name in replaced - set(written):
            default_storage.delete(name)
        citations.clear_cache(document_id)
        schema.analyze(connections[Document.objects.db])  # PostgreSQL only
        ragie.schedule_upload(document_id)  # no-op without RAGIE_API_KEY
        _schedule_embedding(document_id)
    except Exception as exc:
        for name in written:
            default_storage.delete(name)
        reason = str(exc) if isinstance(exc, Rejected) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, Rejected):
            logger.exception("ingesting document %s failed", document_id)
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.FAILED, error=reason[:2000], updated_at=timezone.now()
        )
    document.refresh_from_db()
    if document.status == Document.Status.READY:
        knowledge_changed.send(sender=Document, document_id=document_id)
    return document


def _schedule_embedding(document_id: int) -> None:
    """The chunks' embeddings follow in a task of their own: search works meanwhile, by
    words only. A broker that cannot take the task leaves it to the periodic sweep."""
    from knowledge import tasks

    try:
        tasks.embed_document.delay_on_commit(document_id)
    except Exception:
        logger.warning("could not queue the embeddings of document %s", document_id, exc_info=True)


def _parse(document: Document, written: list[str]):
    with document.original.open("rb") as handle:
        data = handle.read()
    if document.kind == Document.Kind.PDF:
        return _parse_pdf(document, data, written)
    if document.kind == Document.Kind.IMAGE:
        return _parse_image(document, data, written)
    if document.kind == Document.Kind.DOCX:
        blocks = textdocs.docx_blocks(data)
    elif document.kind == Document.Kind.MARKDOWN:
        blocks = textdocs.markdown_blocks(textdocs.decode(data))
    else:
        blocks = textdocs.text_blocks(textdocs.decode(data))
    if not blocks:
        raise Rejected("the document has no text")
    text = "\n\n".join(b.text for b in blocks)
    _set_progress(document, 1, 1)
    return [Page(number=1, text=text)], chunking.chunk(blocks)


def _parse_pdf(document: Document, data: bytes, written: list[str]):
    source = pdf.open_pdf(data)
    total = len(source)
    _set_progress(document, 0, total)
    parsed = pdf.read_pages(source)
    if not any(p.text.strip() for p in parsed):
        raise Rejected("the PDF has no text layer (a scan?); upload a text PDF")
    pages, sizes = [], {}
    # Each attempt writes under a folder of its own, so a re-ingest never overwrites
    # the images the current pages (and cached citations) point at.
    folder = f"pages/{document.pk}/{uuid.uuid4().hex[:12]}"
    for page in parsed:
        image, thumb = pdf.render(source, page.number - 1)
        image_name = _save(f"{folder}/{page.number}.png", image, written)
        thumb_name = _save(f"{folder}/{page.number}-thumb.png", thumb, written)
        pages.append(
            Page(
                number=page.number,
                text=page.text,
                image=image_name,
                thumbnail=thumb_name,
                width=page.width,
                height=page.height,
            )
        )
        sizes[page.number] = (page.width, page.height)
        _set_progress(document, page.number, total)
    drafts = chunking.chunk(pdf.blocks(parsed))
    for draft in drafts:
        draft.boxes = pdf.page_boxes(source, draft.spans, sizes)
    return pages, drafts


def _parse_image(document: Document, data: bytes, written: list[str]):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
    except (UnidentifiedImageError, OSError):
        raise Rejected("the image is damaged") from None
    page = Page(
        number=1, text=document.caption, image=document.original.name, width=width, height=height
    )
    _set_progress(document, 1, 1)
    caption = document.caption.strip()
    drafts = []
    if caption:
        drafts = chunking.chunk([Block("para", caption, 1)])
    return [page], drafts


def _save(name: str, data: bytes, written: list[str]) -> str:
    saved = default_storage.save(name, ContentFile(data))
    written.append(saved)
    return saved


def _set_progress(document: Document, done: int, total: int) -> None:
    Document.objects.filter(pk=document.pk).update(
        pages_done=done, page_count=total, updated_at=timezone.now()
    )


def _replace_index(document: Document, pages: list[Page], drafts) -> set[str]:
    """Swap in the new pages and chunks; the names of the files the old pages used."""
    old_files = {
        name
        for pair in document.pages.values_list("image", "thumbnail")
        for name in pair
        if name and name != document.original.name
    }
    document.pages.all().delete()
    document.chunks.all().delete()
    for page in pages:
        page.document = document
    Page.objects.bulk_create(pages)
    Chunk.objects.bulk_create(
        Chunk(
            document=document,
            order=i,
            heading=" › ".join(d.heading)[:1000],
            text=d.text,
            context=document.title[:300],
            first_page=d.first_page or 1,
            last_page=d.last_page or d.first_page or 1,
            boxes=getattr(d, "boxes", {}),
        )
        for i, d in enumerate(drafts)
    )
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.READY,
        page_count=len(pages),
        pages_done=len(pages),
        chunk_count=len(drafts),
        ingested_at=timezone.now(),
        ingest_version=INGEST_VERSION,
        error="",
        warnings=_instruction_warnings(pages, drafts),
    )
    return old_files


_LIST_MARK = re.compile(r"^[•▪◦‣∙·*+\-–]\s+")


def _instruction_warnings(pages: list[Page], drafts) -> list[dict]:
    """Sentences of the chunks (and their headings) written to an AI assistant, each
    with the page it is on: what the library warns managers of."""
    found: list[tuple[str, int]] = []
    seen_headings: set[str] = set()
    flat = {page.number: " ".join(page.text.split()) for page in pages}
    for draft in drafts:
        headings = [h for h in draft.heading if h not in seen_headings]
        seen_headings.update(headings)
        for sentence in safety.flagged_sentences("\n".join([*headings, draft.text])):
            sentence = _LIST_MARK.sub("", sentence)
            found.append((sentence, _page_of(sentence, draft, flat)))
    return safety.warnings_from(found)


def _page_of(sentence: str, draft, flat: dict[int, str]) -> int:
    """The page a sentence of a chunk is on: the first of the chunk's pages whose text
    has its opening words (a chunk may run over a page break)."""
    first = draft.first_page or 1
    opening = " ".join(sentence.split()[:6])
    for number in range(first, max(draft.last_page, first) + 1):
        if opening in flat.get(number, ""):
            return number
    return first


def delete_document(document: Document) -> None:
    """Delete the document, its pages and chunks, and every file it owns."""
    names = [document.original.name]
    for page in document.pages.all():
        names += [page.image.name, page.thumbnail.name]
    document_id = document.pk
    with transaction.atomic():
        document.delete()
        ragie.schedule_delete(document.ragie_id)  # no-op without RAGIE_API_KEY
    for name in {n for n in names if n}:
        default_storage.delete(name)
    citations.clear_cache(document_id)
    knowledge_changed.send(sender=Document, document_id=document_id)
