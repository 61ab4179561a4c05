"""Ninja schemas of the voice app's API, fields listed explicitly."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from chat.schemas import MessageOut
from voice.models import VoiceTurn


class VocabularyOut(Schema):
    key_terms: list[str]  # the store's words whisper (or the cloud) is prompted with
    version: str | None  # pocketsphinx's language model: null until it is built
    words: int | None
    sentences: int | None


class VoiceStatusOut(Schema):
    stt: str | None  # the engine in use; null when none can run here
    stt_error: str | None
    stt_available: list[str]
    tts: str | None  # null: the browser speaks
    tts_available: list[str]
    vocabulary: VocabularyOut
    sample_rate: int
    max_seconds: float
    end_silence_ms: int
    idle_minutes: float


class VoiceTurnOut(Schema):
    id: int
    conversation: int
    question: int | None
    answer: int | None
    status: str
    mode: str
    transcript: str
    cut: bool
    audio_ms: float
    stt_engine: str
    tts_engine: str
    stt_ms: float | None
    first_token_ms: float | None
    first_audio_ms: float | None
    total_ms: float | None
    sentences: int
    speech_out_ms: float
    error: str
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_conversation(turn: VoiceTurn) -> int:
        return turn.conversation_id

    @staticmethod
    def resolve_question(turn: VoiceTurn) -> int | None:
        return turn.question_id

    @staticmethod
    def resolve_answer(turn: VoiceTurn) -> int | None:
        return turn.answer_id


class _SpokenTurn(Schema):
    voice_turn: VoiceTurnOut
    question: MessageOut | None
    answer: MessageOut | None  # None when the question was not answered


class SpokenTurnOut(_SpokenTurn):
    audio_wav_base64: str | None  # the spoken answer, when asked with speak=true


class SpokenFileOut(_SpokenTurn):
    """What ``manage.py voice_ask --json`` prints: the turn as the API shows it, the
    spoken answer written to a file rather than sent in base64."""

    audio: str | None  # the answer WAV's path; null when no speech engine spoke it


# --- What the voice socket sends (beside chat's turn events, relayed as they are) ---


def payload(message: Schema) -> dict:
    """A socket message's JSON-ready dict."""
    return message.model_dump(mode="json")


class VoiceReadyEvent(Schema):
    type: Literal["ready"] = "ready"
    conversation: int
    stt: str = Field(description="The speech-to-text engine listening.")
    tts: str | None = Field(description="The voice speaking, or None: the browser speaks.")
    sample_rate: int
    max_seconds: float = Field(description="The longest question heard, in seconds.")
    idle_minutes: float = Field(description="Hands-free stops listening after this long.")


class VoiceErrorEvent(Schema):
    """A refused frame or a failed step; the socket stays open unless it says otherwise."""

    type: Literal["error"] = "error"
    code: str
    message: str


class VoicePongEvent(Schema):
    type: Literal["pong"] = "pong"


class ListeningEvent(Schema):
    type: Literal["listening"] = "listening"
    mode: str = Field(description="push (hold to talk) or hands-free.")


class SpeechStartEvent(Schema):
    type: Literal["speech_start"] = "speech_start"


class PartialEvent(Schema):
    type: Literal["partial"] = "partial"
    text: str = Field(description="What has been heard so far (the engine's guess).")


class StoppedEvent(Schema):
    type: Literal["stopped"] = "stopped"
    reason: str


class TranscriptEvent(Schema):
    type: Literal["transcript"] = "transcript"
    text: str = Field(description="The question as asked (spoken numbers as digits).")
    heard: str = Field(description="The engine's words as it heard them.")
    stt_ms: float | None = Field(description="Speech end to transcript.")
    decode_ms: float | None
    engine: str
    cut: bool = Field(description="The speech hit the length limit.")


class SayEvent(Schema):
    """A sentence for the browser to speak (no voice on the server)."""

    type: Literal["say"] = "say"
    seq: int
    text: str


class AudioEvent(Schema):
    """A spoken sentence; its WAV follows in the next binary frame."""

    type: Literal["audio"] = "audio"
    seq: int
    text: str
    format: Literal["wav"] = "wav"
    bytes: int
    duration_ms: float


class AudioEndEvent(Schema):
    type: Literal["audio_end"] = "audio_end"
    message: int | None = Field(description="The answer's id.")
    sentences: int = Field(description="Sentences spoken.")
