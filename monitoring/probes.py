"""The monitor's own questions: asked through the real text and voice paths.

Probes run as a user of their own (``lineled.services.PROBE_USERNAME``) so the traffic metrics
leave them out, and their conversations are deleted once measured: what they found
stays in the sample's details. The spoken probe is real speech: the question is
synthesised by the server's text-to-speech engine and heard by its speech-to-text
engine, exactly as a crew member's recording would be.
"""

from __future__ import annotations

import re

from asgiref.sync import async_to_sync

from chat import markers
from chat import services as chat
from chat.models import Message
from knowledge.search import search
from lineled.services import PROBE_USERNAME, service_account
from monitoring.metrics import Reading
from monitoring.models import Probe
from voice import audio, stt, tts
from voice import services as voice

MAX_PROBES = 5
IDLE_SEARCH = "monitoring probe: how long do fries cook"
# Numbers with what they count: the facts two answers must agree on.
_FACT = re.compile(
    r"\d+(?:[.:,]\d+)?\s*(?:°\s*[fc]|degrees?|minutes?|min|seconds?|sec|s\b|hours?|days?|ppm|oz|"
    r"inch(?:es)?|in\b|%|am|pm)?",
    re.IGNORECASE,
)


def probe_user():
    """Inactive as well as password-less: the probes need no page or API access."""
    return service_account(PROBE_USERNAME, "Monitoring probe", active=False)


def probes() -> list[Probe]:
    return list(Probe.objects.filter(enabled=True)[:MAX_PROBES])


def idle_search() -> None:
    """One search, so retrieval is measured when nobody is asking (it is recorded as
    a search event like any other)."""
    question = next((p.question for p in probes()), IDLE_SEARCH)
    search(question, top_k=5)


def facts(text: str) -> set[str]:
    plain = markers.plain(text)  # citation markers are not facts
    return {" ".join(m.group(0).lower().split()) for m in _FACT.finditer(plain)}


def _answer(conversation, user, question: str) -> Message | None:
    chat.answer_now(conversation, user, question)
    return conversation.messages.filter(role=Message.Role.ASSISTANT).order_by("-pk").first()


def _cited(message: Message | None) -> set[tuple[int, int]]:
    if message is None:
        return set()
    return {(c.document_id, (c.pages or [0])[0]) for c in message.citations.all() if c.document_id}


def _summary(message: Message | None) -> dict:
    if message is None:
        return {"answered": False}
    return {
        "answered": message.status == Message.Status.DONE and not message.declined,
        "declined": message.declined,
        "text": message.text[:400],
        "facts": sorted(facts(message.text)),
        "citations": sorted([list(c) for c in _cited(message)]),
    }


def _spoken_pcm(question: str) -> bytes | None:
    """The question as 16 kHz speech, with the silence a microphone hears around it."""
    try:
        stt.engine()
        speaker = tts.engine()
    except Exception:
        return None
    if speaker is None:
        return None
    speech = speaker.synthesize(question)
    return audio.silence(300) + audio.load_wav(speech.wav) + audio.silence(800)


def cross_modal_consistency() -> Reading:
    """Each probe question typed and spoken: the same facts and the same citations?"""
    chosen = probes()
    if not chosen:
        return Reading(None, 0, {"note": "no probes are enabled (admin: Probes)"})
    user = probe_user()
    results, consistent = [], 0
    for probe in chosen:
        pcm = _spoken_pcm(probe.question)
        if pcm is None:
            return Reading(None, 0, {"note": "no server speech engines to probe the voice path"})
        typed_conversation = chat.create_conversation(user)
        spoken_conversation = chat.create_conversation(user)
        try:
            typed = _answer(typed_conversation, user, probe.question)
            heard = async_to_sync(voice.ask_from_pcm)(spoken_conversation, user, pcm, speak=False)
            spoken = (
                spoken_conversation.messages.filter(role=Message.Role.ASSISTANT)
                .order_by("-pk")
                .first()
            )
            a, b = _summary(typed), _summary(spoken)
            same = a["answered"] and b["answered"] and a["facts"] == b["facts"]
            same = same and a["citations"] == b["citations"]
            consistent += bool(same)
            results.append(
                {
                    "question": probe.question,
                    "heard": heard.transcript,
                    "same": bool(same),
                    "typed": a,
                    "spoken": b,
                }
            )
        finally:
            typed_conversation.delete()
            spoken_conversation.delete()
    return Reading(round(consistent / len(chosen), 4), len(chosen), {"probes": results})


def context_preservation_rate() -> Reading:
    """Each probe's follow-up, asked after its question: answered, citing what the
    question's answer cited, and stating the facts the probe expects."""
    chosen = [p for p in probes() if p.follow_up]
    if not chosen:
        return Reading(None, 0, {"note": "no enabled probe has a follow-up"})
    user = probe_user()
    results, kept = [], 0
    for probe in chosen:
        conversation = chat.create_conversation(user)
        try:
            first = _answer(conversation, user, probe.question)
            second = _answer(conversation, user, probe.follow_up)
            follow = _summary(second)
            documents = {d for d, _ in _cited(first)}
            missing = [
                f for f in probe.follow_up_facts if f.lower() not in follow.get("text", "").lower()
            ]
            in_context = (
                follow["answered"]
                and bool(documents & {d for d, _ in _cited(second)})
                and not missing
            )
            kept += bool(in_context)
            results.append(
                {
                    "question": probe.question,
                    "follow_up": probe.follow_up,
                    "in_context": bool(in_context),
                    "missing": missing,
                    "answer": follow,
                }
            )
        finally:
            conversation.delete()
    return Reading(round(kept / len(chosen), 4), len(chosen), {"probes": results})
