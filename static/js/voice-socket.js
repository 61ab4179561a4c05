// Voice's websocket, /ws/voice/<conversation>/ (protocol in voice/consumers.py), on
// api.js's socket client. One attempt, no reconnecting: a voice socket that drops ends
// voice, and the next press connects again. JSON messages both ways; the microphone's
// audio goes out in binary frames of 60 ms, and each answer sentence's WAV comes in as
// the binary frame after its "audio" message. It owns the gate the microphone's audio
// passes (open from "listening" until the utterance ends) and the start, listen or
// interrupt message waiting for that "listening", asked again while the server is busy.
// voice.js creates it; this file knows nothing about the microphone, the playback or
// the screen.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var CLOSE = window.LineLeadApi.CLOSE;
  var BATCH_SAMPLES = 960; // 60 ms a frame to the server
  var CONNECT_MS = 10000;
  var RETRY_MS = 300; // "busy" (the last answer is still finishing): ask again this soon
  var RETRY_FOR_MS = 10000;
  var REARM = "rearm"; // the server listens again by itself: nothing to send or ask again

  /** What a closed voice socket means, in words for the page. */
  function closedText(code, wasReady) {
    if (code === CLOSE.SIGNED_OUT) return "You are signed out. Sign in again to use voice.";
    if (code === CLOSE.NOT_FOUND) return "This conversation is not there any more.";
    if (code === CLOSE.UNAVAILABLE) return "Voice isn\u2019t available on this server right now. Typing works as usual.";
    if (code === CLOSE.NO_ANSWER) return "The voice service did not answer. Try again, or type the question.";
    if (wasReady) return "The voice connection dropped. Hold the mic to try again.";
    return "Could not reach the voice service. Try again, or type the question.";
  }

  /**
   * ``options``: path (``/ws/voice/``); onMessage(data) for every JSON message but
   * "ready" and "audio"; onAudio(meta, wav) for a sentence's WAV (``meta``: its "audio"
   * message); onLost(text) when the socket drops after it was ready.
   */
  function voiceSocket(options) {
    var socket = null;
    var socketFor = null; // the conversation's id
    var connecting = null; // Promise while connecting
    var ready = null; // the server's ready message
    var expecting = null; // the "audio" message whose WAV is the next binary frame
    var batch = [];
    var batchSamples = 0;
    var counts = { framesSent: 0, bytesSent: 0, sent: [] }; // sent: JSON types, in order
    var streaming = false; // the microphone's audio goes to the server
    var awaiting = null; // the message sent (or REARM) until "listening" comes
    var retryTimer = null;
    var retryUntil = 0;

    /** The socket to conversation ``id``, ready; resolves with its ready message. */
    function connect(id) {
      if (ready && socketFor === id) return Promise.resolve(ready);
      if (connecting && socketFor === id) return connecting;
      close();
      socketFor = id;
      var promise = new Promise(function (resolve, reject) {
        socket = window.LineLeadApi.socket(options.path + id + "/", {
          ready: "ready",
          reconnect: false,
          readyWithinMs: CONNECT_MS,
          onReady: function (data) {
            ready = data;
            connecting = null;
            resolve(data);
          },
          onMessage: receive,
          onBinary: function (wav) {
            var meta = expecting;
            expecting = null;
            if (meta) options.onAudio(meta, wav);
          },
          onEnded: function (code, wasReady) {
            socket = ready = connecting = socketFor = null;
            reject(new Error(closedText(code, wasReady)));
            if (wasReady) options.onLost(closedText(code, true));
          },
        });
      });
      connecting = promise;
      return promise;
    }

    function receive(data) {
      if (data.type === "audio") expecting = data;
      else options.onMessage(data);
    }

    /** Send one JSON message; false when the socket is not ready. */
    function send(message) {
      if (!socket || !socket.send(message)) return false;
      counts.sent.push(message.type);
      return true;
    }

    /** Queue the microphone's samples; they go out 60 ms at a time. */
    function sendAudio(samples) {
      batch.push(samples);
      batchSamples += samples.length;
      if (batchSamples >= BATCH_SAMPLES) flush();
    }

    /** Send what is queued now (dropped when the socket is not ready). */
    function flush() {
      if (!batchSamples) return;
      var pcm = new Int16Array(batchSamples);
      var at = 0;
      batch.forEach(function (part) {
        pcm.set(part, at);
        at += part.length;
      });
      dropAudio();
      // Int16Array is little-endian on every browser's hardware.
      if (!socket || !socket.sendBinary(pcm.buffer)) return;
      counts.framesSent += 1;
      counts.bytesSent += pcm.byteLength;
    }

    /** Forget what is queued. */
    function dropAudio() {
      batch = [];
      batchSamples = 0;
    }

    function close() {
      if (socket) socket.close();
      socket = ready = connecting = socketFor = expecting = null;
    }

    /** Send start, listen or interrupt; the audio gate stays shut until "listening". */
    function arm(message) {
      flush();
      streaming = false;
      awaiting = message;
      retryUntil = Date.now() + RETRY_FOR_MS;
      window.clearTimeout(retryTimer);
      send(message);
    }

    /** Wait for the "listening" the server sends by itself after a failed utterance. */
    function awaitRearm() {
      awaiting = REARM;
    }

    /** Nothing is awaited any more; returns what was (a message, "rearm" or null). */
    function disarm() {
      var awaited = awaiting;
      awaiting = null;
      window.clearTimeout(retryTimer);
      return awaited;
    }

    /** The server is busy: ask again shortly if a message awaits "listening" and it has
     * not been asked for too long; false when not. */
    function retry() {
      if (!awaiting || Date.now() >= retryUntil) return false;
      var message = awaiting;
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(function () {
        if (awaiting === message && message !== REARM) send(message);
      }, RETRY_MS);
      return true;
    }

    return {
      connect: connect,
      send: send,
      sendAudio: sendAudio,
      flush: flush,
      dropAudio: dropAudio,
      close: close,
      arm: arm,
      awaitRearm: awaitRearm,
      disarm: disarm,
      retry: retry,
      /** A message (or the server's own re-arming) awaits "listening". */
      awaiting: function () {
        return Boolean(awaiting);
      },
      /** Open (true) or shut the gate: whether the microphone's audio goes out. */
      stream: function (on) {
        streaming = on;
      },
      streaming: function () {
        return streaming;
      },
      /** The server's ready message (max_seconds, idle_minutes...), or null. */
      ready: function () {
        return ready;
      },
      /** What was sent: frames, bytes and the JSON messages' types. */
      counts: function () {
        return { framesSent: counts.framesSent, bytesSent: counts.bytesSent, sent: counts.sent.slice() };
      },
    };
  }

  ns.voiceSocket = voiceSocket;
})();
