import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lineled.models import ApiToken, digest_token

pytestmark = pytest.mark.django_db


def issue(username: str, *args: str) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("create_token", username, "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_from_the_command_authenticates_the_api_as_its_user(alice):
    token = issue("alice", "--name", "tablet 1")["token"]
    response = Client().get("/api/me", **bearer(token))
    assert response.status_code == 200
    assert response.json() | {"id": 0} == {
        "id": 0,
        "username": "alice",
        "name": "Alice",
        "role": "crew",
        "auth": "token",
    }


def test_tokens_are_stored_hashed(alice):
    issued = issue("alice")
    row = ApiToken.objects.get(pk=issued["id"])
    assert row.digest == digest_token(issued["token"])
    stored = [str(v) for v in ApiToken.objects.filter(pk=row.pk).values().first().values()]
    assert issued["token"] not in stored
    assert issued["token"].startswith(row.prefix)


def test_a_token_does_not_open_the_admin_or_the_pages(charlie):
    token = issue("charlie")["token"]
    client = Client()
    assert client.get("/api/system/status", **bearer(token)).status_code == 200
    response = client.get("/admin/", **bearer(token))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.get("/system/", **bearer(token))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_revoked_token_fails(alice):
    issued = issue("alice")
    call_command("revoke_token", "--prefix", issued["prefix"])
    response = Client().get("/api/me", **bearer(issued["token"]))
    assert response.status_code == 401


def test_revoking_by_user_ends_all_of_their_tokens_only(alice, bob):
    a1, a2, b1 = issue("alice")["token"], issue("alice")["token"], issue("bob")["token"]
    call_command("revoke_token", "--user", "alice")
    client = Client()
    assert client.get("/api/me", **bearer(a1)).status_code == 401
    assert client.get("/api/me", **bearer(a2)).status_code == 401
    assert client.get("/api/me", **bearer(b1)).status_code == 200


def test_an_expired_token_fails(alice):
    token = issue("alice", "--days", "1")["token"]
    assert Client().get("/api/me", **bearer(token)).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        assert Client().get("/api/me", **bearer(token)).status_code == 401


def test_a_deactivated_users_token_fails(alice):
    token = issue("alice")["token"]
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert Client().get("/api/me", **bearer(token)).status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer ll_notatoken", "Bearer ", "Basic abc", "Bearer " + "x" * 5000]
)
def test_a_wrong_token_is_a_401(alice, header):
    response = Client().get("/api/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_token_writes_need_no_csrf_token_and_still_check_the_role(alice, charlie):
    client = Client(enforce_csrf_checks=True)
    ops_token, crew_token = issue("charlie")["token"], issue("alice")["token"]
    body = {"note": "hello"}
    ok = client.post("/api/system/ping", body, content_type="application/json", **bearer(ops_token))
    assert ok.status_code == 202
    assert ok.json()["status"] == "PENDING"
    denied = client.post(
        "/api/system/ping", body, content_type="application/json", **bearer(crew_token)
    )
    assert denied.status_code == 403


def test_use_of_a_token_is_recorded(alice):
    issued = issue("alice")
    assert ApiToken.objects.get(pk=issued["id"]).last_used_at is None
    Client().get("/api/me", **bearer(issued["token"]))
    assert ApiToken.objects.get(pk=issued["id"]).last_used_at is not None


def test_a_busy_token_records_its_use_once_a_minute_not_on_every_request(alice):
    issued = issue("alice")
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get("/api/me", **bearer(issued["token"])).status_code == 200
    table = ApiToken._meta.db_table
    writes = [q for q in queries.captured_queries if q["sql"].startswith(f'UPDATE "{table}"')]
    assert len(writes) == 1
    first = ApiToken.objects.get(pk=issued["id"]).last_used_at
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        client.get("/api/me", **bearer(issued["token"]))
    assert ApiToken.objects.get(pk=issued["id"]).last_used_at > first


def test_the_commands_reject_bad_input(alice):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("create_token", "ghost")
    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("create_token", "alice", "--days", "0")
    with pytest.raises(CommandError, match="needs a name"):
        call_command("create_token", "alice", "--name", "  ")
    with pytest.raises(CommandError, match="no live token matched"):
        call_command("revoke_token", "--prefix", "ll_nothing")
    with pytest.raises(CommandError, match="say whose tokens"):
        call_command("revoke_token")
    assert ApiToken.objects.count() == 0


def test_ops_creates_a_token_in_the_admin_and_sees_it_once(charlie, alice):
    client = Client()
    client.force_login(charlie)
    response = client.post(
        "/admin/lineled/apitoken/add/", {"user": alice.pk, "name": "kiosk"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = next(str(m) for m in response.context["messages"] if "ll_" in str(m))
    plain = shown.split(": ")[-1]
    assert digest_token(plain) == token.digest
    assert Client().get("/api/me", **bearer(plain)).json()["username"] == "alice"
    # It is not on the token's own page afterwards.
    assert plain.encode() not in client.get(f"/admin/lineled/apitoken/{token.pk}/change/").content


def test_ops_revokes_tokens_with_the_admin_action(charlie, alice):
    plain = issue("alice")["token"]
    client = Client()
    client.force_login(charlie)
    client.post(
        "/admin/lineled/apitoken/",
        {"action": "revoke_selected", "_selected_action": [ApiToken.objects.get().pk]},
    )
    assert ApiToken.objects.get().revoked_at is not None
    assert Client().get("/api/me", **bearer(plain)).status_code == 401


def test_the_admin_refuses_an_expiry_in_the_past(charlie, alice):
    client = Client()
    client.force_login(charlie)
    past = timezone.now() - timedelta(days=1)
    response = client.post(
        "/admin/lineled/apitoken/add/",
        {
            "user": alice.pk,
            "name": "old",
            "expires_at_0": past.strftime("%Y-%m-%d"),
            "expires_at_1": "10:00:00",
        },
    )
    assert response.status_code == 200
    assert b"already past" in response.content
    assert ApiToken.objects.count() == 0
