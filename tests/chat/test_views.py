"""The chat screen's pages: who gets in, which conversation shows, the way to it."""

import json
import re

import pytest
from django.test import Client

from chat import services
from chat.models import Conversation

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_config(response) -> dict:
    match = re.search(
        rb'<script id="chat-config" type="application/json">(.*?)</script>', response.content
    )
    assert match, "the page carries its configuration for chat.js"
    return json.loads(match.group(1))


def nav_links(response) -> list[str]:
    nav = re.search(rb'<nav class="topnav" aria-label="Main">(.*?)</nav>', response.content, re.S)
    return [m.decode() for m in re.findall(rb"<a [^>]*>([^<]+)</a>", nav.group(1))]


@pytest.mark.parametrize("path", ["/chat/", "/chat/1/"])
def test_a_stranger_is_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_user_without_a_role_is_not_allowed(django_user_model):
    nobody = django_user_model.objects.create_user("dana", password="dana-pass-123")
    response = signed_in(nobody).get("/chat/")
    assert response.status_code == 403
    assert b"This page needs the crew role." in response.content


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_every_role_opens_a_new_empty_conversation_without_storing_one(request, who):
    user = request.getfixturevalue(who)
    response = signed_in(user).get("/chat/")
    assert response.status_code == 200
    assert Conversation.objects.count() == 0
    config = page_config(response)
    assert config["conversation"] is None
    assert config["conversationsApi"] == "/api/chat/conversations"
    assert config["messagesApi"] == "/api/chat/messages"
    assert config["socketPath"] == "/ws/chat/"
    assert config["maxChars"] == services.MAX_QUESTION_CHARS
    assert b'<h1 class="chat-title" id="chat-title">New conversation</h1>' in response.content
    assert b"No conversations yet." in response.content
    assert b'maxlength="2000"' in response.content


def test_the_list_shows_only_the_users_own_conversations(alice, bob):
    services.create_conversation(alice, "how long do fries cook?")
    services.create_conversation(bob, "walk-in at 45")
    response = signed_in(alice).get("/chat/")
    assert b"how long do fries cook?" in response.content
    assert b"walk-in at 45" not in response.content


def test_an_own_conversation_opens_by_its_address(alice):
    conversation = services.create_conversation(alice, "fryer filter steps")
    response = signed_in(alice).get(f"/chat/{conversation.pk}/")
    assert response.status_code == 200
    assert page_config(response)["conversation"] == conversation.pk
    assert b'id="chat-title">fryer filter steps</h1>' in response.content
    assert b"<title>fryer filter steps \xc2\xb7 Line Lead</title>" in response.content
    link = f'href="/chat/{conversation.pk}/" data-id="{conversation.pk}" aria-current="page"'
    assert link.encode() in response.content


def test_someone_elses_conversation_is_not_found(alice, bob):
    theirs = services.create_conversation(bob, "bob's question")
    client = signed_in(alice)
    for path in (f"/chat/{theirs.pk}/", f"/chat/{theirs.pk + 100}/"):
        response = client.get(path)
        assert response.status_code == 404
        assert b"Page not found" in response.content
        assert b"bob&#x27;s question" not in response.content


def test_the_page_is_read_only(alice):
    assert signed_in(alice).post("/chat/").status_code == 405


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_chat_is_the_first_link_of_the_top_nav(request, who):
    user = request.getfixturevalue(who)
    client = signed_in(user)
    assert nav_links(client.get("/"))[0] == "Chat"
    response = client.get("/chat/")
    assert nav_links(response)[0] == "Chat"
    assert b'<a href="/chat/" aria-current="page">Chat</a>' in response.content


def test_home_sends_crew_to_chat(alice):
    response = signed_in(alice).get("/")
    assert b'<form class="ask-hero-form" method="get" action="/chat/">' in response.content
    assert b"Ask Line Lead" in response.content


def test_home_has_no_chat_box_for_a_user_without_a_role(django_user_model):
    nobody = django_user_model.objects.create_user("dana", password="dana-pass-123")
    response = signed_in(nobody).get("/")
    assert response.status_code == 200
    assert b"Ask Line Lead" not in response.content
