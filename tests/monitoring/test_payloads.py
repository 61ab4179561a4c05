"""What monitoring sends out keeps its shape: the events ops browsers hear on their socket
(static/js/monitoring.js reads them) and the body a webhook receives carry the same keys
as they always have, whatever builds them."""

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from lineled import notify
from lineled.roles import Role
from monitoring import services
from monitoring.models import Notification
from tests.monitoring.conftest import ask, rule, sample
from validation.clients import InProcessClient

pytestmark = pytest.mark.django_db

# The alert as the webhook has always carried it.
ALERT_KEYS = {
    "id",
    "metric",
    "severity",
    "state",
    "message",
    "value",
    "worst",
    "opened_at",
    "escalated_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
}


@pytest.fixture
def ops_socket():
    """A channel in the ops group, as an ops browser's socket joins it; ``hear(kind)``
    gives what it hears up to the first event of that kind, as lineled.consumers sends
    each on to the browser."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(notify.role_group(Role.OPS), channel)

    # All in one event loop: channels_redis keeps what it has read ahead per loop.
    async def hear(kind: str) -> list[dict]:
        heard = []
        while not heard or heard[-1]["type"] != kind:
            event = await layer.receive(channel)
            heard.append({"type": event["kind"], **event["payload"]})
        return heard

    yield async_to_sync(hear)
    async_to_sync(layer.group_discard)(notify.role_group(Role.OPS), channel)


@pytest.fixture
def webhook(settings):
    """A chat tool listening on loopback; the JSON bodies it was sent."""
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    yield received
    server.shutdown()
    server.server_close()


def test_ops_browsers_hear_an_alert_and_the_pass_with_the_keys_they_read(
    alice, fryer, ops_socket, django_capture_on_commit_callbacks
):
    rule("decline_rate", warning=0.1, critical=0.9, fire_after=1, min_count=1)
    ask(alice, "who won the football game last night")
    with django_capture_on_commit_callbacks(execute=True):
        sample()

    *alerts, sampled = ops_socket("monitoring.sampled")  # pushed last, once the pass commits

    assert all(set(a) == {"type", "id", "metric", "severity", "state", "event"} for a in alerts)
    [alert] = [a for a in alerts if a["metric"] == "decline_rate"]
    assert alert["type"] == "monitoring.alert"
    assert (alert["severity"], alert["state"], alert["event"]) == ("critical", "open", "opened")
    assert set(sampled) == {"type", "sampled_at", "status"}
    assert sampled["status"] == "critical"
    assert isinstance(datetime.fromisoformat(sampled["sampled_at"]), datetime)


def test_a_webhook_gets_the_event_the_whole_alert_and_a_line_of_text(
    alice, charlie, fryer, webhook, django_capture_on_commit_callbacks
):
    rule("decline_rate", warning=0.1, critical=0.9, fire_after=1, min_count=1)
    ask(alice, "who won the football game last night")
    with django_capture_on_commit_callbacks(execute=False):
        sample()
    opened = Notification.objects.get(channel="webhook")
    services.acknowledge(opened.alert_id, charlie)  # acknowledging notifies no one

    assert services.deliver(opened.pk) == "sent"

    [body] = webhook
    assert set(body) == {"event", "alert", "text"}
    assert body["event"] == "opened"
    assert body["text"].startswith("[Line Lead] opened: Decline rate is 100.0%")
    assert set(body["alert"]) == ALERT_KEYS
    assert body["alert"]["acknowledged_by"] == charlie.username
    assert body["alert"]["resolved_by"] is None and body["alert"]["resolved_at"] is None
    assert isinstance(datetime.fromisoformat(body["alert"]["opened_at"]), datetime)


def test_the_dashboard_answers_the_same_keys_in_process_as_over_http(charlie, fryer):
    sample()
    browser = Client()
    browser.force_login(charlie)
    over_http = browser.get("/api/monitoring/dashboard").json()

    in_process = InProcessClient(charlie).monitoring()

    assert set(in_process) == {"status", "metrics", "alerts", "gaps", "validation"}
    assert set(in_process) == set(over_http)
    assert set(in_process["status"]) == set(over_http["status"])
    assert [m["name"] for m in in_process["metrics"]] == [m["name"] for m in over_http["metrics"]]
    assert set(in_process["metrics"][0]) == set(over_http["metrics"][0])
