// Voice on the screen: the microphone button (hold it, or Space, to talk), the Hands-free
// switch, the panel with its status, words and level meter, the Stop button and the
// note beside the control. It owns what the user holds (which press, since when) and
// whether the switch is on. voice.js creates it and voice-turn.js says what to show;
// this file knows nothing about the microphone, the socket or the playback.
(function () {
  "use strict";

  var ns = window.LineLeadChat;

  var STATUS = {
    idle: "",
    connecting: "Starting the microphone\u2026",
    listening: "Listening\u2026",
    hearing: "Hearing you\u2026",
    thinking: "Looking in the manuals\u2026",
    speaking: "Speaking\u2026",
  };

  /**
   * The control, or null when the page has none. ``on``: press(by) -> true when the
   * press is taken as a hold (``by`` "pointer" or "key"); letGo(heldMs) when that hold
   * ends; handsfree() (the switch); stop() (the Stop button).
   */
  function screen(on) {
    var panel = document.getElementById("voice-panel");
    var mic = document.getElementById("voice-mic");
    var handsfreeButton = document.getElementById("voice-handsfree");
    if (!panel || !mic || !handsfreeButton) return null;
    var statusEl = document.getElementById("voice-status");
    var partialEl = document.getElementById("voice-partial");
    var stopButton = document.getElementById("voice-stop");
    var noteEl = document.getElementById("voice-note");
    var noteText = document.getElementById("voice-note-text");
    var pageDialog = document.getElementById("page-dialog");
    var meterFrame = null;
    var handsfree = false;
    var hold = null; // {by, at}: the press being held, taken by on.press
    var keyDown = false;

    function statusText(phase, view) {
      if (phase === "listening") {
        return view.mode === "handsfree"
          ? "Listening \u2014 ask your question."
          : "Listening \u2014 let go when you\u2019re done.";
      }
      if (phase === "speaking") {
        return view.mode === "handsfree" ? "Speaking \u2014 just talk to interrupt." : "Speaking\u2026";
      }
      if (phase === "thinking" && !view.turn) return "Getting your words\u2026";
      return STATUS[phase] || "";
    }

    /**
     * Show ``phase`` (idle, connecting, listening, hearing, thinking, speaking). ``view``:
     * mode ("push", "handsfree" or null), turn (a transcript was taken).
     */
    function show(phase, view) {
      mic.dataset.state = phase;
      panel.dataset.state = phase;
      mic.setAttribute("aria-pressed", String(Boolean(hold) || (handsfree && phase !== "idle")));
      stopButton.hidden = phase !== "speaking";
      if (phase === "listening" || phase === "connecting" || phase === "idle") partialEl.textContent = "";
      var hint = phase === "listening" && view.mode === "handsfree";
      partialEl.classList.toggle("is-hint", hint);
      if (hint) partialEl.textContent = "Say \u201cstop listening\u201d to turn it off.";
      statusEl.textContent = statusText(phase, view);
      panel.hidden = phase === "idle" && !handsfree;
    }

    /** What was heard, or is being said, under the status. */
    function words(text) {
      partialEl.classList.remove("is-hint");
      partialEl.textContent = text;
    }

    /** A message beside the control (an error, or kind "hint"); "" takes it away. */
    function note(text, kind) {
      noteText.textContent = text || "";
      noteEl.hidden = !text;
      noteEl.dataset.kind = kind || "error";
    }

    function setHandsfree(on) {
      handsfree = on;
      handsfreeButton.setAttribute("aria-pressed", String(on));
      handsfreeButton.querySelector(".voice-switch-state").textContent = on ? "On" : "Off";
      panel.classList.toggle("is-handsfree", on);
      panel.parentElement.classList.toggle("is-handsfree", on); // the composer: its hint changes
      mic.setAttribute("aria-label", on ? "Stop hands-free listening" : "Hold to talk");
      panel.hidden = mic.dataset.state === "idle" && !on;
    }

    /** The level meter follows ``level()`` (0..1) on every frame; null stops it. */
    function meter(level) {
      if (meterFrame !== null) window.cancelAnimationFrame(meterFrame);
      meterFrame = null;
      if (!level) {
        panel.style.setProperty("--level", "0");
        mic.style.setProperty("--level", "0");
        return;
      }
      var draw = function () {
        var db = 20 * Math.log10(level() + 1e-6);
        var shown = Math.max(0, Math.min(1, (db + 60) / 45)).toFixed(3);
        panel.style.setProperty("--level", shown);
        mic.style.setProperty("--level", shown);
        meterFrame = window.requestAnimationFrame(draw);
      };
      meterFrame = window.requestAnimationFrame(draw);
    }

    // --- What the user does -------------------------------------------------------------

    function press(by) {
      if (hold) return;
      hold = { by: by, at: Date.now() };
      if (!on.press(by)) hold = null;
    }

    function letGo(by) {
      if (!hold || hold.by !== by) return;
      var held = Date.now() - hold.at;
      hold = null;
      on.letGo(held);
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
      keyDown = true;
      if (!event.repeat) press("key");
    });
    document.addEventListener("keyup", function (event) {
      if (!isTalkKey(event) || !keyDown) return;
      keyDown = false;
      event.preventDefault();
      letGo("key");
    });
    window.addEventListener("blur", function () {
      keyDown = false;
      letGo("key"); // a key let go in another window never reaches this one
    });

    handsfreeButton.addEventListener("click", on.handsfree);
    stopButton.addEventListener("click", on.stop);
    document.getElementById("voice-note-close").addEventListener("click", function () {
      note("");
    });

    return {
      show: show,
      words: words,
      note: note,
      setHandsfree: setHandsfree,
      meter: meter,
      /** The Hands-free switch is on. */
      handsfree: function () {
        return handsfree;
      },
      /** Push-to-talk is held (the button or the key). */
      holding: function () {
        return Boolean(hold);
      },
      /** Forget the hold: its letting go is not news any more. */
      forgetHold: function () {
        hold = null;
      },
      /** Hands-free: the button looks held while a tap on it may turn it off. */
      pressed: function () {
        mic.setAttribute("aria-pressed", "true");
      },
      /** Sentences heard so far, on the button (the tests read it). */
      played: function (count) {
        mic.dataset.playedSentences = String(count);
      },
      /** Voice cannot work here: say why on the controls. */
      disable: function (why) {
        mic.setAttribute("aria-disabled", "true");
        handsfreeButton.setAttribute("aria-disabled", "true");
        mic.title = why;
      },
    };
  }

  ns.voiceScreen = screen;
})();
