// The ops monitoring page: overall status, the open alerts (acknowledge, resolve), a
// chart per metric, knowledge gaps and validation, all from the monitoring API. It
// redraws when the notifications socket says a sample was taken or an alert changed.
// Plain JS, no build step; the charts are drawn by charts.js.
(function () {
  "use strict";

  var root = document.getElementById("monitoring");
  if (!root) return;
  var request = window.LineLeadApi.request;
  var problem = window.LineLeadApi.problem;
  var chart = window.LineLeadCharts;
  var api = root.dataset.api;
  var RANGES = {
    "24h": { ms: 24 * 3600 * 1000, label: "the last 24 hours" },
    "7d": { ms: 7 * 24 * 3600 * 1000, label: "the last 7 days", step: 900 },
  };
  var STATUS = {
    ok: { label: "OK", text: "Every metric with a rule is within its thresholds." },
    warning: { label: "Warning", text: "A metric is past its warning threshold." },
    critical: { label: "Critical", text: "A metric is past its critical threshold." },
    stale: { label: "Stale", text: "No sample for a while: are Celery beat and a worker running?" },
    unknown: { label: "No data yet", text: "No sample has been taken yet." },
  };
  var LEVELS = { ok: "OK", warning: "Warning", critical: "Critical" };
  var READINESS = {
    READY: ["ok", "Ready"],
    CONDITIONAL: ["warning", "Conditional"],
    "NOT READY": ["critical", "Not ready"],
  };
  var GROUPS = [
    ["traffic", "Answers and search"],
    ["probe", "Probe questions"],
    ["operational", "Workers and queues"],
  ];

  var statusBox = document.getElementById("status");
  var statusLabel = document.getElementById("status-label");
  var statusDetail = document.getElementById("status-detail");
  var sampleButton = document.getElementById("sample-now");
  var live = document.getElementById("live");
  var liveText = document.getElementById("live-text");
  var message = document.getElementById("mon-message");
  var alertList = document.getElementById("alerts");
  var alertsEmpty = document.getElementById("alerts-empty");
  var alertCount = document.getElementById("alert-count");
  var alertsTitle = document.getElementById("alerts-title");
  var metricsBox = document.getElementById("metrics");
  var metricsEmpty = document.getElementById("metrics-empty");
  var gapsTable = document.getElementById("gaps");
  var gapsEmpty = document.getElementById("gaps-empty");
  var validationBox = document.getElementById("validation");
  var alertTemplate = document.getElementById("alert-template");
  var metricTemplate = document.getElementById("metric-template");
  var rangeButtons = root.querySelectorAll("[data-range]");

  var state = {
    data: null,
    range: "24h",
    series: {}, // metric name -> [{t, value}]
    loading: null, // the refresh under way
    again: false, // another refresh was asked for meanwhile
  };

  // --- Small helpers --------------------------------------------------------------

  function field(node, name) {
    return node.querySelector('[data-field="' + name + '"]');
  }

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("is-error", Boolean(isError));
    message.hidden = !text;
  }

  function ago(iso) {
    var seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (seconds < 60) return seconds + "\u00a0s ago";
    var minutes = Math.round(seconds / 60);
    if (minutes < 120) return minutes + "\u00a0min ago";
    return Math.round(minutes / 60) + "\u00a0h ago";
  }

  function time(iso) {
    var node = document.createElement("time");
    node.dateTime = iso;
    node.textContent = chart.stamp(new Date(iso));
    return node;
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  /** ``level`` as a chip; without one, why: no value to judge, or no rule to judge by. */
  function levelChip(node, level, why) {
    node.className = "level level-" + (level || "none");
    node.textContent = LEVELS[level] || why || "";
  }

  function metricInfo(name) {
    var found = (state.data ? state.data.metrics : []).filter(function (m) {
      return m.name === name;
    })[0];
    return found || { name: name, label: name, unit: "" };
  }

  // --- Status -----------------------------------------------------------------------

  function showStatus(status) {
    var info = STATUS[status.status] || { label: status.status, text: "" };
    statusBox.dataset.status = status.status;
    statusLabel.textContent = info.label;
    var parts = [];
    var open = status.open_alerts || {};
    var critical = open.critical || 0;
    var warning = open.warning || 0;
    if (critical || warning) {
      var counts = [];
      if (critical) counts.push(critical + " critical");
      if (warning) counts.push(warning + " warning");
      var noun = critical + warning === 1 ? " alert" : " alerts";
      parts.push(counts.join(" and ") + noun + " open.");
    } else {
      parts.push(info.text);
    }
    statusDetail.replaceChildren(parts.join(" "));
    if (status.last_sampled_at) {
      var when = document.createElement("span");
      when.className = "nowrap";
      when.dataset.ago = status.last_sampled_at;
      statusDetail.append(" Last sampled ", time(status.last_sampled_at), " (", when, ")");
      statusDetail.append(", every " + Math.round(status.sample_every_s) + "\u00a0s.");
    }
    updateAgo();
  }

  function updateAgo() {
    root.querySelectorAll("[data-ago]").forEach(function (node) {
      node.textContent = ago(node.dataset.ago);
    });
  }

  // --- Alerts -----------------------------------------------------------------------

  function alertMeta(alert, unit) {
    var parts = [];
    if (alert.value !== null) parts.push("now " + chart.formatValue(alert.value, unit));
    if (alert.worst !== null && alert.worst !== alert.value) {
      parts.push("worst " + chart.formatValue(alert.worst, unit));
    }
    var line = document.createDocumentFragment();
    line.append("Opened ", time(alert.opened_at));
    if (alert.escalated_at) line.append(", escalated ", time(alert.escalated_at));
    if (parts.length) line.append(" \u00b7 " + parts.join(", "));
    if (alert.acknowledged_at) {
      line.append(" \u00b7 acknowledged by " + (alert.acknowledged_by || "someone") + " at ");
      line.append(time(alert.acknowledged_at));
    }
    return line;
  }

  function showAlerts(alerts) {
    var kept = {};
    alerts.forEach(function (alert, index) {
      var item = alertList.querySelector('[data-id="' + alert.id + '"]');
      if (!item) item = alertTemplate.content.firstElementChild.cloneNode(true);
      var metric = metricInfo(alert.metric);
      item.dataset.id = alert.id;
      item.dataset.severity = alert.severity;
      item.dataset.state = alert.state;
      levelChip(field(item, "severity"), alert.severity);
      field(item, "label").textContent = metric.label;
      field(item, "state").textContent = alert.state === "acknowledged" ? "Acknowledged" : "Open";
      field(item, "message").textContent = alert.message;
      field(item, "meta").replaceChildren(alertMeta(alert, metric.unit));
      item.querySelectorAll('[data-field="which"]').forEach(function (node) {
        node.textContent = " the " + metric.label + " alert";
      });
      item.querySelector('[data-action="acknowledge"]').hidden = Boolean(alert.acknowledged_at);
      // In the API's order, newest first. An item already in its place is not moved:
      // moving a node takes the keyboard focus off the button inside it.
      var place = alertList.children[index] || null;
      if (place !== item) alertList.insertBefore(item, place);
      kept[alert.id] = true;
    });
    Array.from(alertList.children).forEach(function (item) {
      if (!kept[item.dataset.id]) item.remove();
    });
    alertsEmpty.hidden = alerts.length > 0;
    alertList.hidden = alerts.length === 0;
    alertCount.textContent = alerts.length ? plural(alerts.length, "alert") : "";
  }

  function act(button) {
    var item = button.closest(".mon-alert");
    var id = item.dataset.id;
    var action = button.dataset.action;
    var label = field(item, "label").textContent;
    button.disabled = true;
    request("POST", api + "/alerts/" + id + "/" + action).then(function (answer) {
      button.disabled = false;
      if (answer.status !== 200) {
        say("Could not " + action + " the " + label + " alert: " + problem(answer) + ".", true);
        return;
      }
      say(label + " alert " + (action === "acknowledge" ? "acknowledged." : "resolved."));
      refresh().then(function () {
        // The pressed button is gone: keep the keyboard near where it was.
        var same = alertList.querySelector('[data-id="' + id + '"] [data-action="resolve"]');
        (same || alertsTitle).focus();
      });
    });
  }

  alertList.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (button) act(button);
  });

  // --- Metrics ----------------------------------------------------------------------

  function groupFor(kind) {
    var group = metricsBox.querySelector('[data-kind="' + kind + '"]');
    if (group) return group.querySelector(".mon-grid");
    group = document.createElement("section");
    group.className = "mon-group";
    group.dataset.kind = kind;
    var heading = document.createElement("h3");
    heading.id = "metrics-" + kind;
    var known = GROUPS.filter(function (g) {
      return g[0] === kind;
    })[0];
    heading.textContent = known ? known[1] : kind;
    group.setAttribute("aria-labelledby", heading.id);
    var grid = document.createElement("div");
    grid.className = "mon-grid";
    group.append(heading, grid);
    metricsBox.append(group);
    return grid;
  }

  function countText(metric) {
    if (!metric.sampled_at) return "never sampled";
    var events = metric.kind === "probe" ? "probe" : "event";
    var text = plural(metric.count, events);
    if (metric.window_s) text += " in " + Math.round(metric.window_s / 60) + "\u00a0min";
    return text;
  }

  // On a phone the metrics start as a list of values; the ones that are not OK open on
  // their chart. Whoever opens or closes one decides from then on.
  var phone = window.matchMedia("(max-width: 640px)");
  var NEEDS_A_LOOK = { warning: true, critical: true };

  function showMetric(metric) {
    var card = metricsBox.querySelector('.mon-metric[data-name="' + metric.name + '"]');
    if (!card) {
      card = metricTemplate.content.firstElementChild.cloneNode(true);
      card.dataset.name = metric.name;
      card.open = !phone.matches || Boolean(NEEDS_A_LOOK[metric.level]);
      card.addEventListener("toggle", function () {
        if (card.open && state.data) drawChart(card, metricInfo(metric.name));
      });
      groupFor(metric.kind).append(card);
    }
    card.dataset.level = metric.level || "none";
    field(card, "label").textContent = metric.label;
    var hasRule = metric.rule && metric.rule.enabled !== false;
    // With no value there is nothing to judge; the value itself says "No data". A value
    // on fewer events than the rule waits for is shown but not judged yet.
    var why = metric.value === null || hasRule ? "" : "No rule";
    var waiting = hasRule && metric.value !== null && metric.count < metric.rule.min_count;
    if (waiting) why = "Too few to judge";
    levelChip(field(card, "level"), metric.level, why);
    field(card, "level").title = waiting
      ? "The rule judges values on " + plural(metric.rule.min_count, "event") + " or more"
      : "";
    var value = field(card, "value");
    value.textContent = chart.formatValue(metric.value, metric.unit);
    value.classList.toggle("is-empty", metric.value === null);
    field(card, "count").textContent = "(" + countText(metric) + ")";
    field(card, "description").textContent = metric.description;
    drawChart(card, metric);
  }

  function drawChart(card, metric) {
    if (!card.open) return; // drawn when opened, at the width it gets then
    var points = state.series[metric.name];
    var box = field(card, "chart");
    var note = field(card, "note");
    if (!points) {
      box.dataset.state = "loading";
      note.textContent = "Loading the chart\u2026";
      return;
    }
    // The newest sample is never right of the axis, whatever the browser's clock says.
    var newest = points.length ? points[points.length - 1].t : 0;
    var until = Math.max(Date.now(), newest);
    var span = RANGES[state.range];
    var rule = metric.rule && metric.rule.enabled !== false ? metric.rule : null;
    chart.metric(
      box,
      { name: metric.name, label: metric.label, unit: metric.unit, rule: rule },
      points,
      { since: until - span.ms, until: until, label: span.label },
      state.data.status.sample_every_s
    );
    box.dataset.state = "ready";
    var sampled = 0;
    var empty = 0;
    points.forEach(function (p) {
      sampled += p.n;
      if (p.value === null) empty += p.n;
    });
    note.textContent =
      plural(sampled, "sample") + " in " + span.label +
      (empty ? ", " + empty + " with nothing to measure" : "") + ".";
  }

  function showMetrics(metrics) {
    metrics.forEach(showMetric);
    var sampled = metrics.some(function (m) {
      return m.sampled_at;
    });
    metricsEmpty.hidden = sampled;
  }

  function redrawCharts() {
    if (!state.data) return;
    state.data.metrics.forEach(function (metric) {
      var card = metricsBox.querySelector('.mon-metric[data-name="' + metric.name + '"]');
      if (card) drawChart(card, metric);
    });
  }

  /** A series answer's samples as [{t, iso, value}], oldest first. */
  function points(data) {
    return data.samples.map(function (row) {
      return {
        t: new Date(row.sampled_at).getTime(),
        iso: row.sampled_at,
        value: row.value,
        n: row.samples || 1, // a 7-day point is the mean of several samples
      };
    });
  }

  /**
   * Bring each metric's series up to date: the whole period the first time, then only
   * the samples after the newest one held (a week of minutes is ten thousand samples
   * per metric; a refresh each minute must not fetch them all again). ``since`` is the
   * server's own time of that sample, so a browser clock that is off loses nothing.
   */
  function loadSeries(metrics) {
    var range = state.range;
    var start = new Date(Date.now() - RANGES[range].ms).toISOString();
    return Promise.all(
      metrics.map(function (metric) {
        var held = state.series[metric.name];
        var last = held && held.length ? held[held.length - 1] : null;
        var url = api + "/metrics/" + encodeURIComponent(metric.name) + "/series" +
          "?since=" + encodeURIComponent(last ? last.iso : start) +
          // A week of minutes arrives as 15-minute means the first time (672 points).
          (!last && RANGES[range].step ? "&step=" + RANGES[range].step : "");
        return request("GET", url).then(function (answer) {
          if (range !== state.range || answer.status !== 200) return;
          var fresh = points(answer.data);
          if (last) {
            fresh = held.concat(fresh.filter(function (p) {
              return p.t > last.t;
            }));
          }
          var oldest = Date.now() - RANGES[range].ms;
          state.series[metric.name] = fresh.filter(function (p) {
            return p.t >= oldest;
          });
        });
      })
    );
  }

  // --- Gaps and validation --------------------------------------------------------------

  function showGaps(gaps) {
    var body = gapsTable.tBodies[0];
    body.replaceChildren();
    gaps.forEach(function (gap) {
      var row = body.insertRow();
      var question = row.insertCell();
      question.className = "mon-gap-question";
      question.textContent = gap.question;
      var others = (gap.examples || []).filter(function (e) {
        return e !== gap.question;
      });
      if (others.length) {
        var also = document.createElement("span");
        also.className = "mon-gap-also";
        also.textContent = "Also asked as: " + others.join(" \u00b7 ");
        question.append(also);
      }
      var count = row.insertCell();
      count.className = "num";
      count.dataset.label = "Asked";
      count.textContent = gap.count;
      var last = row.insertCell();
      last.dataset.label = "Last asked";
      if (gap.last_asked) last.append(time(gap.last_asked));
    });
    gapsTable.hidden = gaps.length === 0;
    gapsEmpty.hidden = gaps.length > 0;
  }

  function showValidation(run) {
    if (!run) {
      var none = document.createElement("p");
      none.className = "mon-none";
      none.textContent = "No validation run yet.";
      validationBox.replaceChildren(none);
      return;
    }
    var list = document.createElement("dl");
    list.className = "mon-facts";
    function fact(term, value) {
      if (value === null || value === undefined || value === "") return;
      var dt = document.createElement("dt");
      dt.textContent = term;
      var dd = document.createElement("dd");
      dd.append(value);
      list.append(dt, dd);
    }
    var verdict = READINESS[run.readiness];
    var chip = document.createElement("span");
    chip.className = "level level-" + (verdict ? verdict[0] : "none");
    chip.textContent = verdict ? verdict[1] : run.readiness || "Not finished yet";
    fact("Readiness", chip);
    if (typeof run.score === "number") {
      fact("Score", chart.formatValue(run.score, "") + "\u00a0/\u00a0100");
    }
    if (typeof run.success_rate === "number") {
      fact("Tests passed", chart.formatValue(run.success_rate, "ratio"));
    }
    if (run.finished_at) fact("Finished", time(run.finished_at));
    validationBox.replaceChildren(list);
  }

  // --- Loading ------------------------------------------------------------------------

  function show(data) {
    state.data = data;
    root.dataset.state = "ready";
    showStatus(data.status);
    showAlerts(data.alerts);
    showMetrics(data.metrics);
    showGaps(data.gaps || []);
    showValidation(data.validation);
  }

  /** Fetch the dashboard and the charts' series, then draw; one refresh at a time. */
  function refresh() {
    if (state.loading) {
      state.again = true;
      return state.loading;
    }
    state.loading = request("GET", api + "/dashboard")
      .then(function (answer) {
        if (answer.status !== 200) {
          root.dataset.state = "error";
          say("Could not load the monitoring data: " + problem(answer) + ".", true);
          return;
        }
        if (message.classList.contains("is-error") && root.dataset.state === "error") say("");
        show(answer.data);
        return loadSeries(answer.data.metrics).then(redrawCharts);
      })
      .then(null, function (error) {
        window.console.error(error); // a drawing bug must not stop the next refresh
      })
      .then(function () {
        state.loading = null;
        if (state.again) {
          state.again = false;
          return refresh();
        }
      });
    return state.loading;
  }

  sampleButton.addEventListener("click", function () {
    sampleButton.disabled = true;
    sampleButton.textContent = "Sampling\u2026";
    say("");
    request("POST", api + "/sample").then(function (answer) {
      sampleButton.disabled = false;
      sampleButton.textContent = "Sample now";
      if (answer.status !== 200) {
        say("Could not sample: " + problem(answer) + ".", true);
        return;
      }
      say("Sampled at " + chart.clock(new Date()) + ".");
      refresh();
    });
  });

  rangeButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      if (button.dataset.range === state.range) return;
      state.range = button.dataset.range;
      state.series = {};
      rangeButtons.forEach(function (other) {
        other.setAttribute("aria-pressed", String(other === button));
      });
      redrawCharts(); // "Loading the chart..." until the new series are in
      if (state.data) loadSeries(state.data.metrics).then(redrawCharts);
    });
  });

  // Charts are drawn at the width they get: redraw when it changes.
  var lastWidth = metricsBox.clientWidth;
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      if (metricsBox.clientWidth !== lastWidth) {
        lastWidth = metricsBox.clientWidth;
        redrawCharts();
      }
    }, 150);
  });

  // --- Live updates -------------------------------------------------------------------

  var refreshTimer = null;

  function liveState(name, text) {
    live.dataset.state = name;
    liveText.textContent = text;
  }

  function soon() {
    // A sample pass sends one "sampled" and maybe several "alert" events: refresh once.
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(refresh, 250);
  }

  window.setInterval(updateAgo, 15000);

  refresh();
  LineLeadApi.listen(root.dataset.socket, {
    onOpen: function (again) {
      if (again) soon(); // events may have been missed while away
      liveState("live", "Live: updates as samples are taken");
    },
    onEvent: function (data) {
      if (data.type === "monitoring.sampled" || data.type === "monitoring.alert") soon();
    },
    onLost: function () {
      liveState("off", "Live updates lost, reconnecting\u2026");
    },
    onSignedOut: function () {
      liveState("off", "Signed out: reload the page to sign in again");
    },
  });
})();
