"""The store's speech vocabulary: a trigram language model and a pronunciation dictionary
that adapt pocketsphinx to the words of the knowledge base.

Built from the manuals (titles, headings, passage text), from crew-question templates
filled with the noun phrases the manuals use, and from a base vocabulary, all in the
spoken form of :func:`voice.text.normalize`. Words missing from CMUdict get a
pronunciation from espeak-ng (``voice.tts.espeak``, or letter rules). The model lives under
``VAR_DIR/voice/lm/<version>/`` and ``current.json`` names the live one; a build writes
a new folder and then replaces ``current.json`` atomically, so a running engine picks
the new model up on its next stream.

Only pocketsphinx needs this; whisper's key-terms prompt is ``voice.stt.prompt``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

from voice import tts
from voice.stt import templates
from voice.stt.language_model import arpa_text
from voice.text import normalize

logger = logging.getLogger(__name__)

# Raised when the builder's rules change, so an old model is rebuilt.
RULES = 2

MAX_TEMPLATE_SENTENCES = 15000
PER_CLAUSE = 4  # questions made from each instruction or condition of the manuals
# The most common words of everyday English (from pocketsphinx's general model) join
# the vocabulary with this share of the unigram mass: crews say more than manuals do.
GENERAL_WORDS = 2000
GENERAL_WEIGHT = 0.1


@dataclass(frozen=True)
class Model:
    """A built vocabulary on disk."""

    version: str
    path: Path
    words: int
    sentences: int

    @property
    def lm(self) -> Path:
        return self.path / "lm.arpa"

    @property
    def dictionary(self) -> Path:
        return self.path / "words.dict"


def root() -> Path:
    return Path(settings.VAR_DIR) / "voice" / "lm"


def current() -> Model | None:
    """The live model, or None when none was built yet (or it is from older rules)."""
    try:
        info = json.loads((root() / "current.json").read_text())
    except (OSError, ValueError):
        return None
    path = root() / info["version"]
    if info.get("rules") != RULES or not (path / "lm.arpa").exists():
        return None
    return Model(info["version"], path, info["words"], info["sentences"])


def ensure() -> Model:
    """The live model, built now if there is none."""
    return current() or build()


def build() -> Model:
    """Build the vocabulary from the knowledge base as it is now and make it live."""
    started = time.monotonic()
    sentences, phrases, instructions, conditions = corpus()
    sentences += templates.ask(instructions, "instruction", PER_CLAUSE)
    sentences += templates.ask(conditions, "condition", PER_CLAUSE)
    for phrase, n in list(phrases.items()):
        if (other := _other_number(phrase)) and other not in phrases:
            phrases[other] = n
    sentences += templates.fill(phrases, limit=MAX_TEMPLATE_SENTENCES)
    sentences += [s for s in (normalize(t) for t in templates.BASE_SENTENCES.splitlines()) if s]
    general = general_words(GENERAL_WORDS)
    words = {w for s in sentences for w in s.split()} | set(templates.base_words()) | set(general)
    # What crews have typed here: their own phrasing, weighted above the templates. A
    # word the manuals, the templates and the dictionary all lack is likelier a typo
    # than a word to listen for, so such a question is left out.
    known = words | set(cmudict())
    for question in asked_questions():
        if all(w in known for w in question.split()):
            sentences += [question] * ASKED_WEIGHT
            words.update(question.split())
    lexicon = pronunciations(sorted(words))
    sentences = [s for s in sentences if all(w in lexicon for w in s.split())]
    arpa = arpa_text(sentences, sorted(lexicon), general, GENERAL_WEIGHT)
    dictionary = "".join(
        f"{word}{f'({i + 1})' if i else ''} {phones}\n"
        for word in sorted(lexicon)
        for i, phones in enumerate(lexicon[word])
    )
    digest = hashlib.sha256(f"{RULES}\n{arpa}\n{dictionary}".encode()).hexdigest()[:16]
    model = _publish(digest, arpa, dictionary, len(lexicon), len(sentences))
    logger.info(
        "speech vocabulary %s: %d words, %d sentences, %.0f ms",
        digest,
        len(lexicon),
        len(sentences),
        (time.monotonic() - started) * 1000,
    )
    return model


def _publish(version: str, arpa: str, dictionary: str, words: int, sentences: int) -> Model:
    base = root()
    base.mkdir(parents=True, exist_ok=True)
    target = base / version
    if not (target / "lm.arpa").exists():
        scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
        (scratch / "lm.arpa").write_text(arpa)
        (scratch / "words.dict").write_text(dictionary)
        _validate(scratch)
        try:
            scratch.rename(target)
        except OSError:  # another build of the same text won the race
            shutil.rmtree(scratch, ignore_errors=True)
    info = {"version": version, "rules": RULES, "words": words, "sentences": sentences}
    pointer = base / f".current-{os.getpid()}.json"
    pointer.write_text(json.dumps(info))
    os.replace(pointer, base / "current.json")
    _prune(base, keep={version})
    return Model(version, target, words, sentences)


def _validate(folder: Path) -> None:
    """Load the model the way the engine will; raises if pocketsphinx refuses it."""
    import pocketsphinx

    config = pocketsphinx.Config(loglevel="FATAL")
    pocketsphinx.NGramModel(config, pocketsphinx.LogMath(), str(folder / "lm.arpa"))


def _prune(base: Path, keep: set[str]) -> None:
    """Remove old models, leaving the newest few for streams that still load them."""
    folders = sorted(
        (p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in [p for p in folders if p.name not in keep][2:]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in base.glob(".build-*"):
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)


# --- the corpus ----------------------------------------------------------------------


def corpus() -> tuple[list[str], Counter, list[str], list[str]]:
    """Spoken-form sentences of the knowledge base, the noun phrases it uses, its
    instructions ("filter the vat") and its conditions ("the display shows def")."""
    from knowledge.models import Chunk, Document

    sentences: list[str] = []
    phrases: Counter = Counter()
    verbs: set[str] = set()
    clauses: list[str] = []
    conditions: list[str] = []
    for title in Document.objects.ready().values_list("title", flat=True):
        sentences.extend(_sentences(title))
        phrases.update(_title_phrases(title))
    chunks = Chunk.objects.filter(document__status=Document.Status.READY)
    for heading, text in chunks.values_list("heading", "text").iterator():
        for part in heading.split(" › "):
            part = re.sub(r"^\s*[\d.]+\s*", "", part)
            sentences.extend(_sentences(part))
            phrases.update(_heading_phrases(part))
        for sentence in _sentences(text):
            sentences.append(sentence)
            phrases.update(_noun_phrases(sentence))
        verbs.update(_step_verbs(text))
        clauses.extend(_clauses(text))
        conditions.extend(_conditions(text))
    heads = {phrase.split()[-1] for phrase in phrases}
    verbs = (verbs - heads - templates.FUNCTION_WORDS) | templates.VERBS
    instructions = sorted({c for c in clauses if c.split()[0] in verbs})
    return sentences, phrases, instructions, sorted(set(conditions))


def _step_verbs(text: str) -> set[str]:
    """The first words of numbered or bulleted steps: mostly verbs ("check", "lower")."""
    found = re.findall(r"^\s*(?:\d+[.)]|[•*-])\s+(?:\*\*[^*]*\*\*\s*)?([A-Za-z]+)", text, re.M)
    return {w.lower() for w in found}


def _clauses(text: str, longest: int = 8) -> list[str]:
    """Spoken clauses of the text, cut at punctuation, at most ``longest`` words."""
    out = []
    for part in re.split(r"[.!?;:,|•()\[\]\n]+", text):
        words = normalize(re.sub(r"^\s*\d+[.)]\s*", "", part)).split()
        if len(words) >= 2:
            out.append(" ".join(words[:longest]))
    return out


def _conditions(text: str) -> list[str]:
    out = []
    for match in re.finditer(r"\b(?:if|when|once)\s+([^,.;:\n]+)", text, re.I):
        words = normalize(match[1]).split()
        if 2 <= len(words) <= 10:
            out.append(" ".join(words))
    return out


def _sentences(text: str) -> list[str]:
    parts = re.split(r"[.!?;:|•()\[\]\n]+(?:\s|$)|\n|\||\(|\)|•", text)
    out = []
    for part in parts:
        spoken = normalize(part)
        if spoken and len(spoken.split()) <= 60:
            out.append(spoken)
    return out


def _title_phrases(title: str) -> list[str]:
    title = re.sub(r"\(.*?\)", "", title)
    return [p for p in (_clean_phrase(normalize(t)) for t in re.split(r"\band\b|,", title)) if p]


def _heading_phrases(heading: str) -> list[str]:
    return [p for p in (_clean_phrase(normalize(h)) for h in re.split(r"\band\b|,", heading)) if p]


def _noun_phrases(sentence: str) -> list[str]:
    """Runs of content words after an article or possessive: "the walk in door seal"."""
    found = []
    for match in re.finditer(
        r"\b(?:the|a|an|each|every|our|your|its|their)\s+((?:\S+\s*){1,3})", sentence
    ):
        words = []
        for word in match[1].split():
            if word in templates.FUNCTION_WORDS or _verb_like(word):
                break
            words.append(word)
        phrase = _clean_phrase(" ".join(words))
        if phrase:
            found.append(phrase)
    return found


def _verb_like(word: str) -> bool:
    verbs = templates.VERBS
    return (
        word in verbs
        or (word.endswith("s") and word[:-1] in verbs)
        or (word.endswith("es") and word[:-2] in verbs)
        or word.endswith("ly")
    )


def _clean_phrase(phrase: str) -> str:
    words = phrase.split()
    while words and words[0] in templates.FUNCTION_WORDS:
        words.pop(0)
    while words and words[-1] in templates.FUNCTION_WORDS:
        words.pop()
    if not words or len(words) > 4 or not any(len(w) > 2 for w in words):
        return ""
    return " ".join(words)


def _other_number(phrase: str) -> str:
    """The phrase with its last word in the other grammatical number, when CMUdict
    knows that word: "nugget" for "nuggets", "vats" for "vat"."""
    *head, last = phrase.split()
    if last.endswith("ies"):
        other = last[:-3] + "y"
    elif last.endswith(("ches", "shes", "xes", "sses")):
        other = last[:-2]
    elif last.endswith("s") and not last.endswith("ss"):
        other = last[:-1]
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        other = last[:-1] + "ies"
    elif last.endswith(("ch", "sh", "x", "s")):
        other = last + "es"
    else:
        other = last + "s"
    return " ".join([*head, other]) if other in cmudict() else ""


@cache
def general_words(limit: int) -> dict[str, float]:
    """The ``limit`` most likely words of pocketsphinx's general English model, with
    their unigram probabilities."""
    import pocketsphinx

    if limit <= 0:
        return {}
    config = pocketsphinx.Config(loglevel="FATAL")
    logmath = pocketsphinx.LogMath()
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "en-us.lm.bin"
    general = pocketsphinx.NGramModel(config, logmath, str(path))
    words = [
        w
        for w in cmudict()
        if re.fullmatch(r"[a-z]+(?:'[a-z]+)?", w) and len(w) > 1 or w in ("a", "i")
    ]
    scored = sorted(((general.prob([w]), w) for w in words), reverse=True)[:limit]
    return {w: logmath.exp(score) for score, w in scored}


# --- pronunciations ------------------------------------------------------------------


ASKED_QUESTIONS = 5000  # the most recent typed questions learnt from
ASKED_WEIGHT = 3


def asked_questions(limit: int = ASKED_QUESTIONS) -> list[str]:
    """The store's recent typed questions, in spoken form, each once; never what the
    app's own accounts asked (monitoring probes, validation runs)."""
    from chat.models import Message
    from lineled.services import by_people

    typed = (
        by_people(Message.objects.filter(role=Message.Role.USER, modality=Message.Modality.TEXT))
        .order_by("-created_at")
        .values_list("text", flat=True)[:limit]
    )
    return sorted({q for q in (normalize(text) for text in typed) if q})


@cache
def cmudict() -> dict[str, list[str]]:
    import pocketsphinx

    entries: dict[str, list[str]] = defaultdict(list)
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            word, _, phones = line.strip().partition(" ")
            entries[re.sub(r"\(\d+\)$", "", word)].append(phones.split("#")[0].strip())
    return dict(entries)


def pronunciations(words: list[str]) -> dict[str, list[str]]:
    """Phones for each word: CMUdict's, then espeak-ng's, then letter rules; a word
    nothing can pronounce is left out. espeak-ng's pronunciation joins CMUdict's as an
    alternate: synthetic and accented speech often follows letter-to-sound rules more
    closely than the dictionary."""
    lexicon = {}
    known = cmudict()
    missing = []
    for word in words:
        if word in known:
            lexicon[word] = list(known[word])
        else:
            missing.append(word)
    spoken = espeak_phones(words)
    for word, phones in spoken.items():
        if word in lexicon and phones not in lexicon[word]:
            lexicon[word].append(phones)
    for word in missing:
        phones = spoken.get(word) or letter_phones(word)
        if phones:
            lexicon[word] = [phones]
    return lexicon


# espeak-ng's IPA → the CMU phone set of the acoustic model (longest match first).
_IPA = {
    "tʃ": "CH",
    "dʒ": "JH",
    "eɪ": "EY",
    "aɪ": "AY",
    "aʊ": "AW",
    "oʊ": "OW",
    "ɔɪ": "OY",
    "ɑː": "AA",
    "ɜː": "ER",
    "iː": "IY",
    "uː": "UW",
    "ɔː": "AO",
    "oː": "AO",
    "ɑ": "AA",
    "ɚ": "ER",
    "ɜ": "ER",
    "ə": "AH",
    "ʌ": "AH",
    "ɐ": "AH",
    "æ": "AE",
    "a": "AE",
    "ɪ": "IH",
    "ᵻ": "IH",
    "i": "IY",
    "ʊ": "UH",
    "u": "UW",
    "ɔ": "AO",
    "ɒ": "AA",
    "ɛ": "EH",
    "e": "EH",
    "o": "OW",
    "p": "P",
    "b": "B",
    "t": "T",
    "d": "D",
    "k": "K",
    "g": "G",
    "ɡ": "G",
    "f": "F",
    "v": "V",
    "θ": "TH",
    "ð": "DH",
    "s": "S",
    "z": "Z",
    "ʃ": "SH",
    "ʒ": "ZH",
    "h": "HH",
    "m": "M",
    "n": "N",
    "ŋ": "NG",
    "l": "L",
    "ɹ": "R",
    "r": "R",
    "j": "Y",
    "w": "W",
    "ɾ": "T",
    "ʔ": "T",
    "x": "K",
    "ç": "HH",
    "ɬ": "L",
}
_IPA_KEYS = sorted(_IPA, key=len, reverse=True)


def ipa_to_cmu(ipa: str) -> str:
    phones = []
    text = re.sub(r"[ˈˌ\-_‍ \u0329\u032f]", "", ipa)
    i = 0
    while i < len(text):
        for key in _IPA_KEYS:
            if text.startswith(key, i):
                phones.append(_IPA[key])
                i += len(key)
                break
        else:
            i += 1  # a mark we do not map (length, tie): skip it
    return " ".join(phones)


def espeak_phones(words: list[str]) -> dict[str, str]:
    """CMU phones for words as espeak-ng says them ({} when espeak-ng is missing).

    Remembered in VAR_DIR/voice/espeak.json: a rebuild asks espeak-ng only about new words.
    """
    path = Path(settings.VAR_DIR) / "voice" / "espeak.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    new = [w for w in words if w not in known]
    if new:
        found = _espeak_many(new)
        if found:
            known.update(found)
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_name(f".espeak-{os.getpid()}.json")
            scratch.write_text(json.dumps(known))
            os.replace(scratch, path)
    return {w: known[w] for w in words if known.get(w)}


def _espeak_many(words: list[str]) -> dict[str, str]:
    try:
        espeak = tts.espeak_engine(voice="en-us", timeout=60)
        lines = espeak.ipa("\n".join(words))
        if len(lines) != len(words):  # espeak joined or split lines: ask word by word
            lines = [" ".join(espeak.ipa(word)) for word in words]
    except tts.SpeechUnavailable:
        return {}
    except tts.SpeechFailed:
        logger.warning("espeak-ng could not pronounce the new words", exc_info=True)
        return {}
    return {w: p for w, line in zip(words, lines, strict=True) if (p := ipa_to_cmu(line))}


_LETTER_RULES = [
    ("tch", "CH"),
    ("sh", "SH"),
    ("ch", "CH"),
    ("th", "TH"),
    ("ph", "F"),
    ("ng", "NG"),
    ("ck", "K"),
    ("qu", "K W"),
    ("ee", "IY"),
    ("oo", "UW"),
    ("ea", "IY"),
    ("ai", "EY"),
    ("ay", "EY"),
    ("ou", "AW"),
    ("ow", "OW"),
    ("oi", "OY"),
    ("a", "AE"),
    ("b", "B"),
    ("c", "K"),
    ("d", "D"),
    ("e", "EH"),
    ("f", "F"),
    ("g", "G"),
    ("h", "HH"),
    ("i", "IH"),
    ("j", "JH"),
    ("k", "K"),
    ("l", "L"),
    ("m", "M"),
    ("n", "N"),
    ("o", "AA"),
    ("p", "P"),
    ("r", "R"),
    ("s", "S"),
    ("t", "T"),
    ("u", "AH"),
    ("v", "V"),
    ("w", "W"),
    ("x", "K S"),
    ("y", "IY"),
    ("z", "Z"),
]


def letter_phones(word: str) -> str:
    """A rough pronunciation from spelling alone, for when espeak-ng is not there."""
    phones, i = [], 0
    word = re.sub(r"[^a-z]", "", word)
    while i < len(word):
        for letters, sound in _LETTER_RULES:
            if word.startswith(letters, i):
                if not (letters == "e" and i == len(word) - 1 and phones):  # silent final e
                    phones.append(sound)
                i += len(letters)
                break
        else:
            i += 1  # a letter no rule covers (a "q" without its "u"): silent, and go on
    return " ".join(phones)
