"""Models of the knowledge app: documents, their pages, and the chunks search finds."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DocumentQuerySet(models.QuerySet):
    def ready(self):
        return self.filter(status=Document.Status.READY)


class Document(models.Model):
    """An uploaded manual, SOP or reference, and where its ingestion stands."""

    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        MARKDOWN = "markdown", "Markdown"
        TEXT = "text", "Plain text"
        DOCX = "docx", "Word (DOCX)"
        IMAGE = "image", "Image"

    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    title = models.CharField(max_length=300)
    original = models.FileField(upload_to="documents/%Y/%m/", max_length=500)
    filename = models.CharField(max_length=255, help_text="The name it was uploaded under.")
    checksum = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the file.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    size = models.PositiveBigIntegerField(default=0)
    caption = models.TextField(blank=True, help_text="For images: what the picture shows.")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    error = models.TextField(blank=True)
    page_count = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    ragie_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    ingested_at = models.DateTimeField(null=True, blank=True)
    ingest_version = models.PositiveSmallIntegerField(
        default=0,
        help_text="The ingestion rules it was last ingested with (services.INGEST_VERSION).",
    )
    vectors_done = models.PositiveIntegerField(
        default=0, help_text="Chunks whose embeddings are stored (knowledge.vectors)."
    )
    vectors_version = models.PositiveSmallIntegerField(
        default=0, help_text="The embedding model and units they were made with; 0: none yet."
    )
    ingest_run = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="The latest ingestion run to claim it; its page images are in pages/<id>/<run>/.",
    )
    ingest_process = models.CharField(
        max_length=200,
        blank=True,
        editable=False,
        help_text="The process running that ingestion (lineled.lib.process.identity).",
    )
    ingest_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    warnings = models.JSONField(
        default=list,
        blank=True,
        help_text="What ingestion found suspicious, e.g. text written to an AI assistant "
        "(never quoted in answers): a list of {kind, text, page}.",
    )

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Chunks are searched with their document's title: a renamed manual is found by
        # its new name at once (the search index follows the UPDATE by trigger).
        self.chunks.exclude(context=self.title[:300]).update(context=self.title[:300])

    @property
    def progress(self) -> float:
        """Share of pages done, 0..1 (1 once ready)."""
        if self.status == self.Status.READY:
            return 1.0
        return self.pages_done / self.page_count if self.page_count else 0.0


class Page(models.Model):
    """One page as shown in a citation: its text and its rendered image."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField(help_text="1-based.")
    text = models.TextField(blank=True)
    image = models.FileField(upload_to="pages/", max_length=500, blank=True)
    thumbnail = models.FileField(upload_to="pages/", max_length=500, blank=True)
    width = models.FloatField(default=0, help_text="Page width in PDF points (or pixels).")
    height = models.FloatField(default=0)

    class Meta:
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="unique_page_number")
        ]

    def __str__(self) -> str:
        return f"{self.document} p.{self.number}"


class Chunk(models.Model):
    """A passage search can return: structure-aware, knows its pages and positions."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    order = models.PositiveIntegerField()
    heading = models.CharField(
        max_length=1000, blank=True, help_text="Section titles, outermost first, joined by ' › '."
    )
    text = models.TextField()
    context = models.CharField(
        max_length=300,
        blank=True,
        help_text="The document's title, searched with the chunk (kept in step by Document.save).",
    )
    first_page = models.PositiveIntegerField(default=1)
    last_page = models.PositiveIntegerField(default=1)
    # {"<page number>": [[x0, y0, x1, y1], ...]} as fractions of the page, origin top left.
    boxes = models.JSONField(default=dict, blank=True)
    # Embeddings (knowledge.vectors): float16 rows of the embedding model's width, one for
    # the whole chunk and one per answer unit of its text (knowledge.reading.units).
    vector = models.BinaryField(null=True, blank=True, editable=False)
    unit_vectors = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["document", "order"]
        constraints = [
            models.UniqueConstraint(fields=["document", "order"], name="unique_chunk_order")
        ]

    def __str__(self) -> str:
        return f"{self.document} #{self.order}"

    @property
    def pages(self) -> list[int]:
        return list(range(self.first_page, self.last_page + 1))

    @property
    def heading_path(self) -> list[str]:
        return [part for part in self.heading.split(" › ") if part]


class SearchEvent(models.Model):
    """One search as it happened, for monitoring: which backend, how long, how it went."""

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        FALLBACK = "fallback", "Fell back to the local index"
        ERROR = "error", "Error"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    backend = models.CharField(max_length=16, help_text="The backend that was asked first.")
    query = models.CharField(max_length=500)
    top_k = models.PositiveSmallIntegerField(default=5)
    results = models.PositiveSmallIntegerField(default=0)
    latency_ms = models.FloatField(default=0)
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.OK, db_index=True
    )
    error = models.TextField(blank=True, help_text="Why the backend failed, if it did.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.backend} {self.outcome}: {self.query[:60]}"
