"""OpenAI's speech endpoint (``/audio/speech``): natural voices, needs the network."""

from __future__ import annotations

import re

import httpx

from voice.tts import Engine, Speech, SpeechFailed, make_speech, read_pcm16_wav, require_text

# OpenAI quotes part of a rejected key in its 401 message ("sk-abc***xyz"); messages
# from here end up in logs and on screens, so any key-like token is masked.
_KEY_LIKE = re.compile(r"\bsk-[\w\-*.]+")


class OpenAIEngine(Engine):
    name = "openai"

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        model: str = "gpt-4o-mini-tts",
        voice: str = "alloy",
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model, self.voice, self.timeout = model, voice, timeout
        self._api_key = api_key
        # One client per engine: its kept-alive connection saves a TLS handshake per
        # sentence. httpx.Client is safe to share between threads.
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<OpenAIEngine model={self.model!r} voice={self.voice!r}>"

    def synthesize(self, text: str) -> Speech:
        body = {
            "model": self.model,
            "voice": self.voice,
            "input": require_text(text),
            "response_format": "wav",
        }
        try:
            response = self._client.post("/audio/speech", json=body)
        except httpx.TimeoutException as exc:
            raise SpeechFailed(f"OpenAI speech took longer than {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise SpeechFailed(self._redact(f"OpenAI speech unreachable: {exc}")) from exc
        if not response.is_success:
            raise SpeechFailed(
                self._redact(f"OpenAI speech failed ({response.status_code}): {_reason(response)}")
            )
        try:
            pcm = read_pcm16_wav(response.content)
        except ValueError as exc:
            raise SpeechFailed(f"OpenAI speech returned no usable WAV: {exc}") from exc
        return make_speech(pcm, self.name)

    def _redact(self, message: str) -> str:
        if self._api_key:
            message = message.replace(self._api_key, "***")
        return _KEY_LIKE.sub("sk-***", message)


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason_phrase
