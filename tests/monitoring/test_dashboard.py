"""The ops dashboard page at /monitoring/: who gets in, and that it stands up with
nothing measured yet (its figures come from the monitoring API, read by monitoring.js)."""

import re

import pytest
from django.test import Client

from monitoring import metrics
from monitoring.models import MetricSample

pytestmark = pytest.mark.django_db

URL = "/monitoring/"
MONITORING_LINK = re.compile(r'<a href="/monitoring/"\s*(aria-current="page")?>Monitoring</a>')


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_ops_get_the_dashboard_with_its_sections_and_scripts(charlie):
    response = signed_in(charlie).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Monitoring · Line Lead</title>" in page
    assert "<h1>Monitoring</h1>" in page
    for heading in ("Open alerts", "Metrics", "Knowledge gaps", "Validation"):
        assert f">{heading}</h2>" in page, heading
    assert re.search(r"<button[^>]*>Sample now</button>", page)
    assert 'data-range="7d"' in page and 'aria-pressed="true">Last 24 hours' in page
    assert 'name="csrfmiddlewaretoken"' in page  # api.js sends it on the POSTs
    for script in (
        "js/api.js",
        "vendor/uplot/uPlot.iife.min.js",
        "js/charts.js",
        "js/monitoring.js",
    ):
        assert f"/static/{script}" in page, script
    assert 'data-api="/api/monitoring"' in page
    assert 'data-socket="/ws/notifications/"' in page


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_crew_and_managers_are_refused(who, request):
    response = signed_in(request.getfixturevalue(who)).get(URL)
    assert response.status_code == 403
    assert b"This page needs the ops role." in response.content


def test_a_stranger_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/monitoring/"


def test_the_monitoring_link_is_in_the_top_bar_for_ops_only(alice, bob, charlie):
    home = signed_in(charlie).get("/").content.decode()
    match = MONITORING_LINK.search(home)
    assert match and not match.group(1)
    on_the_page = MONITORING_LINK.search(signed_in(charlie).get(URL).content.decode())
    assert on_the_page and on_the_page.group(1)
    for user in (alice, bob):
        assert not MONITORING_LINK.search(signed_in(user).get("/").content.decode())


def test_with_no_samples_at_all_the_page_and_its_data_answer(charlie):
    assert not MetricSample.objects.exists()
    client = signed_in(charlie)
    page = client.get(URL)
    assert page.status_code == 200
    assert "No samples yet" in page.content.decode()  # shown by the script when it is so

    data = client.get("/api/monitoring/dashboard").json()
    assert data["status"]["status"] == "unknown"
    assert data["status"]["last_sampled_at"] is None
    assert [m["name"] for m in data["metrics"]] == [m.name for m in metrics.ALL]
    assert all(m["value"] is None and m["sampled_at"] is None for m in data["metrics"])
    assert data["alerts"] == [] and data["gaps"] == []
    assert data["validation"] is None  # "No validation run yet"
    name = metrics.ALL[0].name
    series = client.get(f"/api/monitoring/metrics/{name}/series").json()
    assert series["samples"] == []
