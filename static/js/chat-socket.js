// The chat screen's websocket: one connection to the open conversation, reconnecting
// with backoff when it drops, and the banner that says so. chat.js creates it once and
// decides what the messages mean; this file knows nothing about questions or answers.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var config = ns.config;
  var request = ns.request;
  var RETRY_MS = [1000, 2000, 4000, 8000, 16000, 30000];
  var CLOSE_SIGNED_OUT = 4401;
  var CLOSE_NOT_FOUND = 4404;
  var LOST = "Connection lost \u2014 reconnecting\u2026";

  var root = document.getElementById("chat");
  var banner = document.getElementById("connection");
  var bannerText = document.getElementById("connection-text");
  var bannerRetry = document.getElementById("connection-retry");

  function showBanner(text, retry) {
    bannerText.textContent = text;
    bannerRetry.hidden = !retry;
    banner.hidden = false;
    root.classList.add("is-offline");
  }

  function hideBanner() {
    banner.hidden = true;
    root.classList.remove("is-offline");
  }

  function socketUrl(id) {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + config.socketPath + id + "/";
  }

  /**
   * Wire up the connection; call once. ``options``:
   * conversation() -> the open conversation's id, or null (then there is no socket);
   * ready() -> the server is ready for questions;
   * receive(data) -> any other message, parsed, with a string ``type``;
   * dropped() -> the connection went down; reconnecting is already taken care of;
   * notFound() -> the conversation is not there any more (called after dropped()).
   */
  function connection(options) {
    var state = {
      socket: null,
      ready: false,
      attempt: 0,
      retryTimer: null,
    };

    /** Close the socket on purpose: no banner, no reconnecting. */
    function disconnect() {
      window.clearTimeout(state.retryTimer);
      state.retryTimer = null;
      if (state.socket) {
        var socket = state.socket;
        socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
        socket.close(1000);
      }
      state.socket = null;
      state.ready = false;
    }

    function connect() {
      if (!options.conversation()) return;
      disconnect();
      var socket = new WebSocket(socketUrl(options.conversation()));
      state.socket = socket;
      socket.onmessage = function (event) {
        var data = null;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (data && typeof data.type === "string") receive(data);
      };
      socket.onclose = function (event) {
        if (state.socket !== socket) return;
        var wasReady = state.ready;
        state.socket = null;
        state.ready = false;
        if (wasReady || event.code === CLOSE_NOT_FOUND) {
          dropped(event.code);
        } else {
          diagnose();
        }
      };
    }

    function receive(data) {
      if (data.type === "ready") {
        state.ready = true;
        state.attempt = 0;
        hideBanner();
        options.ready();
      } else {
        options.receive(data);
      }
    }

    // A handshake the server refused reaches the page as a bare 1006: ask the API why.
    function diagnose() {
      var id = options.conversation();
      request("GET", config.conversationsApi + "/" + id).then(function (answer) {
        if (id !== options.conversation() || state.socket) return;
        if (answer.status === 401 || answer.status === 403) dropped(CLOSE_SIGNED_OUT);
        else if (answer.status === 404) dropped(CLOSE_NOT_FOUND);
        else dropped(1006);
      });
    }

    function dropped(code) {
      options.dropped();
      if (code === CLOSE_SIGNED_OUT) {
        showBanner("You are signed out, or your role no longer includes Chat.", false);
        bannerText.append(" ");
        var link = document.createElement("a");
        link.href = "/accounts/login/?next=" + encodeURIComponent(window.location.pathname);
        link.textContent = "Sign in";
        bannerText.append(link);
        return;
      }
      if (code === CLOSE_NOT_FOUND) {
        options.notFound();
        return;
      }
      var delay = RETRY_MS[Math.min(state.attempt, RETRY_MS.length - 1)];
      state.attempt += 1;
      var offline = navigator.onLine === false;
      showBanner(offline ? "You\u2019re offline \u2014 reconnecting\u2026" : LOST, true);
      window.clearTimeout(state.retryTimer);
      state.retryTimer = window.setTimeout(connect, delay);
    }

    /** A question waits for the connection: try now unless a retry is already due. */
    function waitForIt() {
      if (!state.socket && !state.retryTimer) connect();
      showBanner(LOST, true);
    }

    bannerRetry.addEventListener("click", function () {
      state.attempt = 0;
      connect();
    });

    window.addEventListener("offline", function () {
      if (!options.conversation()) return;
      // The socket may take a long time to notice; say so now and let it reconnect.
      if (state.socket) {
        var socket = state.socket;
        socket.onclose = null;
        state.socket = null;
        state.ready = false;
        socket.close();
        dropped(1006);
      }
    });
    window.addEventListener("online", function () {
      if (options.conversation() && !state.ready) {
        state.attempt = 0;
        connect();
      }
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && options.conversation() && !state.socket) {
        state.attempt = 0;
        connect();
      }
    });

    return {
      connect: connect,
      /** Close on purpose and take the banner down. */
      close: function () {
        disconnect();
        hideBanner();
      },
      isReady: function () {
        return state.ready;
      },
      /** Send one message; only once isReady(). */
      send: function (message) {
        state.socket.send(JSON.stringify(message));
      },
      waitForIt: waitForIt,
    };
  }

  ns.connection = connection;
})();
