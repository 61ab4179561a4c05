"""Sign-in lockout (django-axes): repeated wrong passwords lock a username from one
address, on the site's login page and the admin's, and say so on the page."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from lineled import services

pytestmark = pytest.mark.django_db

LOCKED = "Too many wrong passwords for alice from this device"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Each wrong password is hashed; the production hasher would make these tests slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, password, path="/accounts/login/"):
    return client.post(path, {"username": "alice", "password": password})


def fail_until_locked(client, path="/accounts/login/"):
    responses = [sign_in(client, "wrong", path) for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert [r.status_code for r in responses[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    return responses[-1]


def test_wrong_passwords_lock_the_username_and_the_login_page_says_so(alice):
    client = Client()
    locked = fail_until_locked(client)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert LOCKED in page and "locked for 15 minutes" in page
    assert 'name="password"' in page and 'value="alice"' in page  # the login page itself

    # The right password does not get in while the lock lasts...
    again = sign_in(client, "alice-pass-123")
    assert again.status_code == 429 and LOCKED in again.content.decode()
    assert "_auth_user_id" not in client.session
    # ...while the same username on another till of the store still signs in.
    other_till = Client(REMOTE_ADDR="10.0.0.7")
    assert sign_in(other_till, "alice-pass-123").status_code == 302


def test_the_lock_lifts_after_the_cool_off(alice):
    client = Client()
    fail_until_locked(client)
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = sign_in(client, "alice-pass-123")
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_api_token_keeps_working_for_a_locked_out_user(alice):
    _, token = services.create_token(alice, "till")
    fail_until_locked(Client())
    response = Client().get("/api/chat/conversations", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_the_admin_login_locks_too_and_ops_see_the_lock_in_the_admin(alice, charlie):
    locked = fail_until_locked(Client(), "/admin/login/")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert LOCKED in page and "Line Lead ops console" in page  # the admin's own login page

    ops = Client()
    ops.force_login(charlie)
    attempts = ops.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200
    assert "alice" in attempts.content.decode()
