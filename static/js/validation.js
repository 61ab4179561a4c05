// The validation pages (ops): start a run, follow its progress live, and the trend of
// scores across runs (drawn by charts.js). Progress comes over the notifications socket
// ("validation.progress" and "validation.finished"). On the runs page a run's row is drawn
// only by the server (validation/_run_row.html): on an event about its run, a row asks
// for itself again through htmx (static/vendor/htmx/), and a row of a run under way asks
// by itself every 2 s while the socket is down (every 10 s while it is live: a broadcast
// can be lost). A run's report reads the API instead, on the same rhythm. Plain JS, no
// build step.
(function () {
  "use strict";

  var root = document.getElementById("validation");
  if (!root) return;
  var request = window.LineLeadApi.request;
  var problem = window.LineLeadApi.problem;
  var charts = window.LineLeadCharts;
  var api = root.dataset.api;
  var onReport = root.dataset.page === "report";
  var POLL_MS = 2000;
  var POLL_LIVE_MS = 10000;
  var ACTIVE = { queued: true, running: true };
  var LEVEL = { READY: "ok", CONDITIONAL: "warning", "NOT READY": "critical" };
  var CATEGORY = {
    text: "Text", voice: "Voice", "cross-modal": "Cross-modal",
    integration: "Integration", performance: "Performance",
  };

  // Read by the rows' hx-trigger filter: while the socket is live, rows poll slowly.
  var shared = (window.LineLeadValidation = { live: false });

  var live = document.getElementById("live");
  var liveText = document.getElementById("live-text");
  var message = document.getElementById("val-message");

  // --- Small helpers --------------------------------------------------------------------

  /** Show ``text`` in the banner, green unless ``level`` is "warning" or "critical". */
  function say(text, level) {
    if (!message) return;
    message.textContent = text;
    message.classList.toggle("is-warning", level === "warning");
    message.classList.toggle("is-error", level === "critical");
    message.hidden = !text;
  }

  function progressText(done, total) {
    return done + " tests done of " + total;
  }

  /** A run has ended: say so in the banner, and add it to the chart. ``run`` has run,
   * status, error, and when done readiness, score, success_rate, category and at. */
  var finishedSeen = {};

  function finished(run) {
    if (finishedSeen[run.run]) return;
    finishedSeen[run.run] = true;
    if (onReport) {
      window.location.reload();
      return;
    }
    if (run.status === "done") {
      // The banner wears the verdict's colour: CONDITIONAL is not a success.
      say(
        "Run " + run.run + " finished: " + run.readiness + ", score " + run.score.toFixed(1) + ".",
        LEVEL[run.readiness]
      );
      addTrendPoint(run);
    } else {
      say("Run " + run.run + " failed: " + (run.error || "no reason was recorded") + ".", "critical");
    }
  }

  // --- The runs table, drawn by the server -----------------------------------------------

  var table = document.getElementById("runs");
  var tbody = table && table.tBodies[0];

  function rowFor(id) {
    return tbody ? tbody.querySelector('tr[data-run="' + id + '"]') : null;
  }

  /** Have the row of run ``id`` ask the server for itself again; a run not listed yet
   * (started here, or elsewhere: the admin, the schedule, another screen) gets an empty
   * row at the top, which the server's replaces. */
  function refresh(id) {
    if (!tbody || !window.htmx) return;
    var row = rowFor(id);
    if (row) {
      window.htmx.trigger(row, "refresh");
      return;
    }
    row = document.createElement("tr");
    row.dataset.run = id;
    tbody.prepend(row);
    sync();
    window.htmx.ajax("GET", table.dataset.rows + "?id=" + id, {
      source: row, target: row, swap: "outerHTML",
    });
  }

  /** After any change of rows: the count and the empty state. */
  function sync() {
    var count = tbody.rows.length;
    document.getElementById("run-count").textContent = count + " run" + (count === 1 ? "" : "s");
    table.hidden = count === 0;
    document.getElementById("runs-empty").hidden = count > 0;
  }

  /** What a row says of its run when the run has ended. */
  function runOf(row) {
    var data = row.dataset;
    var error = row.querySelector(".val-row-error");
    return {
      run: Number(data.run), status: data.status, category: data.category,
      readiness: data.readiness, score: data.score ? Number(data.score) : null,
      success_rate: data.successRate ? Number(data.successRate) : null, finished_at: data.at,
      error: error ? error.textContent : "",
    };
  }

  if (tbody) {
    var before = {}; // run id -> its status before the swap ("" for a new row)

    tbody.addEventListener("htmx:beforeSwap", function (event) {
      var answered = new URL(event.detail.xhr.responseURL, window.location.href).pathname;
      if (answered !== table.dataset.rows) {
        event.detail.shouldSwap = false; // sent to sign in: not a row
        say("Signed out: reload the page to sign in again.", "critical");
        return;
      }
      var row = event.detail.target;
      before[row.dataset.run] = row.dataset.status || "";
    });

    tbody.addEventListener("htmx:afterSwap", function (event) {
      var row = event.target;
      if (row.tagName !== "TR" || !(row.dataset.run in before)) return;
      var was = before[row.dataset.run];
      delete before[row.dataset.run];
      if ((was === "" || ACTIVE[was]) && !ACTIVE[row.dataset.status]) finished(runOf(row));
    });

    tbody.addEventListener("htmx:afterRequest", sync);
    var unchecked = function (status) {
      say("Could not check on the runs: " + problem({ status: status }) + ".", "critical");
    };
    tbody.addEventListener("htmx:sendError", function () {
      unchecked(0);
    });
    tbody.addEventListener("htmx:responseError", function (event) {
      unchecked(event.detail.xhr.status);
    });
  }

  /** The socket is (back) up: events may have been missed, so the rows under way ask. */
  function refreshActive() {
    if (!tbody) return;
    Array.prototype.forEach.call(tbody.rows, function (row) {
      if (ACTIVE[row.dataset.status]) refresh(row.dataset.run);
    });
  }

  // --- The report's progress (read from the API) ------------------------------------------

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

  function reportActive() {
    return onReport && ACTIVE[root.dataset.status];
  }

  /** Read the report's run from the API (the source of truth after any event). */
  function fetchReportRun() {
    return request("GET", api + "/runs/" + root.dataset.run).then(function (answer) {
      if (answer.status !== 200) return;
      var run = answer.data;
      root.dataset.status = run.status;
      showReportProgress(run);
      if (!ACTIVE[run.status]) finished(run);
    });
  }

  var pollTimer = null;

  function poll() {
    window.clearTimeout(pollTimer);
    if (!reportActive()) return;
    fetchReportRun().then(function () {
      window.clearTimeout(pollTimer);
      pollTimer = window.setTimeout(poll, shared.live ? POLL_LIVE_MS : POLL_MS);
    });
  }

  function onProgress(event) {
    if (!onReport) {
      refresh(event.run);
      return;
    }
    if (event.run !== Number(root.dataset.run)) return;
    root.dataset.status = "running";
    showReportProgress({ status: "running", tests_done: event.done, tests_total: event.total });
  }

  function onFinished(event) {
    if (!onReport) refresh(event.run);
    else if (event.run === Number(root.dataset.run)) fetchReportRun();
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
          say("Could not start a run: " + problem(answer) + ".", "critical");
          return;
        }
        refresh(answer.data.run);
        say("Run " + answer.data.run + " queued: a worker runs it now.");
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

  // --- The trend chart (drawn by charts.js) ---------------------------------------------

  var trendBox = document.getElementById("trend");
  var trendData = document.getElementById("trend-data");
  var points = trendData ? JSON.parse(trendData.textContent) : [];

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

  function drawTrend() {
    if (!trendBox || !points.length) return; // the server's "No finished run yet" stays
    var limits = {
      ready: Number(trendBox.dataset.ready),
      conditional: Number(trendBox.dataset.conditional),
    };
    charts.runs(trendBox, points, limits, function (run) {
      return trendBox.dataset.report.replace("/0/", "/" + run.run + "/");
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
    shared.live = name === "live";
    if (!live) return;
    live.dataset.state = name;
    liveText.textContent = text;
  }

  // Until the socket says hello, the report polls (a run can finish before it connects),
  // and so do the rows of runs under way, by themselves.
  pollTimer = window.setTimeout(poll, POLL_MS);
  LineLeadApi.listen(root.dataset.socket, {
    onOpen: function () {
      liveState("live", "Live: progress shows as each test finishes");
      // Events may have been missed before the socket was up.
      poll();
      refreshActive();
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
