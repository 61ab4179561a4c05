// Voice on the chat screen: hold the microphone button (or Space) to talk, or turn on
// Hands-free and just ask. The microphone's audio goes to /ws/voice/<conversation>/ as
// 16 kHz PCM (pcm-worklet.js makes it); the transcript and the answer come back and are
// shown by chat.js exactly like typed ones (ns.chat, its hooks); the answer is read
// aloud from the WAV sentences the server sends, or by the browser's speechSynthesis
// when the server has no voice of its own.
//
// Loads after chat.js. window.LineLeadVoice.stats is a read-only snapshot of what
// happened (the tests read it), and the microphone button carries data-state and
// data-played-sentences.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var chat = ns && ns.chat;
  var panel = document.getElementById("voice-panel");
  var mic = document.getElementById("voice-mic");
  var handsfreeButton = document.getElementById("voice-handsfree");
  if (!chat || !panel || !mic || !handsfreeButton) return;

  var statusEl = document.getElementById("voice-status");
  var partialEl = document.getElementById("voice-partial");
  var stopButton = document.getElementById("voice-stop");
  var noteEl = document.getElementById("voice-note");
  var noteText = document.getElementById("voice-note-text");
  var noteClose = document.getElementById("voice-note-close");
  var question = document.getElementById("question");
  var pageDialog = document.getElementById("page-dialog");

  var SOCKET_PATH = panel.dataset.socketPath || "/ws/voice/";
  var WORKLET_URL = panel.dataset.workletUrl;
  var RATE = 16000;
  var BATCH_SAMPLES = 960; // 60 ms a frame to the server
  var PREROLL_SAMPLES = RATE * 8; // audio kept while the socket is still connecting
  var TAP_MS = 300; // a shorter press is a tap, not talking
  var BARGE_MS = 300; // talking this long over the answer interrupts it
  var BARGE_RMS = 0.05; // about -26 dBFS, after echo cancellation
  var WARM_MS = 30000; // push-to-talk keeps the microphone this long after a turn
  var CONNECT_MS = 10000;
  var RETRY_MS = 300; // "busy" (the last answer is still finishing): ask again this soon
  var RETRY_FOR_MS = 10000;
  var RECENT_SAMPLES = RATE / 2; // barge-in: the words that set it off are kept
  var THINKING_MS = 45000; // no transcript or answer by then: give up on the turn
  var CLOSE_SIGNED_OUT = 4401;
  var CLOSE_NOT_FOUND = 4404;
  var CLOSE_UNAVAILABLE = 4503;

  var STATUS = {
    idle: "",
    connecting: "Starting the microphone\u2026",
    listening: "Listening\u2026",
    hearing: "Hearing you\u2026",
    thinking: "Looking in the manuals\u2026",
    speaking: "Speaking\u2026",
  };

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
    recent: [], // the last half second heard while the answer plays
    recentSamples: 0,
    preroll: [],
    prerollSamples: 0,
    batch: [],
    batchSamples: 0,
    quietUntil: 0, // a tap ended an utterance on purpose: its no_speech is not news
    turn: false, // a transcript was taken; its answer (and audio) is under way
    audioEnded: false, // the server said audio_end for this turn
    discardAudio: false, // interrupted: audio still in flight is not played
    expecting: null, // the "audio" message whose WAV is the next binary frame
    thinkingTimer: null,
    releaseTimer: null,
    finishTimer: null,
    // The socket
    socket: null,
    socketFor: null, // conversation id
    ready: null, // the server's ready message
    connecting: null, // Promise while connecting
    // Audio
    context: null,
    stream: null,
    source: null,
    node: null,
    micPromise: null,
    workletLoaded: null,
    level: 0,
    floor: 0.01,
    loudMs: 0,
    meterFrame: null,
    // Playback
    generation: 0,
    chain: Promise.resolve(),
    sources: [],
    nextTime: 0,
    pending: 0, // sentences decoding, scheduled or being spoken
  };

  var stats = {
    state: "idle",
    mode: null,
    inputRate: null,
    framesSent: 0,
    bytesSent: 0,
    audioSentences: 0, // WAV sentences received
    playedSentences: 0, // WAV sentences played to the end
    spokenSentences: 0, // sentences spoken by speechSynthesis
    interrupts: 0,
    transcripts: [],
    partials: 0,
    errors: [],
    sent: [], // the types of the JSON messages sent, in order
  };

  window.LineLeadVoice = Object.freeze({
    /** A copy of the counters: what the voice control has done on this page. */
    get stats() {
      var copy = JSON.parse(JSON.stringify(stats));
      copy.micOpen = Boolean(state.stream); // the browser is recording
      return copy;
    },
  });

  // --- What the control shows -------------------------------------------------------------

  function setPhase(phase) {
    state.phase = phase;
    stats.state = phase;
    stats.mode = state.mode;
    mic.dataset.state = phase;
    panel.dataset.state = phase;
    var active = phase !== "idle";
    mic.setAttribute("aria-pressed", String(state.holding || (state.handsfree && active)));
    stopButton.hidden = phase !== "speaking";
    if (phase === "listening" || phase === "connecting" || phase === "idle") partialEl.textContent = "";
    var hint = phase === "listening" && state.mode === "handsfree";
    partialEl.classList.toggle("is-hint", hint);
    if (hint) partialEl.textContent = "Say \u201cstop listening\u201d to turn it off.";
    statusEl.textContent = statusText(phase);
    showPanel();
    window.clearTimeout(state.thinkingTimer);
    if (phase === "thinking") state.thinkingTimer = window.setTimeout(thinkingTooLong, THINKING_MS);
  }

  function statusText(phase) {
    if (phase === "listening") {
      return state.mode === "handsfree"
        ? "Listening \u2014 ask your question."
        : "Listening \u2014 let go when you\u2019re done.";
    }
    if (phase === "speaking") {
      return state.mode === "handsfree"
        ? "Speaking \u2014 just talk to interrupt."
        : "Speaking\u2026";
    }
    if (phase === "thinking" && !state.turn) return "Getting your words\u2026";
    return STATUS[phase] || "";
  }

  function showPanel() {
    panel.hidden = state.phase === "idle" && !state.handsfree;
  }

  /** A message beside the control (an error, a hint); "" takes it away. */
  function note(text, kind) {
    noteText.textContent = text || "";
    noteEl.hidden = !text;
    noteEl.dataset.kind = kind || "error";
    if (text && kind !== "hint") stats.errors.push(text);
  }

  function setHandsfree(on) {
    state.handsfree = on;
    handsfreeButton.setAttribute("aria-pressed", String(on));
    handsfreeButton.querySelector(".voice-switch-state").textContent = on ? "On" : "Off";
    panel.classList.toggle("is-handsfree", on);
    panel.parentElement.classList.toggle("is-handsfree", on); // the composer: its hint changes
    mic.setAttribute("aria-label", on ? "Stop hands-free listening" : "Hold to talk");
    showPanel();
  }

  function setPlayed() {
    mic.dataset.playedSentences = String(stats.playedSentences + stats.spokenSentences);
  }

  // --- Can this browser do it? ----------------------------------------------------------

  /** Why voice cannot work here, or "" when it can. */
  function unsupported() {
    if (!window.isSecureContext) {
      return "Voice needs a secure (https) connection to use the microphone. Typing works as usual.";
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return "This browser can\u2019t use a microphone here. Typing works as usual.";
    }
    if (!window.AudioContext || !window.AudioWorkletNode || !window.WebSocket) {
      return "This browser is too old for voice. Typing works as usual.";
    }
    return "";
  }

  function micProblem(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "The microphone is blocked. Allow it for this site in the browser\u2019s settings, then try again. Typing works as usual.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "No microphone found. Plug one in or type the question.";
    }
    if (name === "NotReadableError" || name === "AbortError") {
      return "The microphone is busy in another app. Close it and try again.";
    }
    return (error && error.message) || "The microphone could not be started.";
  }

  // --- The microphone --------------------------------------------------------------------

  /** The page's one AudioContext; made (or resumed) inside a user gesture. */
  function audioContext() {
    if (!state.context) {
      state.context = new window.AudioContext({ latencyHint: "interactive" });
    }
    if (state.context.state === "suspended") state.context.resume();
    return state.context;
  }

  function acquireMic() {
    window.clearTimeout(state.releaseTimer);
    if (state.micPromise) return state.micPromise;
    var context = audioContext();
    if (!state.workletLoaded) {
      state.workletLoaded = context.audioWorklet.addModule(WORKLET_URL).catch(function (error) {
        state.workletLoaded = null;
        throw error;
      });
    }
    var constraints = {
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    };
    var promise = Promise.all([navigator.mediaDevices.getUserMedia(constraints), state.workletLoaded])
      .then(function (results) {
        var stream = results[0];
        if (state.micPromise !== promise) {
          // Voice was turned off while the browser asked for the microphone.
          stopTracks(stream);
          throw new Error("cancelled");
        }
        state.stream = stream;
        state.source = context.createMediaStreamSource(stream);
        state.node = new window.AudioWorkletNode(context, "pcm16-downsampler", {
          numberOfInputs: 1,
          numberOfOutputs: 1,
          channelCount: 1,
          channelCountMode: "explicit",
        });
        state.node.port.onmessage = onWorklet;
        state.source.connect(state.node);
        state.node.connect(context.destination); // it outputs silence; this keeps it running
        stream.getAudioTracks().forEach(function (track) {
          track.addEventListener("ended", function () {
            if (state.stream === stream) fail("The microphone was disconnected.");
          });
        });
        startMeter();
      });
    state.micPromise = promise;
    promise.catch(function () {
      if (state.micPromise === promise) state.micPromise = null;
    });
    return promise;
  }

  function stopTracks(stream) {
    stream.getTracks().forEach(function (track) {
      track.stop();
    });
  }

  /** Let the microphone go (the browser's recording indicator goes off). */
  function releaseMic() {
    window.clearTimeout(state.releaseTimer);
    state.micPromise = null;
    if (state.node) {
      state.node.port.onmessage = null;
      state.node.disconnect();
      state.node = null;
    }
    if (state.source) {
      state.source.disconnect();
      state.source = null;
    }
    if (state.stream) {
      stopTracks(state.stream);
      state.stream = null;
    }
    state.sending = false;
    state.level = 0;
    stopMeter();
  }

  /** Push-to-talk keeps the microphone a little while, so the next question's first
   * word is not lost to starting it again. */
  function releaseSoon() {
    window.clearTimeout(state.releaseTimer);
    state.releaseTimer = window.setTimeout(function () {
      if (state.phase === "idle" && !state.handsfree) releaseMic();
    }, WARM_MS);
  }

  function onWorklet(event) {
    var data = event.data;
    if (data.type === "info") {
      stats.inputRate = data.inputRate;
      return;
    }
    if (data.type !== "frame") return;
    hear(data.rms);
    var samples = new Int16Array(data.pcm);
    if (state.sending) {
      queueFrame(samples);
    } else if (state.mode && (state.awaiting || state.phase === "connecting")) {
      // Not listening yet: keep it, so that the first word is not lost.
      state.preroll.push(samples);
      state.prerollSamples += samples.length;
      while (state.prerollSamples > PREROLL_SAMPLES) state.prerollSamples -= state.preroll.shift().length;
    } else if (state.phase === "speaking") {
      state.recent.push(samples);
      state.recentSamples += samples.length;
      while (state.recentSamples > RECENT_SAMPLES) state.recentSamples -= state.recent.shift().length;
    }
  }

  /** Send start, listen or interrupt; audio waits (in the preroll) until "listening". */
  function arm(message) {
    flushFrames();
    state.sending = false;
    state.awaiting = message;
    state.retryUntil = Date.now() + RETRY_FOR_MS;
    window.clearTimeout(state.retryTimer);
    send(message);
  }

  function resetPreroll() {
    state.preroll = [];
    state.prerollSamples = 0;
    state.recent = [];
    state.recentSamples = 0;
  }

  function queueFrame(samples) {
    state.batch.push(samples);
    state.batchSamples += samples.length;
    if (state.batchSamples >= BATCH_SAMPLES) flushFrames();
  }

  function flushFrames() {
    if (!state.batchSamples) return;
    var pcm = new Int16Array(state.batchSamples);
    var at = 0;
    state.batch.forEach(function (part) {
      pcm.set(part, at);
      at += part.length;
    });
    state.batch = [];
    state.batchSamples = 0;
    if (!socketOpen()) return;
    state.socket.send(pcm.buffer); // Int16Array is little-endian on every browser's hardware
    stats.framesSent += 1;
    stats.bytesSent += pcm.byteLength;
  }

  // The level meter, and talking over the answer.
  function hear(rms) {
    state.level = rms > state.level ? rms : state.level * 0.85 + rms * 0.15;
    var listening = state.phase === "listening" || state.phase === "hearing";
    if (listening) {
      // Track the kitchen's background level, slowly, so that barge-in stands out from it.
      state.floor = rms < state.floor ? state.floor * 0.9 + rms * 0.1 : state.floor * 0.998 + rms * 0.002;
    }
    if (state.phase === "speaking" && state.mode === "handsfree") {
      var loud = rms > Math.max(BARGE_RMS, state.floor * 4);
      state.loudMs = loud ? state.loudMs + 20 : Math.max(0, state.loudMs - 40);
      if (state.loudMs >= BARGE_MS) {
        state.loudMs = 0;
        interrupt(true);
      }
    } else {
      state.loudMs = 0;
    }
  }

  function startMeter() {
    if (state.meterFrame !== null) return;
    var draw = function () {
      var db = 20 * Math.log10(state.level + 1e-6);
      var level = Math.max(0, Math.min(1, (db + 60) / 45));
      panel.style.setProperty("--level", level.toFixed(3));
      mic.style.setProperty("--level", level.toFixed(3));
      state.meterFrame = window.requestAnimationFrame(draw);
    };
    state.meterFrame = window.requestAnimationFrame(draw);
  }

  function stopMeter() {
    if (state.meterFrame !== null) window.cancelAnimationFrame(state.meterFrame);
    state.meterFrame = null;
    panel.style.setProperty("--level", "0");
    mic.style.setProperty("--level", "0");
  }

  // --- The socket ------------------------------------------------------------------------

  function socketOpen() {
    return Boolean(state.socket && state.ready && state.socket.readyState === WebSocket.OPEN);
  }

  function send(message) {
    if (!socketOpen()) return false;
    state.socket.send(JSON.stringify(message));
    stats.sent.push(message.type);
    return true;
  }

  /** The voice socket to the open conversation, ready (its "ready" message arrived). */
  function connect() {
    return chat.ensureConversation().then(function (id) {
      if (socketOpen() && state.socketFor === id) return id;
      if (state.connecting && state.socketFor === id) return state.connecting;
      closeSocket();
      var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      var socket = new WebSocket(scheme + "//" + window.location.host + SOCKET_PATH + id + "/");
      socket.binaryType = "arraybuffer";
      state.socket = socket;
      state.socketFor = id;
      state.connecting = new Promise(function (resolve, reject) {
        var timer = window.setTimeout(function () {
          reject(new Error("The voice service did not answer. Try again, or type the question."));
          if (state.socket === socket) closeSocket();
        }, CONNECT_MS);
        socket.onmessage = function (event) {
          if (typeof event.data !== "string") {
            receiveAudio(event.data);
            return;
          }
          var data = null;
          try {
            data = JSON.parse(event.data);
          } catch (e) {
            return;
          }
          if (!data || typeof data.type !== "string") return;
          if (data.type === "ready") {
            window.clearTimeout(timer);
            state.ready = data;
            state.connecting = null;
            resolve(id);
            return;
          }
          receive(data);
        };
        socket.onclose = function (event) {
          window.clearTimeout(timer);
          if (state.socket !== socket) return;
          var wasReady = Boolean(state.ready);
          state.socket = null;
          state.ready = null;
          state.connecting = null;
          reject(new Error(closedText(event.code, wasReady)));
          if (wasReady) lost(event.code);
        };
      });
      return state.connecting;
    });
  }

  function closedText(code, wasReady) {
    if (code === CLOSE_SIGNED_OUT) return "You are signed out. Sign in again to use voice.";
    if (code === CLOSE_NOT_FOUND) return "This conversation is not there any more.";
    if (code === CLOSE_UNAVAILABLE) return "Voice isn\u2019t available on this server right now. Typing works as usual.";
    if (wasReady) return "The voice connection dropped. Hold the mic to try again.";
    return "Could not reach the voice service. Try again, or type the question.";
  }

  function closeSocket() {
    var socket = state.socket;
    state.socket = null;
    state.ready = null;
    state.connecting = null;
    state.socketFor = null;
    if (socket) {
      socket.onmessage = socket.onclose = socket.onerror = null;
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000);
    }
  }

  // The socket went down while in use.
  function lost(code) {
    var midTurn = state.turn;
    stopPlayback();
    endVoice();
    if (midTurn || chat.voicePending()) chat.voiceDropped();
    note(closedText(code, true));
  }

  // --- The server's messages ------------------------------------------------------------------

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
        partialEl.classList.remove("is-hint");
        partialEl.textContent = data.text || "";
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
      case "audio":
        state.expecting = data;
        break;
      case "say":
        say(data);
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
    state.preroll.forEach(queueFrame);
    resetPreroll();
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
    flushFrames();
    state.sending = false;
    state.turn = true;
    state.audioEnded = false;
    state.discardAudio = false;
    state.expecting = null;
    window.clearTimeout(state.finishTimer);
    setPhase("thinking");
    partialEl.textContent = text ? "\u201c" + text + "\u201d" : "";
    if (text) chat.voiceQuestion(text);
  }

  // The answer's text is complete; its audio may still be coming or playing.
  function answered() {
    window.clearTimeout(state.thinkingTimer);
    window.clearTimeout(state.finishTimer);
    // audio_end always follows; if it never does, do not stay stuck.
    state.finishTimer = window.setTimeout(function () {
      if (state.turn && state.pending === 0) {
        state.audioEnded = true;
        maybeDone();
      }
    }, 20000);
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
        if (state.awaiting === message) send(message);
      }, RETRY_MS);
      return;
    }
    var text = ERRORS[code] || sentence(data.message) || "Voice hit a problem. Try again.";
    note(text.replace("{max}", String((state.ready && state.ready.max_seconds) || 30)));
    if (code === "tts_failed" || state.turn) return; // the answer goes on
    afterUtterance();
  }

  // The utterance went nowhere (no speech, not understood...): back to where we were.
  function afterUtterance() {
    if (state.turn) return;
    state.awaiting = null;
    window.clearTimeout(state.retryTimer);
    if (state.mode === "handsfree") {
      // The server listens again by itself after a failed utterance ("listening" follows).
      state.sending = false;
      state.awaiting = "rearm";
      setPhase("listening");
    } else {
      state.sending = false;
      state.mode = null;
      setPhase("idle");
      releaseSoon();
    }
  }

  function stopped(reason) {
    var texts = {
      user: "",
      idle: "Hands-free turned off after " + ((state.ready && state.ready.idle_minutes) || 10) +
        " minutes without a question.",
      stop_phrase: "Hands-free is off: you said \u201cstop listening\u201d.",
    };
    stopPlayback();
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

  // --- Playing the answer ----------------------------------------------------------------------

  function receiveAudio(buffer) {
    var meta = state.expecting;
    state.expecting = null;
    if (!meta || state.discardAudio || !state.turn) return;
    stats.audioSentences += 1;
    var context = audioContext();
    var generation = state.generation;
    state.pending += 1;
    var decoded = context.decodeAudioData(buffer);
    state.chain = state.chain
      .then(function () {
        return decoded;
      })
      .then(function (audio) {
        if (generation !== state.generation) return;
        var node = context.createBufferSource();
        node.buffer = audio;
        node.connect(context.destination);
        var at = Math.max(context.currentTime + 0.03, state.nextTime);
        node.start(at);
        state.nextTime = at + audio.duration;
        state.sources.push(node);
        if (state.phase === "thinking") setPhase("speaking");
        window.setTimeout(function () {
          if (generation === state.generation) caption(meta.text);
        }, Math.max(0, (at - context.currentTime) * 1000));
        node.onended = function () {
          if (generation !== state.generation) return;
          state.sources.splice(state.sources.indexOf(node), 1);
          stats.playedSentences += 1;
          setPlayed();
          state.pending -= 1;
          maybeDone();
        };
      })
      .catch(function () {
        if (generation !== state.generation) return;
        stats.errors.push("could not decode sentence " + meta.seq);
        state.pending -= 1;
        maybeDone();
      });
  }

  // No server voice: the browser reads the sentence.
  function say(data) {
    if (state.discardAudio || !state.turn || !window.speechSynthesis || !data.text) return;
    var generation = state.generation;
    var utterance = new window.SpeechSynthesisUtterance(data.text);
    utterance.lang = "en-US";
    var finished = false;
    var done = function () {
      if (finished || generation !== state.generation) return;
      finished = true;
      window.clearTimeout(timer);
      stats.spokenSentences += 1;
      setPlayed();
      state.pending -= 1;
      maybeDone();
    };
    // Some browsers never say "end" (no voices installed): allow about as long as it takes.
    var timer = window.setTimeout(done, 2000 + data.text.length * 90);
    utterance.onstart = function () {
      if (generation === state.generation) caption(data.text);
    };
    utterance.onend = done;
    utterance.onerror = done;
    state.pending += 1;
    window.speechSynthesis.speak(utterance);
    if (state.phase === "thinking") setPhase("speaking");
  }

  // What is being said, on screen too: a kitchen is loud.
  function caption(text) {
    if (state.phase !== "speaking" || !text) return;
    partialEl.classList.remove("is-hint");
    partialEl.textContent = text;
  }

  function stopPlayback() {
    state.generation += 1;
    state.sources.forEach(function (node) {
      node.onended = null;
      try {
        node.stop();
      } catch (e) {
        // never started
      }
    });
    state.sources = [];
    state.chain = Promise.resolve();
    state.nextTime = 0;
    state.pending = 0;
    state.expecting = null;
    if (window.speechSynthesis) window.speechSynthesis.cancel();
  }

  // The answer has been said (or there was nothing to say): listen again, or rest.
  function maybeDone() {
    if (!state.turn || !state.audioEnded || state.pending > 0) return;
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
    var heard = state.recent;
    stopPlayback();
    state.discardAudio = true;
    state.turn = false;
    stats.interrupts += 1;
    if (resume && state.mode === "handsfree") {
      // The server listens again after an interrupt; the words that set it off go first.
      arm({ type: "interrupt" });
      resetPreroll();
      state.preroll = heard;
      state.prerollSamples = heard.reduce(function (n, part) {
        return n + part.length;
      }, 0);
      setPhase("listening");
    } else {
      send({ type: "interrupt" });
      state.mode = null;
      setPhase("idle");
      releaseSoon();
    }
  }

  // --- Starting and ending -----------------------------------------------------------------

  /** Start listening in ``mode`` ("push" or "handsfree"): microphone, socket, "start". */
  function begin(mode) {
    var problem = unsupported();
    if (problem) {
      note(problem);
      return false;
    }
    note("");
    state.mode = mode;
    state.awaiting = null;
    resetPreroll();
    state.batch = [];
    state.batchSamples = 0;
    var serial = (state.serial += 1);
    audioContext(); // inside the gesture, so that the answer may play
    setPhase("connecting");
    Promise.all([acquireMic(), connect()]).then(
      function () {
        if (serial !== state.serial) return;
        arm({ type: "start", sample_rate: RATE, encoding: "pcm16", mode: mode });
        setPhase("listening");
      },
      function (error) {
        if (serial !== state.serial) return;
        if (error && error.message === "cancelled") return;
        fail(error && error.name ? micProblem(error) : (error && error.message) || "Voice could not start.");
      }
    );
    return true;
  }

  // Push-to-talk let go: the utterance is over.
  function endUtterance() {
    flushFrames();
    send({ type: "end" });
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
    stopPlayback();
    endVoice();
    note(text);
  }

  // --- Push to talk: the button, or Space ------------------------------------------------------

  function press(by) {
    if (state.holding) return;
    var problem = unsupported();
    if (problem) {
      note(problem);
      return;
    }
    state.holding = true;
    state.holdBy = by;
    state.holdStarted = Date.now();
    if (state.handsfree) {
      mic.setAttribute("aria-pressed", "true");
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
      else mic.setAttribute("aria-pressed", "true");
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
      state.batch = [];
      state.batchSamples = 0;
      send({ type: "end" });
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

  mic.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) return;
    event.preventDefault(); // no text selection or callout on a long press
    if (mic.setPointerCapture) mic.setPointerCapture(event.pointerId);
    press("pointer");
  });
  ["pointerup", "pointercancel", "lostpointercapture"].forEach(function (type) {
    mic.addEventListener(type, function () {
      letGo("pointer");
    });
  });
  mic.addEventListener("contextmenu", function (event) {
    event.preventDefault();
  });
  mic.addEventListener("click", function (event) {
    event.preventDefault(); // pointer and keys do the work; a synthetic click is a tap
  });

  function isTalkKey(event) {
    return (event.key === " " || event.code === "Space" || (event.key === "Enter" && event.target === mic)) &&
      !event.ctrlKey && !event.altKey && !event.metaKey;
  }

  // Space talks anywhere it would not type or press something else.
  function spaceTalks(target) {
    if (target === mic) return true;
    if (pageDialog && pageDialog.open) return false;
    if (document.body.classList.contains("drawer-open")) return false;
    return !(target && target.closest && target.closest(
      "input, textarea, select, button, a[href], summary, [contenteditable], [role=button], [tabindex]:not([tabindex='-1'])"
    ));
  }

  document.addEventListener("keydown", function (event) {
    if (!isTalkKey(event) || !spaceTalks(event.target)) return;
    event.preventDefault();
    if (!event.repeat) press("key");
  });
  document.addEventListener("keyup", function (event) {
    if (!isTalkKey(event) || state.holdBy !== "key") return;
    event.preventDefault();
    letGo("key");
  });
  window.addEventListener("blur", function () {
    letGo("key"); // a key let go in another window never reaches this one
  });

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
    if (state.phase === "speaking") stopPlayback();
    send({ type: "stop" });
    endVoice();
  }

  handsfreeButton.addEventListener("click", function () {
    if (state.handsfree) turnHandsfreeOff();
    else turnHandsfreeOn();
  });

  stopButton.addEventListener("click", function () {
    interrupt(true);
  });

  noteClose.addEventListener("click", function () {
    note("");
  });

  // --- The page around it ------------------------------------------------------------------------

  // Another conversation opened (or a new one): this socket and turn belong to the old one.
  document.addEventListener("lineled:conversation", function () {
    stopPlayback();
    endVoice();
    closeSocket();
    note("");
  });

  // A tablet put down or another tab: stop listening rather than record an empty room.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && (state.stream || state.phase !== "idle")) {
      var wasHandsfree = state.handsfree;
      if (wasHandsfree) send({ type: "stop" });
      stopPlayback();
      endVoice();
      if (wasHandsfree) note("Hands-free turned off while the screen was away.", "hint");
    }
  });

  window.addEventListener("pagehide", function () {
    releaseMic();
    closeSocket();
  });

  var problem = unsupported();
  if (problem) {
    mic.setAttribute("aria-disabled", "true");
    handsfreeButton.setAttribute("aria-disabled", "true");
    mic.title = problem;
  }
  setPhase("idle");
  setPlayed();
})();
