"""Spoken questions through the voice path: recognition, answers and speed.

The demo manuals are ingested into the sandbox and what the recognisers learn of a
store is built from them (whisper's key-terms prompt, pocketsphinx's language model).
Every question of the development set (chat's, by default) is spoken by espeak-ng and
by flite, in several voices and speeds, each voice/speed pair taking its
turn across the set; each recording is asked once clean and once with kitchen-like
noise (pink and brown noise for fans and fryers, a mains hum) mixed in at ``--snr`` dB
over the speech. Each is asked through ``voice.services.ask_from_pcm``, the code path of the
websocket, in a conversation of its own (a follow-up in its parent's spoken
conversation). Figures:

- word error rate of the transcripts, per condition, voice and synthesizer, for the default
  engine through the whole path, and for every other engine configured here
  (transcription only);
- fact recall of the spoken answers (the full answer text, as shown on screen) next to
  the same questions typed into the text chat: what recognition errors cost, overall
  and per synthesizer (the targets are judged on each synthesizer's speech as well:
  espeak-ng's formant voices are much further from a person's voice than flite's);
- decline accuracy, as in ``bench chat``;
- timings from the end of speech: transcript, first answer words, first audio byte
  (p50/p95), and where the time to first audio goes: the wait for the end of speech,
  the recogniser's own decoding, what is left of it after the end was decided, the
  assistant's first words, the first sentence's synthesis.

The recordings are fed faster than real time but timed as if they came from a
microphone: the end of speech is placed where the last word ends in the recording, so
the silence the endpointer waits for counts (``VOICE_END_SILENCE_MS``), and from the
first pause on, audio is fed in real time (``voice.services.ask_from_pcm``).
"""

from __future__ import annotations

import math
import random
import statistics
import subprocess
import tempfile
import time
from array import array
from pathlib import Path

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import override_settings

from chat import services as chat
from chat.benchmarks.chat import QUESTIONS, ask_all, load_questions, quality
from chat.benchmarks.chat import _percentile as percentile
from chat.judging import missing_facts
from chat.models import Message
from knowledge.demo import loader
from knowledge.search import schema
from voice import audio, services, stt, tts
from voice.text import normalize, wer

# espeak-ng's formant voices, and three of flite's (statistical voices, nearer to a
# person's speech); "flite:NAME" picks a flite voice, anything else is an espeak-ng voice.
VOICES = ("en-us+klatt", "en-us+klatt4", "en-us+f3", "flite:slt", "flite:rms", "flite:awb")
SPEEDS = (140, 175)
TARGETS = {
    "wer_clean": 0.10,
    "wer_noisy": 0.15,
    "first_audio_p50_ms": 600.0,
    "first_audio_p95_ms": 900.0,
    "spoken_as_correct_as_typed": -0.05,  # spoken fact recall minus typed, at least
}


def add_arguments(parser):
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="question set JSON")
    parser.add_argument(
        "--voices",
        default=",".join(VOICES),
        help="comma list of espeak-ng voices and flite voices (flite:NAME)",
    )
    parser.add_argument(
        "--speeds", default=",".join(map(str, SPEEDS)), help="words per minute, comma list"
    )
    parser.add_argument("--snr", type=float, default=10.0, help="noise level, dB below speech")
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    parser.add_argument(
        "--all-pairs",
        action="store_true",
        help="speak every question in every voice and speed (slower) instead of taking turns",
    )
    parser.add_argument("--show", action="store_true", help="include every transcript")


def run(options: dict, log=None) -> dict:
    """The vocabulary is built into a folder of its own: the store's stays as it is."""
    with (
        tempfile.TemporaryDirectory(prefix="lineled-voice-var-") as var,
        override_settings(VAR_DIR=Path(var)),
    ):
        stt.reset()
        try:
            return _run(options, log or (lambda message: None))
        finally:
            stt.reset()


def _run(options: dict, log) -> dict:
    _need("sox")
    questions = load_questions(options.get("questions") or QUESTIONS)
    if options.get("limit"):
        questions = _with_parents(questions, options["limit"])
    asked = [v.strip() for v in (options.get("voices") or ",".join(VOICES)).split(",") if v]
    voices, skipped = _available(asked)
    speeds = [int(s) for s in str(options.get("speeds") or "140,175").split(",") if s.strip()]
    snr = float(options.get("snr") if options.get("snr") is not None else 10.0)
    loaded = loader.load()
    schema.analyze(connection)
    started = time.perf_counter()
    learnt = services.rebuild_vocabulary(pocketsphinx=True)
    build_ms = (time.perf_counter() - started) * 1000
    engine = stt.engine()
    voice = tts.engine()
    model = learnt["pocketsphinx"]
    log(f"{len(loaded)} manuals; vocabulary {model['words']} words; engine {engine.name}")
    user = get_user_model().objects.create_user("bench-voice", password=None)

    with tempfile.TemporaryDirectory(prefix="lineled-voice-") as folder:
        recordings = _record(questions, voices, speeds, options.get("all_pairs"), Path(folder))
    noise = _kitchen_noise(max(len(r["pcm"]) for r in recordings))
    for recording in recordings:
        recording["noisy"] = _mix(recording["pcm"], recording["speech"], noise, snr)

    _warm_up(user, recordings[0]["pcm"], voice)
    typed_answers = ask_all(questions, user)
    typed = quality(typed_answers)
    log(f"{len(recordings)} recordings; asking clean and noisy")
    runs, spoken = {}, {}
    for condition in ("clean", "noisy"):
        runs[condition] = _ask_all(recordings, condition, user, voice)
        spoken[condition] = quality(runs[condition])
        log(f"{condition}: {_summary_wer(runs[condition]):.3f} WER")

    others = {}
    for name in stt.available():
        if name == engine.name:
            continue
        others[name] = _other_engine(name, recordings)

    result = {
        "database": connection.vendor,
        "manuals": len(loaded),
        "questions": len(questions),
        "recordings": len(recordings),
        "voices": voices,
        "skipped_voices": skipped,
        "speeds": speeds,
        "snr_db": snr,
        "engines": {"stt": engine.name, "tts": voice.name if voice else None},
        "vocabulary": {
            "key_terms": learnt["prompt"],
            "words": model["words"],
            "build_ms": round(build_ms, 1),
        },
        "wer": {
            engine.name: {c: _wer_figures(runs[c], by_voice=True) for c in ("clean", "noisy")},
            **others,
        },
        "fact_recall": {
            "typed_text": typed["fact_recall"],
            "spoken_clean": spoken["clean"]["fact_recall"],
            "spoken_noisy": spoken["noisy"]["fact_recall"],
            "by_synthesizer": _recall_by_synthesizer(runs, typed_answers),
        },
        "decline_accuracy": {
            c: {k: spoken[c][k] for k in ("decline_accuracy", "false_decline_rate")}
            for c in ("clean", "noisy")
        },
        "timings": {c: _timings(runs[c]) for c in ("clean", "noisy")},
        "targets": TARGETS,
    }
    result["meets_targets"] = _meets(result, engine.name)
    result["meets_targets_by_synthesizer"] = _meets_by_synthesizer(result, engine.name)
    result["misrecognised"] = [
        _short(a) for c in ("clean", "noisy") for a in runs[c] if a["errors"]
    ][:40]
    if options.get("show"):
        result["answers"] = [_short(a) for c in ("clean", "noisy") for a in runs[c]]
    return result


# --- Recording ----------------------------------------------------------------------


def _missing(command: str) -> str | None:
    """Why ``command`` cannot run here, or None when it is installed."""
    from shutil import which

    if which(command) is None:
        return f"{command} is not installed: sudo apt-get install {command}"
    return None


def _need(command: str) -> None:
    if reason := _missing(command):
        raise RuntimeError(f"bench voice: {reason}")


def synthesizer(voice: str) -> str:
    return "flite" if voice.startswith("flite:") else "espeak-ng"


def _available(voices: list[str]) -> tuple[list[str], dict]:
    """The voices whose synthesizer is installed, and why the others were left out."""
    kept, skipped = [], {}
    for voice in voices:
        if reason := _missing(synthesizer(voice)):
            skipped[voice] = reason
        else:
            kept.append(voice)
    if not kept:
        raise RuntimeError("bench voice has no voice to speak with: " + "; ".join(skipped.values()))
    return kept, skipped


def _speak(text: str, voice: str, speed: int, path: Path) -> None:
    """``text`` spoken into the WAV file ``path`` at about ``speed`` words a minute."""
    if synthesizer(voice) == "flite":
        # flite speaks about 160 words a minute; duration_stretch scales its timing.
        stretch = f"{160 / speed:.3f}"
        command = ["flite", "-voice", voice.split(":", 1)[1], "--setf"]
        command += [f"duration_stretch={stretch}", "-t", text, "-o", str(path)]
        subprocess.run(command, check=True, capture_output=True)
        return
    path.write_bytes(tts.espeak_engine(voice=voice, rate=speed, timeout=60).synthesize(text).wav)


def _with_parents(questions: list[dict], limit: int) -> list[dict]:
    chosen = questions[:limit]
    ids = {e.get("id") for e in chosen}
    return [e for e in chosen if not e.get("after") or e["after"] in ids]


def _record(questions, voices, speeds, all_pairs, folder: Path) -> list[dict]:
    pairs = [(v, s) for v in voices for s in speeds]
    recordings = []
    for i, entry in enumerate(questions):
        chosen = pairs if all_pairs else [pairs[i % len(pairs)]]
        for voice, speed in chosen:
            raw = folder / f"q{i}-{len(recordings)}.wav"
            _speak(entry["question"], voice, speed, raw)
            speech = _to_16k(raw)
            # Silence before (a microphone is open before anyone speaks) and after.
            pcm = audio.silence(400) + speech + audio.silence(1000)
            recordings.append(
                {
                    "entry": entry,
                    "voice": voice,
                    "speed": speed,
                    "pair": (voice, speed) if all_pairs else None,  # whose follow-up
                    "pcm": pcm,
                    "speech": speech,
                }
            )
    return recordings


def _to_16k(path: Path) -> bytes:
    done = subprocess.run(
        ["sox", str(path), "-t", "raw", "-r", "16000", "-c", "1", "-b", "16", "-e", "signed", "-"],
        check=True,
        capture_output=True,
    )
    return done.stdout


def _kitchen_noise(size: int) -> array:
    """Fans and fryers (pink and brown noise) with a 60/120 Hz hum, as 16 kHz PCM."""
    seconds = size / audio.BYTES_PER_MS / 1000 + 1
    pink, brown = (_synth(kind, seconds) for kind in ("pinknoise", "brownnoise"))
    return array(
        "h",
        (
            int(
                0.5 * p
                + 0.4 * b
                + 900 * math.sin(2 * math.pi * 60 * i / 16000)
                + 500 * math.sin(2 * math.pi * 120 * i / 16000)
            )
            for i, (p, b) in enumerate(zip(pink, brown, strict=False))
        ),
    )


def _synth(kind: str, seconds: float) -> array:
    """sox's ``kind`` noise at half scale, as 16 kHz samples: the same noise every run
    (``-R`` seeds sox's generator), so the noisy figures of two runs compare (unseeded,
    whisper base's noisy WER moved a point between runs of the same code)."""
    done = subprocess.run(
        ["sox", "-R", "-n", "-r", "16000", "-c", "1", "-b", "16", "-e", "signed", "-t", "raw", "-"]
        + ["synth", f"{seconds:.1f}", kind, "vol", "0.5"],
        check=True,
        capture_output=True,
    )
    return audio.samples(done.stdout)


def _mix(pcm: bytes, speech: bytes, noise: array, snr_db: float) -> bytes:
    """``pcm`` with ``noise`` mixed in so that speech is ``snr_db`` louder (RMS)."""
    voice_level = audio.rms(speech)
    offset = random.Random(len(pcm)).randrange(0, max(1, len(noise) - len(pcm) // 2))
    part = noise[offset : offset + len(pcm) // 2]
    noise_level = audio.rms(audio.to_bytes(part)) or 1.0
    gain = voice_level / (noise_level * 10 ** (snr_db / 20))
    values = audio.samples(pcm)
    mixed = array(
        "h",
        (max(-32768, min(32767, int(v + gain * n))) for v, n in zip(values, part, strict=False)),
    )
    return audio.to_bytes(mixed)


# --- Asking -------------------------------------------------------------------------


def _warm_up(user, pcm: bytes, voice) -> None:
    conversation = chat.create_conversation(user)
    async_to_sync(services.ask_from_pcm)(conversation, user, pcm, voice=voice)


def _ask_all(recordings, condition: str, user, voice) -> list[dict]:
    conversations = {}
    answers = []
    for recording in recordings:
        entry = recording["entry"]
        key = recording["pair"]
        parent = (entry.get("after"), key) if entry.get("after") else None
        if entry.get("kind") == "follow-up" and parent in conversations:
            conversation = conversations[parent]
        else:
            conversation = chat.create_conversation(user)
        conversations[(entry.get("id"), key)] = conversation
        pcm = recording["pcm"] if condition == "clean" else recording["noisy"]
        started = time.perf_counter()
        result = async_to_sync(services.ask_from_pcm)(conversation, user, pcm, voice=voice)
        wall_ms = (time.perf_counter() - started) * 1000
        answers.append(_scored(recording, condition, result, wall_ms))
    return answers


def _scored(recording, condition, result, wall_ms) -> dict:
    entry = recording["entry"]
    reference = normalize(entry["question"])
    errors, words = wer(reference, result.heard)  # the recogniser's words, as it said them
    turn = result.turn
    answer = None
    if turn is not None and turn.answer_id:
        answer = Message.objects.get(pk=turn.answer_id)
    text = answer.text if answer else ""
    facts = entry.get("facts") or []
    missing = missing_facts(text, facts)
    return {
        "condition": condition,
        "voice": recording["voice"],
        "speed": recording["speed"],
        "id": entry.get("id"),
        "kind": entry.get("kind"),
        "question": entry["question"],
        "transcript": result.transcript,
        "heard": result.heard,
        "errors": errors,
        "words": words,
        "answered": answer is not None and answer.status == Message.Status.DONE,
        "failed": answer is not None and answer.status == Message.Status.FAILED,
        "declined": bool(answer and answer.declined),
        "facts": len(facts),
        "missing": missing,
        "stt_ms": turn.stt_ms if turn else None,
        "first_token_ms": turn.first_token_ms if turn else None,
        "first_audio_ms": turn.first_audio_ms if turn else None,
        "endpoint_ms": result.endpoint_ms,
        "decode_ms": result.decode_ms,
        "speech_ms": audio.duration_ms(recording["speech"]),
        "wall_ms": wall_ms,
    }


def _other_engine(name: str, recordings) -> dict:
    """WER of another configured engine, transcription only."""
    try:
        engine = stt._make(name)
    except stt.SpeechUnavailable as exc:
        return {"error": str(exc)}
    figures = {}
    for condition in ("clean", "noisy"):
        errors = words = 0
        for recording in recordings:
            pcm = recording["pcm"] if condition == "clean" else recording["noisy"]
            try:
                heard = engine.transcribe(pcm).text
            except stt.SpeechFailed as exc:
                return {"error": str(exc)}
            e, n = wer(normalize(recording["entry"]["question"]), normalize(heard))
            errors, words = errors + e, words + n
        figures[condition] = {"wer": round(errors / max(1, words), 4), "words": words}
    return figures


# --- Figures ------------------------------------------------------------------------


def _summary_wer(answers) -> float:
    return sum(a["errors"] for a in answers) / max(1, sum(a["words"] for a in answers))


def _wer_figures(answers, by_voice=False) -> dict:
    figures = {
        "wer": round(_summary_wer(answers), 4),
        "words": sum(a["words"] for a in answers),
        "sentences_exact": round(sum(1 for a in answers if not a["errors"]) / len(answers), 3),
    }
    if by_voice:
        groups, synths = {}, {}
        for a in answers:
            groups.setdefault(f"{a['voice']}@{a['speed']}", []).append(a)
            synths.setdefault(synthesizer(a["voice"]), []).append(a)
        figures["by_voice"] = {k: round(_summary_wer(v), 4) for k, v in sorted(groups.items())}
        figures["by_synthesizer"] = {
            k: round(_summary_wer(v), 4) for k, v in sorted(synths.items())
        }
    return figures


def _recall_by_synthesizer(runs: dict, typed_answers: list[dict]) -> dict:
    """Fact recall of each synthesizer's spoken questions next to the same questions typed."""
    figures = {}
    for name in sorted({synthesizer(a["voice"]) for a in runs["clean"]}):
        spoken = {c: [a for a in runs[c] if synthesizer(a["voice"]) == name] for c in runs}
        questions = {a["question"] for a in spoken["clean"]}
        typed = [a for a in typed_answers if a["question"] in questions]
        figures[name] = {
            "typed_text": quality(typed)["fact_recall"],
            **{f"spoken_{c}": quality(spoken[c])["fact_recall"] for c in spoken},
        }
    return figures


def _timings(answers) -> dict:
    figures = {}
    for name in ("stt_ms", "first_token_ms", "first_audio_ms"):
        if spread := _spread(a[name] for a in answers):
            figures[name] = spread
    figures["first_audio_breakdown"] = _breakdown(answers)
    speech = sum(a["speech_ms"] for a in answers)
    figures["answered"] = sum(a["answered"] for a in answers)
    figures["turns"] = len(answers)
    figures["wall_ms_per_turn"] = round(sum(a["wall_ms"] for a in answers) / len(answers), 1)
    figures["speech_s"] = round(speech / 1000, 1)
    return figures


def _spread(values) -> dict:
    values = sorted(v for v in values if v is not None)
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(percentile(values, 95), 1),
        "max": round(values[-1], 1),
    }


def _breakdown(answers) -> dict:
    """Where the time from the last speech frame to the first audio byte goes, each step
    from the end of the one before: waiting for the silence that ends the question, the
    transcript after that (the decoding not done yet), the assistant's first words, the
    first sentence written and synthesised. ``decode_ms`` is the recogniser's whole time
    on the audio, begun at the tentative end of speech."""
    steps = {
        "end_of_speech_wait_ms": [],
        "transcript_after_end_ms": [],
        "first_token_after_transcript_ms": [],
        "first_audio_after_first_token_ms": [],
    }
    for a in answers:
        if None in (a["stt_ms"], a["first_token_ms"], a["first_audio_ms"]):
            continue
        steps["end_of_speech_wait_ms"].append(a["endpoint_ms"])
        steps["transcript_after_end_ms"].append(a["stt_ms"] - a["endpoint_ms"])
        steps["first_token_after_transcript_ms"].append(a["first_token_ms"] - a["stt_ms"])
        steps["first_audio_after_first_token_ms"].append(a["first_audio_ms"] - a["first_token_ms"])
    figures = {name: _spread(values) for name, values in steps.items()}
    figures["decode_ms"] = _spread(a["decode_ms"] for a in answers)
    return figures


def _meets(result: dict, engine: str) -> dict:
    wer_figures = result["wer"][engine]
    timing = result["timings"]["clean"].get("first_audio_ms", {})
    noisy_timing = result["timings"]["noisy"].get("first_audio_ms", {})
    recall = result["fact_recall"]
    return {
        **_accuracy(wer_figures["clean"]["wer"], wer_figures["noisy"]["wer"], recall),
        "first_audio_p50_ms": max(timing.get("p50", 1e9), noisy_timing.get("p50", 1e9))
        <= TARGETS["first_audio_p50_ms"],
        "first_audio_p95_ms": max(timing.get("p95", 1e9), noisy_timing.get("p95", 1e9))
        <= TARGETS["first_audio_p95_ms"],
    }


def _meets_by_synthesizer(result: dict, engine: str) -> dict:
    """The recognition and correctness targets judged on each synthesizer's speech."""
    clean, noisy = (result["wer"][engine][c]["by_synthesizer"] for c in ("clean", "noisy"))
    return {
        name: _accuracy(clean[name], noisy[name], recall)
        for name, recall in result["fact_recall"]["by_synthesizer"].items()
    }


def _accuracy(wer_clean: float, wer_noisy: float, recall: dict) -> dict:
    """The recognition targets and spoken-versus-typed recall, for one set of figures."""
    return {
        "wer_clean": wer_clean <= TARGETS["wer_clean"],
        "wer_noisy": wer_noisy <= TARGETS["wer_noisy"],
        "spoken_as_correct_as_typed": (recall["spoken_clean"] or 0) - (recall["typed_text"] or 0)
        >= TARGETS["spoken_as_correct_as_typed"],
    }


def _short(a: dict) -> dict:
    return {
        k: a[k]
        for k in (
            "condition",
            "voice",
            "speed",
            "question",
            "heard",
            "transcript",
            "errors",
            "missing",
        )
        if k in a
    } | {"first_audio_ms": a["first_audio_ms"]}
