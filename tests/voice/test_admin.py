"""The ops console's voice pages: every spoken question with what was heard and when."""

import pytest
from django.test import Client

from chat import services as chat
from voice.models import VoiceTurn

pytestmark = pytest.mark.django_db


@pytest.fixture
def turns(alice):
    conversation = chat.create_conversation(alice)
    start = chat.answer_now(conversation, alice, "how long do fries cook?")[0]
    heard = VoiceTurn.objects.create(
        conversation=conversation,
        question_id=start["question"],
        answer_id=start["message"],
        status=VoiceTurn.Status.ANSWERED,
        transcript="how long do fries cook",
        audio_ms=1800,
        stt_engine="pocketsphinx",
        tts_engine="espeak",
        stt_ms=310,
        first_token_ms=340,
        first_audio_ms=380,
    )
    missed = VoiceTurn.objects.create(
        conversation=conversation,
        status=VoiceTurn.Status.NOT_UNDERSTOOD,
        audio_ms=900,
        stt_engine="pocketsphinx",
    )
    return heard, missed


def test_ops_see_spoken_turns_and_can_filter_and_open_them(charlie, turns):
    heard, missed = turns
    client = Client()
    client.force_login(charlie)
    listing = client.get("/admin/voice/voiceturn/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "how long do fries cook" in page and "(Not Understood)" in page
    failed_only = client.get("/admin/voice/voiceturn/?status__exact=not_understood")
    assert "how long do fries cook" not in failed_only.content.decode()
    detail = client.get(f"/admin/voice/voiceturn/{heard.pk}/change/")
    assert detail.status_code == 200
    assert f"/admin/chat/message/{heard.question_id}/change/" in detail.content.decode()


def test_crew_cannot_open_the_voice_admin(alice, turns):
    client = Client()
    client.force_login(alice)
    assert client.get("/admin/voice/voiceturn/").status_code in (302, 403)
