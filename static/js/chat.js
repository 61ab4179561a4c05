// The chat screen: the thread, the composer, and what the websocket's messages mean for
// them. Plain JS, no build step. chat-markdown.js, chat-answer.js, chat-list.js and
// chat-socket.js load first and share window.LineLeadChat.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var config = ns.config;
  var request = ns.request;
  var conversationUrl = ns.conversationUrl;
  var wide = ns.wide;
  var POLL_MS = 1500;

  var title = document.getElementById("chat-title");
  var banner = document.getElementById("connection");
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

  var state = {
    conversation: config.conversation, // id, or null for a new conversation
    onReady: null, // one question to ask once the socket is ready
    pending: null, // {text, questionEl, answer, voice}: asked, no "start" yet
    current: null, // the Answer being streamed
    currentVoice: false, // ...and it streams over the voice socket (voice.js), not this one
    catchingUp: [], // answers still being written that this page is not streaming
    pollTimer: null,
    following: false, // scroll along with the answer until the reader scrolls
    loadSerial: 0,
  };

  // The list and the connection only need to know which conversation is open.
  function currentConversation() {
    return state.conversation;
  }

  var list = ns.conversationList({
    current: currentConversation,
    open: function (id) {
      openConversation(id, true);
    },
    startNew: function () {
      startNew(true);
    },
  });
  var connection = ns.connection({
    conversation: currentConversation,
    ready: ready,
    receive: receive,
    dropped: dropped,
    notFound: notFound,
  });

  // --- Small helpers ----------------------------------------------------------------

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

  // --- The websocket's messages -----------------------------------------------------------

  // The connection went down (chat-socket.js reconnects): a question the server never
  // took goes back to the composer; an answer cut off is caught up once it is back.
  function dropped() {
    var asked = state.pending;
    if (asked && asked.voice) asked = null; // voice.js's socket carries that one
    else state.pending = null;
    if (asked) {
      // The server never took the question: give it back to the composer.
      asked.questionEl.remove();
      asked.answer.el.remove();
      if (!input.value.trim()) setInput(asked.text);
      showThreadState();
    }
    if (state.current && !state.currentVoice) interruptCurrent();
    state.onReady = null;
    updateComposer();
  }

  function interruptCurrent() {
    state.current.interrupt();
    state.catchingUp.push(state.current);
    state.current = null;
  }

  function ready() {
    updateComposer();
    if (state.catchingUp.length) catchUp();
    var ask = state.onReady;
    state.onReady = null;
    if (ask) ask();
  }

  function receive(data) {
    var type = data.type;
    if (type === "start") {
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
    state.currentVoice = Boolean(asked.voice);
    asked.answer.start(data.message);
    asked.questionEl.dataset.id = data.question;
    if (title.textContent === "New conversation") setTitle(shortTitle(asked.text));
    list.touch(state.conversation, shortTitle(asked.text));
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
    list.load();
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
    connection.close();
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
    if (!connection.isReady()) {
      // Keep the question in the composer until the connection is back.
      setInput(text);
      connection.waitForIt();
      return;
    }
    post(text);
  }

  function create(text) {
    setInput(text);
    createConversation().then(function () {
      list.touch(state.conversation, shortTitle(text));
      state.onReady = function () {
        post(input.value.trim() || text);
      };
      connection.connect();
    }, function () {});
  }

  /** Store a new conversation (the page shows none yet); resolves with its id. */
  function createConversation() {
    state.creating = true;
    updateComposer();
    return request("POST", config.conversationsApi, {}).then(function (answer) {
      state.creating = false;
      updateComposer();
      if (answer.status !== 201 || !answer.data) {
        var text = "Could not start the conversation: " + ns.problem(answer);
        showComposerError(text);
        throw new Error(text);
      }
      state.conversation = answer.data.id;
      window.history.replaceState({ conversation: state.conversation }, "", conversationUrl(state.conversation));
      return state.conversation;
    });
  }

  function post(text) {
    addQuestion(text, false);
    connection.send({ type: "ask", text: text, modality: "text" });
    setInput("");
  }

  // The question and its waiting answer join the thread.
  function addQuestion(text, voice) {
    var questionEl = ns.question(text);
    if (voice) markVoice(questionEl);
    var answer = new ns.Answer({ onRetry: retry, onRender: follow });
    messages.append(questionEl, answer.el);
    state.pending = { text: text, questionEl: questionEl, answer: answer, voice: voice };
    showThreadState();
    updateComposer();
    announce.textContent = "Looking in the manuals\u2026";
    state.following = true;
    scrollToQuestion(questionEl, "smooth");
  }

  /** A question asked by voice: a small microphone beside its bubble. */
  function markVoice(questionEl) {
    questionEl.classList.add("is-voice");
    var mark = document.createElement("span");
    mark.className = "msg-voice-mark";
    mark.title = "Asked by voice";
    mark.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#i-mic"/></svg>' +
      '<span class="visually-hidden">Asked by voice:</span>';
    questionEl.prepend(mark);
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
    document.dispatchEvent(new CustomEvent("lineled:conversation")); // voice.js lets go
    connection.close();
    window.clearTimeout(state.pollTimer);
    state.pending = null;
    state.current = null;
    state.currentVoice = false;
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
    list.markCurrent();
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
    list.markCurrent();
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
      connection.connect();
    });
  }

  function showMessages(conversation) {
    setTitle(conversation.title || "");
    var lastQuestion = null;
    (conversation.messages || []).forEach(function (message) {
      if (message.role === "user") {
        lastQuestion = ns.question(message.text);
        lastQuestion.dataset.id = message.id;
        if (message.modality === "voice") markVoice(lastQuestion);
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
    list.setDrawer(false);
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

  // --- Hooks for voice.js ----------------------------------------------------------------------
  // Voice turns come over a socket of their own but are shown in this thread, by this code.

  ns.chat = {
    /** The open conversation's id, made first when the page shows a new one. */
    ensureConversation: function () {
      if (state.conversation) return Promise.resolve(state.conversation);
      if (state.creating) return Promise.reject(new Error("The conversation is still being started."));
      return createConversation().then(function (id) {
        connection.connect(); // typed follow-ups
        return id;
      });
    },
    busy: busy,
    /** A transcript was taken: show it as the question; the events follow via receive. */
    voiceQuestion: function (text) {
      if (state.pending) return;
      addQuestion(text, true);
    },
    voicePending: function () {
      return Boolean(state.pending && state.pending.voice);
    },
    /** start, token, citations, done and error events of a voice turn. */
    receive: receive,
    /** The voice socket went down mid-turn: the answer is finished on the server all the same. */
    voiceDropped: function () {
      if (state.pending && state.pending.voice) {
        var lost = state.pending;
        state.pending = null;
        lost.questionEl.remove();
        lost.answer.el.remove();
        showThreadState();
        catchUpSoon();
      }
      if (state.current && state.currentVoice) {
        interruptCurrent();
        catchUp();
      }
      updateComposer();
    },
  };

  // The question may have been stored before the socket went: reload the thread.
  function catchUpSoon() {
    var id = state.conversation;
    window.setTimeout(function () {
      if (id === state.conversation && !busy()) openConversation(id, false);
    }, POLL_MS);
  }

  // --- Start --------------------------------------------------------------------------------

  list.start();
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
