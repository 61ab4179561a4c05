"""Ops console views of the voice app: every spoken question, how long each step took."""

from django.contrib import admin
from django.utils.text import Truncator

from chat.admin import ReadOnlyAdmin, _link
from voice.models import VoiceTurn


@admin.register(VoiceTurn)
class VoiceTurnAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "short_transcript",
        "status",
        "mode",
        "audio_ms",
        "stt_ms",
        "first_token_ms",
        "first_audio_ms",
        "stt_engine",
        "tts_engine",
    )
    list_filter = ("status", "mode", "stt_engine", "tts_engine", "created_at")
    search_fields = ("transcript", "error")
    date_hierarchy = "created_at"
    list_select_related = ("conversation",)
    readonly_fields = ("conversation_link", "question_link", "answer_link")
    exclude = ("conversation", "question", "answer")

    @admin.display(description="transcript")
    def short_transcript(self, turn: VoiceTurn) -> str:
        return Truncator(turn.transcript or f"({turn.get_status_display()})").chars(80)

    @admin.display(description="conversation")
    def conversation_link(self, turn: VoiceTurn) -> str:
        return _link(turn.conversation, turn.conversation)

    @admin.display(description="question")
    def question_link(self, turn: VoiceTurn) -> str:
        return _link(turn.question, turn.question) if turn.question else "-"

    @admin.display(description="answer")
    def answer_link(self, turn: VoiceTurn) -> str:
        return _link(turn.answer, turn.answer) if turn.answer else "-"
