"""Reading the knowledge base takes a role: a signed-in user without one (and their
token) reads no document, page, search result, original or page image."""

import pytest
from django.test import Client

from knowledge import services
from knowledge.models import Chunk
from lineled.services import create_token
from tests.knowledge.samples import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def closing():
    document, _ = services.add_document(
        filename="closing.md", data=b"# Closing\n\n## Lock up\n\nLock the back door at 11 pm."
    )
    return services.ingest(document.pk)


@pytest.fixture
def nobody(django_user_model):
    return django_user_model.objects.create_user("nobody", password="nobody-pass-123")


def reads(document) -> list[str]:
    chunk = Chunk.objects.filter(document=document).first()
    pages = f"/knowledge/documents/{document.pk}/pages/1"
    return [
        "/api/knowledge/documents",
        f"/api/knowledge/documents/{document.pk}",
        f"/api/knowledge/documents/{document.pk}/pages/1",
        "/api/knowledge/search?q=back+door",
        f"/knowledge/documents/{document.pk}/original",
        f"{pages}/image.png?chunk={chunk.pk}",
        f"{pages}/thumbnail.png",
    ]


def test_a_user_without_a_role_reads_nothing_of_the_knowledge_base(nobody, alice, closing):
    by_session = signed_in(nobody)
    token = create_token(nobody, "kiosk")[1]
    for path in reads(closing):
        assert by_session.get(path).status_code == 403, path
        with_token = Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        # Tokens open no pages: the original sends a token holder to sign in.
        assert with_token.status_code == (302 if path.endswith("original") else 403), path
    assert "needs the crew role" in by_session.get("/api/knowledge/documents").json()["message"]

    crew = signed_in(alice)
    for path in reads(closing):
        assert crew.get(path).status_code == 200, path


def test_a_crew_member_who_loses_the_role_loses_the_reading_too(alice, closing):
    crew = signed_in(alice)
    assert crew.get("/api/knowledge/search?q=back+door").status_code == 200
    alice.groups.clear()
    assert crew.get("/api/knowledge/search?q=back+door").status_code == 403
    assert crew.get(f"/knowledge/documents/{closing.pk}/original").status_code == 403
