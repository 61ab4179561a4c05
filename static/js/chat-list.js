// The chat screen's conversation list: its items and dates, which one is open, and the
// drawer it becomes on phones. chat.js creates it once and says what opening a
// conversation or starting a new one means; this file knows nothing about the thread.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var config = ns.config;
  var request = ns.request;

  var root = document.getElementById("chat");
  var side = document.getElementById("chat-side");
  var scrim = document.getElementById("side-scrim");
  var openSide = document.getElementById("open-side");
  var convList = document.getElementById("conv-list");
  var convEmpty = document.getElementById("conv-empty");
  var wide = window.matchMedia("(min-width: 960px)");

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

  function sameTab(event) {
    return !(event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey);
  }

  /**
   * Wire up the list and the drawer; call once. ``options``:
   * current() -> the open conversation's id, or null for a new one;
   * open(id) -> show that conversation and push it to the history;
   * startNew() -> show an empty new conversation and push it to the history.
   */
  function conversationList(options) {
    function markCurrent() {
      Array.prototype.forEach.call(convList.querySelectorAll(".conv"), function (link) {
        if (String(options.current()) === link.dataset.id) {
          link.setAttribute("aria-current", "page");
        } else {
          link.removeAttribute("aria-current");
        }
      });
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

    convList.addEventListener("click", function (event) {
      var link = event.target.closest(".conv");
      if (!link || !sameTab(event)) return;
      event.preventDefault();
      setDrawer(false);
      if (String(options.current()) !== link.dataset.id) options.open(Number(link.dataset.id));
    });
    [document.getElementById("new-chat"), document.getElementById("head-new")].forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (!sameTab(event)) return;
        event.preventDefault();
        setDrawer(false);
        options.startNew();
      });
    });

    /** Fit the drawer to the screen, date the server-rendered list, then fetch it. */
    function start() {
      syncDrawer();
      refreshDates();
      window.setInterval(refreshDates, 60000);
      loadConversations();
    }

    return {
      markCurrent: markCurrent,
      load: loadConversations,
      touch: touchConversation,
      setDrawer: setDrawer,
      start: start,
    };
  }

  ns.conversationUrl = conversationUrl;
  // Wide screens show the list beside the thread; chat.js focuses the composer only there
  // (on a phone, focusing it would pop up the keyboard).
  ns.wide = wide;
  ns.conversationList = conversationList;
})();
