"""Ninja schemas of the voice app's API, fields listed explicitly."""

from datetime import datetime

from ninja import Schema

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
