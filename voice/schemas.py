"""Ninja schemas of the voice app's API, fields listed explicitly."""

from datetime import datetime

from ninja import Schema


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


class SpokenTurnOut(Schema):
    voice_turn: VoiceTurnOut
    question: dict | None
    answer: dict | None
    audio_wav_base64: str | None  # the spoken answer, when asked with speak=true
