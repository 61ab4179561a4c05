"""The home page: each role gets cards for what it uses, not only the API."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

CREW = ["Chat", "Voice"]
MANAGER = [*CREW, "Library", "Team"]
OPS = [*MANAGER, "Monitoring", "Validation", "System status", "Ops console", "API"]


def cards_for(user) -> list[str]:
    client = Client()
    client.force_login(user)
    html = client.get("/").content.decode()
    return re.findall(r'<a class="card" href="[^"]*"><h2>([^<]+)</h2>', html)


@pytest.mark.parametrize(("who", "cards"), [("alice", CREW), ("bob", MANAGER), ("charlie", OPS)])
def test_each_role_finds_cards_for_what_it_uses_on_the_home_page(request, who, cards):
    assert cards_for(request.getfixturevalue(who)) == cards


def test_the_crews_cards_lead_to_chat_and_voice(alice):
    client = Client()
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert '<a class="card" href="/chat/"><h2>Chat</h2>' in html
    assert '<a class="card" href="/chat/#voice-mic"><h2>Voice</h2>' in html
    assert client.get("/chat/").content.decode().count('id="voice-mic"') == 1


def test_someone_without_a_role_gets_no_cards(django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x-pass-123")
    assert cards_for(nobody) == []
