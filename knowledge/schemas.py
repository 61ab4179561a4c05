"""Ninja schemas of the knowledge app's API, fields listed explicitly."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.urls import reverse
from ninja import Field, Schema

from knowledge import safety
from knowledge.models import Document


def page_image_urls(document_id: int, number: int, chunk_id: int | None = None) -> dict:
    """URLs of a page's image and thumbnail; ``chunk_id`` highlights that passage."""
    query = f"?chunk={chunk_id}" if chunk_id else ""
    args = [document_id, number]
    return {
        "image_url": reverse("knowledge:page-image", args=args) + query,
        "thumbnail_url": reverse("knowledge:page-thumbnail", args=args) + query,
    }


# Literals rather than the model's enums: an enum would become an OpenAPI component
# named plainly "Status" or "Kind", which another app's schemas could collide with.
DocumentKind = Literal[tuple(Document.Kind.values)]
DocumentStatus = Literal[tuple(Document.Status.values)]


class DocumentFilters(Schema):
    status: DocumentStatus | None = None
    kind: DocumentKind | None = None
    q: str = Field("", max_length=300, description="Words the title contains.")


class DocumentWarning(Schema):
    kind: str = Field(description='"instructions": a sentence written to an AI assistant.')
    text: str = Field(description="The sentence (at most 300 characters); never quoted.")
    page: int


class DocumentOut(Schema):
    id: int
    title: str
    filename: str
    kind: DocumentKind
    size: int = Field(description="Bytes.")
    status: DocumentStatus
    error: str = Field(description="Why ingestion failed; empty otherwise.")
    page_count: int
    pages_done: int
    progress: float = Field(ge=0, le=1, description="Share of pages ingested, 0..1.")
    chunk_count: int
    vectors_done: int = Field(
        description="Passages whose embeddings are stored: found by meaning as well as words."
    )
    uploaded_by: str | None = Field(description="Username of the uploader.")
    created_at: datetime
    updated_at: datetime
    ingested_at: datetime | None
    caption: str
    url: str = Field(description="The document's page viewer.")
    original_url: str = Field(description="Download of the file as uploaded.")
    warnings: list[DocumentWarning] = Field(
        description="What ingestion found suspicious (the first 20), e.g. text written to "
        "an AI assistant, which answers never quote."
    )
    warnings_found: int = Field(description="How many ingestion found, listed or not.")

    @staticmethod
    def resolve_warnings(document: Document) -> list[dict]:
        return safety.listed(document.warnings)

    @staticmethod
    def resolve_warnings_found(document: Document) -> int:
        return safety.found_count(document.warnings)

    @staticmethod
    def resolve_uploaded_by(document: Document) -> str | None:
        return document.uploaded_by.username if document.uploaded_by_id else None

    @staticmethod
    def resolve_url(document: Document) -> str:
        return reverse("knowledge:document", args=[document.pk])

    @staticmethod
    def resolve_original_url(document: Document) -> str:
        return reverse("knowledge:original", args=[document.pk])


class UploadOut(DocumentOut):
    duplicate: bool = Field(description="True when the same file was uploaded before.")


class DocumentPatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=300)
    caption: str | None = Field(None, max_length=5000, description="For images: what it shows.")


class ChunkOut(Schema):
    id: int
    order: int
    heading: list[str] = Field(description="Section titles, outermost first.")
    text: str
    first_page: int
    last_page: int

    @staticmethod
    def resolve_heading(chunk) -> list[str]:
        return chunk.heading_path


class PageOut(Schema):
    document_id: int
    number: int
    page_count: int
    text: str
    width: float
    height: float
    image_url: str
    thumbnail_url: str
    chunks: list[ChunkOut] = Field(description="Passages that start, end or run on this page.")


class PassageOut(Schema):
    chunk_id: int
    document_id: int
    title: str
    filename: str
    pages: list[int]
    heading: list[str]
    snippet: str = Field(description="HTML: escaped text with the matched words in <mark>.")
    score: float
    url: str = Field(description="The page viewer with this passage selected.")
    image_url: str = Field(description="The first page's image, this passage highlighted.")
    thumbnail_url: str


class SearchOut(Schema):
    query: str
    results: list[PassageOut]
