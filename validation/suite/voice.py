"""Voice: the golden questions spoken with espeak-ng through the voice path.

Each case is spoken once per run (``ctx.spoken``: its history typed first, the question
itself spoken) and typed once (``ctx.typed``); these tests compare the two and read the
spoken turn's own timings. Word error rates are computed in the spoken form of
``voice.text.normalize``, as the voice benchmark does.
"""

from __future__ import annotations

import re
import statistics
import time

from chat import markers
from validation.suite import Outcome, check
from validation.suite.context import Case, Context
from validation.suite.judge import missing
from voice import audio, speech, tts
from voice.services import DECLINE_SPOKEN
from voice.text import normalize, wer

WER_TARGET, WER_LIMIT = 0.10, 0.50
FIRST_AUDIO_P50_MS, FIRST_AUDIO_P95_MS, FIRST_AUDIO_LIMIT_MS = 500.0, 900.0, 2500.0
# Audio per word as read out ("410" is three words), the pause closing each synthesised
# sentence included: espeak-ng at 165 wpm measures 285-465 ms on the demo answers.
MS_PER_WORD = (40.0, 600.0)
SAME_AUDIO_TOLERANCE = 0.02  # re-synthesised text vs the audio returned
# What a careless reader would speak: citation markers and markdown.
MARKUP = re.compile(rf"{markers.ANY.pattern}|[*#`|_~]|\]\(|^\s*>", re.M)
STRONGER_ENGINE = (
    "use a stronger speech-to-text engine (VOICE_WHISPER_MODEL with faster-whisper, or "
    "VOICE_OPENAI_API_KEY), or rebuild the vocabulary (manage.py build_vocabulary) after "
    "the manuals change"
)


def linear(value: float, good: float, bad: float) -> float:
    """100 at ``good`` or better, 0 at ``bad`` or worse, linear between."""
    if value <= good:
        return 100.0
    if value >= bad:
        return 0.0
    return 100.0 * (bad - value) / (bad - good)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile, interpolated between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def found_facts(answer: dict | None, facts: list[str]) -> list[str]:
    """The facts that ``answer`` states, judged as the text tests judge them
    (``chat.judging``'s rules: none when the answer declined or failed)."""
    if not answer or answer.get("status") == "failed":
        return []
    left_out = set(missing(answer, facts))
    return [f for f in facts if f not in left_out]


def cited(answer: dict | None, *, first_page_only: bool = False) -> list[list]:
    """The (document file name, pages) an answer cites, sorted, as JSON-ready lists."""
    pairs = set()
    for citation in (answer or {}).get("citations", []):
        pages = tuple(citation.get("pages") or [])
        pairs.add((citation.get("filename", ""), pages[:1] if first_page_only else pages))
    return [[name, list(pages)] for name, pages in sorted(pairs)]


def answerable(ctx: Context) -> list[Case]:
    return [c for c in ctx.cases if c.answerable]


def heard(ctx: Context, case: Case) -> dict:
    """The evidence of one spoken case: what was said, heard and answered."""
    spoken = ctx.spoken(case)
    errors, words = wer(case.question, spoken.transcript)
    return {
        "case": case.id,
        "kind": case.kind,
        "question": case.question,
        "transcript": spoken.transcript,
        "errors": errors,
        "words": words,
        **({"error": spoken.error} if spoken.error else {}),
    }


def _failed_to_answer(records: list[dict]) -> str:
    errors = [r for r in records if r.get("error")]
    if not errors:
        return ""
    return f"; {len(errors)} got no answer ({errors[0]['error'][:80]})"


# --- transcription ------------------------------------------------------------------


@check("voice.transcription", "voice", "Transcription", pass_mark=100)
def transcription(ctx: Context) -> Outcome:
    """Word error rate of the golden questions spoken by espeak-ng (each follow-up
    alone: its history is typed). 100 at a WER of 10% or less, 0 at 50%."""
    records = [heard(ctx, case) for case in ctx.cases]
    errors = sum(r["errors"] for r in records)
    words = sum(r["words"] for r in records)
    rate = errors / words if words else 1.0
    exact = sum(r["errors"] == 0 for r in records)
    engine = _engine_of(ctx)
    score = linear(rate, WER_TARGET, WER_LIMIT)
    summary = (
        f"word error rate {rate:.1%} ({errors} errors in {words} words) over "
        f"{len(records)} spoken questions; {exact} heard exactly by {engine}"
        + _failed_to_answer(records)
    )
    details = {
        "wer": round(rate, 4),
        "errors": errors,
        "words": words,
        "engine": engine,
        "target": WER_TARGET,
        "cases": records,
    }
    recommendation = ""
    unanswered = [r for r in records if r.get("error")]
    misheard = [r for r in records if r["errors"] and not r.get("error")]
    if unanswered:
        recommendation = (
            f"The voice path failed on {len(unanswered)} questions ({unanswered[0]['error']}): "
            "check VOICE_STT and VOICE_TTS and the voice turns' errors in the admin. "
        )
    if score < 100 and misheard:
        worst = max(misheard, key=lambda r: r["errors"] / max(r["words"], 1))
        recommendation += (
            f"The recogniser mishears {len(misheard)} of {len(records)} questions "
            f"(worst: {worst['question']!r} heard as {worst['transcript']!r}): "
            f"{STRONGER_ENGINE}."
        )
    return Outcome(score, summary, details, recommendation.strip())


def _engine_of(ctx: Context) -> str:
    for case in ctx.cases:
        engine = ctx.spoken(case).turn.get("stt_engine")
        if engine:
            return engine
    return "the recogniser"


# --- spoken answers -----------------------------------------------------------------


@check("voice.answers", "voice", "Spoken answers", pass_mark=90)
def spoken_answers(ctx: Context) -> Outcome:
    """Fact recall of the answers to spoken questions, as a share of the same
    questions' recall when typed: 100 when voice recalls as much as text."""
    records = []
    for case in answerable(ctx):
        spoken = ctx.spoken(case)
        typed_found = found_facts(ctx.typed(case), case.facts)
        spoken_found = found_facts(spoken.answer, case.facts)
        records.append(
            {
                **heard(ctx, case),
                "facts": case.facts,
                "typed_found": typed_found,
                "spoken_found": spoken_found,
                "spoken_missing": [f for f in case.facts if f not in spoken_found],
                "spoken_answer": (spoken.answer or {}).get("text", "")[:600],
            }
        )
    facts = sum(len(r["facts"]) for r in records)
    typed = sum(len(r["typed_found"]) for r in records) / facts if facts else 0.0
    spoken = sum(len(r["spoken_found"]) for r in records) / facts if facts else 0.0
    details = {
        "typed_recall": round(typed, 4),
        "spoken_recall": round(spoken, 4),
        "facts": facts,
        "cases": records,
    }
    if not typed:
        return Outcome(
            0.0,
            f"typed answers recall none of {facts} facts: nothing to compare voice with",
            details,
            "Fix the text answers first (see the text tests).",
        )
    score = min(100.0, 100.0 * spoken / typed)
    lost = [r for r in records if len(r["spoken_found"]) < len(r["typed_found"])]
    summary = (
        f"spoken answers recall {spoken:.0%} of {facts} facts, typed {typed:.0%}; "
        f"{len(lost)} of {len(records)} spoken answers lose facts the typed one has"
        + _failed_to_answer(records)
    )
    recommendation = ""
    if lost:
        misheard = sum(r["errors"] > 0 for r in lost)
        recommendation = (
            f"{misheard} of the {len(lost)} answers that lost facts came from a misheard "
            f"question (see each transcript): {STRONGER_ENGINE}."
        )
    return Outcome(score, summary, details, recommendation)


# --- voice citations ----------------------------------------------------------------


@check("voice.citations", "voice", "Voice citations", pass_mark=80)
def voice_citations(ctx: Context) -> Outcome:
    """Share of answerable questions whose spoken answer cites the same documents and
    first pages as the typed answer."""
    records = []
    for case in answerable(ctx):
        typed = cited(ctx.typed(case), first_page_only=True)
        spoken = cited(ctx.spoken(case).answer, first_page_only=True)
        records.append(
            {**heard(ctx, case), "typed": typed, "spoken": spoken, "same": typed == spoken}
        )
    same = sum(r["same"] for r in records)
    score = 100.0 * same / len(records) if records else 0.0
    differ = [r for r in records if not r["same"]]
    summary = (
        f"{same} of {len(records)} spoken answers cite the same documents and pages as typed"
        + _failed_to_answer(records)
    )
    recommendation = ""
    if differ:
        misheard = sum(r["errors"] > 0 for r in differ)
        recommendation = (
            f"{len(differ)} spoken answers cite differently; {misheard} of them came from a "
            f"misheard question: {STRONGER_ENGINE}."
        )
        if misheard < len(differ):
            recommendation += (
                " The others were heard right yet cite differently: compare the voice and "
                "text paths of chat.services.run_turn."
            )
    return Outcome(score, summary, {"cases": records}, recommendation)


# --- voice latency ------------------------------------------------------------------


def latency_score(p50: float, p95: float) -> float:
    """100 at p95 <= 900 ms and p50 <= 500 ms, each falling linearly to 0 at 2500 ms."""
    return min(
        linear(p95, FIRST_AUDIO_P95_MS, FIRST_AUDIO_LIMIT_MS),
        linear(p50, FIRST_AUDIO_P50_MS, FIRST_AUDIO_LIMIT_MS),
    )


@check("voice.latency", "voice", "Voice latency", pass_mark=80)
def voice_latency(ctx: Context) -> Outcome:
    """From the end of speech to the first byte of answer audio, p50 and p95 over the
    spoken golden questions (the turn's ``first_audio_ms``: the end-of-speech silence
    the endpointer waits for is counted)."""
    records = []
    for case in ctx.cases:
        turn = ctx.spoken(case).turn
        timing = {k: turn.get(k) for k in ("stt_ms", "first_token_ms", "first_audio_ms")}
        records.append({"case": case.id, "question": case.question, **timing})
    values = [r["first_audio_ms"] for r in records if r["first_audio_ms"] is not None]
    details = {"cases": records, "samples": len(values)}
    if not values:
        return Outcome(
            0.0,
            f"no audio came back for any of {len(records)} spoken questions",
            details,
            "The server speaks no answers: check VOICE_TTS (espeak-ng installed?) and the "
            "voice turns' errors in the admin.",
        )
    p50, p95 = percentile(values, 50), percentile(values, 95)
    stt = [r["stt_ms"] for r in records if r["stt_ms"] is not None]
    details.update(
        p50_ms=round(p50, 1), p95_ms=round(p95, 1), stt_p50_ms=round(percentile(stt, 50), 1)
    )
    score = latency_score(p50, p95)
    summary = (
        f"speech end to first audio: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {len(values)} "
        f"spoken questions (targets {FIRST_AUDIO_P50_MS:.0f} / {FIRST_AUDIO_P95_MS:.0f} ms)"
    )
    missing = len(records) - len(values)
    if missing:
        summary += f"; {missing} gave no audio"
    recommendation = ""
    if score < 100:
        recommendation = (
            f"First audio is late (transcription alone takes {details['stt_p50_ms']:.0f} ms at "
            "the median, the end-of-speech silence included): lower VOICE_END_SILENCE_MS, "
            "use a faster recogniser, or a faster first answer sentence."
        )
    return Outcome(score, summary, details, recommendation)


# --- answer audio -------------------------------------------------------------------


def for_the_ear(answer_text: str, transcript: str) -> list[str]:
    """What the server speaks for an answer, piece by piece: the answer shaped by
    ``voice.speech.SpokenAnswer`` as it streams (fed a character at a time, as the
    smallest deltas would come), a decline prefixed with what was heard."""
    shaper = speech.SpokenAnswer()
    pieces = [piece for char in answer_text for piece in shaper.feed(char)] + shaper.flush()
    if pieces and pieces[0] == DECLINE_SPOKEN:
        pieces[0] = f"I heard: {transcript}. {pieces[0]}"
    return pieces


def _local_voice(name: str) -> tts.Engine | None:
    """This process's text-to-speech engine when it is the one the server used."""
    try:
        engine = tts.engine()
    except tts.SpeechUnavailable:
        return None
    return engine if engine is not None and engine.name == name else None


def audio_check(spoken, case: Case) -> dict:
    """One answer's audio: a WAV, of the length the turn reports, that fits the words
    meant to be spoken, which carry no markup; and, where this process has the server's
    voice, the same length as those words synthesised again."""
    record = {"case": case.id, "question": case.question, "problems": []}
    problems = record["problems"]
    if spoken.error or not spoken.answer:
        problems.append(f"no answer: {spoken.error or 'none returned'}")
        return record
    if not spoken.audio:
        problems.append("no audio returned (the browser would have to speak)")
        return record
    try:
        pcm, rate = audio.read_wav(spoken.audio)
    except audio.AudioError as exc:
        problems.append(f"not a WAV: {exc}")
        return record
    duration = len(pcm) / 2 * 1000 / rate
    pieces = for_the_ear(spoken.answer.get("text", ""), spoken.transcript)
    said = " ".join(pieces)
    words = len(normalize(said).split())
    record.update(
        spoken_text=said[:800],
        sample_rate=rate,
        duration_ms=round(duration, 1),
        speech_out_ms=spoken.turn.get("speech_out_ms"),
        words=words,
        ms_per_word=round(duration / words, 1) if words else None,
        level=round(audio.rms(pcm), 1),
    )
    reported = spoken.turn.get("speech_out_ms") or 0.0
    if abs(reported - duration) > max(50.0, 0.01 * duration):
        problems.append(f"{duration:.0f} ms of audio, but the turn reports {reported:.0f} ms")
    if audio.rms(pcm) < 100:
        problems.append("the audio is silent")
    if not words or not (MS_PER_WORD[0] <= duration / words <= MS_PER_WORD[1]):
        problems.append(f"{duration:.0f} ms of audio for {words} words to speak")
    marks = sorted(set(MARKUP.findall(said)))
    if marks:
        problems.append(f"markup or citation markers would be spoken: {' '.join(marks)}")
    voice = _local_voice(spoken.turn.get("tts_engine", ""))
    if voice is not None and pieces:
        expected = sum(voice.synthesize(piece).duration_ms for piece in pieces)
        record["resynthesised_ms"] = round(expected, 1)
        if abs(expected - duration) > SAME_AUDIO_TOLERANCE * expected + 50:
            problems.append(
                f"the audio ({duration:.0f} ms) is not the answer shaped for the ear "
                f"({expected:.0f} ms when synthesised again): something else was spoken"
            )
    return record


@check("voice.audio", "voice", "Answer audio", pass_mark=80)
def answer_audio(ctx: Context) -> Outcome:
    """Share of spoken answers whose audio is sound and says the answer for the ear."""
    records = [audio_check(ctx.spoken(case), case) for case in ctx.cases]
    good = [r for r in records if not r["problems"]]
    score = 100.0 * len(good) / len(records) if records else 0.0
    rates = [r["ms_per_word"] for r in records if r.get("ms_per_word")]
    summary = f"{len(good)} of {len(records)} spoken answers have sound audio of the answer"
    if rates:
        summary += f" ({statistics.median(rates):.0f} ms per word at the median)"
    recommendation = ""
    bad = [r for r in records if r["problems"]]
    if bad:
        summary += f"; first problem: {bad[0]['problems'][0]}"
        recommendation = (
            "Check voice.speech.SpokenAnswer and the text-to-speech engine (VOICE_TTS) on "
            "the answers listed with problems."
        )
    return Outcome(score, summary, {"cases": records}, recommendation)


def timed_synthesis(text: str, engine_name: str) -> float | None:
    """Milliseconds the server's text-to-speech engine takes for ``text``, measured with
    this process's engine when it is of the same kind (else None)."""
    voice = _local_voice(engine_name)
    if voice is None or not text.strip():
        return None
    started = time.perf_counter()
    voice.synthesize(text)
    return (time.perf_counter() - started) * 1000
