"""Voice on the chat screen in a real browser against the real stack: Chromium's fake
microphone plays an espeak-ng recording of the question, the page streams it to the
voice websocket (the default recogniser, whisper, hears it), the answer shows with its
citations and is played back through the page's AudioContext.

The fake microphone starts its file when the page opens the microphone and plays it
once, so each spoken question gets a Chromium of its own. Screenshots go to
test-artifacts/e2e/voice-*.png.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import wave

import pytest
from playwright.sync_api import expect

from chat.models import Message
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PHONE, TABLET
from tests.e2e.test_chat import IMAGES_LOADED
from tests.e2e.test_login import assert_fits_width, sign_in
from voice import tts

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("answers_finished"),
]

ANSWERED = 30_000  # ms
# A wording of "how long do fries cook" that espeak-ng's klatt voice says clearly enough
# for a recogniser to hear its key words.
SPOKEN = "how long do french fries go in the fryer"
# The browser's noise suppression and gain control vary a little from run to run, and
# so does a word or two of the transcript.
HEARD = re.compile(r"^how long .*fries .*fryer")
# A follow-up that only makes sense after the typed question before it.
FOLLOW_UP = "and what temperature"
STATS = "window.LineLeadVoice.stats"
BYTES_PER_SECOND = 16_000 * 2  # of the audio the page sends: 16 kHz, 16-bit mono

# The worklet fed a tone in an OfflineAudioContext: what comes out, at 16 kHz.
WORKLET_TONE = """async ([rate, hz]) => {
  const seconds = 1;
  const context = new OfflineAudioContext(1, rate * seconds, rate);
  await context.audioWorklet.addModule("/static/js/pcm-worklet.js");
  const node = new AudioWorkletNode(context, "pcm16-downsampler");
  const frames = [];
  let info = null;
  node.port.onmessage = (e) => (e.data.type === "frame" ? frames.push(e.data) : (info = e.data));
  const tone = context.createOscillator();
  tone.frequency.value = hz;
  const gain = context.createGain();
  gain.gain.value = 0.5;
  tone.connect(gain).connect(node).connect(context.destination);
  tone.start();
  await context.startRendering();
  await new Promise((resolve) => setTimeout(resolve, 200));  // the last messages
  const pcm = frames.flatMap((f) => Array.from(new Int16Array(f.pcm)));
  const steady = pcm.slice(1600);  // past the filter's start-up
  let crossings = 0;
  for (let i = 1; i < steady.length; i++) if ((steady[i - 1] < 0) !== (steady[i] < 0)) crossings++;
  const rms = Math.sqrt(steady.reduce((s, v) => s + (v / 32768) ** 2, 0) / steady.length);
  return {info, samples: pcm.length, frameSizes: [...new Set(frames.map((f) => f.pcm.byteLength))],
          hz: crossings / 2 / (steady.length / 16000), rms, lastRms: frames.at(-1).rms};
}"""


@pytest.fixture(scope="module")
def live_url(stack):
    return stack[0]


@pytest.fixture(scope="module")
def driver():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """``recording(text)``: a WAV of ``text`` as the fake microphone plays it: espeak-ng,
    1 s of quiet before and 1.5 s after, 48 kHz mono (the page downsamples it)."""
    folder = tmp_path_factory.mktemp("speech")

    def make(text: str):
        name = re.sub(r"\W+", "-", text).strip("-")
        raw, padded = folder / f"{name}-raw.wav", folder / f"{name}.wav"
        if not padded.exists():
            raw.write_bytes(tts.espeak_engine(voice="en-us+klatt", rate=150).synthesize(text).wav)
            subprocess.run(
                ["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(padded)]
                + ["pad", "1", "1.5"],
                check=True,
            )
        return padded

    return make


def seconds_of(path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


@contextlib.contextmanager
def chromium(driver, base_url: str, wav=None, viewport=TABLET, phone=False):
    """A Chromium whose microphone plays ``wav`` once (None: no fake microphone, and
    the microphone is refused); yields a page and the page's errors."""
    args = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
    if wav is not None:
        args += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop",
        ]
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        options = {"base_url": base_url, "viewport": viewport}
        if phone:
            options.update(device_scale_factor=2, is_mobile=True, has_touch=True)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page, errors
    finally:
        browser.close()


def open_chat(page, path: str = "/chat/") -> None:
    sign_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto(path)
    page.wait_for_load_state("domcontentloaded")
    page.wait_for_function("Boolean(window.LineLeadVoice)")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"voice-{name}.png"), animations="disabled")


def stats(page) -> dict:
    return page.evaluate(STATS)


def wait_for_stat(page, expression: str, timeout: int = ANSWERED) -> None:
    from playwright.sync_api import TimeoutError as Timeout

    try:
        page.wait_for_function(
            f"(() => {{ const s = {STATS}; return {expression}; }})()", timeout=timeout
        )
    except Timeout:
        raise AssertionError(f"not {expression} within {timeout} ms: {stats(page)}") from None


def answers(page):
    return page.locator(".msg-answer .answer")


def test_the_worklet_turns_48_and_44_1_khz_into_16_khz_pcm_without_aliasing(driver, live_url):
    with chromium(driver, live_url) as (page, errors):
        page.goto("/accounts/login/")
        speech = page.evaluate(WORKLET_TONE, [48000, 1000])
        cd = page.evaluate(WORKLET_TONE, [44100, 1000])
        alias = page.evaluate(WORKLET_TONE, [48000, 11000])  # would fold to 5 kHz
    assert speech["info"] == {"type": "info", "inputRate": 48000, "outputRate": 16000}
    assert speech["frameSizes"] == [640]  # 20 ms of Int16 at 16 kHz
    assert 15_000 <= speech["samples"] <= 16_000, speech
    assert abs(speech["hz"] - 1000) < 5 and abs(cd["hz"] - 1000) < 5, (speech, cd)
    assert abs(speech["rms"] - 0.3536) < 0.01 and abs(cd["rms"] - 0.3536) < 0.01, (speech, cd)
    assert abs(speech["lastRms"] - 0.3536) < 0.01  # the level the meter and barge-in read
    assert alias["rms"] < 0.005, alias  # over 40 dB down
    assert not errors, errors


def test_crew_asks_by_voice_and_types_a_follow_up(driver, live_url, manuals, alice, recording):
    wav = recording(SPOKEN)
    with chromium(driver, live_url, wav) as (page, errors):
        open_chat(page)
        mic = page.get_by_role("button", name="Hold to talk")
        expect(mic).to_have_attribute("data-state", "idle")
        expect(mic).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#voice-panel")).to_be_hidden()

        # Hold to talk for the whole recording; the page is listening meanwhile.
        mic.hover()
        page.mouse.down()
        expect(mic).to_have_attribute("data-state", re.compile("listening|hearing"))
        expect(mic).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#voice-status")).to_contain_text("Listening")
        expect(page).to_have_url(re.compile(r"/chat/\d+/$"))  # the conversation was made
        page.wait_for_timeout(600)
        shot(page, "listening")
        # Let go once the page has sent the whole recording: a wall-clock wait cut the
        # question short ("... fries don't fry") when the microphone started late.
        wait_for_stat(page, f"s.bytesSent >= {round(seconds_of(wav) * BYTES_PER_SECOND)}")
        page.mouse.up()

        # The transcript is the question, marked as spoken; the answer streams as typed.
        question = page.locator(".msg-question").first
        expect(question.locator(".bubble")).to_have_text(HEARD, timeout=ANSWERED)
        expect(question).to_have_class(re.compile(r"\bis-voice\b"))
        expect(question.locator(".msg-voice-mark")).to_have_attribute("title", "Asked by voice")
        answer = answers(page).first
        expect(answer).to_have_attribute("data-state", "done", timeout=ANSWERED)
        expect(answer.locator(".answer-text")).to_contain_text(re.compile(r"3 min", re.I))
        expect(answer.locator(".citation-card").first).to_be_visible()
        page.wait_for_function(IMAGES_LOADED, arg=".citation img")
        stored = Message.objects.get(role="user")
        assert stored.modality == "voice" and HEARD.match(stored.text), stored.text

        # Read aloud: every sentence the server sent was played, then the control rests.
        expect(mic).to_have_attribute("data-state", "speaking", timeout=ANSWERED)
        shot(page, "speaking")
        expect(mic).to_have_attribute("data-state", "idle", timeout=ANSWERED)
        heard = stats(page)
        assert heard["audioSentences"] >= 1, heard
        assert heard["playedSentences"] == heard["audioSentences"], heard
        assert mic.get_attribute("data-played-sentences") == str(heard["playedSentences"])
        assert heard["inputRate"] in (44100, 48000) and heard["framesSent"] > 30, heard
        assert heard["sent"] == ["start", "end"], heard
        assert heard["transcripts"] == [stored.text], heard
        assert_fits_width(page)
        shot(page, "answered")
        page.set_viewport_size(PHONE)
        assert_fits_width(page)
        shot(page, "answered-phone")
        page.set_viewport_size(TABLET)

        # A typed follow-up in the same thread is understood in context.
        page.get_by_label("Your question").fill("and what temperature?")
        page.get_by_label("Your question").press("Enter")
        follow_up = answers(page).nth(1)
        expect(follow_up).to_have_attribute("data-state", "done", timeout=ANSWERED)
        expect(follow_up.locator(".answer-text")).to_contain_text("350")
        assert Message.objects.filter(role="user", modality="text").count() == 1
        assert not errors, errors


def test_a_spoken_follow_up_in_hands_free_on_a_phone(driver, live_url, manuals, alice, recording):
    wav = recording(FOLLOW_UP)
    with chromium(driver, live_url, wav, viewport=PHONE, phone=True) as (page, errors):
        open_chat(page)
        page.get_by_label("Your question").fill("how long do fries cook?")
        page.get_by_role("button", name="Send").click()
        expect(answers(page).first).to_have_attribute("data-state", "done", timeout=ANSWERED)

        # Hands-free: no holding; the end of the question is found by the server.
        switch = page.get_by_role("button", name="Hands-free", exact=True)
        switch.click()
        expect(switch).to_have_attribute("aria-pressed", "true")
        mic = page.locator("#voice-mic")
        expect(mic).to_have_attribute("data-state", re.compile("listening|hearing"))
        assert_fits_width(page)
        shot(page, "handsfree-phone")
        follow_up = answers(page).nth(1)
        expect(follow_up).to_have_attribute("data-state", "done", timeout=ANSWERED)
        expect(page.locator(".msg-question").nth(1)).to_have_class(re.compile(r"\bis-voice\b"))
        expect(page.locator(".msg-question .bubble").nth(1)).to_contain_text("temperature")
        expect(follow_up).to_contain_text("350")  # the fries' temperature: in context
        assert Message.objects.filter(role="user", modality="voice").count() == 1

        # Stop while it speaks: the speech stops, the server re-arms, the page listens again.
        expect(mic).to_have_attribute("data-state", "speaking", timeout=ANSWERED)
        shot(page, "handsfree-speaking-phone")
        page.get_by_role("button", name="Stop", exact=True).click()
        expect(mic).to_have_attribute("data-state", "listening")
        expect(page.locator("#voice-status")).to_contain_text("ask your question")
        heard = stats(page)
        assert heard["sent"] == ["start", "interrupt"] and heard["interrupts"] == 1, heard
        wait_for_stat(page, "s.framesSent > " + str(heard["framesSent"]), timeout=5_000)
        shot(page, "handsfree-again-phone")

        # Off: the server is told and the microphone let go.
        switch.click()
        expect(switch).to_have_attribute("aria-pressed", "false")
        expect(mic).to_have_attribute("data-state", "idle")
        expect(page.locator("#voice-panel")).to_be_hidden()
        assert stats(page)["sent"][-1] == "stop" and not stats(page)["micOpen"]
        assert not errors, errors


def test_no_microphone_says_so_and_typing_still_works(driver, live_url, alice):
    with chromium(driver, live_url) as (page, errors):  # no microphone at all
        open_chat(page)
        mic = page.get_by_role("button", name="Hold to talk")
        mic.hover()
        page.mouse.down()
        page.wait_for_timeout(400)
        page.mouse.up()
        note = page.locator("#voice-note")
        expect(note).to_be_visible()
        expect(note).to_contain_text(re.compile("microphone", re.I))
        expect(mic).to_have_attribute("data-state", "idle")
        box = page.get_by_label("Your question")
        box.fill("how long do fries cook?")
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
        shot(page, "refused")
        assert not [e for e in errors if "microphone" not in e.lower()], errors


class ScriptedVoice:
    """Stands in for the voice websocket, as the protocol describes it, where the real
    server's timing cannot be arranged: speaking over an answer while it plays."""

    def __init__(self, page):
        self.received: list[str] = []
        self.ws = None
        page.route_web_socket(re.compile(r"/ws/voice/\d+/$"), self.route)

    def route(self, ws) -> None:
        self.ws = ws
        ws.on_message(self.receive)
        ready = {"type": "ready", "conversation": 1, "stt": "pocketsphinx", "tts": "espeak"}
        self.send(ready | {"sample_rate": 16000, "max_seconds": 30, "idle_minutes": 10})

    def receive(self, message) -> None:
        if isinstance(message, bytes):
            return
        kind = json.loads(message)["type"]
        self.received.append(kind)
        if kind in ("start", "listen", "interrupt"):
            self.send({"type": "listening", "mode": "handsfree"})

    def send(self, message) -> None:
        self.ws.send(message if isinstance(message, bytes) else json.dumps(message))

    def answer(self, question: str, text: str, wav: bytes) -> None:
        self.send({"type": "transcript", "text": question, "stt_ms": 120})
        self.send({"type": "start", "conversation": 1, "question": 901, "message": 902})
        self.send({"type": "token", "text": text})
        self.send({"type": "done", "message": 902, "declined": False, "timings": {}})
        self.send({"type": "audio", "seq": 0, "text": text, "format": "wav", "bytes": len(wav)})
        self.send(wav)
        self.send({"type": "audio_end"})


def test_talking_over_the_answer_stops_it_and_listens_again(driver, live_url, alice, tmp_path):
    # The microphone: quiet while the question is answered, then someone talks loudly.
    wav = tmp_path / "over.wav"
    tone = ["synth", "3", "sine", "300", "vol", "0.3", "pad", "2.5", "0"]
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(wav), *tone], check=True)
    said = "Fries cook for three minutes at three hundred fifty degrees. Shake the basket."
    speech = tts.espeak_engine().synthesize(said).wav
    with chromium(driver, live_url, wav) as (page, errors):
        server = ScriptedVoice(page)
        open_chat(page)
        page.get_by_role("button", name="Hands-free", exact=True).click()
        mic = page.locator("#voice-mic")
        expect(mic).to_have_attribute("data-state", "listening")
        assert stats(page)["micOpen"]
        server.answer("how long do fries cook", "Fries cook for 3 minutes.", speech)
        expect(page.locator(".msg-question .bubble")).to_have_text("how long do fries cook")
        expect(mic).to_have_attribute("data-state", "speaking")
        expect(page.get_by_role("button", name="Stop", exact=True)).to_be_visible()

        # Talking over it: playback stops, the server is told, the page listens again.
        wait_for_stat(page, "s.interrupts === 1", timeout=5_000)
        expect(mic).to_have_attribute("data-state", re.compile("listening|hearing"))
        expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()
        assert server.received == ["start", "interrupt"], server.received
        assert stats(page)["playedSentences"] == 0  # cut off, not played to the end
        expect(answers(page).first).to_have_attribute("data-state", "done")  # the text stays

        # A question not understood is said near the control, and it goes on listening.
        server.send({"type": "error", "code": "not_understood", "message": "..."})
        expect(page.locator("#voice-note")).to_contain_text("didn’t catch that")
        expect(mic).to_have_attribute("data-state", re.compile("listening|hearing"))

        # "Stop listening": hands-free ends and the microphone is let go.
        server.send({"type": "stopped", "reason": "stop_phrase"})
        expect(page.get_by_role("button", name="Hands-free", exact=True)).to_have_attribute(
            "aria-pressed", "false"
        )
        expect(mic).to_have_attribute("data-state", "idle")
        expect(page.locator("#voice-note")).to_contain_text("you said “stop listening”")
        assert not stats(page)["micOpen"]
        assert not errors, errors
