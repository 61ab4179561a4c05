// Voice's microphone: the page's one AudioContext, the microphone through pcm-worklet.js
// (16 kHz mono PCM16, 20 ms a frame), the level it hears, a watch for someone talking
// over the answer, and the few seconds of audio kept while the socket is not taking
// any. It owns the device: open, kept warm a while, let go. voice.js creates it and
// voice-turn.js says when; this file knows nothing about the socket or the screen.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var BARGE_MS = 300; // talking this long over the answer interrupts it
  var BARGE_RMS = 0.05; // about -26 dBFS, after echo cancellation
  var FRAME_MS = 20;

  /** Why voice cannot work in this browser, or "" when it can. */
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

  /** What a failed getUserMedia() means, in words for the page. */
  function problem(error) {
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

  function stopTracks(stream) {
    stream.getTracks().forEach(function (track) {
      track.stop();
    });
  }

  /**
   * The microphone. ``options``: workletUrl; onFrame(samples, rms) for each 20 ms
   * (an Int16Array at 16 kHz); onEnded() when the device goes away while open;
   * onOpen() once it is recording; onRelease() each time it is let go.
   */
  function microphone(options) {
    var context = null;
    var releaseTimer = null;
    var workletLoaded = null;
    var opening = null; // Promise while the browser is asked for the microphone
    var stream = null;
    var source = null;
    var node = null;
    var level = 0;
    var inputRate = null;

    /** The page's one AudioContext; made (or resumed) inside a user gesture. */
    function audioContext() {
      if (!context) context = new window.AudioContext({ latencyHint: "interactive" });
      if (context.state === "suspended") context.resume();
      return context;
    }

    function onWorklet(event) {
      var data = event.data;
      if (data.type === "info") {
        inputRate = data.inputRate;
      } else if (data.type === "frame") {
        level = data.rms > level ? data.rms : level * 0.85 + data.rms * 0.15;
        options.onFrame(new Int16Array(data.pcm), data.rms);
      }
    }

    /** Open the microphone (once; again after release()). Rejects with the browser's
     * error, or Error("cancelled") when released meanwhile. */
    function open() {
      window.clearTimeout(releaseTimer);
      if (opening) return opening;
      var audio = audioContext();
      if (!workletLoaded) {
        workletLoaded = audio.audioWorklet.addModule(options.workletUrl).catch(function (error) {
          workletLoaded = null;
          throw error;
        });
      }
      var constraints = {
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      };
      var promise = Promise.all([navigator.mediaDevices.getUserMedia(constraints), workletLoaded])
        .then(function (results) {
          var got = results[0];
          if (opening !== promise) {
            // Let go while the browser asked for the microphone.
            stopTracks(got);
            throw new Error("cancelled");
          }
          stream = got;
          source = audio.createMediaStreamSource(got);
          node = new window.AudioWorkletNode(audio, "pcm16-downsampler", {
            numberOfInputs: 1,
            numberOfOutputs: 1,
            channelCount: 1,
            channelCountMode: "explicit",
          });
          node.port.onmessage = onWorklet;
          source.connect(node);
          node.connect(audio.destination); // it outputs silence; this keeps it running
          got.getAudioTracks().forEach(function (track) {
            track.addEventListener("ended", function () {
              if (stream === got) options.onEnded();
            });
          });
          options.onOpen();
        });
      opening = promise;
      promise.catch(function () {
        if (opening === promise) opening = null;
      });
      return promise;
    }

    /** Let the microphone go (the browser's recording indicator goes off). */
    function release() {
      window.clearTimeout(releaseTimer);
      opening = null;
      if (node) {
        node.port.onmessage = null;
        node.disconnect();
        node = null;
      }
      if (source) {
        source.disconnect();
        source = null;
      }
      if (stream) {
        stopTracks(stream);
        stream = null;
      }
      level = 0;
      options.onRelease();
    }

    /** Let it go in ``ms`` unless opened (or let go) again meanwhile, or ``keep()`` says
     * it is still wanted then: the next question's first word is not lost to starting it. */
    function releaseAfter(ms, keep) {
      window.clearTimeout(releaseTimer);
      releaseTimer = window.setTimeout(function () {
        if (!keep()) release();
      }, ms);
    }

    return {
      context: audioContext,
      open: open,
      release: release,
      releaseAfter: releaseAfter,
      /** The browser is recording. */
      isOpen: function () {
        return Boolean(stream);
      },
      /** What it hears, 0..1 (RMS, quick to rise, slower to fall). */
      level: function () {
        return level;
      },
      /** The device's own sample rate, once the worklet has said. */
      inputRate: function () {
        return inputRate;
      },
    };
  }

  /** Talking over the answer: loud enough, long enough, and above the kitchen's own hum. */
  function bargeIn() {
    var floor = 0.01;
    var loudMs = 0;
    return {
      /** While listening: learn the background level, slowly. */
      learn: function (rms) {
        floor = rms < floor ? floor * 0.9 + rms * 0.1 : floor * 0.998 + rms * 0.002;
        loudMs = 0;
      },
      /** While the answer plays: true once someone has talked over it long enough. */
      heard: function (rms) {
        var loud = rms > Math.max(BARGE_RMS, floor * 4);
        loudMs = loud ? loudMs + FRAME_MS : Math.max(0, loudMs - 2 * FRAME_MS);
        if (loudMs < BARGE_MS) return false;
        loudMs = 0;
        return true;
      },
      reset: function () {
        loudMs = 0;
      },
    };
  }

  /** The last ``max`` samples heard, in the frames they came in. */
  function keep(max) {
    var frames = [];
    var count = 0;
    return {
      push: function (samples) {
        frames.push(samples);
        count += samples.length;
        while (count > max) count -= frames.shift().length;
      },
      /** The frames kept, oldest first; none are kept after. */
      take: function () {
        var taken = frames;
        frames = [];
        count = 0;
        return taken;
      },
      clear: function () {
        frames = [];
        count = 0;
      },
    };
  }

  ns.voiceMic = { microphone: microphone, bargeIn: bargeIn, keep: keep, unsupported: unsupported, problem: problem };
})();
