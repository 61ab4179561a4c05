"""Cloud transcription with OpenAI's audio API (or any server that speaks it).

POST {VOICE_OPENAI_BASE_URL}/audio/transcriptions with the utterance as a WAV file.
The API key is sent only in the Authorization header and never appears in an error
message or a log line, even when the API quotes it back.
"""

from __future__ import annotations

import logging
import re

import httpx
from django.conf import settings

from voice import audio
from voice.stt import BufferedStream, Engine, SpeechFailed, SpeechUnavailable, Stream, Transcript
from voice.stt import prompt as key_terms
from voice.text import normalize

logger = logging.getLogger(__name__)


class OpenAIEngine(Engine):
    name = "openai"
    streaming = False

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self._key = api_key if api_key is not None else settings.VOICE_OPENAI_API_KEY
        if not self._key:
            raise SpeechUnavailable("VOICE_OPENAI_API_KEY is not set")
        self.url = (base_url or settings.VOICE_OPENAI_BASE_URL).rstrip(
            "/"
        ) + "/audio/transcriptions"
        self.model = model or settings.VOICE_STT_MODEL
        self.timeout = timeout or settings.VOICE_TIMEOUT_SECONDS
        self._transport = transport  # tests inject an httpx.MockTransport

    def stream(self) -> Stream:
        return BufferedStream(self)

    def transcribe(self, pcm: bytes) -> Transcript:
        if len(pcm) < 3200:  # under 0.1 s: nothing to send
            return Transcript(text="", engine=self.name)
        data = {"model": self.model, "response_format": "json"}
        if prompt := key_terms.text():
            data["prompt"] = prompt
        files = {"file": ("speech.wav", audio.wav_bytes(pcm), "audio/wav")}
        headers = {"Authorization": f"Bearer {self._key}"}
        try:
            with httpx.Client(transport=self._transport, timeout=self.timeout) as client:
                response = client.post(self.url, data=data, files=files, headers=headers)
        except httpx.TimeoutException:
            raise SpeechFailed(
                f"the transcription service did not answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise SpeechFailed(
                f"could not reach the transcription service ({type(exc).__name__})"
            ) from None
        if not response.is_success:
            message = self._redact(_error_message(response))
            logger.warning("transcription failed: HTTP %s: %s", response.status_code, message)
            raise SpeechFailed(f"transcription failed (HTTP {response.status_code}): {message}")
        try:
            text = response.json().get("text", "")
        except (ValueError, AttributeError):
            raise SpeechFailed("the transcription service sent an unreadable answer") from None
        return Transcript(text=normalize(text or ""), engine=self.name)

    def _redact(self, message: str) -> str:
        message = message.replace(self._key, "***")
        return re.sub(r"\bsk-[A-Za-z0-9_*\-]{6,}", "sk-***", message)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:500]
    if isinstance(error, str):
        return error[:500]
    return response.reason_phrase
