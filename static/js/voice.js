// Voice on the chat screen: hold the microphone button (or Space) to talk, or turn on
// Hands-free and just ask. This file is the turn: what the control does in each of its
// states (idle, connecting, listening, hearing, thinking, speaking) with the user's
// presses, the microphone's audio and the voice socket's messages. The work is done
// behind a few functions each by voice-mic.js (microphone), voice-socket.js (the
// socket), voice-playback.js (reading the answer aloud) and voice-screen.js (what is
// shown); the transcript and the answer are shown by chat.js exactly like typed ones
// (ns.chat, its hooks).
//
// Loads after chat.js and the voice-*.js files. window.LineLeadVoice.stats is a
// read-only snapshot of what happened (the tests read it), and the microphone button
// carries data-state and data-played-sentences.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var chat = ns && ns.chat;
  var panel = document.getElementById("voice-panel");
  if (!chat || !panel) return;

  var RATE = 16000;
  var PREROLL_SAMPLES = RATE * 8; // audio kept while the socket is still connecting
  var RECENT_SAMPLES = RATE / 2; // barge-in: the words that set it off are kept
  var TAP_MS = 300; // a shorter press is a tap, not talking
  var WARM_MS = 30000; // push-to-talk keeps the microphone this long after a turn
  var RETRY_MS = 300; // "busy" (the last answer is still finishing): ask again this soon
  var RETRY_FOR_MS = 10000;
  var THINKING_MS = 45000; // no transcript or answer by then: give up on the turn
  var AUDIO_END_MS = 20000; // audio_end always follows the answer; if it never does, go on

  // What each of the server's error codes means to someone holding a tablet.
  var ERRORS = {
    no_speech: "I didn\u2019t hear anything. Hold the mic button while you talk.",
    not_understood: "Sorry, I didn\u2019t catch that. Try again a little closer to the tablet.",
    too_long: "That was too long. Keep a question under {max} seconds.",
    busy: "Wait for the answer to finish, then ask again.",
    stt_failed: "Speech recognition failed. Try again, or type the question.",
    tts_failed: "The answer can\u2019t be read aloud right now; it\u2019s on screen.",
    bad_audio: "The microphone\u2019s audio could not be used. Try again.",
  };
  // Error codes that belong to the voice control; anything else during a turn is the
  // answer's (chat.js shows it in the thread).
  var VOICE_CODES = ["invalid_json", "unknown_type", "bad_audio", "too_long", "no_speech",
    "not_understood", "busy", "stt_failed", "tts_failed"];

  var state = {
    phase: "idle", // idle, connecting, listening, hearing, thinking, speaking
    mode: null, // "push" or "handsfree" while voice is in use
    handsfree: false,
    holding: false, // push-to-talk is held (pointer or key)
    holdBy: null, // "pointer" or "key"
    holdStarted: 0,
    serial: 0, // bumps when what begin() started is called off
    sending: false, // microphone frames go to the server
    awaiting: null, // the start/listen/interrupt message sent, until "listening" comes
    retryTimer: null,
    retryUntil: 0,
    quietUntil: 0, // a tap ended an utterance on purpose: its no_speech is not news
    turn: false, // a transcript was taken; its answer (and audio) is under way
    audioEnded: false, // the server said audio_end for this turn
    discardAudio: false, // interrupted: audio still in flight is not played
    thinkingTimer: null,
    releaseTimer: null,
    finishTimer: null,
  };
  var stats = { state: "idle", mode: null, interrupts: 0, transcripts: [], partials: 0, errors: [] };

  var screen = ns.voiceScreen({
    press: press,
    letGo: letGo,
    handsfree: function () {
      if (state.handsfree) turnHandsfreeOff();
      else turnHandsfreeOn();
    },
    stop: function () {
      interrupt(true);
    },
  });
  if (!screen) return;
  var mic = ns.voiceMic.microphone({
    workletUrl: panel.dataset.workletUrl,
    onFrame: onFrame,
    onEnded: function () {
      fail("The microphone was disconnected.");
    },
  });
  var barge = ns.voiceMic.bargeIn();
  var preroll = ns.voiceMic.keep(PREROLL_SAMPLES); // not listening yet: the first word is kept
  var recent = ns.voiceMic.keep(RECENT_SAMPLES);
  var socket = ns.voiceSocket({
    path: panel.dataset.socketPath || "/ws/voice/",
    onMessage: receive,
    onAudio: function (meta, wav) {
      if (!state.discardAudio && state.turn) player.play(meta, wav);
    },
    onLost: lost,
  });
  var player = ns.voicePlayback({
    context: mic.context,
    onStart: function () {
      if (state.phase === "thinking") setPhase("speaking");
    },
    // What is being said, on screen too: a kitchen is loud.
    onCaption: function (text) {
      if (state.phase === "speaking" && text) screen.words(text);
    },
    onSentence: function (problem) {
      if (problem) stats.errors.push(problem);
      setPlayed();
      maybeDone();
    },
  });

  window.LineLeadVoice = Object.freeze({
    /** A copy of the counters: what the voice control has done on this page. */
    get stats() {
      var copy = JSON.parse(JSON.stringify(stats));
      copy.inputRate = mic.inputRate();
      [socket.counts(), player.counts()].forEach(function (counts) {
        Object.keys(counts).forEach(function (key) {
          copy[key] = counts[key];
        });
      });
      copy.micOpen = mic.isOpen(); // the browser is recording
      return copy;
    },
  });

  // --- What the control shows -------------------------------------------------------------

  function setPhase(phase) {
    state.phase = phase;
    stats.state = phase;
    stats.mode = state.mode;
    screen.show(phase, { mode: state.mode, holding: state.holding, turn: state.turn });
    window.clearTimeout(state.thinkingTimer);
    if (phase === "thinking") state.thinkingTimer = window.setTimeout(thinkingTooLong, THINKING_MS);
  }

  /** A message beside the control (an error, a hint); "" takes it away. */
  function note(text, kind) {
    screen.note(text, kind);
    if (text && kind !== "hint") stats.errors.push(text);
  }

  function setHandsfree(on) {
    state.handsfree = on;
    screen.setHandsfree(on);
  }

  function setPlayed() {
    var counts = player.counts();
    screen.played(counts.playedSentences + counts.spokenSentences);
  }

  // --- The microphone --------------------------------------------------------------------

  function openMic() {
    window.clearTimeout(state.releaseTimer);
    return mic.open().then(function () {
      screen.meter(mic.level);
    });
  }

  /** Let the microphone go (the browser's recording indicator goes off). */
  function releaseMic() {
    window.clearTimeout(state.releaseTimer);
    mic.release();
    state.sending = false;
    screen.meter(null);
  }

  /** Push-to-talk keeps the microphone a little while, so the next question's first
   * word is not lost to starting it again. */
  function releaseSoon() {
    window.clearTimeout(state.releaseTimer);
    state.releaseTimer = window.setTimeout(function () {
      if (state.phase === "idle" && !state.handsfree) releaseMic();
    }, WARM_MS);
  }

  function onFrame(samples, rms) {
    hear(rms);
    if (state.sending) socket.sendAudio(samples);
    else if (state.mode && (state.awaiting || state.phase === "connecting")) preroll.push(samples);
    else if (state.phase === "speaking") recent.push(samples);
  }

  // Learning the kitchen's level while listening, and talking over the answer.
  function hear(rms) {
    if (state.phase === "listening" || state.phase === "hearing") {
      barge.learn(rms);
    } else if (state.phase === "speaking" && state.mode === "handsfree") {
      if (barge.heard(rms)) interrupt(true);
    } else {
      barge.reset();
    }
  }

  /** Send start, listen or interrupt; audio waits (in the preroll) until "listening". */
  function arm(message) {
    socket.flush();
    state.sending = false;
    state.awaiting = message;
    state.retryUntil = Date.now() + RETRY_FOR_MS;
    window.clearTimeout(state.retryTimer);
    socket.send(message);
  }

  function resetPreroll() {
    preroll.clear();
    recent.clear();
  }

  // --- The socket ------------------------------------------------------------------------

  /** The voice socket to the open conversation (made first if the page shows none), ready. */
  function connect() {
    return chat.ensureConversation().then(socket.connect);
  }

  // The socket went down while in use.
  function lost(text) {
    var midTurn = state.turn;
    player.stop();
    endVoice();
    if (midTurn || chat.voicePending()) chat.voiceDropped();
    note(text);
  }

  function receive(data) {
    switch (data.type) {
      case "listening":
        listening();
        break;
      case "speech_start":
        if (state.phase === "listening") setPhase("hearing");
        break;
      case "partial":
        stats.partials += 1;
        if (state.phase === "listening") setPhase("hearing");
        screen.words(data.text || "");
        break;
      case "transcript":
        transcript(data);
        break;
      case "start":
      case "token":
      case "citations":
        chat.receive(data);
        break;
      case "done":
        chat.receive(data);
        answered();
        break;
      case "error":
        error(data);
        break;
      case "say":
        // No server voice: the browser reads the sentence.
        if (!state.discardAudio && state.turn) player.say(data.text);
        break;
      case "audio_end":
        state.audioEnded = true;
        maybeDone();
        break;
      case "stopped":
        stopped(data.reason);
        break;
      default:
        break; // pong, and anything newer than this page
    }
  }

  // The server listens: the audio kept meanwhile goes first, then the live microphone.
  function listening() {
    var awaited = state.awaiting;
    state.awaiting = null;
    window.clearTimeout(state.retryTimer);
    if (!state.mode || state.turn) return; // e.g. after Stop in push-to-talk
    if (state.mode === "push" && !awaited) return;
    preroll.take().forEach(function (samples) {
      socket.sendAudio(samples);
    });
    recent.clear();
    state.sending = true;
    if (state.mode === "push" && !state.holding) {
      endUtterance(); // let go before the server was ready
      return;
    }
    if (state.phase !== "hearing") setPhase("listening");
  }

  function transcript(data) {
    var text = (data.text || "").trim();
    stats.transcripts.push(text);
    // The gate: nothing goes to the server while the answer is prepared and spoken.
    socket.flush();
    state.sending = false;
    state.turn = true;
    state.audioEnded = false;
    state.discardAudio = false;
    window.clearTimeout(state.finishTimer);
    setPhase("thinking");
    screen.words(text ? "\u201c" + text + "\u201d" : "");
    if (text) chat.voiceQuestion(text);
  }

  // The answer's text is complete; its audio may still be coming or playing.
  function answered() {
    window.clearTimeout(state.thinkingTimer);
    window.clearTimeout(state.finishTimer);
    state.finishTimer = window.setTimeout(function () {
      if (state.turn && player.pending() === 0) {
        state.audioEnded = true;
        maybeDone();
      }
    }, AUDIO_END_MS);
    if (state.turn && state.phase === "thinking" && state.audioEnded) maybeDone();
  }

  function error(data) {
    var code = data.code || "";
    if (data.message_id || (code && VOICE_CODES.indexOf(code) === -1 && chat.voicePending())) {
      // The answer's own failure (or the question was refused): chat.js shows it.
      chat.receive(data);
      if (state.turn) {
        state.audioEnded = true;
        maybeDone();
      }
      return;
    }
    if ((code === "no_speech" || code === "invalid") && Date.now() < state.quietUntil) return;
    if (code === "busy" && state.awaiting && state.mode && Date.now() < state.retryUntil) {
      // The last answer is still being finished on the server: ask again shortly.
      var message = state.awaiting;
      window.clearTimeout(state.retryTimer);
      state.retryTimer = window.setTimeout(function () {
        if (state.awaiting === message) socket.send(message);
      }, RETRY_MS);
      return;
    }
    var ready = socket.ready();
    var text = ERRORS[code] || sentence(data.message) || "Voice hit a problem. Try again.";
    note(text.replace("{max}", String((ready && ready.max_seconds) || 30)));
    if (code === "tts_failed" || state.turn) return; // the answer goes on
    afterUtterance();
  }

  // The utterance went nowhere (no speech, not understood...): back to where we were.
  function afterUtterance() {
    if (state.turn) return;
    state.awaiting = null;
    window.clearTimeout(state.retryTimer);
    state.sending = false;
    if (state.mode === "handsfree") {
      // The server listens again by itself after a failed utterance ("listening" follows).
      state.awaiting = "rearm";
      setPhase("listening");
    } else {
      state.mode = null;
      setPhase("idle");
      releaseSoon();
    }
  }

  function stopped(reason) {
    var ready = socket.ready();
    var texts = {
      user: "",
      idle: "Hands-free turned off after " + ((ready && ready.idle_minutes) || 10) +
        " minutes without a question.",
      stop_phrase: "Hands-free is off: you said \u201cstop listening\u201d.",
    };
    player.stop();
    endVoice();
    if (texts[reason]) note(texts[reason], "hint");
  }

  function sentence(text) {
    if (!text) return "";
    text = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?\u2026]$/.test(text) ? text : text + ".";
  }

  function thinkingTooLong() {
    if (state.phase !== "thinking") return;
    note("No answer from the voice service. Try again, or type the question.");
    state.turn = false;
    afterUtterance();
  }

  // --- After the answer ----------------------------------------------------------------------

  // The answer has been said (or there was nothing to say): listen again, or rest.
  function maybeDone() {
    if (!state.turn || !state.audioEnded || player.pending() > 0) return;
    if (chat.voicePending()) return; // the text has not started yet
    state.turn = false;
    window.clearTimeout(state.finishTimer);
    if (state.mode === "handsfree") {
      arm({ type: "listen" }); // only now: the answer's own voice must not be heard
      setPhase("listening");
    } else {
      state.mode = null;
      setPhase("idle");
      releaseSoon();
    }
  }

  /** Stop the answer's voice. ``resume``: go on listening (hands-free barge-in). */
  function interrupt(resume) {
    var heard = recent.take();
    player.stop();
    state.discardAudio = true;
    state.turn = false;
    stats.interrupts += 1;
    if (resume && state.mode === "handsfree") {
      // The server listens again after an interrupt; the words that set it off go first.
      arm({ type: "interrupt" });
      resetPreroll();
      heard.forEach(function (samples) {
        preroll.push(samples);
      });
      setPhase("listening");
    } else {
      socket.send({ type: "interrupt" });
      state.mode = null;
      setPhase("idle");
      releaseSoon();
    }
  }

  // --- Starting and ending -----------------------------------------------------------------

  /** Start listening in ``mode`` ("push" or "handsfree"): microphone, socket, "start". */
  function begin(mode) {
    var problem = ns.voiceMic.unsupported();
    if (problem) {
      note(problem);
      return false;
    }
    note("");
    state.mode = mode;
    state.awaiting = null;
    resetPreroll();
    socket.dropAudio();
    var serial = (state.serial += 1);
    mic.context(); // inside the gesture, so that the answer may play
    setPhase("connecting");
    Promise.all([openMic(), connect()]).then(
      function () {
        if (serial !== state.serial) return;
        arm({ type: "start", sample_rate: RATE, encoding: "pcm16", mode: mode });
        setPhase("listening");
      },
      function (error) {
        if (serial !== state.serial) return;
        if (error && error.message === "cancelled") return;
        fail(error && error.name ? ns.voiceMic.problem(error) : (error && error.message) || "Voice could not start.");
      }
    );
    return true;
  }

  // Push-to-talk let go: the utterance is over.
  function endUtterance() {
    socket.flush();
    socket.send({ type: "end" });
    state.sending = false;
    setPhase("thinking");
  }

  /** Voice is off: hands-free off, nothing sent, the microphone released. */
  function endVoice() {
    state.serial += 1;
    state.holding = false;
    state.sending = false;
    state.turn = false;
    state.mode = null;
    state.awaiting = null;
    window.clearTimeout(state.retryTimer);
    window.clearTimeout(state.finishTimer);
    resetPreroll();
    setHandsfree(false);
    releaseMic();
    setPhase("idle");
  }

  function fail(text) {
    player.stop();
    endVoice();
    note(text);
  }

  // --- Push to talk: the button, or Space ------------------------------------------------------

  function press(by) {
    if (state.holding) return;
    var problem = ns.voiceMic.unsupported();
    if (problem) {
      note(problem);
      return;
    }
    state.holding = true;
    state.holdBy = by;
    state.holdStarted = Date.now();
    if (state.handsfree) {
      screen.pressed();
      return; // a tap turns hands-free off (see letGo)
    }
    if (state.phase === "speaking") interrupt(false);
    if (chat.busy() || state.phase === "thinking") {
      state.holding = false;
      note("Wait for the answer to finish, then ask again.", "hint");
      return;
    }
    begin("push");
  }

  function letGo(by) {
    if (!state.holding || state.holdBy !== by) return;
    state.holding = false;
    var held = Date.now() - state.holdStarted;
    if (state.handsfree) {
      if (held < 1000) turnHandsfreeOff();
      else screen.pressed();
      return;
    }
    if (state.mode !== "push") return;
    if (held < TAP_MS) {
      tapped();
      return;
    }
    if (state.sending) endUtterance();
    // else: still connecting, or waiting for "listening", which ends it (see listening)
  }

  // Too short to be a question: say how it works instead.
  function tapped() {
    if (state.sending || state.awaiting) {
      state.quietUntil = Date.now() + 3000;
      socket.dropAudio();
      socket.send({ type: "end" });
    }
    state.serial += 1;
    state.sending = false;
    state.awaiting = null;
    window.clearTimeout(state.retryTimer);
    resetPreroll();
    state.mode = null;
    setPhase("idle");
    releaseSoon();
    note("Hold the mic button while you talk, then let go. For no hands, turn on Hands-free.", "hint");
  }

  // --- Hands-free -----------------------------------------------------------------------------

  function turnHandsfreeOn() {
    if (chat.busy()) {
      note("Wait for the answer to finish, then turn on Hands-free.", "hint");
      return;
    }
    if (state.phase === "speaking") interrupt(false);
    setHandsfree(true);
    if (!begin("handsfree")) setHandsfree(false);
  }

  function turnHandsfreeOff() {
    if (state.phase === "speaking") player.stop();
    socket.send({ type: "stop" });
    endVoice();
  }

  // --- The page around it ------------------------------------------------------------------------

  // Another conversation opened (or a new one): this socket and turn belong to the old one.
  document.addEventListener("lineled:conversation", function () {
    player.stop();
    endVoice();
    socket.close();
    note("");
  });

  // A tablet put down or another tab: stop listening rather than record an empty room.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && (mic.isOpen() || state.phase !== "idle")) {
      var wasHandsfree = state.handsfree;
      if (wasHandsfree) socket.send({ type: "stop" });
      player.stop();
      endVoice();
      if (wasHandsfree) note("Hands-free turned off while the screen was away.", "hint");
    }
  });

  window.addEventListener("pagehide", function () {
    releaseMic();
    socket.close();
  });

  var problem = ns.voiceMic.unsupported();
  if (problem) screen.disable(problem);
  setPhase("idle");
  setPlayed();
})();
