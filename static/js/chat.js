// The chat screen: the conversation list, the composer, and the websocket that asks a
// question and streams its answer. Plain JS, no build step. chat-markdown.js and
// chat-answer.js load first and share window.LineLeadChat.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var config = ns.config;
  var request = ns.request;
  var RETRY_MS = [1000, 2000, 4000, 8000, 16000, 30000];
  var POLL_MS = 1500;
  var CLOSE_SIGNED_OUT = 4401;
  var CLOSE_NOT_FOUND = 4404;
  var LOST = "Connection lost \u2014 reconnecting\u2026";

  var root = document.getElementById("chat");
  var side = document.getElementById("chat-side");
  var scrim = document.getElementById("side-scrim");
  var openSide = document.getElementById("open-side");
  var convList = document.getElementById("conv-list");
  var convEmpty = document.getElementById("conv-empty");
  var title = document.getElementById("chat-title");
  var banner = document.getElementById("connection");
  var bannerText = document.getElementById("connection-text");
  var bannerRetry = document.getElementById("connection-retry");
  var empty = document.getElementById("chat-empty");
  var loading = document.getElementById("thread-loading");
  var threadError = document.getElementById("thread-error");
  var messages = document.getElementById("messages");
  var form = document.getElementById("composer");
  var input = document.getElementById("question");
  var send = document.getElementById("send");
  var sendLabel = send.querySelector(".composer-send-label");
  var count = document.getElementById("char-count");
  var composerError = document.getElementById("composer-error");
  var announce = document.getElementById("announce");
  var wide = window.matchMedia("(min-width: 960px)");

  var state = {
    conversation: config.conversation, // id, or null for a new conversation
    socket: null,
    ready: false,
    attempt: 0,
    retryTimer: null,
    onReady: null, // one question to ask once the socket is ready
    pending: null, // {text, questionEl, answer}: asked, no "start" yet
    current: null, // the Answer being streamed
    catchingUp: [], // answers still being written that this page is not streaming
    pollTimer: null,
    following: false, // scroll along with the answer until the reader scrolls
    loadSerial: 0,
  };

  // --- Small helpers ----------------------------------------------------------------

  function conversationUrl(id) {
    return id ? config.chatUrl + id + "/" : config.chatUrl;
  }

  function relative(iso) {
    var then = new Date(iso);
    var now = new Date();
    var seconds = (now - then) / 1000;
    if (seconds < 60) return "Just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    var midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    if (then >= midnight) return Math.floor(seconds / 3600) + " h ago";
    if (then >= new Date(midnight - 86400000)) return "Yesterday";
    if (then >= new Date(midnight - 6 * 86400000)) {
      return then.toLocaleDateString("en-US", { weekday: "long" });
    }
    var options = { month: "short", day: "numeric" };
    if (then.getFullYear() !== now.getFullYear()) options.year = "numeric";
    return then.toLocaleDateString("en-US", options);
  }

  function refreshDates() {
    Array.prototype.forEach.call(convList.querySelectorAll("time"), function (time) {
      time.textContent = relative(time.dateTime);
      time.title = new Date(time.dateTime).toLocaleString("en-US");
    });
  }

  // Server messages start in lower case ("the question is empty; ..."): make a sentence.
  function sentence(text) {
    if (!text) return "";
    text = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?…]$/.test(text) ? text : text + ".";
  }

  function shortTitle(text) {
    text = text.replace(/\s+/g, " ").trim();
    if (text.length <= 80) return text;
    return text.slice(0, 79).replace(/\s+\S*$/, "") + "\u2026";
  }

  function setTitle(text) {
    title.textContent = text || "New conversation";
    document.title = (text || (state.conversation ? "Conversation" : "Chat")) + " \u00b7 Line Lead";
  }

  // --- The conversation list --------------------------------------------------------

  function markCurrent() {
    Array.prototype.forEach.call(convList.querySelectorAll(".conv"), function (link) {
      if (String(state.conversation) === link.dataset.id) {
        link.setAttribute("aria-current", "page");
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  function convItem(item) {
    var li = document.createElement("li");
    var link = document.createElement("a");
    link.className = "conv";
    link.href = conversationUrl(item.id);
    link.dataset.id = item.id;
    var name = document.createElement("span");
    name.className = "conv-title";
    name.textContent = item.title || "New conversation";
    var time = document.createElement("time");
    time.className = "conv-date";
    time.dateTime = item.updated_at;
    link.append(name, time);
    li.append(link);
    return li;
  }

  function showConversations(items) {
    convList.replaceChildren.apply(convList, items.map(convItem));
    convEmpty.hidden = items.length > 0;
    markCurrent();
    refreshDates();
  }

  function loadConversations() {
    return request("GET", config.conversationsApi).then(function (answer) {
      if (answer.status === 200 && answer.data && answer.data.items) {
        showConversations(answer.data.items);
      }
    });
  }

  /** Put the conversation first in the list (it was just created or asked in). */
  function touchConversation(id, text) {
    var link = convList.querySelector('.conv[data-id="' + id + '"]');
    var li = link ? link.parentElement : convItem({ id: id, title: text, updated_at: new Date().toISOString() });
    if (link) link.querySelector("time").dateTime = new Date().toISOString();
    convList.prepend(li);
    convEmpty.hidden = true;
    markCurrent();
    refreshDates();
  }

  // The list is a side panel on wide screens and a drawer on phones.
  function setDrawer(open) {
    root.classList.toggle("side-open", open);
    openSide.setAttribute("aria-expanded", String(open));
    scrim.hidden = !open;
    syncDrawer();
    if (open) {
      var target = convList.querySelector('[aria-current="page"]') || document.getElementById("new-chat");
      target.focus();
    }
  }

  // On a phone, the drawer is modal: the page behind it can be neither seen by a screen
  // reader nor tabbed to; when it is shut, it is the drawer that is out of reach.
  function syncDrawer() {
    var drawer = !wide.matches;
    var open = root.classList.contains("side-open");
    side.inert = drawer && !open;
    if (drawer && !open) side.setAttribute("aria-hidden", "true");
    else side.removeAttribute("aria-hidden");
    [document.querySelector(".chat-pane"), document.querySelector(".topbar")].forEach(function (el) {
      if (el) el.inert = drawer && open;
    });
    document.body.classList.toggle("drawer-open", drawer && open);
  }

  openSide.addEventListener("click", function () {
    setDrawer(true);
  });
  document.getElementById("close-side").addEventListener("click", function () {
    setDrawer(false);
    openSide.focus();
  });
  scrim.addEventListener("click", function () {
    setDrawer(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && root.classList.contains("side-open")) {
      setDrawer(false);
      openSide.focus();
    }
  });
  wide.addEventListener("change", function () {
    if (wide.matches) setDrawer(false);
    syncDrawer();
  });

  function sameTab(event) {
    return !(event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey);
  }

  convList.addEventListener("click", function (event) {
    var link = event.target.closest(".conv");
    if (!link || !sameTab(event)) return;
    event.preventDefault();
    setDrawer(false);
    if (String(state.conversation) !== link.dataset.id) openConversation(Number(link.dataset.id), true);
  });
  [document.getElementById("new-chat"), document.getElementById("head-new")].forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (!sameTab(event)) return;
      event.preventDefault();
      setDrawer(false);
      startNew(true);
    });
  });

  // --- The connection banner -------------------------------------------------------------

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

  bannerRetry.addEventListener("click", function () {
    state.attempt = 0;
    connect();
  });

  // --- The websocket ----------------------------------------------------------------------

  function socketUrl(id) {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + config.socketPath + id + "/";
  }

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
    if (!state.conversation) return;
    disconnect();
    var socket = new WebSocket(socketUrl(state.conversation));
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

  // A handshake the server refused reaches the page as a bare 1006: ask the API why.
  function diagnose() {
    var id = state.conversation;
    request("GET", config.conversationsApi + "/" + id).then(function (answer) {
      if (id !== state.conversation || state.socket) return;
      if (answer.status === 401 || answer.status === 403) dropped(CLOSE_SIGNED_OUT);
      else if (answer.status === 404) dropped(CLOSE_NOT_FOUND);
      else dropped(1006);
    });
  }

  function dropped(code) {
    var asked = state.pending;
    state.pending = null;
    if (asked) {
      // The server never took the question: give it back to the composer.
      asked.questionEl.remove();
      asked.answer.el.remove();
      if (!input.value.trim()) setInput(asked.text);
      showThreadState();
    }
    if (state.current) {
      state.current.interrupt();
      state.catchingUp.push(state.current);
      state.current = null;
    }
    state.onReady = null;
    updateComposer();
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
      notFound();
      return;
    }
    var delay = RETRY_MS[Math.min(state.attempt, RETRY_MS.length - 1)];
    state.attempt += 1;
    var offline = navigator.onLine === false;
    showBanner(offline ? "You\u2019re offline \u2014 reconnecting\u2026" : LOST, true);
    window.clearTimeout(state.retryTimer);
    state.retryTimer = window.setTimeout(connect, delay);
  }

  function receive(data) {
    var type = data.type;
    if (type === "ready") {
      state.ready = true;
      state.attempt = 0;
      hideBanner();
      updateComposer();
      if (state.catchingUp.length) catchUp();
      var ask = state.onReady;
      state.onReady = null;
      if (ask) ask();
    } else if (type === "start") {
      started(data);
    } else if (type === "token") {
      if (state.current) state.current.token(data.text || "");
    } else if (type === "citations") {
      if (state.current) state.current.setCitations(data.citations);
    } else if (type === "done") {
      finished(data);
    } else if (type === "error") {
      failed(data);
    }
  }

  function started(data) {
    var asked = state.pending;
    if (!asked) return;
    state.pending = null;
    state.current = asked.answer;
    asked.answer.start(data.message);
    asked.questionEl.dataset.id = data.question;
    if (title.textContent === "New conversation") setTitle(shortTitle(asked.text));
    touchConversation(state.conversation, shortTitle(asked.text));
  }

  function finished(data) {
    var answer = state.current;
    state.current = null;
    if (answer) {
      answer.finish(data);
      announce.textContent = data.declined
        ? "The manuals don't cover that."
        : "Answer: " + ns.markdown.plain(answer.text);
    }
    updateComposer();
    loadConversations();
  }

  function failed(data) {
    if (data.code === "not_found") {
      notFound();
      return;
    }
    if (data.code === "busy") {
      showComposerError("Wait for the answer to finish before asking again.");
      return;
    }
    if (state.current && (!data.message_id || data.message_id === state.current.id)) {
      state.current.fail(data.message);
      state.current = null;
    } else if (state.pending) {
      // The question was refused (too long, empty...): nothing was stored.
      var asked = state.pending;
      state.pending = null;
      asked.questionEl.remove();
      asked.answer.el.remove();
      setInput(asked.text);
      showThreadState();
      showComposerError(sentence(data.message) || "That question could not be asked.");
    } else {
      showComposerError(sentence(data.message) || "Something went wrong.");
    }
    updateComposer();
  }

  function notFound() {
    disconnect();
    hideBanner();
    messages.replaceChildren();
    showThreadError("This conversation is not there any more.", false);
  }

  // An answer cut off by a dropped connection, or still being written when the page
  // loaded, is finished on the server all the same: fetch it until it is done.
  function catchUp() {
    window.clearTimeout(state.pollTimer);
    var id = state.conversation;
    request("GET", config.conversationsApi + "/" + id).then(function (answer) {
      if (id !== state.conversation || answer.status !== 200 || !answer.data) return;
      var byId = {};
      (answer.data.messages || []).forEach(function (message) {
        byId[message.id] = message;
      });
      state.catchingUp = state.catchingUp.filter(function (item) {
        var message = byId[item.id];
        if (!message) {
          item.fail("This answer was not saved. Ask again.");
          return false;
        }
        item.show(message);
        return message.status !== "done" && message.status !== "failed";
      });
      if (state.catchingUp.length) state.pollTimer = window.setTimeout(catchUp, POLL_MS);
    });
  }

  // --- Asking -----------------------------------------------------------------------------

  function showThreadState() {
    var hasMessages = messages.children.length > 0;
    empty.hidden = hasMessages || Boolean(state.conversation) || !threadError.hidden;
  }

  function showThreadError(text, retry) {
    document.getElementById("thread-error-text").textContent = text;
    document.getElementById("thread-error-retry").hidden = !retry;
    threadError.hidden = false;
    loading.hidden = true;
    empty.hidden = true;
  }

  function showComposerError(text) {
    composerError.textContent = text;
    composerError.hidden = !text;
  }

  function busy() {
    return Boolean(state.pending || state.current || state.creating);
  }

  function updateComposer() {
    var waiting = busy();
    send.disabled = waiting || !input.value.trim();
    sendLabel.textContent = waiting ? "Answering\u2026" : "Send";
    form.classList.toggle("is-busy", waiting);
    var length = input.value.length;
    var near = length >= config.maxChars - 300;
    count.hidden = !near;
    count.textContent = length.toLocaleString("en-US") + " / " + config.maxChars.toLocaleString("en-US");
    count.classList.toggle("is-full", length >= config.maxChars);
  }

  function setInput(text) {
    input.value = text;
    grow();
    updateComposer();
  }

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, window.innerHeight * 0.35) + "px";
  }

  function ask(text) {
    text = text.trim();
    if (!text || busy()) return;
    showComposerError("");
    if (text.length > config.maxChars) {
      showComposerError("Keep the question under " + config.maxChars + " characters.");
      return;
    }
    if (!state.conversation) {
      create(text);
      return;
    }
    if (!state.ready) {
      // Keep the question in the composer until the connection is back.
      setInput(text);
      if (!state.socket && !state.retryTimer) connect();
      showBanner(LOST, true);
      return;
    }
    post(text);
  }

  function create(text) {
    state.creating = true;
    setInput(text);
    request("POST", config.conversationsApi, {}).then(function (answer) {
      state.creating = false;
      if (answer.status !== 201 || !answer.data) {
        updateComposer();
        showComposerError("Could not start the conversation: " + ns.problem(answer));
        return;
      }
      state.conversation = answer.data.id;
      window.history.replaceState({ conversation: state.conversation }, "", conversationUrl(state.conversation));
      touchConversation(state.conversation, shortTitle(text));
      state.onReady = function () {
        post(input.value.trim() || text);
      };
      connect();
      updateComposer();
    });
  }

  function post(text) {
    var questionEl = ns.question(text);
    var answer = new ns.Answer({ onRetry: retry, onRender: follow });
    messages.append(questionEl, answer.el);
    state.pending = { text: text, questionEl: questionEl, answer: answer };
    state.socket.send(JSON.stringify({ type: "ask", text: text, modality: "text" }));
    setInput("");
    showThreadState();
    updateComposer();
    announce.textContent = "Looking in the manuals\u2026";
    state.following = true;
    scrollToQuestion(questionEl, "smooth");
  }

  function retry(answer) {
    var questionEl = answer.el.previousElementSibling;
    if (busy() || !questionEl) return;
    ask(questionEl.querySelector(".bubble").textContent);
  }

  // --- Following the answer as it streams ----------------------------------------------

  // The sticky header (and banner) cover the top of the window.
  function topOf(el) {
    var covered = document.querySelector(".chat-head").offsetHeight + 12;
    if (!banner.hidden) covered += banner.offsetHeight + 12;
    return el.getBoundingClientRect().top + window.scrollY - covered;
  }

  function scrollToQuestion(questionEl, behavior) {
    var top = topOf(questionEl);
    var bottom = document.documentElement.scrollHeight - window.innerHeight;
    window.scrollTo({ top: Math.max(0, Math.min(top, bottom)), behavior: behavior || "auto" });
  }

  // Keep the end of the answer in sight, but never scroll its question off the top.
  function follow(answer) {
    if (!state.following || answer !== state.current) return;
    var questionEl = answer.el.previousElementSibling;
    var limit = topOf(questionEl);
    var end = document.documentElement.scrollHeight - window.innerHeight;
    var target = Math.min(limit, end);
    if (target > window.scrollY + 2) window.scrollTo({ top: target });
  }

  ["wheel", "touchmove"].forEach(function (type) {
    window.addEventListener(type, function () {
      state.following = false;
    }, { passive: true });
  });

  // --- Loading a conversation ---------------------------------------------------------------

  function resetThread() {
    disconnect();
    hideBanner();
    window.clearTimeout(state.pollTimer);
    state.pending = null;
    state.current = null;
    state.catchingUp = [];
    state.onReady = null;
    messages.replaceChildren();
    threadError.hidden = true;
    showComposerError("");
  }

  function startNew(push) {
    resetThread();
    state.conversation = null;
    state.loadSerial += 1;
    loading.hidden = true;
    setTitle("");
    showThreadState();
    markCurrent();
    updateComposer();
    if (push) window.history.pushState({ conversation: null }, "", conversationUrl(null));
    window.scrollTo(0, 0);
    if (wide.matches) input.focus();
  }

  function openConversation(id, push) {
    resetThread();
    state.conversation = id;
    var serial = (state.loadSerial += 1);
    if (push) window.history.pushState({ conversation: id }, "", conversationUrl(id));
    markCurrent();
    empty.hidden = true;
    loading.hidden = false;
    updateComposer();
    request("GET", config.conversationsApi + "/" + id).then(function (answer) {
      if (serial !== state.loadSerial) return;
      loading.hidden = true;
      if (answer.status === 404) {
        showThreadError("This conversation is not there any more. It may have been deleted.", false);
        return;
      }
      if (answer.status !== 200 || !answer.data) {
        showThreadError("Could not load the conversation: " + ns.problem(answer), true);
        return;
      }
      showMessages(answer.data);
      connect();
    });
  }

  function showMessages(conversation) {
    setTitle(conversation.title || "");
    var lastQuestion = null;
    (conversation.messages || []).forEach(function (message) {
      if (message.role === "user") {
        lastQuestion = ns.question(message.text);
        lastQuestion.dataset.id = message.id;
        messages.append(lastQuestion);
        return;
      }
      var answer = new ns.Answer({ onRetry: retry, onRender: follow });
      messages.append(answer.el);
      answer.show(message);
      if (message.status !== "done" && message.status !== "failed") state.catchingUp.push(answer);
    });
    showThreadState();
    if (lastQuestion) scrollToQuestion(lastQuestion);
  }

  document.getElementById("thread-error-retry").addEventListener("click", function () {
    if (state.conversation) openConversation(state.conversation, false);
  });

  window.addEventListener("popstate", function () {
    var match = /\/(\d+)\/$/.exec(window.location.pathname);
    setDrawer(false);
    if (match) openConversation(Number(match[1]), false);
    else startNew(false);
  });

  // --- The composer -------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(input.value);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (!send.disabled) ask(input.value);
    }
  });
  input.addEventListener("input", function () {
    grow();
    updateComposer();
    if (!composerError.hidden) showComposerError("");
  });
  window.addEventListener("resize", grow);
  empty.addEventListener("click", function (event) {
    var suggestion = event.target.closest(".suggestion");
    if (suggestion) ask(suggestion.textContent);
  });

  // --- Network changes ----------------------------------------------------------------------

  window.addEventListener("offline", function () {
    if (!state.conversation) return;
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
    if (state.conversation && !state.ready) {
      state.attempt = 0;
      connect();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.conversation && !state.socket) {
      state.attempt = 0;
      connect();
    }
  });

  // --- Start --------------------------------------------------------------------------------

  syncDrawer();
  refreshDates();
  window.setInterval(refreshDates, 60000);
  loadConversations();
  if (state.conversation) {
    window.history.replaceState({ conversation: state.conversation }, "", window.location.href);
    openConversation(state.conversation, false);
  } else {
    var asked = new URLSearchParams(window.location.search).get("q");
    window.history.replaceState({ conversation: null }, "", conversationUrl(null));
    updateComposer();
    if (asked && asked.trim()) ask(asked);
    else if (wide.matches) input.focus({ preventScroll: true });
  }
})();
