// Voice on the chat screen: hold the microphone button (or Space) to talk, or turn on
// Hands-free and just ask. This file only wires the parts together, as chat.js's modules
// are: voice-screen.js (what is shown, what the user presses), voice-mic.js (the
// microphone), voice-socket.js (the socket), voice-playback.js (reading the answer
// aloud) and voice-turn.js (what each state does with all of these). The transcript and
// the answer are shown by chat.js exactly like typed ones (ns.chat, its hooks).
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

  var turn = null; // made last: the parts' callbacks reach it through this

  var screen = ns.voiceScreen({
    press: function (by) {
      return turn.press(by);
    },
    letGo: function (held) {
      turn.letGo(held);
    },
    handsfree: function () {
      turn.handsfree();
    },
    stop: function () {
      turn.stop();
    },
  });
  if (!screen) return;
  var mic = ns.voiceMic.microphone({
    workletUrl: panel.dataset.workletUrl,
    onFrame: function (samples, rms) {
      turn.frame(samples, rms);
    },
    onEnded: function () {
      turn.ended();
    },
    onOpen: function () {
      screen.meter(mic.level);
    },
    onRelease: function () {
      socket.stream(false);
      screen.meter(null);
    },
  });
  var socket = ns.voiceSocket({
    path: panel.dataset.socketPath || "/ws/voice/",
    onMessage: receive,
    onAudio: function (meta, wav) {
      player.play(meta, wav);
    },
    onLost: function (text) {
      turn.lost(text);
    },
  });
  var player = ns.voicePlayback({
    context: mic.context,
    onStart: function () {
      turn.started();
    },
    onCaption: function (text) {
      turn.caption(text);
    },
    onSentence: function (problem) {
      turn.sentence(problem);
    },
    textPending: chat.voicePending,
    onOver: function () {
      turn.over();
    },
  });
  turn = ns.voiceTurn({ chat: chat, screen: screen, mic: mic, socket: socket, player: player });

  /** Each of the voice socket's messages to the part it is for. */
  function receive(data) {
    switch (data.type) {
      case "listening":
        turn.listening();
        break;
      case "speech_start":
        turn.hearing();
        break;
      case "partial":
        turn.partial(data.text || "");
        break;
      case "transcript":
        turn.transcript(data);
        break;
      case "start":
      case "token":
      case "citations":
        chat.receive(data);
        break;
      case "done":
        chat.receive(data);
        turn.answered();
        break;
      case "error":
        turn.error(data);
        break;
      case "say":
        player.say(data.text); // no server voice: the browser reads the sentence
        break;
      case "audio_end":
        player.ended();
        break;
      case "stopped":
        turn.stopped(data.reason);
        break;
      default:
        break; // pong, and anything newer than this page
    }
  }

  window.LineLeadVoice = Object.freeze({
    /** A copy of the counters: what the voice control has done on this page. */
    get stats() {
      var copy = turn.stats();
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

  // Another conversation opened (or a new one): this socket and turn belong to the old one.
  document.addEventListener("lineled:conversation", function () {
    turn.end("");
    socket.close();
  });

  // A tablet put down or another tab: stop listening rather than record an empty room.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) turn.hidden();
  });

  window.addEventListener("pagehide", function () {
    mic.release();
    socket.close();
  });
})();
