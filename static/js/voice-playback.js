// Voice's playback: the answer read aloud, sentence by sentence, from the WAVs the server
// sends (decoded and played back to back in the page's AudioContext), or by the
// browser's speechSynthesis when the server has no voice of its own. It owns the answer
// being read: expected from the transcript, over once the server has sent its last
// sentence (audio_end) and every one has been heard. voice.js creates it and hands it
// what comes; this file knows nothing about the socket or the screen.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var LEAD_S = 0.03; // the first sentence starts this soon after it is decoded
  var AUDIO_END_MS = 20000; // audio_end always follows the answer; if it never does, go on

  /**
   * ``options``: context() -> the page's AudioContext; onStart() when a sentence is
   * about to be heard; onCaption(text) as each sentence begins; onSentence(problem)
   * when one is over (played, spoken, or ``problem``: why it could not be played);
   * textPending() -> the answer's text has not started yet; onOver() when the answer
   * expected by expect() has been heard to the end.
   */
  function player(options) {
    var answering = false; // a transcript was taken; its answer (and audio) is under way
    var audioEnded = false; // the server said audio_end (or the answer failed)
    var finishTimer = null;
    var generation = 0; // bumps on stop(): what was under way is not played
    var chain = Promise.resolve();
    var sources = [];
    var nextTime = 0;
    var pending = 0; // sentences decoding, scheduled or being spoken
    var counts = { audioSentences: 0, playedSentences: 0, spokenSentences: 0 };

    /** Play one sentence's WAV after those before it (not when no answer is expected). */
    function play(meta, wav) {
      if (!answering) return;
      counts.audioSentences += 1;
      var context = options.context();
      var mine = generation;
      pending += 1;
      var decoded = context.decodeAudioData(wav);
      chain = chain
        .then(function () {
          return decoded;
        })
        .then(function (audio) {
          if (mine !== generation) return;
          var node = context.createBufferSource();
          node.buffer = audio;
          node.connect(context.destination);
          var at = Math.max(context.currentTime + LEAD_S, nextTime);
          node.start(at);
          nextTime = at + audio.duration;
          sources.push(node);
          options.onStart();
          window.setTimeout(function () {
            if (mine === generation) options.onCaption(meta.text);
          }, Math.max(0, (at - context.currentTime) * 1000));
          node.onended = function () {
            if (mine !== generation) return;
            sources.splice(sources.indexOf(node), 1);
            counts.playedSentences += 1;
            over("");
          };
        })
        .catch(function () {
          if (mine !== generation) return;
          over("could not decode sentence " + meta.seq);
        });
    }

    /** No server voice: the browser reads the sentence (when an answer is expected). */
    function say(text) {
      if (!answering || !window.speechSynthesis || !text) return;
      var mine = generation;
      var utterance = new window.SpeechSynthesisUtterance(text);
      utterance.lang = "en-US";
      var finished = false;
      var done = function () {
        if (finished || mine !== generation) return;
        finished = true;
        window.clearTimeout(timer);
        counts.spokenSentences += 1;
        over("");
      };
      // Some browsers never say "end" (no voices installed): allow about as long as it takes.
      var timer = window.setTimeout(done, 2000 + text.length * 90);
      utterance.onstart = function () {
        if (mine === generation) options.onCaption(text);
      };
      utterance.onend = done;
      utterance.onerror = done;
      pending += 1;
      window.speechSynthesis.speak(utterance);
      options.onStart();
    }

    function over(problem) {
      pending -= 1;
      options.onSentence(problem);
      check();
    }

    /** A transcript was taken: its answer's sentences are expected until audio_end. */
    function expect() {
      answering = true;
      audioEnded = false;
      window.clearTimeout(finishTimer);
    }

    /** The answer's audio is all sent (audio_end, or the answer failed). */
    function ended() {
      audioEnded = true;
      check();
    }

    /** The answer's text is complete: should audio_end never come, the answer is over
     * once nothing plays ``AUDIO_END_MS`` from now. */
    function textDone() {
      window.clearTimeout(finishTimer);
      finishTimer = window.setTimeout(function () {
        if (answering && pending === 0) ended();
      }, AUDIO_END_MS);
    }

    /** The answer is no longer wanted: what it still sends is not played. */
    function drop() {
      answering = false;
      window.clearTimeout(finishTimer);
    }

    /** Heard to the end (and its text under way): onOver(), once. */
    function check() {
      if (!answering || !audioEnded || pending > 0) return;
      if (options.textPending()) return;
      drop();
      options.onOver();
    }

    /** Stop at once; nothing under way is heard. */
    function stop() {
      generation += 1;
      sources.forEach(function (node) {
        node.onended = null;
        try {
          node.stop();
        } catch (e) {
          // never started
        }
      });
      sources = [];
      chain = Promise.resolve();
      nextTime = 0;
      pending = 0;
      if (window.speechSynthesis) window.speechSynthesis.cancel();
    }

    return {
      play: play,
      say: say,
      stop: stop,
      expect: expect,
      ended: ended,
      textDone: textDone,
      drop: drop,
      check: check,
      /** An answer is expected or being read. */
      answering: function () {
        return answering;
      },
      /** Its audio is all sent. */
      audioEnded: function () {
        return audioEnded;
      },
      /** Sentences still to be heard (decoding, scheduled or being spoken). */
      pending: function () {
        return pending;
      },
      /** Sentences received, played to the end, and spoken by the browser. */
      counts: function () {
        return {
          audioSentences: counts.audioSentences,
          playedSentences: counts.playedSentences,
          spokenSentences: counts.spokenSentences,
        };
      },
    };
  }

  ns.voicePlayback = player;
})();
