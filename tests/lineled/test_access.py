"""Who reaches what: pages and endpoints by role, and the login wall."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = {"/": "crew", "/team/": "manager", "/system/": "ops"}
ENDPOINTS = {"/api/me": "crew", "/api/users": "manager", "/api/system/status": "ops"}
RANK = {"crew": 1, "manager": 2, "ops": 3}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", [*PAGES, "/admin/", "/api/docs"])
def test_everything_but_the_probes_sends_a_stranger_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_the_api_answers_a_stranger_with_401_json(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert "authentication required" in response.json()["message"]


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_each_role_reaches_its_pages_and_no_higher(request, who):
    user = request.getfixturevalue(who)
    held = {"alice": "crew", "bob": "manager", "charlie": "ops"}[who]
    client = signed_in(user)
    for path, needed in PAGES.items():
        expected = 200 if RANK[held] >= RANK[needed] else 403
        assert client.get(path).status_code == expected, (who, path)
    for path, needed in ENDPOINTS.items():
        response = client.get(path)
        if RANK[held] >= RANK[needed]:
            assert response.status_code == 200, (who, path, response.content)
        else:
            assert response.status_code == 403, (who, path)
            assert f"needs the {needed} role" in response.json()["message"]


def test_only_ops_gets_into_the_admin_console(alice, bob, charlie):
    for user in (alice, bob):
        response = signed_in(user).get("/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    response = signed_in(charlie).get("/admin/")
    assert response.status_code == 200
    assert b"Line Lead ops console" in response.content


def test_ops_can_manage_users_in_the_admin(charlie, alice):
    client = signed_in(charlie)
    page = client.get("/admin/auth/user/")
    assert page.status_code == 200
    assert b"alice" in page.content
    assert client.get(f"/admin/auth/user/{alice.pk}/change/").status_code == 200


def test_a_crew_member_sees_no_links_to_manager_or_ops_pages(alice):
    html = signed_in(alice).get("/").content.decode()
    assert 'href="/team/"' not in html
    assert 'href="/system/"' not in html
    assert 'href="/admin/"' not in html


def test_the_home_page_shows_a_manager_the_team_link(bob):
    html = signed_in(bob).get("/").content.decode()
    assert 'href="/team/"' in html
    assert 'href="/system/"' not in html


def test_a_user_without_a_role_is_signed_in_but_reaches_nothing_else(django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="x-pass-123")
    client = signed_in(nobody)
    assert client.get("/").status_code == 200
    assert client.get("/team/").status_code == 403
    assert client.get("/api/users").status_code == 403


def test_session_writes_to_the_api_need_the_csrf_token(charlie):
    client = Client(enforce_csrf_checks=True)
    client.force_login(charlie)
    response = client.post("/api/system/ping", {"note": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


def test_signing_in_with_a_wrong_password_says_so(alice):
    response = Client().post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_signing_in_lands_on_home_and_signing_out_ends_the_session(alice):
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_api_errors_are_json_with_a_message(alice):
    client = signed_in(alice)
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["message"]
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_invalid_api_input_is_a_422_naming_the_field(charlie):
    response = signed_in(charlie).post(
        "/api/system/ping", {"note": ["not", "text"]}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["message"].startswith("invalid input: note")


def test_the_openapi_schema_documents_the_endpoints_for_signed_in_users(alice):
    schema = signed_in(alice).get("/api/openapi.json").json()
    assert "/api/me" in schema["paths"]
    assert "/api/system/status" in schema["paths"]
    assert "BearerTokenAuth" in schema["components"]["securitySchemes"]


def test_the_api_docs_page_is_laid_out_for_the_device_width_and_leads_back(alice):
    html = signed_in(alice).get("/api/docs").content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'id="swagger-settings"' in html and "/api/openapi.json" in html
    assert '<a href="/">' in html and "Back to Line Lead" in html
