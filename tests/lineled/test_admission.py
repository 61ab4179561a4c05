"""Admission control of the REST API: a rate per user (session and token together) and
one per address for requests that are not signed in; refusals are 429 with Retry-After."""

import gc

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from lineled import admission
from lineled.lib.env import env_rate
from lineled.services import create_token

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_user_over_the_api_rate_is_refused_by_session_and_token_alike(alice, bob, settings):
    settings.RATE_API_USER = "4/m"
    browser = signed_in(alice)
    script = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(alice, 'script')[1]}")
    codes = [c.get("/api/me").status_code for c in (browser, script, browser, script, script)]
    assert codes == [200, 200, 200, 200, 429]
    refused = browser.get("/api/chat/conversations")
    assert refused.status_code == 429
    assert refused.json() == {
        "message": f"too many requests: try again in {refused['Retry-After']} s"
    }
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert signed_in(bob).get("/api/me").status_code == 200


def test_requests_without_a_valid_sign_in_are_counted_per_address(alice, settings):
    settings.RATE_API_ANON = "3/m"
    guesses = [Client(HTTP_AUTHORIZATION=f"Bearer ll_guess{n}").get("/api/me") for n in range(3)]
    assert [r.status_code for r in guesses] == [401, 401, 401]
    refused = Client().get("/api/me")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    elsewhere = Client(REMOTE_ADDR="192.0.2.7").get("/api/me")
    assert elsewhere.status_code == 401
    # Signed in from the same address, a user is counted as themselves.
    assert signed_in(alice).get("/api/me").status_code == 200


def test_a_forwarded_address_is_believed_only_behind_a_trusted_proxy(settings):
    settings.RATE_API_ANON = "1/m"
    spoofed = [Client(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").get("/api/me") for n in (1, 2)]
    assert [r.status_code for r in spoofed] == [401, 429]


def test_rates_are_read_from_the_environment_strictly():
    assert env_rate("RATE_ASK", "30/m", environ={}) == "30/m"
    assert env_rate("RATE_ASK", "30/m", environ={"RATE_ASK": "600/5m"}) == "600/5m"
    assert env_rate("RATE_ASK", "30/m", environ={"RATE_ASK": "off"}) == ""
    with pytest.raises(ImproperlyConfigured, match="RATE_ASK='30 per minute' is not a rate"):
        env_rate("RATE_ASK", "30/m", environ={"RATE_ASK": "30 per minute"})


def test_an_answer_that_never_started_gives_its_place_back(alice, settings):
    """A stream whose client left before it began is dropped unread: its place is not
    held until the slot expires."""
    settings.ANSWERS_PER_USER = 1
    ticket = admission.admit_answer(alice)
    with pytest.raises(admission.Busy, match="you already have 1 answer being written"):
        admission.admit_answer(alice)
    del ticket
    gc.collect()
    admission.admit_answer(alice).release()
