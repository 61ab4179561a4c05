"""Ops console views of the knowledge app's models.

Documents are added through the library (it checks the file); here ops can fix a
title or caption, re-ingest, delete with files, and look at pages, chunks and searches.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from knowledge import safety, services
from knowledge.models import Chunk, Document, Page, SearchEvent
from lineled.errors import Conflict


def _changelist_link(model: str, document: Document, count: int, noun: str):
    url = reverse(f"admin:knowledge_{model}_changelist") + f"?document__id__exact={document.pk}"
    return format_html('<a href="{}">{} {}</a>', url, count, noun)


class WarningsFilter(admin.SimpleListFilter):
    title = "warnings"
    parameter_name = "warnings"

    def lookups(self, request, model_admin):
        return (("yes", "Has warnings"), ("no", "No warnings"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(warnings=[])
        if self.value() == "no":
            return queryset.filter(warnings=[])
        return queryset


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "kind",
        "status",
        "progress",
        "chunk_count",
        "warning_count",
        "uploaded_by",
        "created_at",
    )
    list_select_related = ("uploaded_by",)
    list_filter = ("status", "kind", WarningsFilter, "created_at")
    search_fields = ("title", "filename", "checksum")
    date_hierarchy = "created_at"
    fields = (
        "title",
        "caption",
        "filename",
        "original_link",
        "kind",
        "size",
        "checksum",
        "status",
        "error",
        "warnings_list",
        "progress",
        "pages_link",
        "chunks_link",
        "uploaded_by",
        "ragie_id",
        "created_at",
        "updated_at",
        "ingested_at",
        "ingest_version",
        "ingest_run",
        "ingest_process",
        "ingest_started_at",
    )
    readonly_fields = tuple(f for f in fields if f not in ("title", "caption"))
    actions = ("reingest",)

    def has_add_permission(self, request) -> bool:
        return False  # uploads go through the library, which checks the file

    def view_on_site(self, document: Document) -> str:
        return reverse("knowledge:document", args=[document.pk])

    @admin.display(description="original")
    def original_link(self, document: Document):
        url = reverse("knowledge:original", args=[document.pk])
        return format_html('<a href="{}">{}</a>', url, document.filename)

    @admin.display(description="warnings")
    def warning_count(self, document: Document) -> int:
        return safety.found_count(document.warnings)

    @admin.display(description="warnings")
    def warnings_list(self, document: Document):
        listed = safety.listed(document.warnings)
        if not listed:
            return "—"
        items = format_html_join(
            "", "<li>page {}: “{}”</li>", ((w["page"], w["text"]) for w in listed)
        )
        found = safety.found_count(document.warnings)
        more = f" (the first {len(listed)} of {found} listed)" if found > len(listed) else ""
        return format_html(
            "<p>Text addressed to an AI assistant, which answers never quote{}:</p><ul>{}</ul>",
            more,
            items,
        )

    @admin.display(description="progress")
    def progress(self, document: Document) -> str:
        return f"{document.pages_done}/{document.page_count}"

    @admin.display(description="pages")
    def pages_link(self, document: Document):
        return _changelist_link("page", document, document.pages.count(), "pages")

    @admin.display(description="chunks")
    def chunks_link(self, document: Document):
        return _changelist_link("chunk", document, document.chunk_count, "chunks")

    @admin.action(description="Re-ingest")
    def reingest(self, request, queryset):
        busy, count = 0, 0
        for document in queryset:
            try:
                services.reingest(document)
            except Conflict:
                busy += 1
            else:
                count += 1
        self.message_user(request, f"Queued {count} document(s) for ingestion.", messages.SUCCESS)
        if busy:
            self.message_user(
                request, f"Skipped {busy} being ingested right now.", messages.WARNING
            )

    def get_actions(self, request):
        # Django's own delete action, with its confirmation page, goes through
        # delete_queryset below and so removes the files too.
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            func, name, _ = actions["delete_selected"]
            actions[name] = (func, name, "Delete with files")
        return actions

    def delete_model(self, request, obj: Document) -> None:
        services.delete_document(obj)

    def delete_queryset(self, request, queryset) -> None:
        for document in queryset:
            services.delete_document(document)


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ("document", "number", "size", "has_image", "chunks_link")
    list_select_related = ("document",)
    list_filter = (("document", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("document__title", "text")
    fields = ("document", "number", "width", "height", "image_links", "text")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def view_on_site(self, page: Page) -> str:
        return reverse("knowledge:page", args=[page.document_id, page.number])

    @admin.display(description="size")
    def size(self, page: Page) -> str:
        return f"{page.width:.0f} × {page.height:.0f}"

    @admin.display(description="image")
    def image_links(self, page: Page):
        args = [page.document_id, page.number]
        return format_html(
            '<a href="{}">page image</a> · <a href="{}">thumbnail</a>',
            reverse("knowledge:page-image", args=args),
            reverse("knowledge:page-thumbnail", args=args),
        )

    @admin.display(description="image", boolean=True)
    def has_image(self, page: Page) -> bool:
        return bool(page.image)

    @admin.display(description="chunks")
    def chunks_link(self, page: Page):
        url = reverse("admin:knowledge_chunk_changelist") + (
            f"?document__id__exact={page.document_id}"
            f"&first_page__lte={page.number}&last_page__gte={page.number}"
        )
        return format_html('<a href="{}">chunks</a>', url)


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ("document", "order", "heading", "pages_shown", "preview")
    list_select_related = ("document",)
    list_filter = (("document", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("heading", "text")
    fields = ("document", "order", "heading", "first_page", "last_page", "text", "boxes")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def view_on_site(self, chunk: Chunk) -> str:
        viewer = reverse("knowledge:page", args=[chunk.document_id, chunk.first_page])
        return f"{viewer}?chunk={chunk.pk}"

    @admin.display(description="pages", ordering="first_page")
    def pages_shown(self, chunk: Chunk) -> str:
        if chunk.first_page == chunk.last_page:
            return str(chunk.first_page)
        return f"{chunk.first_page}–{chunk.last_page}"

    @admin.display(description="text")
    def preview(self, chunk: Chunk) -> str:
        return Truncator(chunk.text).chars(120)


@admin.register(SearchEvent)
class SearchEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "backend", "outcome", "latency_ms", "results", "query")
    list_filter = ("backend", "outcome")
    search_fields = ("query",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
