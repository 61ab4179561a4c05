// The app's JSON API from the browser: fetch() answered as {status, data}, with status 0
// when the network failed and data null when the body is not JSON; and its one websocket
// client, socket(), for the notifications, chat and voice sockets. Shared by every
// screen. Plain JS, no build step.
(function () {
  "use strict";

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  /** The page's CSRF token (from any {% csrf_token %} field on it). */
  function csrfToken() {
    var field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function request(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(
      function (response) {
        return response.text().then(function (text) {
          return { status: response.status, data: parse(text) };
        });
      },
      function () {
        return { status: 0, data: null };
      }
    );
  }

  /** What went wrong with an API answer, in words for the page. */
  function problem(answer) {
    if (answer.data && answer.data.message) return answer.data.message;
    if (answer.status === 0) return "the connection was lost; check the network and try again";
    return "the server answered HTTP " + answer.status;
  }

  // --- Websockets ---------------------------------------------------------------------

  // The app's own close codes, as its consumers send them (lineled/consumers.py,
  // chat/consumers.py, voice/consumers.py). A socket closed with one of these is not
  // tried again.
  var CLOSE = Object.freeze({
    SIGNED_OUT: 4401, // not signed in, deactivated, or no role any more
    NOT_FOUND: 4404, // the conversation is not there, or not yours
    UNAVAILABLE: 4503, // voice: this server has no speech engine
    // The page's own, never a server's:
    LOST: 1006, // anything else: a restart, the network, a handshake refused
    NO_ANSWER: 4000, // connected, but the server never said it was ready
  });
  var FINAL = [CLOSE.SIGNED_OUT, CLOSE.NOT_FOUND, CLOSE.UNAVAILABLE];
  var RECONNECT = {
    minReconnectionDelay: 1000, // then 2, 4, 8, 16 s, and 30 s from then on
    reconnectionDelayGrowFactor: 2,
    maxReconnectionDelay: 30000,
    connectionTimeout: 10000,
    maxEnqueuedMessages: 0, // what is sent while down is dropped, never sent late
  };

  /**
   * The app's one websocket client: a socket to ``path`` on this host (partysocket's
   * ReconnectingWebSocket, from static/vendor/; the page loads js/reconnecting.js first).
   * JSON messages both ways, with a string ``type``; binary frames too (voice's audio).
   *
   * ``options``:
   * ready: the message type by which the server says it took the socket ("ready",
   *   "hello"); until it comes, isReady() is false and send() sends nothing.
   * reconnect: false for one attempt only (voice). Otherwise a socket that drops is
   *   opened again, 1, 2, 4 ... 30 s apart, and at once when the tab is shown again or
   *   the network comes back.
   * readyWithinMs: give up (CLOSE.NO_ANSWER) if the server has not said ready by then.
   * diagnose() -> Promise of a close code or null: asked when the socket closes before
   *   it was ready (a handshake the server refused reaches the page without its code).
   * Handlers: onReady(data, again) (``again``: after a drop, so events may have been
   * missed), onMessage(data), onBinary(arrayBuffer), onLost(code) (down, reconnecting),
   * onEnded(code, wasReady) (gone for good: a FINAL code, or any code without reconnect).
   *
   * Returns {send(message), sendBinary(buffer), isReady(), close()}; close() ends it on
   * purpose, calling no handler.
   */
  function socket(path, options) {
    var Reconnecting = window.ReconnectingWebSocket;
    if (!Reconnecting) throw new Error("js/reconnecting.js must load before api.js's sockets");
    var reconnects = options.reconnect !== false;
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + window.location.host + path;
    var settings = { maxRetries: reconnects ? Infinity : 0 };
    Object.keys(RECONNECT).forEach(function (key) {
      settings[key] = RECONNECT[key];
    });
    settings.shouldReconnectOnClose = function (event) {
      return FINAL.indexOf(event.code) === -1;
    };
    var ws = null;
    var ready = false;
    var ended = false;
    var failures = 0;
    var readyTimer = options.readyWithinMs ? window.setTimeout(function () {
      end(CLOSE.NO_ANSWER, false);
    }, options.readyWithinMs) : null;

    function call(name) {
      if (options[name]) options[name].apply(null, Array.prototype.slice.call(arguments, 1));
    }

    function open() {
      ws = new Reconnecting(url, undefined, settings);
      ws.binaryType = "arraybuffer";
      ws.onmessage = receive;
      ws.onclose = closed;
    }

    function receive(event) {
      if (typeof event.data !== "string") {
        call("onBinary", event.data);
        return;
      }
      var data = parse(event.data);
      if (!data || typeof data.type !== "string") return;
      if (data.type !== options.ready) {
        call("onMessage", data);
        return;
      }
      window.clearTimeout(readyTimer);
      var again = failures > 0;
      ready = true;
      failures = 0;
      call("onReady", data, again);
    }

    // The library reports a connection that failed (no close frame) as a close with
    // 1000; only the app's own codes are worth reading.
    function closed(event) {
      if (ended) return;
      var wasReady = ready;
      ready = false;
      if (FINAL.indexOf(event.code) !== -1) {
        end(event.code, wasReady);
      } else if (!wasReady && options.diagnose) {
        options.diagnose().then(function (code) {
          if (ended || ready) return;
          if (FINAL.indexOf(code) !== -1) end(code, false);
          else lost(false);
        });
      } else {
        lost(wasReady);
      }
    }

    function lost(wasReady) {
      if (!reconnects) {
        end(CLOSE.LOST, wasReady);
        return;
      }
      failures += 1;
      call("onLost", CLOSE.LOST);
    }

    function end(code, wasReady) {
      close();
      call("onEnded", code, wasReady);
    }

    /** Let the library's socket go without a word to the handlers. */
    function drop() {
      ws.onmessage = ws.onclose = null;
      ws.close(1000);
    }

    function close() {
      if (ended) return;
      ended = true;
      ready = false;
      window.clearTimeout(readyTimer);
      drop();
      window.removeEventListener("offline", offline);
      window.removeEventListener("online", now);
      document.removeEventListener("visibilitychange", now);
    }

    // Down and waiting out the back-off: try now, and start the back-off over (the tab
    // is shown again, the network is back). The library's own reconnect() would wait
    // for the retry already due.
    function now() {
      if (document.hidden || ended || ready) return;
      if (ws.readyState !== ws.CLOSED && ws.readyState !== ws.CLOSING) return;
      drop();
      open();
    }

    // The socket may take a long time to notice the network has gone: drop it now.
    function offline() {
      if (ready) ws.reconnect(); // says close, then tries again
    }

    if (reconnects) {
      window.addEventListener("offline", offline);
      window.addEventListener("online", now);
      document.addEventListener("visibilitychange", now);
    }
    open();

    return {
      /** Send one JSON message; false (nothing sent) unless ready. */
      send: function (message) {
        return ready && ws.send(JSON.stringify(message));
      },
      /** Send one binary frame (an ArrayBuffer); false unless ready. */
      sendBinary: function (buffer) {
        return ready && ws.send(buffer);
      },
      isReady: function () {
        return ready;
      },
      close: close,
    };
  }

  /**
   * Listen to the notifications socket at ``path`` (``/ws/notifications/``). Handlers:
   * ``onOpen(again)`` when the server says hello (``again`` after a reconnect: events
   * may have been missed), ``onEvent(data)`` for every other event, ``onLost()`` when
   * it drops (it reconnects with back-off, and at once when the tab is shown again),
   * ``onSignedOut()`` when the session has ended (no reconnect).
   */
  function listen(path, handlers) {
    return socket(path, {
      ready: "hello",
      onReady: function (data, again) {
        handlers.onOpen(again);
      },
      onMessage: handlers.onEvent,
      onLost: handlers.onLost,
      onEnded: handlers.onSignedOut,
    });
  }

  window.LineLeadApi = {
    parse: parse,
    request: request,
    csrfToken: csrfToken,
    problem: problem,
    CLOSE: CLOSE,
    socket: socket,
    listen: listen,
  };
})();
