import json
import math
from collections import defaultdict

import pytest
from django.core.management import call_command

from knowledge import services
from voice import stt, tasks
from voice.stt import language_model, prompt, vocabulary
from voice.stt.pocketsphinx import PocketsphinxEngine
from voice.text import wer

from .speech_samples import spoken

CHILLER_MANUAL = b"""# Frostwell Blast Chiller

## Cooling cooked chicken

Load the Frostwell blast chiller with hot pans of cooked chicken. Set the probe in the
thickest piece. The Frostwell cools food from 135\xc2\xb0F to 41\xc2\xb0F in 90 minutes.

## Cleaning the Frostwell

Wipe the Frostwell gaskets every night. Empty the drip tray and sanitize it.
"""


@pytest.fixture(autouse=True)
def _voice_var(settings, tmp_path_factory):
    # One folder for the session: espeak-ng's pronunciations stay cached between tests.
    settings.VAR_DIR = tmp_path_factory.getbasetemp() / "voice-var"
    settings.VOICE_STT = "pocketsphinx"  # the language model is pocketsphinx's alone
    (settings.VAR_DIR / "voice" / "lm" / "current.json").unlink(missing_ok=True)
    stt.reset()
    yield
    stt.reset()


def speak(text: str) -> bytes:
    """espeak-ng speech as 16 kHz mono PCM, at espeak-ng's own speed."""
    return spoken(text, voice="en-us+klatt", speed=175)


def add_chiller_manual():
    document, _ = services.add_document(filename="frostwell.md", data=CHILLER_MANUAL)
    return services.ingest(document.pk)


@pytest.mark.django_db
def test_an_empty_knowledge_base_still_gives_a_working_model(tmp_path):
    model = vocabulary.build()
    words = model.dictionary.read_text()
    assert "\nstop " in words and "\nlistening " in words and "\nfryer " in words
    assert model.words > 1000 and model.sentences > 1000

    heard = PocketsphinxEngine().transcribe(speak("stop listening"))
    assert heard.text == "stop listening"


@pytest.mark.django_db
def test_a_new_manual_teaches_the_recogniser_its_equipment(
    tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    before = vocabulary.build()
    assert "frostwell" not in before.dictionary.read_text()
    monkeypatch.setattr(tasks.rebuild_vocabulary, "delay", lambda: tasks.rebuild_vocabulary.apply())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        document = add_chiller_manual()
    assert document.status == "ready"
    assert callbacks  # the rebuild was enqueued after commit

    after = vocabulary.current()
    assert after.version != before.version
    assert "\nfrostwell " in after.dictionary.read_text()
    assert "frostwell" in prompt.terms()  # whisper's prompt is rebuilt too
    question = "how do i clean the frostwell blast chiller"
    heard = stt.engine().transcribe(speak(question))
    assert "frostwell" in heard.text
    errors, words = wer(question, heard.text)
    assert errors <= 2, heard.text


@pytest.mark.django_db
def test_a_running_engine_picks_up_a_rebuilt_model(tmp_path):
    engine = stt.engine()
    first = engine.stream()
    first.cancel()
    old = vocabulary.current().version
    add_chiller_manual()  # outside on_commit: rebuild by hand, as the task would
    vocabulary.build()
    assert vocabulary.current().version != old

    heard = engine.transcribe(speak("where is the frostwell"))
    assert "frostwell" in heard.text


@pytest.mark.django_db
def test_questions_crews_typed_teach_the_recogniser_their_phrasing(tmp_path, alice):
    from chat import services as chat

    add_chiller_manual()
    question = "can the cooked chicken sit in the frostwell overnight before we toss it"
    spoken = speak(question)
    vocabulary.build()
    before = wer(question, stt.engine().transcribe(spoken).text)[0]

    conversation = chat.create_conversation(alice)
    chat.answer_now(conversation, alice, "Can the cooked chicken sit in the Frostwell overnight")
    chat.answer_now(conversation, alice, question + "?")
    chat.answer_now(conversation, alice, "can the frostwel sit ovrnight")  # typos: left out
    model = vocabulary.build()
    assert "\nfrostwel " not in model.dictionary.read_text()
    heard = stt.engine().transcribe(spoken).text
    errors, _ = wer(question, heard)
    assert errors < before and errors <= 1, (heard, before)


@pytest.mark.django_db
def test_what_validation_runs_and_probes_type_is_not_learnt(alice):
    """A validation run types its golden questions before it speaks them: if the
    vocabulary learnt them, its transcription test would measure nothing."""
    from chat import services as chat
    from lineled.services import SYSTEM_USERS, service_account

    for username in SYSTEM_USERS:
        account = service_account(username, "App")
        chat.answer_now(chat.create_conversation(account), account, f"is {username} heard")
    chat.answer_now(chat.create_conversation(alice), alice, "Is the crew heard?")
    assert vocabulary.asked_questions() == ["is the crew heard"]


def test_the_language_model_is_a_proper_distribution():
    sentences = ["how long do fries cook", "how long do nuggets cook", "where is the fryer"]
    vocab = sorted({w for s in sentences for w in s.split()} | {"walk", "in"})
    arpa = language_model.arpa_text(sentences, vocab)
    probs, bows = _read_arpa(arpa)
    words = [*vocab, "</s>"]

    def p(word, *history):
        gram = (*history, word)
        if gram in probs:
            return probs[gram]
        return bows.get(history, 1.0) * p(word, *history[1:]) if history else 0.0

    for history in [(), ("<s>",), ("how",), ("how", "long"), ("the", "fryer"), ("walk", "in")]:
        assert math.isclose(sum(p(w, *history) for w in words), 1.0, rel_tol=1e-3), history
    assert p("cook", "do", "fries") > p("cook", "do", "walk")


def _read_arpa(text: str):
    probs, bows = {}, {}
    order = 0
    for line in text.splitlines():
        if line.startswith("\\") and "-grams:" in line:
            order = int(line[1])
            continue
        parts = line.split()
        if order and len(parts) >= order + 1 and not line.startswith("\\"):
            gram = tuple(parts[1 : order + 1])
            probs[gram] = 10 ** float(parts[0])
            if len(parts) > order + 1:
                bows[gram] = 10 ** float(parts[order + 1])
    probs.pop(("<s>",), None)
    return probs, bows


def test_words_missing_from_the_dictionary_get_a_pronunciation():
    lexicon = vocabulary.pronunciations(["fryer", "frostwell", "qzxv"])
    assert "F R AY ER" in lexicon["fryer"]
    assert lexicon["frostwell"][0].startswith("F R AO S T")
    assert lexicon["qzxv"]  # letter rules when espeak-ng has nothing useful
    assert vocabulary.letter_phones("platen") == "P L AE T EH N"
    # a "q" without its "u" has no rule: it is passed over, not looped on forever
    assert vocabulary.letter_phones("iraq") == "IH R AE"
    assert vocabulary.ipa_to_cmu("tʃˈiːz") == "CH IY Z"


@pytest.mark.django_db
def test_the_command_builds_and_reports(capsys):
    call_command("build_vocabulary", "--json")
    report = json.loads(capsys.readouterr().out)
    model = report["pocketsphinx"]
    assert model["words"] > 1000 and model["sentences"] > 1000 and report["ms"] > 0
    assert vocabulary.current().version == model["version"]
    assert report["prompt"] == "Stop listening."  # no manuals: no key terms
    groups = defaultdict(int)
    for line in vocabulary.current().dictionary.read_text().splitlines():
        groups[line.split()[0].split("(")[0]] += 1
    assert groups["fries"] >= 1
