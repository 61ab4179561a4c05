"""Adding, ingesting, changing and deleting documents: the knowledge app's one door for
what changes state, and for the library as its screen lists it. The API, the admin,
commands, views and tasks call these; whatever is to run in a worker is enqueued here,
with ``delay_on_commit``.

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections, transaction
from django.utils import timezone

from knowledge import citations, ragie, recovery, safety, tasks
from knowledge.ingest import chunking, limits, pdf, textdocs, typeset
from knowledge.ingest.blocks import Block
from knowledge.ingest.detect import Rejected, detect
from knowledge.ingest.limits import Deadline, Limits
from knowledge.models import Chunk, Document, Page, SearchEvent
from knowledge.search import schema
from knowledge.signals import knowledge_changed
from lineled.errors import Conflict, Invalid
from lineled.lib import process

logger = logging.getLogger(__name__)

# Raised whenever parsing or chunking changes what a document becomes, so documents
# ingested by older rules can be found and ingested again (load_demo does it for the
# demo manuals). 2: headers by position, bold by font name, chunk context. 3: a PDF
# table is one block, a row a line, cells between " | ". 4: a table stays with its caption.
# 5: text, Markdown and Word documents are typeset into page images at ingestion.
# 6: a line opening with a three-digit number in parentheses is not a list item.
INGEST_VERSION = 6
READ_CHECK_EVERY = 50  # PDF pages whose text is read between two looks at the clock


def library(ids: Iterable[int] | None = None) -> list[Document]:
    """The library's documents by title with who uploaded them, or those of ``ids`` that
    are still there. Each carries ``listed_warnings`` and ``warnings_found``, as the API's
    DocumentOut does, for the row that shows them."""
    documents = Document.objects.select_related("uploaded_by")
    if ids is not None:
        documents = documents.filter(pk__in=ids)
    documents = list(documents)
    for document in documents:
        document.listed_warnings = safety.listed(document.warnings)
        document.warnings_found = safety.found_count(document.warnings)
    return documents


def add_document(*, filename: str, data: bytes, title: str = "", uploaded_by=None, caption=""):
    """Store an upload as a queued document; the same bytes twice give the same document.

    Returns (document, created). Raises Rejected for files we cannot read.
    """
    found = detect(filename, data)
    bounds = Limits.current()  # what is over a limit is refused now, not at ingestion
    if found.kind == Document.Kind.PDF:
        source = pdf.open_pdf(data)  # damaged or locked: refused now too
        try:
            limits.check_pdf(source, bounds)
        finally:
            source.close()
    elif found.kind == Document.Kind.DOCX:
        limits.check_zip(data, bounds)
    checksum = hashlib.sha256(data).hexdigest()
    existing = Document.objects.filter(checksum=checksum).first()
    if existing:
        return existing, False
    name = PurePath(filename).name
    if not title and found.kind == Document.Kind.PDF:
        title = pdf.metadata_title(data)
    elif not title and found.kind == Document.Kind.MARKDOWN:
        title = textdocs.markdown_title(data)
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


def upload(*, filename: str, data: bytes, title: str = "", uploaded_by=None, caption=""):
    """``add_document``, and a new document ingested by a worker after the commit."""
    document, created = add_document(
        filename=filename, data=data, title=title, uploaded_by=uploaded_by, caption=caption
    )
    if created:
        ingest_later(document)
    return document, created


def ingest_later(document: Document) -> None:
    """Have a worker ingest the document once the current transaction commits."""
    tasks.ingest_document.delay_on_commit(document.pk)


def is_busy(document: Document) -> bool:
    """Being ingested right now (processing, by a process that may still run)."""
    return document.status == Document.Status.PROCESSING and recovery.may_be_running(document)


def requeue(document: Document) -> None:
    Document.objects.filter(pk=document.pk).update(status=Document.Status.QUEUED, error="")
    document.refresh_from_db()


def reingest(document: Document) -> Document:
    """Queue the document to be ingested again. Conflict while a live run has it."""
    if is_busy(document):
        raise Conflict(f"{document.title} is being ingested right now; try again when it is done")
    requeue(document)
    ingest_later(document)
    return document


def change(document: Document, *, title: str | None = None, caption: str | None = None):
    """Rename or re-caption the document (None leaves a field alone). A new caption on
    an image ingests it again, so search finds the new words: Conflict while a live
    run has it."""
    fields = []
    if title is not None:
        if not title.strip():
            raise Invalid("the title cannot be blank")
        document.title = title.strip()
        fields.append("title")
    recaption = False
    if caption is not None and caption.strip() != document.caption:
        recaption = document.kind == Document.Kind.IMAGE
        if recaption and is_busy(document):
            raise Conflict(f"{document.title} is being ingested; change the caption when done")
        document.caption = caption.strip()
        fields.append("caption")
    if fields:
        document.save(update_fields=[*fields, "updated_at"])
    if recaption:
        requeue(document)
        ingest_later(document)
    return document


def queue_pages_without_images(limit: int = 5) -> list[int]:
    """Queue for ingestion, a few at a time, the ready documents with a page that has no
    image (text documents ingested before they were typeset at ingestion): a citation of
    such a page has no image until then. The ids queued."""
    pending = list(
        Document.objects.ready()
        .filter(pages__image="")
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")[:limit]
    )
    for document_id in pending:
        Document.objects.filter(pk=document_id).update(status=Document.Status.QUEUED)
        tasks.ingest_document.delay_on_commit(document_id)
    return pending


class _Superseded(Exception):
    """Another run claimed the document meanwhile (this one was presumed dead)."""


@dataclass
class _Run:
    """One ingestion attempt: where its files go and what bounds it."""

    document: Document
    id: str
    limits: Limits
    deadline: Deadline
    written: list[str] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return f"{recovery.pages_folder(self.document.pk)}/{self.id}"


def ingest(document_id: int) -> Document:
    """Parse, render and index one document, within the INGEST_* limits. Safe to call
    again (re-ingest), also after a run that died: its partial files are removed."""
    run_id = _claim(document_id)
    document = Document.objects.get(pk=document_id)
    if run_id is None:
        return document  # a live process is on it
    limits = Limits.current()
    run = _Run(document, run_id, limits, Deadline(limits.seconds))
    try:
        pages, drafts = _parse(run)
        with transaction.atomic():
            replaced = _replace_index(run, pages, drafts)
    except Exception as exc:
        for name in run.written:
            default_storage.delete(name)
        if not isinstance(exc, _Superseded):
            _record_failure(run, exc)
    else:
        # The old page images go only now: a failed re-ingest leaves them all in place.
        _tidy(document_id, replaced - set(run.written))
    document.refresh_from_db()
    if document.status == Document.Status.READY:
        knowledge_changed.send(sender=Document, document_id=document_id)
    return document


def _tidy(document_id: int, stale: set[str]) -> None:
    """The housekeeping after a new index went live. Each step that fails is logged and
    skipped: the document is ready and its new pages are in use, so nothing here may
    undo them or mark it failed (a leftover old image or a missed ANALYZE is harmless;
    the periodic sweeps queue the embeddings and uploads again)."""
    steps = [
        ("delete the old page images", lambda: [default_storage.delete(n) for n in stale]),
        ("clear its cached citation images", lambda: citations.clear_cache(document_id)),
        (
            "refresh the planner's statistics",
            lambda: schema.analyze(connections[Document.objects.db]),
        ),
        ("queue the Ragie upload", lambda: _upload_to_ragie(document_id)),
        # Search works by words meanwhile; embed_outdated catches a broker that said no.
        ("queue its embeddings", lambda: tasks.embed_document.delay_on_commit(document_id)),
    ]
    for what, step in steps:
        try:
            step()
        except Exception:
            logger.warning(
                "document %s is ready, but could not %s", document_id, what, exc_info=True
            )


def _claim(document_id: int) -> str | None:
    """Take the document for a new run unless a live one has it; the new run's id."""
    document = Document.objects.get(pk=document_id)
    if document.status == Document.Status.PROCESSING and recovery.may_be_running(document):
        return None
    run, now = uuid.uuid4().hex[:12], timezone.now()
    claimed = Document.objects.filter(
        pk=document_id, status=document.status, ingest_run=document.ingest_run
    ).update(
        status=Document.Status.PROCESSING,
        pages_done=0,
        error="",
        updated_at=now,
        ingest_run=run,
        ingest_process=process.identity(),
        ingest_started_at=now,
    )
    if not claimed:
        return None  # another process claimed it between our read and our write
    recovery.remove_unused_pages(document_id, keep=run)  # what a run that died had written
    return run


def _record_failure(run: _Run, exc: Exception) -> None:
    if isinstance(exc, SoftTimeLimitExceeded):
        reason = f"reading the file took longer than {settings.INGEST_SOFT_TIME_LIMIT} s "
        reason += "and was stopped; split it into smaller documents"
    elif isinstance(exc, Rejected):
        reason = str(exc)
    else:
        reason = f"{type(exc).__name__}: {exc}"
        logger.exception("ingesting document %s failed", run.document.pk)
    Document.objects.filter(pk=run.document.pk, ingest_run=run.id).update(
        status=Document.Status.FAILED, error=reason[:2000], updated_at=timezone.now()
    )


def _upload_to_ragie(document_id: int) -> None:
    if ragie.enabled():
        tasks.ragie_upload_document.delay_on_commit(document_id)


def _parse(run: _Run):
    document = run.document
    with document.original.open("rb") as handle:
        data = handle.read()
    if document.kind == Document.Kind.PDF:
        return _parse_pdf(run, data)
    if document.kind == Document.Kind.IMAGE:
        return _parse_image(document, data)
    if document.kind == Document.Kind.DOCX:
        blocks = textdocs.docx_blocks(data, run.limits, run.deadline.check)
    elif document.kind == Document.Kind.MARKDOWN:
        blocks = textdocs.markdown_blocks(textdocs.decode(data))
    else:
        blocks = textdocs.text_blocks(textdocs.decode(data))
    if not blocks:
        raise Rejected("the document has no text")
    limits.check_paragraphs(len(blocks), run.limits)
    return _typeset(run, blocks)


def _typeset(run: _Run, blocks: list[Block]):
    """Pages of a text-only document: its text typeset on sheets, each stored as an
    image like a PDF page, and its chunks' passages as boxes on them."""
    text = "\n\n".join(b.text for b in blocks)
    headings = {b.text for b in blocks if b.kind == "heading"}
    layout = typeset.Layout(text, title=run.document.title, headings=headings)
    total = len(layout.sheets)
    if total > run.limits.pages:
        raise Rejected(
            f"the document makes {total:,} pages; at most {run.limits.pages:,} are made: "
            "split it into smaller documents"
        )
    _set_progress(run.document, 0, total)
    pages = []
    for sheet in layout.sheets:
        image, thumb = typeset.pngs(layout.draw(sheet))
        pages.append(
            _stored_page(run, sheet.number, sheet.text, (image, thumb), typeset.SHEET_POINTS)
        )
        _set_progress(run.document, sheet.number, total)
        run.deadline.check()
    drafts = chunking.chunk(blocks)
    for draft, boxes in zip(drafts, layout.boxes([d.text for d in drafts]), strict=True):
        draft.boxes = boxes
        on = sorted(int(number) for number in boxes)
        draft.first_page, draft.last_page = (on[0], on[-1]) if on else (1, 1)
    return pages, drafts


def _parse_pdf(run: _Run, data: bytes):
    source = pdf.open_pdf(data)
    limits.check_pdf(source, run.limits)
    total = len(source)
    _set_progress(run.document, 0, total)
    parsed = []
    for index in range(total):
        parsed.append(pdf.read_page(source, index))
        if index % READ_CHECK_EVERY == READ_CHECK_EVERY - 1:
            run.deadline.check()
    if not any(p.text.strip() for p in parsed):
        raise Rejected("the PDF has no text layer (a scan?); upload a text PDF")
    pages, sizes = [], {}
    # Each run writes under a folder of its own, so a re-ingest never overwrites the
    # images the current pages (and cached citations) point at.
    for page in parsed:
        scale = limits.render_scale(page.width, page.height, pdf.RENDER_SCALE, run.limits)
        image, thumb = pdf.render(source, page.number - 1, scale)
        size = (page.width, page.height)
        pages.append(_stored_page(run, page.number, page.text, (image, thumb), size))
        sizes[page.number] = size
        _set_progress(run.document, page.number, total)
        run.deadline.check()
    drafts = chunking.chunk(pdf.blocks(parsed))
    for draft in drafts:
        draft.boxes = pdf.page_boxes(source, draft.spans, sizes)
    return pages, drafts


def _parse_image(document: Document, data: bytes):
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


def _stored_page(run: _Run, number: int, text: str, pngs: tuple[bytes, bytes], size) -> Page:
    """A page whose image and thumbnail (PNG bytes) are saved under this run's folder;
    ``size`` is its (width, height) in points."""
    image, thumb = pngs
    return Page(
        number=number,
        text=text,
        image=_save(run, f"{number}.png", image),
        thumbnail=_save(run, f"{number}-thumb.png", thumb),
        width=size[0],
        height=size[1],
    )


def _save(run: _Run, name: str, data: bytes) -> str:
    saved = default_storage.save(f"{run.folder}/{name}", ContentFile(data))
    run.written.append(saved)
    return saved


def _set_progress(document: Document, done: int, total: int) -> None:
    Document.objects.filter(pk=document.pk).update(
        pages_done=done, page_count=total, updated_at=timezone.now()
    )


def _replace_index(run: _Run, pages: list[Page], drafts) -> set[str]:
    """Swap in the new pages and chunks; the names of the files the old pages used."""
    document = run.document
    ready = Document.objects.filter(
        pk=document.pk, status=Document.Status.PROCESSING, ingest_run=run.id
    ).update(
        status=Document.Status.READY,
        page_count=len(pages),
        pages_done=len(pages),
        chunk_count=len(drafts),
        ingested_at=timezone.now(),
        ingest_version=INGEST_VERSION,
        error="",
        warnings=_instruction_warnings(pages, drafts),
    )
    if not ready:
        raise _Superseded
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
    """Delete the document, its pages and chunks, and every file it owns (the page
    images of runs that never finished included)."""
    names = [document.original.name]
    for page in document.pages.all():
        names += [page.image.name, page.thumbnail.name]
    document_id = document.pk
    with transaction.atomic():
        document.delete()
        if ragie.enabled() and document.ragie_id:
            tasks.ragie_delete_document.delay_on_commit(document.ragie_id)
    for name in {n for n in names if n}:
        default_storage.delete(name)
    recovery.remove_folder(recovery.pages_folder(document_id))
    citations.clear_cache(document_id)
    knowledge_changed.send(sender=Document, document_id=document_id)


def prune_search_events() -> int:
    """Forget the searches older than SEARCH_EVENT_DAYS (monitoring's record of search
    latency and outcomes); how many were deleted."""
    cutoff = timezone.now() - timedelta(days=settings.SEARCH_EVENT_DAYS)
    deleted, _ = SearchEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted
