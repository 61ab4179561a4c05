// The app's JSON API from the browser: fetch() answered as {status, data}, with status 0
// when the network failed and data null when the body is not JSON. Shared by the
// library and the chat screen. Plain JS, no build step.
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

  var RETRY_MS = [1000, 2000, 4000, 8000, 16000, 30000];

  /**
   * Listen to the notifications socket at ``path`` (``/ws/notifications/``). Handlers:
   * ``onOpen(again)`` when the server says hello (``again`` after a reconnect: events
   * may have been missed), ``onEvent(data)`` for every other event, ``onLost()`` when
   * it drops (it reconnects with back-off, and at once when the tab is shown again),
   * ``onSignedOut()`` when the session has ended (no reconnect).
   */
  function listen(path, handlers) {
    var socket = null;
    var attempt = 0;
    var timer = null;

    function connect() {
      window.clearTimeout(timer);
      var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      var current = new WebSocket(scheme + "//" + window.location.host + path);
      socket = current;
      current.onmessage = function (event) {
        var data = parse(event.data);
        if (!data || typeof data.type !== "string") return;
        if (data.type === "hello") {
          var again = attempt > 0;
          attempt = 0;
          handlers.onOpen(again);
        } else {
          handlers.onEvent(data);
        }
      };
      current.onclose = function (event) {
        if (socket !== current) return;
        socket = null;
        if (event.code === 4401) {
          handlers.onSignedOut();
          return;
        }
        var delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)];
        attempt += 1;
        handlers.onLost();
        timer = window.setTimeout(connect, delay);
      };
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && !socket) {
        attempt = Math.max(attempt, 1);
        connect();
      }
    });
    connect();
  }

  window.LineLeadApi = {
    parse: parse,
    request: request,
    csrfToken: csrfToken,
    problem: problem,
    listen: listen,
  };
})();
