"""Embeddings: every chunk and each of its answer units gets a vector after ingestion,
and search finds by meaning what shares no word with the question."""

import numpy as np
import pytest

from knowledge import reading, services, tasks, vectors
from knowledge.models import Chunk, Document
from knowledge.search import search

pytestmark = pytest.mark.django_db

MANUALS = {
    "hygiene.md": (
        "# Personal hygiene\n\n"
        "Employees must tie back long hair and wear a hat or hair restraint while "
        "preparing food.\n\nFingernails are kept short and clean.\n"
    ),
    "fryer.md": (
        "# Fryer oil\n\nFilter the fryer oil every night after close. Change the oil when "
        "the test strip reads 24% or more.\n"
    ),
    "closing.md": (
        "# Closing\n\nLock the back door at 11:00 pm and set the alarm before you leave.\n"
    ),
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def add(name: str, text: str) -> Document:
    document, _ = services.add_document(filename=name, data=text.encode())
    return services.ingest(document.pk)


@pytest.fixture
def manuals():
    return [add(name, text) for name, text in MANUALS.items()]


def test_a_document_gets_a_vector_for_its_chunks_and_each_of_their_units(manuals):
    fryer = manuals[1]
    assert fryer.vectors_done == 0 and not vectors.is_current(fryer)  # not inline with ingest
    fryer = vectors.embed_document(fryer.pk)
    assert vectors.is_current(fryer) and fryer.vectors_done == fryer.chunk_count
    for chunk in Chunk.objects.filter(document=fryer):
        assert vectors.unpack(chunk.vector).shape == (1, vectors.DIM)
        units = vectors.unpack(chunk.unit_vectors)
        assert units.shape == (len(reading.units(chunk.text)), vectors.DIM)
        assert np.allclose(np.linalg.norm(units, axis=1), 1.0, atol=0.01)


def test_ingesting_queues_the_embeddings_for_after_the_commit(
    manuals, django_capture_on_commit_callbacks, monkeypatch
):
    ran = []
    monkeypatch.setattr(tasks.embed_document, "delay", lambda pk: ran.append(pk))
    document, _ = services.add_document(filename="more.md", data=b"# More\n\nWipe the counter.")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.ingest(document.pk)
    assert not ran  # nothing before the commit
    for callback in callbacks:
        callback()
    assert ran == [document.pk]


def test_the_task_embeds_once_and_the_sweep_finds_what_is_left(manuals):
    assert set(vectors.outdated()) == {d.pk for d in manuals}
    assert tasks.embed_document.apply(args=[manuals[0].pk]).get()["embedded"] is True
    assert manuals[0].pk not in vectors.outdated()
    before = Chunk.objects.get(document=manuals[0]).vector
    vectors.embed_document(manuals[0].pk)  # current: left alone
    assert Chunk.objects.get(document=manuals[0]).vector == before
    Document.objects.filter(pk=manuals[0].pk).update(vectors_version=vectors.VERSION - 1)
    assert manuals[0].pk in vectors.outdated()  # made by older rules: made again


def test_search_finds_by_meaning_a_passage_that_shares_no_word_with_the_question(manuals):
    question = "do i gotta put my ponytail up"
    assert search(question, top_k=3) == []  # no word of it is in any manual
    for document in manuals:
        vectors.embed_document(document.pk)
    found = search(question, top_k=3)
    assert found[0].filename == "hygiene.md"
    assert "<mark>" not in found[0].snippet  # no word to mark, the passage whole


def test_words_and_meaning_agree_on_the_passage_that_names_the_question(manuals):
    for document in manuals:
        vectors.embed_document(document.pk)
    found = search("when do we lock the back door", top_k=3)
    assert found[0].filename == "closing.md" and "<mark>" in found[0].snippet
    assert found[0].score > found[1].score > 0


def test_a_deleted_document_is_gone_from_search_by_meaning(manuals):
    for document in manuals:
        vectors.embed_document(document.pk)
    services.delete_document(manuals[0])
    assert all(p.filename != "hygiene.md" for p in search("ponytail hat hair", top_k=3))


def test_filters_hold_for_search_by_meaning(manuals):
    for document in manuals:
        vectors.embed_document(document.pk)
    only_fryer = {"document_ids": [manuals[1].pk]}
    found = search("do i gotta put my ponytail up", top_k=3, filters=only_fryer)
    assert {p.filename for p in found} <= {"fryer.md"}


def test_a_text_embedded_once_is_read_from_the_cache_file(settings, tmp_path, monkeypatch):
    settings.EMBED_CACHE = str(tmp_path / "embeddings.sqlite3")
    first = vectors.embed(["Lock the back door at 11:00 pm."])
    assert (tmp_path / "embeddings.sqlite3").exists()

    def no_model():
        raise RuntimeError("the model is not needed for a text it has seen")

    monkeypatch.setattr(vectors, "_load", no_model)
    assert np.array_equal(vectors.embed(["Lock the back door at 11:00 pm."]), first)
    with pytest.raises(RuntimeError):
        vectors.embed(["A sentence never embedded before."])


def test_the_demo_manuals_ship_with_their_embeddings(settings, tmp_path, monkeypatch):
    """A fresh install loads the demo manuals without the model: if this fails, the
    manuals or how they are read changed; run loader.export_embeddings() again."""
    from knowledge.demo import loader

    settings.EMBED_CACHE = str(tmp_path / "fresh.sqlite3")

    def no_model():
        raise RuntimeError("a demo manual's text is not in knowledge/demo/embeddings.npz")

    monkeypatch.setattr(vectors, "_load", no_model)
    documents = [item.document for item in loader.load()]
    assert len(documents) == 7 and all(vectors.is_current(d) for d in documents)
