"""``manage.py setup_demo``, as ``make run`` runs it on every start: the demo accounts'
passwords are shown once, and running it again changes nothing."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def setup_demo() -> str:
    out = StringIO()
    call_command("setup_demo", stdout=out)
    return out.getvalue()


def test_the_demo_passwords_are_shown_once_and_a_second_run_keeps_them(client):
    first = setup_demo()
    assert "Passwords are shown only now" in first
    accounts = dict(re.findall(r"username (\S+)\s+password (\S+)", first))
    assert set(accounts) == {"crew", "manager", "ops"}

    again = setup_demo()
    assert "already exist" in again
    assert not any(password in again for password in accounts.values())
    for username, password in accounts.items():  # the passwords shown still sign in
        signed_in = client.post(LOGIN, {"username": username, "password": password})
        assert signed_in.status_code == 302 and signed_in.url == "/", username
        client.logout()
