"""Visual citations: page images with the cited passage highlighted."""

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from knowledge import citations, services
from knowledge.ingest import typeset
from knowledge.models import Chunk, Document

pytestmark = pytest.mark.django_db
MANUALS = Path(__file__).resolve().parents[2] / "knowledge" / "demo" / "manuals"
FRYER = MANUALS / "hb-eq-101-fryer.pdf"
WALK_IN = MANUALS / "hb-eq-104-walk-in.pdf"
NOTES = """# Closing the fryer

Turn every vat off at close and let the oil cool below 100°F.

## Filtering

1. Put on the face shield and the heat-resistant gloves.
2. Open the drain valve slowly and let the oil run into the filter pan.
3. Close the valve before you pump the oil back.

Wipe the fryer bank down with a clean towel.
"""


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def ingest(filename: str, data: bytes) -> Document:
    document, _ = services.add_document(filename=filename, data=data)
    document = services.ingest(document.pk)
    assert document.status == "ready", document.error
    return document


@pytest.fixture
def fryer() -> Document:
    return ingest(FRYER.name, FRYER.read_bytes())


@pytest.fixture
def notes() -> Document:
    return ingest("closing.md", NOTES.encode())


@pytest.fixture
def crew(client, alice):
    # Signed in without a password check: django-axes (login lockout) wants the request
    # that Client.login does not give it, and these tests are not about signing in.
    client.force_login(alice)
    return client


def table_chunk(document: Document) -> Chunk:
    return document.chunks.get(text__contains="Table 2. Fryer cook times")


def png(response) -> Image.Image:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    data = b"".join(response.streaming_content) if response.streaming else response.content
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.convert("RGB")


def yellow(pixel) -> bool:
    r, g, b = pixel
    return r > 200 and g > 170 and b < 150


def share_yellow(image: Image.Image, box) -> float:
    data = image.crop(box).tobytes()
    pixels = [data[i : i + 3] for i in range(0, len(data), 3)]
    return sum(map(yellow, pixels)) / len(pixels)


def inked(before: Image.Image, after: Image.Image, box) -> bool:
    """Did marker ink go on here? (Yellow ink takes out blue and leaves red, on any colour.)"""
    (r0, _, b0), (r1, _, b1) = (ImageStat.Stat(i.crop(box)).mean for i in (before, after))
    return b1 < b0 * 0.6 and r1 > r0 * 0.9


def test_anonymous_visitors_get_no_image(client, fryer):
    chunk = table_chunk(fryer)
    for url in (
        citations.image_url(fryer.pk, 3),
        citations.image_url(fryer.pk, 3, chunk.pk),
        citations.thumbnail_url(fryer.pk, 3, chunk.pk),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        assert b"PNG" not in response.content
    assert client.head(citations.image_url(fryer.pk, 3)).status_code == 302


def test_a_crew_member_gets_the_page_image_at_the_size_it_was_rendered(crew, fryer):
    page = fryer.pages.get(number=3)
    response = crew.get(citations.image_url(fryer.pk, 3))
    image = png(response)
    assert image.size == (round(page.width * 1.5), round(page.height * 1.5))
    assert image.size == Image.open(page.image.path).size
    assert response["Cache-Control"] in ("private, max-age=900", "max-age=900, private")
    assert response["ETag"] and response["Last-Modified"]


def test_the_cited_passage_is_marked_inside_its_boxes_and_nowhere_else(crew, fryer):
    chunk = table_chunk(fryer)
    plain = png(crew.get(citations.image_url(fryer.pk, 3)))
    marked = png(crew.get(citations.image_url(fryer.pk, 3, chunk.pk)))
    assert marked.size == plain.size
    w, h = plain.size
    boxes = [[x0 * w, y0 * h, x1 * w, y1 * h] for x0, y0, x1, y1 in chunk.boxes["3"]]
    for box in boxes:
        box = [round(v) for v in box]
        assert inked(plain, marked, box), box
    # Far from the passage (more than 4% of the page around its boxes) nothing changed.
    left, top = min(b[0] for b in boxes) - 0.04 * w, min(b[1] for b in boxes) - 0.04 * h
    right, bottom = max(b[2] for b in boxes) + 0.04 * w, max(b[3] for b in boxes) + 0.04 * h
    for box in ([0, 0, w, top], [0, bottom, w, h], [0, 0, left, h], [right, 0, w, h]):
        box = [round(v) for v in box]
        assert marked.crop(box).tobytes() == plain.crop(box).tobytes()


def test_a_chunk_must_belong_to_the_document_and_cover_the_page(crew, fryer, notes):
    other = notes.chunks.first()
    chunk = table_chunk(fryer)
    assert crew.get(citations.image_url(fryer.pk, 3, other.pk)).status_code == 404
    assert crew.get(citations.image_url(fryer.pk, 1, chunk.pk)).status_code == 404
    assert crew.get(citations.thumbnail_url(fryer.pk, 1, chunk.pk)).status_code == 404
    assert crew.get(citations.image_url(fryer.pk, 3, 10**17)).status_code == 404
    url = citations.image_url(fryer.pk, 3)
    for junk in ("abc", "3.0", "-1", "", "²"):
        assert crew.get(url, {"chunk": junk}).status_code == 400


def test_unknown_documents_and_pages_and_documents_not_ready_are_not_found(crew, fryer):
    assert crew.get(citations.image_url(fryer.pk + 1000, 1)).status_code == 404
    assert crew.get(citations.image_url(fryer.pk, 99)).status_code == 404
    assert crew.get(citations.thumbnail_url(fryer.pk, 0)).status_code == 404
    Document.objects.filter(pk=fryer.pk).update(status=Document.Status.PROCESSING)
    assert crew.get(citations.image_url(fryer.pk, 1)).status_code == 404
    assert crew.get(citations.thumbnail_url(fryer.pk, 1)).status_code == 404


def test_only_get_and_head_are_allowed(crew, fryer):
    url = citations.image_url(fryer.pk, 1)
    assert crew.post(url).status_code == 405
    assert crew.head(url).status_code == 200


def test_the_thumbnail_is_small_and_marked_too(crew, fryer):
    chunk = table_chunk(fryer)
    plain = png(crew.get(citations.thumbnail_url(fryer.pk, 3)))
    marked = png(crew.get(citations.thumbnail_url(fryer.pk, 3, chunk.pk)))
    assert plain.width == marked.width == 240
    assert plain.height == marked.height == round(240 * 792 / 612)
    rects = chunk.boxes["3"]
    w, h = marked.size
    box = (
        round(min(r[0] for r in rects) * w),
        round(min(r[1] for r in rects) * h),
        round(max(r[2] for r in rects) * w),
        round(max(r[3] for r in rects) * h),
    )
    assert share_yellow(marked, box) > 0.3
    assert share_yellow(plain, box) < 0.05


def test_a_second_request_with_the_etag_answers_304(crew, fryer):
    chunk = table_chunk(fryer)
    for url in (
        citations.image_url(fryer.pk, 3),
        citations.image_url(fryer.pk, 3, chunk.pk),
        citations.thumbnail_url(fryer.pk, 3, chunk.pk),
    ):
        first = crew.get(url)
        assert first.status_code == 200
        again = crew.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304
        assert again.content == b""
        assert "private" in again["Cache-Control"]
        assert crew.get(url, HTTP_IF_NONE_MATCH='"stale"').status_code == 200
    plain = crew.get(citations.image_url(fryer.pk, 3))
    marked = crew.get(citations.image_url(fryer.pk, 3, chunk.pk))
    assert plain["ETag"] != marked["ETag"]


def test_highlights_are_cached_on_disk_and_served_from_there(crew, fryer, settings):
    chunk = table_chunk(fryer)
    url = citations.image_url(fryer.pk, 3, chunk.pk)
    first = png(crew.get(url))
    cached = list((Path(settings.MEDIA_ROOT) / "citations" / str(fryer.pk)).glob("*.png"))
    assert len(cached) == 1
    response = crew.get(url)
    assert response.streaming  # a FileResponse from the cache
    assert png(response).tobytes() == first.tobytes()


def test_a_reingest_never_serves_a_stale_image(crew, notes, fryer):
    url = citations.image_url(notes.pk, 1)
    before = crew.get(url)
    old = png(before)
    Path(notes.original.path).write_text(NOTES.replace("100°F", "90°F").replace("Wipe", "Dry"))
    services.ingest(notes.pk)
    after = crew.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert png(after).tobytes() != old.tobytes()

    thumb = citations.thumbnail_url(fryer.pk, 1)
    old = png(crew.get(thumb))
    Path(fryer.original.path).write_bytes(WALK_IN.read_bytes())  # a new revision of the manual
    services.ingest(fryer.pk)
    new = png(crew.get(thumb))
    fresh = Image.open(fryer.pages.get(number=1).image.path).convert("RGB")
    fresh = fresh.resize((240, round(fresh.height * 240 / fresh.width)), Image.Resampling.LANCZOS)
    assert new.tobytes() != old.tobytes()
    assert new.tobytes() == fresh.tobytes()


def test_a_markdown_page_is_typeset_at_ingestion_with_its_passage_marked(crew, notes):
    page = notes.pages.get(number=1)
    chunk = notes.chunks.get(text__contains="drain valve")
    plain = crew.get(citations.image_url(notes.pk, 1))
    assert b"".join(plain.streaming_content) == Path(page.image.path).read_bytes()  # as stored
    plain = png(crew.get(citations.image_url(notes.pk, 1)))
    marked = png(crew.get(citations.image_url(notes.pk, 1, chunk.pk)))
    assert plain.size == marked.size == typeset.SHEET
    assert share_yellow(plain, (0, 0, *plain.size)) == 0
    rows = [y for y in range(marked.height) if yellow(marked.getpixel((marked.width // 2, y)))]
    assert rows, "no highlight"
    # The marked band sits under the steps: below the "Filtering" heading, above the last line.
    assert marked.height * 0.15 < min(rows) < max(rows) < marked.height * 0.5
    thumb = png(crew.get(citations.thumbnail_url(notes.pk, 1, chunk.pk)))
    assert thumb.width == 240
    assert share_yellow(thumb, (0, 0, *thumb.size)) > 0.02


def long_text(words: int = 2400, unbroken: int = 60_000) -> str:
    """A plain-text manual of several pages, with a pasted blob (one unbroken 60 KB
    "word", which a request used to re-measure for seconds) before its last section."""
    body = " ".join(f"Check the walk-in at {n}." for n in range(words // 5))
    return f"{body}\n\nLOG\n\n{'x' * unbroken}\n\nCLOSING\n\nSet the alarm code 4471 at close."


def test_a_long_text_is_typeset_into_pages_and_a_citation_only_draws_on_the_stored_image(
    crew, monkeypatch
):
    document = ingest("walk-in.txt", long_text().encode())
    pages = list(document.pages.all())
    assert len(pages) > 3
    assert all(Path(p.image.path).is_file() and Path(p.thumbnail.path).is_file() for p in pages)
    closing = document.chunks.get(text__contains="alarm code 4471")
    assert closing.first_page == closing.last_page == len(pages)
    assert "alarm code 4471" in pages[-1].text and "4471" not in pages[0].text
    url = citations.image_url(document.pk, closing.first_page, closing.pk)

    def typesetting(*args, **kwargs):
        raise AssertionError("a citation request typeset the text (seconds per request)")

    monkeypatch.setattr(typeset, "_layout", typesetting)  # what every Layout runs
    marked = png(crew.get(url))
    plain = Image.open(pages[-1].image.path).convert("RGB")
    w, h = plain.size
    for x0, y0, x1, y1 in closing.boxes[str(closing.first_page)]:
        box = [round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)]
        assert inked(plain, marked, box), box


def test_a_page_without_a_stored_image_is_not_typeset_in_the_request(crew, notes):
    """Text pages ingested before they had images: 404 at once, and the sweep queues
    their document for ingestion."""
    from knowledge.tasks import sweep_ingestions

    notes.pages.update(image="", thumbnail="")
    assert crew.get(citations.image_url(notes.pk, 1)).status_code == 404
    assert sweep_ingestions.apply().get()["queued"] == [notes.pk]
    notes.refresh_from_db()
    assert notes.status == "queued"
    assert services.ingest(notes.pk).pages.get().image


def test_the_passage_is_found_whatever_the_whitespace():
    text = "Intro.\n\n1. Put on the  shield.\n\n2. Open the valve.\n\nOutro."
    start, end = typeset.find_passage(text, "1. Put on the shield.\n2. Open the valve.")
    assert text[start:end] == "1. Put on the  shield.\n\n2. Open the valve."
    assert typeset.find_passage(text, "not in there at all") is None


def test_concurrent_requests_do_not_corrupt_the_cache(fryer):
    chunk = table_chunk(fryer)
    target = citations.get_page_image(fryer.pk, 3, chunk.pk)
    start = threading.Barrier(8)

    def fetch(_):
        start.wait()
        response = citations.PageImage(target.page, target.chunk).response()
        return b"".join(response.streaming_content) if response.streaming else response.content

    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(fetch, range(8)))
    assert len(set(bodies)) == 1
    assert target.cache_path.read_bytes() == bodies[0]
    assert Image.open(io.BytesIO(bodies[0])).size == (918, 1188)
    assert [p.name for p in target.cache_path.parent.iterdir()] == [target.cache_path.name]


def test_highlights_are_drawn_one_at_a_time_in_a_process(fryer, monkeypatch):
    """A burst of citation requests queues for the drawing instead of starving the
    server's event loop (bench abuse: 16 at once held /healthz up for a second)."""
    drawing, most, draw = 0, 0, citations.highlight

    def counted(*args, **kwargs):
        nonlocal drawing, most
        drawing += 1
        most = max(most, drawing)
        time.sleep(0.02)  # long enough for the others to arrive
        try:
            return draw(*args, **kwargs)
        finally:
            drawing -= 1

    monkeypatch.setattr(citations, "highlight", counted)
    images = [
        citations.get_page_image(fryer.pk, 1, c.pk) for c in fryer.chunks.filter(first_page=1)
    ]
    start = threading.Barrier(len(images))

    def render(image):
        start.wait()
        return image.render()

    with ThreadPoolExecutor(len(images)) as pool:
        drawn = list(pool.map(render, images))
    assert len(images) >= 3 and len(set(drawn)) == len(images)
    assert most == 1


def test_atomic_writes_leave_one_whole_file(tmp_path):
    path = tmp_path / "c" / "x.png"
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda data: citations.write_atomically(path, data), payloads * 3))
    assert path.read_bytes() in payloads
    assert [p.name for p in path.parent.iterdir()] == ["x.png"]


def test_an_image_document_is_served_as_it_is(crew):
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(buffer, format="JPEG")
    document, _ = services.add_document(
        filename="hood-switch.jpg", data=buffer.getvalue(), caption="The hood fan switch"
    )
    services.ingest(document.pk)
    response = crew.get(citations.image_url(document.pk, 1))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    thumb = png(crew.get(citations.thumbnail_url(document.pk, 1, document.chunks.get().pk)))
    assert thumb.size == (240, 180)


def test_urls_carry_the_chunk():
    assert citations.image_url(4, 2) == "/knowledge/documents/4/pages/2/image.png"
    assert citations.image_url(4, 2, 17) == "/knowledge/documents/4/pages/2/image.png?chunk=17"
    assert citations.thumbnail_url(4, 2, 17) == (
        "/knowledge/documents/4/pages/2/thumbnail.png?chunk=17"
    )
