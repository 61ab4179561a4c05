"""Ops console views of the chat app's models.

Everything here is a record of what crews asked and what the assistant answered, so
it is read-only; ops may delete a conversation (with its messages).
"""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from chat.models import Citation, Conversation, Feedback, Message


def _link(obj, text) -> str:
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ("created_at", "role", "modality", "status", "short_text", "declined", "total_ms")
    readonly_fields = fields

    @admin.display(description="text")
    def short_text(self, message: Message) -> str:
        return Truncator(message.text).chars(160)


class CitationInline(ReadOnlyInline):
    model = Citation
    fields = ("rank", "title", "pages", "heading", "score", "document")
    readonly_fields = fields


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "user", "message_count", "updated_at", "created_at")
    list_select_related = ("user",)
    search_fields = ("title", "user__username")
    date_hierarchy = "updated_at"
    fields = ("title", "user", "message_count", "created_at", "updated_at")
    readonly_fields = fields
    inlines = (MessageInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(message_total=Count("messages"))

    @admin.display(description="messages", ordering="message_total")
    def message_count(self, conversation: Conversation) -> int:
        return conversation.message_total


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "short_text",
        "role",
        "modality",
        "status",
        "declined",
        "model_name",
        "total_ms",
        "user",
        "created_at",
    )
    list_select_related = ("conversation__user",)
    list_filter = ("role", "status", "modality", "declined", "model_name", "created_at")
    search_fields = ("text", "search_query", "error")
    date_hierarchy = "created_at"
    fields = (
        "conversation_link",
        "role",
        "modality",
        "status",
        "text",
        "error",
        "public_error",
        "reply_to",
        "declined",
        "search_query",
        "topic",
        "model_name",
        ("input_tokens", "output_tokens"),
        ("search_ms", "first_token_ms", "answer_ms", "total_ms"),
        ("created_at", "finished_at"),
    )
    readonly_fields = (
        "conversation_link",
        "role",
        "modality",
        "status",
        "text",
        "error",
        "public_error",
        "reply_to",
        "declined",
        "search_query",
        "topic",
        "model_name",
        "input_tokens",
        "output_tokens",
        "search_ms",
        "first_token_ms",
        "answer_ms",
        "total_ms",
        "created_at",
        "finished_at",
    )
    inlines = (CitationInline,)

    @admin.display(description="text")
    def short_text(self, message: Message) -> str:
        return Truncator(message.text or f"({message.status})").chars(80)

    @admin.display(description="user", ordering="conversation__user__username")
    def user(self, message: Message):
        return message.conversation.user

    @admin.display(description="conversation")
    def conversation_link(self, message: Message):
        return _link(message.conversation, message.conversation)


@admin.register(Citation)
class CitationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "message_link", "title", "score", "document")
    list_select_related = ("message", "document")
    search_fields = ("title", "filename", "snippet")
    fields = (
        "message_link",
        "rank",
        "document",
        "chunk",
        "title",
        "filename",
        "pages",
        "heading",
        "snippet",
        "score",
    )
    readonly_fields = fields

    @admin.display(description="answer")
    def message_link(self, citation: Citation):
        return _link(citation.message, Truncator(citation.message.text).chars(60))


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("rating", "short_reason", "message_link", "user", "created_at")
    list_select_related = ("message", "user")
    list_filter = ("rating", "created_at")
    search_fields = ("reason", "user__username", "message__text")
    fields = ("rating", "reason", "message_link", "user", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description="reason")
    def short_reason(self, feedback: Feedback) -> str:
        return Truncator(feedback.reason).chars(80) or "—"

    @admin.display(description="answer")
    def message_link(self, feedback: Feedback):
        return _link(feedback.message, Truncator(feedback.message.text).chars(60))
