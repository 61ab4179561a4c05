// The chat screen's websocket: one connection to the open conversation (api.js's socket
// client, which reconnects with back-off when it drops), and the banner that says so.
// chat.js creates it once and decides what the messages mean; this file knows nothing
// about questions or answers.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var config = ns.config;
  var request = ns.request;
  var CLOSE = window.LineLeadApi.CLOSE;
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

  function showSignedOut() {
    showBanner("You are signed out, or your role no longer includes Chat.", false);
    bannerText.append(" ");
    var link = document.createElement("a");
    link.href = "/accounts/login/?next=" + encodeURIComponent(window.location.pathname);
    link.textContent = "Sign in";
    bannerText.append(link);
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
    var socket = null;

    /** Close the socket on purpose: no banner, no reconnecting. */
    function disconnect() {
      if (socket) socket.close();
      socket = null;
    }

    function connect() {
      var id = options.conversation();
      if (!id) return;
      disconnect();
      socket = window.LineLeadApi.socket(config.socketPath + id + "/", {
        ready: "ready",
        onReady: function () {
          hideBanner();
          options.ready();
        },
        onMessage: options.receive,
        onLost: function () {
          options.dropped();
          var offline = navigator.onLine === false;
          showBanner(offline ? "You\u2019re offline \u2014 reconnecting\u2026" : LOST, true);
        },
        onEnded: function (code) {
          socket = null;
          options.dropped();
          if (code === CLOSE.SIGNED_OUT) showSignedOut();
          else if (code === CLOSE.NOT_FOUND) options.notFound();
        },
        diagnose: function () {
          // A handshake the server refused reaches the page as a bare 1006: ask the API why.
          return request("GET", config.conversationsApi + "/" + id).then(function (answer) {
            if (answer.status === 401 || answer.status === 403) return CLOSE.SIGNED_OUT;
            if (answer.status === 404) return CLOSE.NOT_FOUND;
            return null;
          });
        },
      });
    }

    /** A question waits for the connection: try now unless a retry is already due. */
    function waitForIt() {
      if (!socket) connect();
      showBanner(LOST, true);
    }

    bannerRetry.addEventListener("click", connect);

    // A socket given up on (signed out, not found) is tried again when the tab is back.
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && options.conversation() && !socket) connect();
    });

    return {
      connect: connect,
      /** Close on purpose and take the banner down. */
      close: function () {
        disconnect();
        hideBanner();
      },
      isReady: function () {
        return Boolean(socket && socket.isReady());
      },
      /** Send one message; only once isReady(). */
      send: function (message) {
        socket.send(message);
      },
      waitForIt: waitForIt,
    };
  }

  ns.connection = connection;
})();
