"""The chat screen in a real browser against the real stack: uvicorn serving the app, the
chat websocket, the REST API and the demo manuals with their page images.

Answers stream faster than a person (or a screenshot) can see, so where a test watches
an answer grow it relays the real server's events through Playwright and lets them go
a few at a time. Screenshots go to test-artifacts/e2e/chat-*.png.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Feedback, Message
from tests.e2e.conftest import ARTIFACTS, PHONE, TABLET
from tests.e2e.test_login import assert_fits_width, nav, sign_in

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("answers_finished"),
]

FRIES = "how long do fries cook?"
OFF_TOPIC = "What is the capital of France?"
DECLINE = "The manuals don't cover that — ask your manager."
ANSWERED = 30_000  # ms

# Records each change of the newest answer: its state and how much text it shows.
WATCH_ANSWER = """() => {
  window.answerSteps = [];
  new MutationObserver(() => {
    const answers = document.querySelectorAll(".answer");
    const answer = answers[answers.length - 1];
    if (!answer) return;
    const step = [answer.dataset.state, answer.querySelector(".answer-text").textContent.length];
    const last = window.answerSteps.at(-1);
    if (!last || last[0] !== step[0] || last[1] !== step[1]) window.answerSteps.push(step);
  }).observe(document.getElementById("messages"), {subtree: true, childList: true,
                                                   characterData: true, attributes: true});
}"""
IMAGES_LOADED = """(selector) => {
  const images = [...document.querySelectorAll(selector)];
  return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
}"""


@pytest.fixture(scope="module")
def live_url(stack):
    return stack[0]


def server_log(stack) -> str:
    return (stack[1] / "web.log").read_text()


def shot(page, name: str) -> None:
    """What the screen shows now (the chat is an app screen: the composer stays put)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"chat-{name}.png"), animations="disabled")


class Relay:
    """Stands between the page and the real chat websocket; while ``holding``, the
    answer's token, citations and done events wait until the test releases them."""

    HELD = ("token", "citations", "done")

    def __init__(self, page):
        self.page = page
        self.routes = []
        self.held: list[str] = []
        self.holding = False
        page.route_web_socket(re.compile(r"/ws/chat/\d+/$"), self.route)

    def route(self, ws) -> None:
        server = ws.connect_to_server()
        self.routes.append(ws)

        def from_server(message):
            if self.holding and json.loads(message)["type"] in self.HELD:
                self.held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)

    def wait_for_done(self) -> None:
        for _ in range(ANSWERED // 100):
            if self.held and json.loads(self.held[-1])["type"] in ("done", "error"):
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"no answer within {ANSWERED} ms: {self.held[-3:]}")

    def release(self, count: int | None = None, pause_ms: int = 30) -> None:
        count = len(self.held) if count is None else count
        for message in self.held[:count]:
            self.routes[-1].send(message)
            self.page.wait_for_timeout(pause_ms)
        del self.held[:count]
        if not self.held:
            self.holding = False

    def drop(self) -> None:
        """The server end goes away (a deploy, a dead load balancer)."""
        self.routes[-1].close(code=1012, reason="service restart")


def open_chat(page, username: str = "alice") -> None:
    sign_in(page, username)
    expect(page).to_have_url(re.compile(r"/$"))
    nav(page).get_by_role("link", name="Chat", exact=True).click()
    expect(page).to_have_url(re.compile(r"/chat/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New conversation")
    page.wait_for_load_state("domcontentloaded")  # the chat scripts are deferred


def ask(page, text: str) -> None:
    page.get_by_label("Your question").fill(text)
    page.get_by_label("Your question").press("Enter")


def answers(page):
    return page.locator(".msg-answer")


def test_crew_asks_sees_the_answer_stream_and_opens_the_cited_page(page, manuals, alice, stack):
    relay = Relay(page)
    open_chat(page)
    expect(nav(page).get_by_role("link", name="Chat")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="What do you need to know, Alice?")).to_be_visible()
    expect(page.get_by_role("complementary")).to_contain_text("No conversations yet.")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    assert Conversation.objects.count() == 0  # nothing is stored until the first question
    assert_fits_width(page)
    shot(page, "empty")

    # Ask: the conversation is created, the question shown, the answer streams in.
    page.evaluate(WATCH_ANSWER)
    relay.holding = True
    ask(page, FRIES)
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    conversation = Conversation.objects.get()
    assert page.url.endswith(f"/chat/{conversation.pk}/")
    expect(page.locator(".msg-question .bubble")).to_have_text(FRIES)
    expect(page.get_by_label("Your question")).to_have_value("")
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#send")).to_have_text("Answering…")
    try:
        relay.wait_for_done()
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{server_log(stack)}") from None
    tokens = [m for m in relay.held if json.loads(m)["type"] == "token"]
    assert len(tokens) >= 4, relay.held
    relay.release(len(tokens) // 2)
    answer = answers(page).first
    expect(answer.locator(".answer")).to_have_attribute("data-state", "streaming")
    expect(answer.locator(".caret")).to_be_visible()
    expect(answer.get_by_text("Answering…")).to_be_visible()
    shot(page, "streaming")
    relay.release()

    expect(answer.locator(".answer")).to_have_attribute("data-state", "done", timeout=ANSWERED)
    steps = page.evaluate("window.answerSteps")
    streamed = [length for state, length in steps if state == "streaming"]
    assert steps[0][0] == "waiting" and steps[-1][0] == "done", steps
    assert len(set(streamed)) >= 3 and streamed == sorted(streamed), steps  # it grew
    expect(answer.locator(".caret")).to_have_count(0)
    expect(page.locator("#send")).to_have_text("Send")
    stored = Message.objects.get(role="assistant")
    assert stored.status == "done" and not stored.declined

    # Citation cards: a highlighted page thumbnail that loads, the manual and its page.
    cards = answer.locator(".citation-card")
    expect(cards.first).to_be_visible()
    citation = stored.citations.order_by("rank").first()
    first = cards.first
    expect(first).to_contain_text(citation.title)
    pages = citation.pages
    where = f"p. {pages[0]}" if len(pages) == 1 else f"pp. {pages[0]}–{pages[-1]}"
    expect(first.locator(".citation-pages")).to_have_text(where)
    expect(first.locator("img")).to_have_attribute(
        "src", re.compile(rf"/pages/{pages[0]}/thumbnail\.png\?chunk={citation.chunk_id}$")
    )
    page.wait_for_function(IMAGES_LOADED, arg=".citation img")
    chip = answer.locator(".answer-text .cite-chip").first
    expect(chip).to_have_class(re.compile(r"\bis-known\b"))
    time_text = answer.locator(".answer-time").text_content()
    assert re.fullmatch(r"(<\u00a0)?\d+\.\d+\u00a0s", time_text), time_text
    assert_fits_width(page)
    shot(page, "answer")

    # The full page: from the card, then from the [n] chip; Escape and Close shut it.
    first.click()
    viewer = page.get_by_role("dialog")
    expect(viewer).to_be_visible()
    expect(viewer.get_by_role("heading")).to_have_text(citation.title)
    expect(viewer.locator("#page-dialog-image")).to_have_attribute(
        "src", re.compile(rf"/pages/{pages[0]}/image\.png\?chunk={citation.chunk_id}$")
    )
    page.wait_for_function(IMAGES_LOADED, arg="#page-dialog-image")
    expect(viewer.get_by_role("button", name="Close")).to_be_focused()
    shot(page, "page")
    viewer.get_by_role("button", name="Zoom in").click()
    expect(viewer.get_by_role("button", name="Fit to screen")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    chip.click()
    expect(viewer).to_be_visible()
    viewer.get_by_role("button", name="Close").click()
    expect(viewer).to_be_hidden()

    # Thumbs up is stored; copying puts the answer and its sources on the clipboard.
    answer.get_by_role("button", name="Helpful", exact=True).click()
    expect(answer.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(answer.get_by_role("status")).to_have_text("Thanks for the feedback.")
    assert Feedback.objects.get(message=stored).rating == "up"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer.get_by_role("button", name="Copy the answer").click()
    expect(answer.get_by_role("status")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "[1]" not in copied.split("Sources:")[0] and f"[1] {citation.title}" in copied

    # The conversation is in the list, titled by the question.
    listed = page.get_by_role("complementary").locator(".conv")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text(FRIES)
    expect(listed.first).to_contain_text("Just now")
    expect(listed.first).to_have_attribute("aria-current", "page")

    # A new conversation, and a question the manuals do not cover.
    page.get_by_role("link", name="New conversation").first.click()
    expect(page).to_have_url(re.compile(r"/chat/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New conversation")
    expect(answers(page)).to_have_count(0)
    ask(page, OFF_TOPIC)
    declined = answers(page).first.locator(".answer")
    expect(declined).to_have_attribute("data-state", "done", timeout=ANSWERED)
    expect(declined).to_have_class(re.compile(r"\bis-declined\b"))
    expect(declined.locator(".answer-note-text")).to_have_text(DECLINE)
    expect(declined.locator(".citations")).to_be_hidden()
    expect(listed).to_have_count(2)
    expect(listed.first).to_contain_text(OFF_TOPIC)
    assert Conversation.objects.count() == 2
    shot(page, "declined")

    # Back to the first conversation from the list: its history, citations and rating.
    listed.filter(has_text=FRIES).click()
    expect(page).to_have_url(re.compile(rf"/chat/{conversation.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(FRIES)
    expect(answers(page)).to_have_count(1)
    history = answers(page).first
    expect(history.locator(".citation-card")).to_have_count(cards.count())
    expect(history.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    page.go_back()
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(OFF_TOPIC)


def test_on_a_phone_the_answer_streams_and_the_list_is_a_drawer(phone_page, manuals, alice):
    page = phone_page
    relay = Relay(page)
    open_chat(page)
    assert_fits_width(page)
    expect(page.get_by_role("complementary")).to_be_hidden()
    shot(page, "empty-phone")

    relay.holding = True
    page.get_by_role("button", name=FRIES, exact=False).first.click()  # a suggestion
    expect(page.locator(".msg-question .bubble")).to_have_text(re.compile("fries", re.I))
    relay.wait_for_done()
    tokens = sum(1 for m in relay.held if json.loads(m)["type"] == "token")
    relay.release(tokens // 2)
    answer = answers(page).first
    expect(answer.locator(".answer")).to_have_attribute("data-state", "streaming")
    shot(page, "streaming-phone")
    relay.release()
    expect(answer.locator(".answer")).to_have_attribute("data-state", "done")
    card = answer.locator(".citation-card").first
    card.scroll_into_view_if_needed()
    page.wait_for_function(IMAGES_LOADED, arg=".citation img")
    helpful = answer.get_by_role("button", name="Helpful", exact=True)
    for button in (card, page.locator("#send"), helpful):
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box
    assert_fits_width(page)
    shot(page, "answer-phone")  # where the page left it: the question at the top
    answer.locator(".citations").evaluate("el => el.scrollIntoView({block: 'center'})")
    shot(page, "citations-phone")

    card.click()
    viewer = page.get_by_role("dialog")
    expect(viewer).to_be_visible()
    page.wait_for_function(IMAGES_LOADED, arg="#page-dialog-image")
    shot(page, "page-phone")
    viewer.get_by_role("button", name="Close").click()
    expect(viewer).to_be_hidden()

    # Thumbs down asks why (optional); the reason is stored with the rating.
    answer.get_by_role("button", name="Not helpful").click()
    reason = answer.get_by_label("What was wrong? (optional)")
    expect(reason).to_be_visible()
    expect(reason).to_be_focused()
    reason.fill("We drop fries for 2:45 at our store")
    shot(page, "thumbs-down-phone")
    answer.get_by_role("button", name="Send").click()
    expect(reason).to_be_hidden()
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.reason) == ("down", "We drop fries for 2:45 at our store")

    # The conversation list opens as a drawer and closes with Escape.
    page.get_by_role("button", name="Conversations").click()
    drawer = page.get_by_role("complementary")
    expect(drawer).to_be_visible()
    expect(drawer.locator(".conv")).to_have_count(1)
    shot(page, "drawer-phone")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    page.get_by_role("link", name="New conversation").last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New conversation")
    ask(page, OFF_TOPIC)
    declined = answers(page).first.locator(".answer")
    expect(declined).to_have_class(re.compile(r"\bis-declined\b"), timeout=ANSWERED)
    expect(declined).to_contain_text(DECLINE)
    shot(page, "declined-phone")


def test_a_dropped_connection_shows_a_banner_keeps_the_question_and_recovers(page, manuals, alice):
    relay = Relay(page)
    open_chat(page)
    banner = page.locator("#connection")
    relay.holding = True
    ask(page, FRIES)
    relay.wait_for_done()
    relay.release(3)
    answer = answers(page).first.locator(".answer")
    expect(answer).to_have_attribute("data-state", "streaming")

    # The server goes away mid-answer: the banner says so, the answer waits...
    relay.held.clear()
    relay.holding = False
    relay.drop()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Connection lost — reconnecting…")
    expect(banner.get_by_role("button", name="Retry")).to_be_visible()
    expect(answer).to_have_attribute("data-state", "interrupted")
    expect(answer).to_contain_text("the rest of the answer shows when the connection is back")
    shot(page, "interrupted")

    # ...the page reconnects by itself and fetches the answer the server finished anyway.
    expect(banner).to_be_hidden(timeout=5_000)
    assert len(relay.routes) == 2
    expect(answer).to_have_attribute("data-state", "done")
    expect(answer.locator(".citation-card").first).to_be_visible()
    expect(answer.locator(".caret")).to_have_count(0)

    # The network goes: a question asked meanwhile stays in the composer.
    page.context.set_offline(True)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("reconnecting")
    ask(page, "how often do we filter the fryers")
    expect(page.get_by_label("Your question")).to_have_value("how often do we filter the fryers")
    expect(answers(page)).to_have_count(1)
    banner.get_by_role("button", name="Retry").click()  # still offline: still the banner
    expect(banner).to_be_visible()
    shot(page, "offline")
    page.set_viewport_size(PHONE)
    assert_fits_width(page)
    shot(page, "offline-phone")
    page.set_viewport_size(TABLET)

    page.context.set_offline(False)
    expect(banner).to_be_hidden(timeout=10_000)
    page.get_by_role("button", name="Send").click()
    expect(answers(page)).to_have_count(2)
    expect(answers(page).last.locator(".answer")).to_have_attribute(
        "data-state", "done", timeout=ANSWERED
    )
    expect(page.get_by_label("Your question")).to_have_value("")
    assert Message.objects.filter(role="user").count() == 2


def test_an_answer_that_fails_offers_to_try_again(page, manuals, alice):
    relay = Relay(page)
    open_chat(page)
    relay.holding = True
    ask(page, FRIES)
    relay.wait_for_done()
    # The server reports a failure instead of finishing (as it does when the model fails).
    message_id = json.loads(relay.held[-1])["message"]
    relay.held = [m for m in relay.held if json.loads(m)["type"] == "token"][:3]
    relay.held.append(
        json.dumps(
            {
                "type": "error",
                "message": "The assistant could not finish this answer. Try asking again.",
                "message_id": message_id,
            }
        )
    )
    relay.release()
    failed = answers(page).first
    expect(failed.locator(".answer")).to_have_attribute("data-state", "failed")
    expect(failed.get_by_role("alert")).to_contain_text("could not finish this answer")
    shot(page, "failed")
    failed.get_by_role("button", name="Try again").click()
    expect(answers(page)).to_have_count(2)
    expect(answers(page).last.locator(".answer")).to_have_attribute(
        "data-state", "done", timeout=ANSWERED
    )
    expect(page.locator(".msg-question")).to_have_count(2)


def test_the_composer_counts_down_near_the_limit_and_enter_sends(page, manuals, alice):
    open_chat(page)
    box = page.get_by_label("Your question")
    box.fill("x" * 1500)
    expect(page.locator("#char-count")).to_be_hidden()
    box.fill("x" * 1850)
    expect(page.locator("#char-count")).to_have_text("1,850 / 2,000")
    box.fill("y" * 2100)  # the textarea stops at the limit
    expect(page.locator("#char-count")).to_have_text("2,000 / 2,000")
    shot(page, "limit")
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    expect(box).to_have_value("first line\nsecond line")
    box.press("Enter")
    expect(page.locator(".msg-question .bubble")).to_have_text("first line\nsecond line")


def test_home_points_crew_to_chat_and_asks_from_there(page, manuals, alice):
    sign_in(page, "alice")
    expect(nav(page).get_by_role("link").first).to_have_text("Chat")
    hero = page.get_by_role("region", name="Ask Line Lead")
    expect(hero).to_be_visible()
    shot(page, "home")
    hero.get_by_label("Your question").fill(FRIES)
    hero.get_by_role("button", name="Ask").click()
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    expect(page.locator(".msg-question .bubble")).to_have_text(FRIES)
    expect(answers(page).first.locator(".answer")).to_have_attribute(
        "data-state", "done", timeout=ANSWERED
    )


def test_someone_elses_conversation_is_not_found(page, alice, bob):
    theirs = Conversation.objects.create(user=bob, title="bob's question")
    sign_in(page, "alice")
    response = page.goto(f"/chat/{theirs.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
