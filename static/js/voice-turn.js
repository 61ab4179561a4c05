// Voice's turn: what the control does in each of its states (idle, connecting, listening,
// hearing, thinking, speaking) with the user's presses, the microphone's audio and the
// voice socket's messages. It owns the phase, the mode (push-to-talk or hands-free) and
// what happened (the stats); the rest is each module's own: the hold and the switch
// (voice-screen.js), the device and its warm spell (voice-mic.js), the audio gate and the
// message awaiting "listening" (voice-socket.js), the answer being read (voice-playback.js).
// voice.js creates it and routes the socket's messages to it.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var RATE = 16000;
  var PREROLL_SAMPLES = RATE * 8; // audio kept while the socket is still connecting
  var RECENT_SAMPLES = RATE / 2; // barge-in: the words that set it off are kept
  var TAP_MS = 300; // a shorter press is a tap, not talking
  var WARM_MS = 30000; // push-to-talk keeps the microphone this long after a turn
  var THINKING_MS = 45000; // no transcript or answer by then: give up on the turn
  var QUIET_MS = 3000; // after a tap, the server's "no speech" is not news for this long

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

  function sentence(text) {
    if (!text) return "";
    text = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?\u2026]$/.test(text) ? text : text + ".";
  }

  /**
   * The turn. ``parts``: chat (chat.js's hooks), screen, mic, socket, player (the voice
   * modules). Returns what voice.js wires to them: the user's press, letGo, handsfree
   * and stop; the microphone's frame and ended; the socket's messages (listening,
   * hearing, partial, transcript, answered, error, stopped) and lost; the player's
   * started, caption, sentence and over; end(text) and hidden() for the page; stats().
   */
  function turn(parts) {
    var chat = parts.chat;
    var screen = parts.screen;
    var mic = parts.mic;
    var socket = parts.socket;
    var player = parts.player;
    var phase = "idle";
    var mode = null; // "push" or "handsfree" while voice is in use
    var serial = 0; // bumps when what begin() started is called off
    var quietUntil = 0; // a tap ended an utterance on purpose: its no_speech is not news
    var thinkingTimer = null;
    var barge = ns.voiceMic.bargeIn();
    var preroll = ns.voiceMic.keep(PREROLL_SAMPLES); // not listening yet: the first word is kept
    var recent = ns.voiceMic.keep(RECENT_SAMPLES);
    var stats = { state: "idle", mode: null, interrupts: 0, transcripts: [], partials: 0, errors: [] };

    // --- What the control shows -----------------------------------------------------------

    function setPhase(next) {
      phase = next;
      stats.state = next;
      stats.mode = mode;
      screen.show(next, { mode: mode, turn: player.answering() });
      window.clearTimeout(thinkingTimer);
      if (next === "thinking") thinkingTimer = window.setTimeout(thinkingTooLong, THINKING_MS);
    }

    /** A message beside the control (an error, a hint); "" takes it away. */
    function note(text, kind) {
      screen.note(text, kind);
      if (text && kind !== "hint") stats.errors.push(text);
    }

    function setPlayed() {
      var counts = player.counts();
      screen.played(counts.playedSentences + counts.spokenSentences);
    }

    /** Push-to-talk keeps the microphone a little while after a turn. */
    function releaseSoon() {
      mic.releaseAfter(WARM_MS, function () {
        return phase !== "idle" || screen.handsfree();
      });
    }

    // --- The microphone's audio ---------------------------------------------------------------

    function frame(samples, rms) {
      hear(rms);
      if (socket.streaming()) socket.sendAudio(samples);
      else if (mode && (socket.awaiting() || phase === "connecting")) preroll.push(samples);
      else if (phase === "speaking") recent.push(samples);
    }

    // Learning the kitchen's level while listening, and talking over the answer.
    function hear(rms) {
      if (phase === "listening" || phase === "hearing") {
        barge.learn(rms);
      } else if (phase === "speaking" && mode === "handsfree") {
        if (barge.heard(rms)) interrupt(true);
      } else {
        barge.reset();
      }
    }

    function resetPreroll() {
      preroll.clear();
      recent.clear();
    }

    // --- The socket's messages ------------------------------------------------------------------

    // The server listens: the audio kept meanwhile goes first, then the live microphone.
    function listening() {
      var awaited = socket.disarm();
      if (!mode || player.answering()) return; // e.g. after Stop in push-to-talk
      if (mode === "push" && !awaited) return;
      preroll.take().forEach(socket.sendAudio);
      recent.clear();
      socket.stream(true);
      if (mode === "push" && !screen.holding()) {
        endUtterance(); // let go before the server was ready
        return;
      }
      if (phase !== "hearing") setPhase("listening");
    }

    function hearing() {
      if (phase === "listening") setPhase("hearing");
    }

    function partial(text) {
      stats.partials += 1;
      hearing();
      screen.words(text);
    }

    function transcript(data) {
      var text = (data.text || "").trim();
      stats.transcripts.push(text);
      // The gate: nothing goes to the server while the answer is prepared and spoken.
      socket.flush();
      socket.stream(false);
      player.expect();
      setPhase("thinking");
      screen.words(text ? "\u201c" + text + "\u201d" : "");
      if (text) chat.voiceQuestion(text);
    }

    // The answer's text is complete; its audio may still be coming or playing.
    function answered() {
      window.clearTimeout(thinkingTimer);
      player.textDone();
      if (phase === "thinking" && player.audioEnded()) player.check();
    }

    function error(data) {
      var code = data.code || "";
      if (data.message_id || (code && VOICE_CODES.indexOf(code) === -1 && chat.voicePending())) {
        // The answer's own failure (or the question was refused): chat.js shows it.
        chat.receive(data);
        if (player.answering()) player.ended();
        return;
      }
      if ((code === "no_speech" || code === "invalid") && Date.now() < quietUntil) return;
      // The last answer is still being finished on the server: ask again shortly.
      if (code === "busy" && mode && socket.retry()) return;
      var ready = socket.ready();
      var text = ERRORS[code] || sentence(data.message) || "Voice hit a problem. Try again.";
      note(text.replace("{max}", String((ready && ready.max_seconds) || 30)));
      if (code === "tts_failed" || player.answering()) return; // the answer goes on
      afterUtterance();
    }

    // The utterance went nowhere (no speech, not understood...): back to where we were.
    function afterUtterance() {
      if (player.answering()) return;
      socket.disarm();
      socket.stream(false);
      if (mode === "handsfree") {
        // The server listens again by itself after a failed utterance ("listening" follows).
        socket.awaitRearm();
        setPhase("listening");
      } else {
        rest();
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

    function thinkingTooLong() {
      if (phase !== "thinking") return;
      note("No answer from the voice service. Try again, or type the question.");
      player.drop();
      afterUtterance();
    }

    // The socket went down while in use.
    function lost(text) {
      var midTurn = player.answering();
      player.stop();
      endVoice();
      if (midTurn || chat.voicePending()) chat.voiceDropped();
      note(text);
    }

    // --- The answer read aloud -------------------------------------------------------------------

    function started() {
      if (phase === "thinking") setPhase("speaking");
    }

    // What is being said, on screen too: a kitchen is loud.
    function caption(text) {
      if (phase === "speaking" && text) screen.words(text);
    }

    function sentenceOver(problem) {
      if (problem) stats.errors.push(problem);
      setPlayed();
    }

    // The answer has been said (or there was nothing to say): listen again, or rest.
    function over() {
      if (mode === "handsfree") {
        socket.arm({ type: "listen" }); // only now: the answer's own voice must not be heard
        setPhase("listening");
      } else {
        rest();
      }
    }

    /** Stop the answer's voice. ``resume``: go on listening (hands-free barge-in). */
    function interrupt(resume) {
      var heard = recent.take();
      player.stop();
      player.drop();
      stats.interrupts += 1;
      if (resume && mode === "handsfree") {
        // The server listens again after an interrupt; the words that set it off go first.
        socket.arm({ type: "interrupt" });
        resetPreroll();
        heard.forEach(preroll.push);
        setPhase("listening");
      } else {
        socket.send({ type: "interrupt" });
        rest();
      }
    }

    // --- Starting and ending ----------------------------------------------------------------------

    /** Start listening in ``how`` ("push" or "handsfree"): microphone, socket, "start". */
    function begin(how) {
      var problem = ns.voiceMic.unsupported();
      if (problem) {
        note(problem);
        return false;
      }
      note("");
      mode = how;
      socket.disarm();
      resetPreroll();
      socket.dropAudio();
      var mine = (serial += 1);
      mic.context(); // inside the gesture, so that the answer may play
      setPhase("connecting");
      Promise.all([mic.open(), chat.ensureConversation().then(socket.connect)]).then(
        function () {
          if (mine !== serial) return;
          socket.arm({ type: "start", sample_rate: RATE, encoding: "pcm16", mode: how });
          setPhase("listening");
        },
        function (problem) {
          if (mine !== serial) return;
          if (problem && problem.message === "cancelled") return;
          fail(problem && problem.name ? ns.voiceMic.problem(problem) : (problem && problem.message) || "Voice could not start.");
        }
      );
      return true;
    }

    // Push-to-talk let go: the utterance is over.
    function endUtterance() {
      socket.flush();
      socket.send({ type: "end" });
      socket.stream(false);
      setPhase("thinking");
    }

    // Push-to-talk's turn is over: idle, the microphone kept warm a while.
    function rest() {
      mode = null;
      setPhase("idle");
      releaseSoon();
    }

    /** Voice is off: hands-free off, nothing sent, the microphone released. */
    function endVoice() {
      serial += 1;
      screen.forgetHold();
      socket.stream(false);
      player.drop();
      mode = null;
      socket.disarm();
      resetPreroll();
      screen.setHandsfree(false);
      mic.release();
      setPhase("idle");
    }

    /** Voice stops with ``text`` beside the control (the microphone went away...). */
    function fail(text) {
      player.stop();
      endVoice();
      note(text);
    }

    // --- Push to talk: the button, or Space -------------------------------------------------------

    function press() {
      var problem = ns.voiceMic.unsupported();
      if (problem) {
        note(problem);
        return false;
      }
      if (screen.handsfree()) {
        screen.pressed();
        return true; // a tap turns hands-free off (see letGo)
      }
      if (phase === "speaking") interrupt(false);
      if (chat.busy() || phase === "thinking") {
        note("Wait for the answer to finish, then ask again.", "hint");
        return false;
      }
      begin("push");
      return true;
    }

    function letGo(held) {
      if (screen.handsfree()) {
        if (held < 1000) turnHandsfreeOff();
        else screen.pressed();
        return;
      }
      if (mode !== "push") return;
      if (held < TAP_MS) {
        tapped();
        return;
      }
      if (socket.streaming()) endUtterance();
      // else: still connecting, or waiting for "listening", which ends it (see listening)
    }

    // Too short to be a question: say how it works instead.
    function tapped() {
      if (socket.streaming() || socket.awaiting()) {
        quietUntil = Date.now() + QUIET_MS;
        socket.dropAudio();
        socket.send({ type: "end" });
      }
      serial += 1;
      socket.stream(false);
      socket.disarm();
      resetPreroll();
      rest();
      note("Hold the mic button while you talk, then let go. For no hands, turn on Hands-free.", "hint");
    }

    // --- Hands-free ---------------------------------------------------------------------------------

    function handsfree() {
      if (screen.handsfree()) turnHandsfreeOff();
      else turnHandsfreeOn();
    }

    function turnHandsfreeOn() {
      if (chat.busy()) {
        note("Wait for the answer to finish, then turn on Hands-free.", "hint");
        return;
      }
      if (phase === "speaking") interrupt(false);
      screen.setHandsfree(true);
      if (!begin("handsfree")) screen.setHandsfree(false);
    }

    function turnHandsfreeOff() {
      if (phase === "speaking") player.stop();
      socket.send({ type: "stop" });
      endVoice();
    }

    // --- The page around it -------------------------------------------------------------------------

    /** Voice ends, with ``text`` ("" for none) beside the control. */
    function end(text) {
      player.stop();
      endVoice();
      note(text);
    }

    /** The screen went away: stop listening rather than record an empty room. */
    function hidden() {
      if (!mic.isOpen() && phase === "idle") return;
      var wasHandsfree = screen.handsfree();
      if (wasHandsfree) socket.send({ type: "stop" });
      player.stop();
      endVoice();
      if (wasHandsfree) note("Hands-free turned off while the screen was away.", "hint");
    }

    var problem = ns.voiceMic.unsupported();
    if (problem) screen.disable(problem);
    setPhase("idle");
    setPlayed();

    return {
      press: press,
      letGo: letGo,
      handsfree: handsfree,
      stop: function () {
        interrupt(true);
      },
      frame: frame,
      ended: function () {
        fail("The microphone was disconnected.");
      },
      listening: listening,
      hearing: hearing,
      partial: partial,
      transcript: transcript,
      answered: answered,
      error: error,
      stopped: stopped,
      lost: lost,
      started: started,
      caption: caption,
      sentence: sentenceOver,
      over: over,
      end: end,
      hidden: hidden,
      /** A copy of what happened (state, mode, interrupts, transcripts, partials, errors). */
      stats: function () {
        return JSON.parse(JSON.stringify(stats));
      },
    };
  }

  ns.voiceTurn = turn;
})();
