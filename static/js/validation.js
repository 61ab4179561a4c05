// The validation pages (ops): start a run, follow its progress live, and the trend of
// scores across runs. Progress comes over the notifications socket
// ("validation.progress" and "validation.finished"); while the socket is down, the
// runs still in progress are polled every 2 s. Plain JS, no build step.
(function () {
  "use strict";

  var root = document.getElementById("validation");
  if (!root) return;
  var request = window.LineLeadApi.request;
  var problem = window.LineLeadApi.problem;
  var api = root.dataset.api;
  var onReport = root.dataset.page === "report";
  var SVG = "http://www.w3.org/2000/svg";
  var POLL_MS = 2000;
  // While the socket is live, a slow poll still runs: a broadcast can be lost (a worker
  // on another channel layer cannot reach this socket) and a run must not look stuck.
  var POLL_LIVE_MS = 10000;
  var ACTIVE = { queued: true, running: true };
  var STATUS = { queued: "Queued", running: "Running", done: "Done", failed: "Failed" };
  var LEVEL = { READY: "ok", CONDITIONAL: "warning", "NOT READY": "critical" };
  var TRIGGER = { admin: "Ops console", api: "API", cli: "Command line", schedule: "Nightly" };
  var CATEGORY = {
    text: "Text", voice: "Voice", "cross-modal": "Cross-modal",
    integration: "Integration", performance: "Performance",
  };

  var live = document.getElementById("live");
  var liveText = document.getElementById("live-text");
  var message = document.getElementById("val-message");
  var socketLive = false;

  // --- Small helpers --------------------------------------------------------------------

  function say(text, isError) {
    if (!message) return;
    message.textContent = text;
    message.classList.toggle("is-error", Boolean(isError));
    message.hidden = !text;
  }

  function make(name, className, text) {
    var node = document.createElement(name);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function shortDate(date) {
    return date.toLocaleDateString("en-GB", { day: "numeric", month: "short" });
  }

  function stamp(date) {
    return shortDate(date) + ", " +
      date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function reportUrl(id) {
    return "/validation/runs/" + id + "/";
  }

  function progressText(done, total) {
    return done + " tests done of " + total;
  }

  // --- The runs table ---------------------------------------------------------------------

  var table = document.getElementById("runs");
  var rowTemplate = document.getElementById("run-row");

  function rowFor(id) {
    return table ? table.querySelector('tr[data-run="' + id + '"]') : null;
  }

  function cell(row, name) {
    return row.querySelector('[data-field="' + name + '"]');
  }

  function expectedTotal(run) {
    if (run.tests_total) return run.tests_total;
    var row = rowFor(run.run);
    var shown = row && row.querySelector("progress");
    if (shown && Number(shown.max)) return Number(shown.max);
    return run.category ? 5 : Number(root.dataset.suiteTotal) || 25;
  }

  function fillStatus(box, run) {
    var chip = make("span", "status status-" + run.status, STATUS[run.status] || run.status);
    box.replaceChildren(chip);
    if (ACTIVE[run.status]) {
      var total = expectedTotal(run);
      var wrap = make("span", "val-progress");
      var bar = make("progress");
      bar.max = total;
      bar.value = run.tests_done;
      wrap.append(bar, make("span", "val-progress-text", progressText(run.tests_done, total)));
      box.append(" ", wrap);
    } else if (run.error) {
      box.append(" ", make("span", "val-row-error", run.error.slice(0, 120)));
    }
  }

  /** Show ``run`` (the API's shape) in its row, making the row if it is new. */
  function showRun(run) {
    if (!table) return;
    var row = rowFor(run.run);
    if (!row) {
      row = rowTemplate.content.firstElementChild.cloneNode(true);
      row.dataset.run = run.run;
      cell(row, "link").href = reportUrl(run.run);
      cell(row, "id").textContent = run.run;
      var when = make("time", "", stamp(new Date(run.created_at)));
      when.dateTime = run.created_at;
      cell(row, "created").replaceChildren(when);
      cell(row, "trigger").textContent = TRIGGER[run.trigger] || run.trigger;
      cell(row, "scope").textContent = run.category ? (CATEGORY[run.category] || run.category) + " only" : "All";
      table.tBodies[0].prepend(row);
      table.hidden = false;
      document.getElementById("runs-empty").hidden = true;
      var count = table.tBodies[0].rows.length;
      document.getElementById("run-count").textContent = count + " run" + (count === 1 ? "" : "s");
    }
    row.dataset.status = run.status;
    fillStatus(cell(row, "status"), run);
    var readiness = cell(row, "readiness");
    readiness.replaceChildren();
    if (run.readiness) {
      readiness.append(make("span", "level level-" + (LEVEL[run.readiness] || "none"), run.readiness));
    }
    cell(row, "score").textContent = typeof run.score === "number" ? run.score.toFixed(1) : "";
    cell(row, "passed").textContent =
      typeof run.success_rate === "number" ? Math.round(run.success_rate * 100) + "%" : "";
    cell(row, "duration").textContent =
      typeof run.duration_s === "number" ? Math.round(run.duration_s) + "\u00a0s" : "";
  }

  // --- The report's progress ---------------------------------------------------------------

  function showReportProgress(run) {
    var text = document.getElementById("progress-text");
    var bar = document.getElementById("progress");
    if (!text || !bar) return;
    var total = run.tests_total || Number(bar.max);
    bar.max = total;
    bar.value = run.tests_done;
    text.textContent = progressText(run.tests_done, total);
    if (run.status === "running") {
      var kicker = root.querySelector(".val-verdict-kicker");
      if (kicker) kicker.textContent = "Running";
      document.getElementById("verdict").dataset.readiness = "running";
      document.getElementById("progress-note").textContent =
        "The report appears here when the last test is done.";
    }
  }

  // --- Following runs in progress ------------------------------------------------------

  function activeIds() {
    if (onReport) return ACTIVE[root.dataset.status] ? [Number(root.dataset.run)] : [];
    if (!table) return [];
    return Array.prototype.filter
      .call(table.tBodies[0].rows, function (row) {
        return ACTIVE[row.dataset.status];
      })
      .map(function (row) {
        return Number(row.dataset.run);
      });
  }

  var finishedSeen = {};

  function finished(run) {
    if (finishedSeen[run.run]) return;
    finishedSeen[run.run] = true;
    if (onReport) {
      window.location.reload();
      return;
    }
    if (run.status === "done") {
      say("Run " + run.run + " finished: " + run.readiness + ", score " + run.score.toFixed(1) + ".");
      addTrendPoint(run);
    } else {
      say("Run " + run.run + " failed: " + (run.error || "no reason was recorded") + ".", true);
    }
  }

  /** Read the run from the API and show it (the source of truth after any event). */
  function fetchRun(id) {
    return request("GET", api + "/runs/" + id).then(function (answer) {
      if (answer.status !== 200) return;
      var run = answer.data;
      if (onReport) {
        root.dataset.status = run.status;
        showReportProgress(run);
      } else {
        showRun(run);
      }
      if (!ACTIVE[run.status]) finished(run);
    });
  }

  function onProgress(event) {
    if (onReport && event.run !== Number(root.dataset.run)) return;
    if (onReport) {
      root.dataset.status = "running";
      showReportProgress({ status: "running", tests_done: event.done, tests_total: event.total });
      return;
    }
    var row = rowFor(event.run);
    if (!row) {
      fetchRun(event.run); // started elsewhere: the admin, the schedule, another screen
      return;
    }
    row.dataset.status = "running";
    fillStatus(cell(row, "status"), {
      run: event.run, status: "running", tests_done: event.done, tests_total: event.total,
    });
  }

  function onFinished(event) {
    if (onReport && event.run !== Number(root.dataset.run)) return;
    fetchRun(event.run);
  }

  var pollTimer = null;

  function poll() {
    window.clearTimeout(pollTimer);
    var ids = activeIds();
    if (!ids.length) return;
    Promise.all(ids.map(fetchRun)).then(function () {
      window.clearTimeout(pollTimer);
      pollTimer = window.setTimeout(poll, socketLive ? POLL_LIVE_MS : POLL_MS);
    });
  }

  // --- Starting a run ----------------------------------------------------------------------

  var form = document.getElementById("start-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = document.getElementById("start");
      var category = document.getElementById("category").value;
      button.disabled = true;
      button.textContent = "Starting\u2026";
      say("");
      request("POST", api + "/runs", { category: category }).then(function (answer) {
        button.disabled = false;
        button.textContent = "Run validation";
        if (answer.status !== 202) {
          say("Could not start a run: " + problem(answer) + ".", true);
          return;
        }
        showRun(answer.data);
        say("Run " + answer.data.run + " queued: a worker runs it now.");
        window.clearTimeout(pollTimer);
        pollTimer = window.setTimeout(poll, socketLive ? POLL_LIVE_MS : POLL_MS);
      });
    });
  }

  // --- Expanding the tests ---------------------------------------------------------------

  function openTest(id) {
    var details = document.getElementById(id);
    if (details && details.tagName === "DETAILS") details.open = true;
  }

  root.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-open]");
    if (link) openTest(link.dataset.open);
  });
  if (window.location.hash.indexOf("#test-") === 0) openTest(window.location.hash.slice(1));

  var toggle = document.getElementById("toggle-all");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = toggle.dataset.expanded !== "true";
      root.querySelectorAll("details.val-test").forEach(function (details) {
        details.open = open;
      });
      toggle.dataset.expanded = String(open);
      toggle.textContent = open ? "Collapse all" : "Expand all";
    });
  }

  // --- The trend chart ---------------------------------------------------------------------

  var trendBox = document.getElementById("trend");
  var trendData = document.getElementById("trend-data");
  var points = trendData ? JSON.parse(trendData.textContent) : [];
  var HEIGHT = 220;
  var PAD = { top: 22, right: 18, bottom: 34, left: 40 };
  var INSET = 18; // the first and last dots clear of the axes

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** A run finished while the page is open joins the chart if it is of its scope. */
  function addTrendPoint(run) {
    if (!trendBox || typeof run.score !== "number") return;
    if (run.category !== trendBox.dataset.scope) {
      // Whole-suite runs have the chart once there is one; a category's only until then.
      if (run.category && points.length) return;
      points = [];
      trendBox.dataset.scope = run.category;
      var scope = document.getElementById("trend-scope");
      if (scope) {
        scope.textContent = run.category
          ? (CATEGORY[run.category] || run.category) + "-only runs (no whole-suite run yet)"
          : "Whole-suite runs";
      }
    }
    points.push({
      run: run.run, score: run.score, success_rate: run.success_rate,
      readiness: run.readiness, at: run.finished_at || run.created_at, current: false,
    });
    drawTrend();
  }

  function trendSummary(ready, conditional) {
    if (!points.length) return "No finished run yet.";
    var last = points[points.length - 1];
    var low = Math.min.apply(null, points.map(function (p) { return p.score; }));
    var high = Math.max.apply(null, points.map(function (p) { return p.score; }));
    return (
      "Score of the last " + points.length + " runs, from " + stamp(new Date(points[0].at)) +
      " to " + stamp(new Date(last.at)) + ": latest " + last.score.toFixed(1) + " (" +
      last.readiness + "), lowest " + low.toFixed(1) + ", highest " + high.toFixed(1) +
      ". READY from " + ready + ", CONDITIONAL from " + conditional + "."
    );
  }

  function drawTrend() {
    if (!trendBox) return;
    var ready = Number(trendBox.dataset.ready);
    var conditional = Number(trendBox.dataset.conditional);
    if (!points.length) return; // the server's "No finished run yet" stays
    var width = Math.max(280, Math.round(trendBox.clientWidth || 600));
    var plot = { left: PAD.left, top: PAD.top, width: width - PAD.left - PAD.right };
    plot.height = HEIGHT - PAD.top - PAD.bottom;
    plot.base = plot.top + plot.height;
    function y(score) {
      return plot.base - (Math.max(0, Math.min(100, score)) / 100) * plot.height;
    }
    // Runs are spaced evenly (a nightly run and three tries one morning read alike).
    var step = points.length > 1 ? (plot.width - 2 * INSET) / (points.length - 1) : 0;
    function x(i) {
      return points.length > 1 ? plot.left + INSET + i * step : plot.left + plot.width / 2;
    }
    var svg = el("svg", {
      class: "chart val-trend-chart", width: width, height: HEIGHT,
      viewBox: "0 0 " + width + " " + HEIGHT, role: "img",
    });
    svg.append(el("title", {}, trendSummary(ready, conditional)));
    [0, 20, 40, 60, 80, 100].forEach(function (v) {
      svg.append(el("line", {
        class: "chart-grid", x1: plot.left, x2: plot.left + plot.width, y1: y(v), y2: y(v),
      }));
      svg.append(el("text", { class: "chart-tick", x: plot.left - 8, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    });
    svg.append(el("line", {
      class: "chart-axis", x1: plot.left, x2: plot.left + plot.width, y1: plot.base, y2: plot.base,
    }));
    [["ready", ready, "READY"], ["conditional", conditional, "CONDITIONAL"]].forEach(function (t) {
      svg.append(el("line", {
        class: "chart-threshold val-threshold-" + t[0],
        x1: plot.left, x2: plot.left + plot.width, y1: y(t[1]), y2: y(t[1]),
      }));
      svg.append(el("text", {
        class: "chart-threshold-label val-threshold-label-" + t[0], x: plot.left + 6, y: y(t[1]) - 4,
      }, t[2] + " " + t[1]));
    });
    drawTimeLabels(svg, plot, x);
    if (points.length > 1) {
      var d = points.map(function (p, i) {
        return (i ? "L" : "M") + x(i).toFixed(1) + " " + y(p.score).toFixed(1);
      });
      svg.append(el("path", { class: "chart-line", d: d.join("") }));
    }
    var link = trendBox.dataset.report;
    points.forEach(function (p, i) {
      var a = el("a", { href: link.replace("/0/", "/" + p.run + "/"), class: "val-dot-link" });
      a.append(el("title", {}, "Run " + p.run + ", " + stamp(new Date(p.at)) + ": score " +
        p.score.toFixed(1) + ", " + p.readiness));
      a.append(el("circle", {
        class: "val-dot val-dot-" + (LEVEL[p.readiness] || "none") + (p.current ? " is-current" : ""),
        cx: x(i), cy: y(p.score), r: p.current ? 8 : 6,
      }));
      svg.append(a);
    });
    trendBox.replaceChildren(svg);
  }

  /** A few run dates under the axis (their times, when all are of one day): the first,
   * the last, and evenly between. */
  function drawTimeLabels(svg, plot, x) {
    var first = new Date(points[0].at);
    var oneDay = new Date(points[points.length - 1].at).toDateString() === first.toDateString();
    function label(date) {
      return oneDay
        ? date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })
        : shortDate(date);
    }
    var room = Math.max(1, Math.floor(plot.width / 90));
    var every = Math.max(1, Math.ceil(points.length / room));
    points.forEach(function (p, i) {
      var last = i === points.length - 1;
      if (i % every !== 0 && !last) return;
      if (!last && points.length - 1 - i < every && i !== 0) return; // keep clear of the last
      svg.append(el("text", {
        class: "chart-tick", x: x(i), y: plot.base + 20, "text-anchor": "middle",
      }, label(new Date(p.at))));
    });
  }

  var lastWidth = trendBox ? trendBox.clientWidth : 0;
  window.addEventListener("resize", function () {
    if (trendBox && trendBox.clientWidth !== lastWidth) {
      lastWidth = trendBox.clientWidth;
      drawTrend();
    }
  });
  drawTrend();

  // --- Live updates ------------------------------------------------------------------------


  function liveState(name, text) {
    socketLive = name === "live";
    if (!live) return;
    live.dataset.state = name;
    liveText.textContent = text;
  }

  // Until the socket says hello, poll: a run can finish before it connects.
  pollTimer = window.setTimeout(poll, POLL_MS);
  LineLeadApi.listen(root.dataset.socket, {
    onOpen: function () {
      liveState("live", "Live: progress shows as each test finishes");
      poll(); // events may have been missed before the socket was up
    },
    onEvent: function (data) {
      if (data.type === "validation.progress") onProgress(data);
      else if (data.type === "validation.finished") onFinished(data);
    },
    onLost: function () {
      liveState("off", "No live updates: checking every 2 seconds, reconnecting\u2026");
      poll();
    },
    onSignedOut: function () {
      liveState("off", "Signed out: reload the page to sign in again");
    },
  });
})();
