"""The Team page and ``/api/users``: the people of the store, not the app's own accounts."""

import pytest
from django.test import Client

from lineled import services
from monitoring.probes import probe_user

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def system_accounts():
    """The accounts the monitor's probes and in-process validation runs ask as."""
    return [probe_user(), services.service_account(services.VALIDATION_USERNAME, "Validation")]


def test_the_team_page_lists_people_but_not_the_apps_own_accounts(bob, alice, system_accounts):
    html = signed_in(bob).get("/team/").content.decode()
    assert "alice" in html and "bob" in html
    for account in system_accounts:
        assert account.username not in html
    assert "Monitoring probe" not in html


def test_the_team_api_leaves_out_the_apps_own_accounts_too(bob, alice, system_accounts):
    usernames = [user["username"] for user in signed_in(bob).get("/api/users").json()]
    assert usernames == ["alice", "bob"]
