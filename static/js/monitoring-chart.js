// One metric over time as an inline SVG: value and time axes, the alert thresholds as
// dashed lines, a gap wherever there was no value (nothing happened: no point, not a
// zero) and a readout of the nearest sample under the pointer. No chart library.
// monitoring.js calls LineLeadChart.draw(); the formatting helpers are shared with it.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var HEIGHT = 200;
  var PAD = { top: 22, right: 12, bottom: 30 };
  var HOUR = 3600 * 1000;
  var DAY = 24 * HOUR;
  var NBSP = "\u00a0";

  // --- Numbers and times ------------------------------------------------------------

  function number(value, digits) {
    return value.toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  function digitsFor(value) {
    var size = Math.abs(value);
    if (size >= 100 || Number.isInteger(value)) return 0;
    return size >= 10 ? 1 : 2;
  }

  // The "level" unit: a verdict as a number (validation readiness).
  var LEVEL_NAMES = { 0: "Not ready", 1: "Conditional", 2: "Ready" };

  /** A value with its unit ("812 ms", "97.5%", "42 s", "3", "Ready"); "No data" for null. */
  function formatValue(value, unit) {
    if (value === null || value === undefined) return "No data";
    if (unit === "ratio") return number(value * 100, 1) + "%";
    if (unit === "level" && LEVEL_NAMES[value]) return LEVEL_NAMES[value];
    var text = number(value, digitsFor(value));
    if (unit === "ms" || unit === "s") return text + NBSP + unit;
    return text;
  }

  /** The short form for an axis ("800", "95%"; "5k" on an axis that reaches 10,000). */
  function tickValue(value, unit, top) {
    if (unit === "ratio") return number(value * 100, 0) + "%";
    if (unit === "level") return formatValue(value, unit);
    if (top >= 10000 && value) return number(value / 1000, 1) + "k";
    return number(value, digitsFor(value));
  }

  function unitName(unit) {
    var names = { ratio: "%", ms: "ms", s: "seconds", count: "count", level: "" };
    return unit in names ? names[unit] : unit || "";
  }

  function clock(date) {
    return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function dayLabel(date) {
    return date.toLocaleDateString("en-US", { weekday: "short", day: "numeric" });
  }

  function stamp(date) {
    var today = new Date().toDateString() === date.toDateString();
    return (today ? "" : dayLabel(date) + " ") + clock(date);
  }

  // --- Scales -------------------------------------------------------------------------

  function niceStep(span, count) {
    var raw = span / count;
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= raw) return steps[i] * power;
    }
    return 10 * power;
  }

  /** Value ticks from 0 up past the largest value or threshold. */
  function valueTicks(metric, points) {
    if (metric.unit === "ratio") return [0, 0.25, 0.5, 0.75, 1];
    if (metric.unit === "level") return [0, 1, 2];
    var top = 0;
    points.forEach(function (p) {
      if (p.value !== null && p.value > top) top = p.value;
    });
    // The scale reaches the first threshold, and the second when it is not far beyond:
    // a critical line ten times higher would flatten the values to the floor.
    var rule = metric.rule || {};
    var first = typeof rule.warning === "number" ? rule.warning : rule.critical;
    if (typeof first === "number" && first > top) top = first;
    if (typeof rule.critical === "number" && rule.critical > top && rule.critical <= top * 1.5) {
      top = rule.critical;
    }
    if (!(top > 0)) top = metric.unit === "count" ? 4 : 1;
    var step = niceStep(top, 4);
    if (metric.unit === "count") step = Math.max(1, Math.ceil(step));
    var ticks = [0];
    while (ticks[ticks.length - 1] < top - step * 1e-6) ticks.push(ticks.length * step);
    return ticks;
  }

  /** Time ticks at whole local hours (a day) or midnights (a week). */
  function timeTicks(since, until, plotWidth) {
    var ticks = [];
    var span = until - since;
    var date = new Date(since);
    if (span > 2 * DAY) {
      date.setHours(24, 0, 0, 0);
      var every = plotWidth < 420 ? 2 : 1;
      for (var i = 0; date.getTime() < until; i++, date.setDate(date.getDate() + 1)) {
        if (i % every === 0) ticks.push({ t: date.getTime(), label: dayLabel(date) });
      }
      return ticks;
    }
    var hours = plotWidth < 360 ? 6 : plotWidth < 560 ? 4 : 3;
    date.setMinutes(0, 0, 0);
    date.setHours(date.getHours() + 1);
    while (date.getHours() % hours) date.setHours(date.getHours() + 1);
    for (; date.getTime() < until; date.setHours(date.getHours() + hours)) {
      ticks.push({ t: date.getTime(), label: clock(date) });
    }
    return ticks;
  }

  // --- Drawing --------------------------------------------------------------------------

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** A horizontal line across the plot at height ``at``. */
  function across(f, className, at) {
    return el("line", { class: className, x1: f.left, x2: f.left + f.width, y1: at, y2: at });
  }

  /** Runs of consecutive values: broken at a null and where samples are missing. */
  function segments(points, maxGap) {
    var runs = [];
    var run = [];
    var last = null;
    points.forEach(function (p) {
      var gap = last !== null && p.t - last > maxGap;
      if (p.value === null || gap) {
        if (run.length) runs.push(run);
        run = [];
      }
      if (p.value !== null) run.push(p);
      last = p.t;
    });
    if (run.length) runs.push(run);
    return runs;
  }

  /** At most a lowest and a highest value per pixel column, in time order: a week of
   * minutes draws as fast as a day, and a spike still shows. */
  function thin(run, x) {
    if (run.length < 400) return run;
    var out = [];
    var column = null;
    var low = null;
    var high = null;
    function flush() {
      if (low === null) return;
      if (low === high) out.push(low);
      else if (low.t < high.t) out.push(low, high);
      else out.push(high, low);
    }
    run.forEach(function (p) {
      var c = Math.round(x(p.t));
      if (c !== column) {
        flush();
        column = c;
        low = high = p;
      } else {
        if (p.value < low.value) low = p;
        if (p.value > high.value) high = p;
      }
    });
    flush();
    return out;
  }

  function usualSpacing(points, sampleEveryMs) {
    var diffs = [];
    for (var i = 1; i < points.length; i++) diffs.push(points[i].t - points[i - 1].t);
    diffs.sort(function (a, b) {
      return a - b;
    });
    var median = diffs.length ? diffs[Math.floor(diffs.length / 2)] : 0;
    return Math.max(median, sampleEveryMs || 0);
  }

  function summary(metric, points, rangeLabel) {
    var values = points.filter(function (p) {
      return p.value !== null;
    });
    var text = metric.label + ", " + rangeLabel + ": ";
    var rule = metric.rule || {};
    var limits = ["warning", "critical"]
      .filter(function (level) {
        return typeof rule[level] === "number";
      })
      .map(function (level) {
        return level + " at " + formatValue(rule[level], metric.unit);
      });
    var tail = limits.length ? " Thresholds: " + limits.join(", ") + "." : "";
    if (!values.length) return text + "no values." + tail;
    var high = values.reduce(function (a, p) {
      return p.value > a.value ? p : a;
    });
    var low = values.reduce(function (a, p) {
      return p.value < a.value ? p : a;
    });
    var latest = values[values.length - 1];
    return (
      text +
      values.length + " samples with a value, latest " + formatValue(latest.value, metric.unit) +
      " at " + stamp(new Date(latest.t)) + ", lowest " + formatValue(low.value, metric.unit) +
      ", highest " + formatValue(high.value, metric.unit) + "." + tail
    );
  }

  /** The plot's geometry: where it sits in the SVG, and value and time to pixels. */
  function frame(width, labels, top, range) {
    var longest = labels.reduce(function (n, s) {
      return Math.max(n, s.length);
    }, 1);
    var f = { left: 14 + longest * 7.5, top: PAD.top, height: HEIGHT - PAD.top - PAD.bottom };
    f.width = width - f.left - PAD.right;
    f.base = f.top + f.height;
    f.x = function (t) {
      return f.left + ((t - range.since) / (range.until - range.since)) * f.width;
    };
    f.y = function (v) {
      return f.base - (Math.min(v, top) / top) * f.height;
    };
    return f;
  }

  /**
   * Draw ``metric`` (an item of the dashboard's metrics) into ``box``.
   * ``points``: [{t: ms since epoch, value: number|null}], oldest first;
   * ``range``: {since, until, label} in ms; ``sampleEveryS``: the sampling period.
   */
  function draw(box, metric, points, range, sampleEveryS) {
    var width = Math.max(260, Math.round(box.clientWidth || 480));
    var ticks = valueTicks(metric, points);
    var top = ticks[ticks.length - 1];
    var labels = ticks.map(function (v) {
      return tickValue(v, metric.unit, top);
    });
    var f = frame(width, labels, top, range);
    var svg = el("svg", {
      class: "chart", width: width, height: HEIGHT, viewBox: "0 0 " + width + " " + HEIGHT,
      role: "img",
    });
    svg.append(el("title", {}, summary(metric, points, range.label)));
    drawValueAxis(svg, f, ticks, labels, metric.unit);
    drawTimeAxis(svg, f, range);
    var lines = thresholds(metric.rule, f.y).filter(function (line) {
      return line.value <= top || offScale(svg, f, line, metric.unit);
    });
    drawThresholdLines(svg, f, lines);
    var values = points.filter(function (p) {
      return p.value !== null && p.t >= range.since && p.t <= range.until;
    });
    if (values.length) {
      var maxGap = usualSpacing(points, sampleEveryS * 1000) * 2.5;
      drawValues(svg, f, points, maxGap, metric.unit === "count" || metric.unit === "level");
    } else {
      var why = points.length ? "Nothing to measure in this period" : "No samples in this period";
      drawEmpty(svg, f, lines, why);
    }
    drawThresholdLabels(svg, lines, f.left, metric.unit);
    addReadout(box, svg, metric, values, f);
    box.replaceChildren(svg);
  }

  /** Gridlines with their values, and the unit above them. */
  function drawValueAxis(svg, f, ticks, labels, unit) {
    ticks.forEach(function (v, i) {
      var at = f.y(v);
      svg.append(across(f, "chart-grid", at));
      svg.append(el("text", { class: "chart-tick", x: f.left - 8, y: at + 4, "text-anchor": "end" }, labels[i]));
    });
    svg.append(el("text", { class: "chart-unit", x: 2, y: 12 }, unitName(unit)));
  }

  function drawTimeAxis(svg, f, range) {
    svg.append(across(f, "chart-axis", f.base));
    timeTicks(range.since, range.until, f.width).forEach(function (tick) {
      var at = f.x(tick.t);
      svg.append(el("line", { class: "chart-axis", x1: at, x2: at, y1: f.base, y2: f.base + 5 }));
      if (at > f.left + 16 && at < f.left + f.width - 16) {
        var label = { class: "chart-tick", x: at, y: f.base + 20, "text-anchor": "middle" };
        svg.append(el("text", label, tick.label));
      }
    });
  }

  /** A line per run of values, a dot for a value alone, a larger dot on the newest. */
  function drawValues(svg, f, points, maxGap, steps) {
    var last = null;
    segments(points, maxGap).forEach(function (run) {
      last = run[run.length - 1];
      if (run.length === 1) {
        svg.append(el("circle", { class: "chart-dot", cx: f.x(last.t), cy: f.y(last.value), r: 3 }));
        return;
      }
      var d = thin(run, f.x).map(function (p, i) {
        var x = f.x(p.t).toFixed(1);
        var y = f.y(p.value).toFixed(1);
        if (!i) return "M" + x + " " + y;
        // Counts and verdicts hold until the next sample: steps, not slopes.
        return steps ? "H" + x + "V" + y : "L" + x + " " + y;
      });
      svg.append(el("path", { class: "chart-line", d: d.join("") }));
    });
    svg.append(el("circle", { class: "chart-last", cx: f.x(last.t), cy: f.y(last.value), r: 4 }));
  }

  function thresholds(rule, y) {
    if (!rule) return [];
    return ["warning", "critical"]
      .filter(function (level) {
        return typeof rule[level] === "number";
      })
      .map(function (level) {
        return { level: level, at: y(rule[level]), value: rule[level], direction: rule.direction };
      });
  }

  /** "warning 1,500 ms"; between two verdicts, "warning below Ready". */
  function thresholdText(line, unit) {
    if (unit === "level" && !Number.isInteger(line.value)) {
      var below = line.direction === "below";
      var name = LEVEL_NAMES[below ? Math.ceil(line.value) : Math.floor(line.value)];
      if (name) return line.level + (below ? " below " : " above ") + name;
    }
    return line.level + " " + formatValue(line.value, unit);
  }

  /** A threshold above the scale is named at the top instead of drawn; false. */
  function offScale(svg, f, line, unit) {
    var text = "\u2191 " + thresholdText(line, unit) + ", above the scale";
    var label = {
      class: "chart-threshold-label chart-threshold-label-" + line.level,
      x: f.left + f.width, y: 12, "text-anchor": "end",
    };
    svg.append(el("text", label, text));
    return false;
  }

  /** Why there is no line, as far as can be from the threshold lines. */
  function drawEmpty(svg, f, lines, text) {
    var at = clearOf(lines, f.top, f.height) + 5;
    var where = { class: "chart-empty", x: f.left + f.width / 2, y: at, "text-anchor": "middle" };
    svg.append(el("text", where, text));
  }

  /** A height in the plot as far as can be from every threshold line. */
  function clearOf(lines, top, height) {
    var best = top + height / 2;
    var bestDistance = -1;
    [0.5, 0.3, 0.7, 0.15, 0.85].forEach(function (share) {
      var at = top + height * share;
      var distance = lines.reduce(function (d, line) {
        return Math.min(d, Math.abs(line.at - at));
      }, Infinity);
      if (distance > bestDistance + 8) {
        best = at;
        bestDistance = distance;
      }
    });
    return best;
  }

  function drawThresholdLines(svg, f, lines) {
    lines.forEach(function (line) {
      svg.append(across(f, "chart-threshold chart-threshold-" + line.level, line.at));
    });
  }

  /** The labels go over the data (with a halo), so a line never hides them, and at the
   * left end: the newest values are on the right. Each sits above its line, unless the
   * line is at the top of the plot or another label is in the way: then below it. */
  function drawThresholdLabels(svg, lines, left, unit) {
    var placed = lines
      .map(function (line) {
        return { line: line, y: line.at - PAD.top < 14 ? line.at + 13 : line.at - 4 };
      })
      .sort(function (a, b) {
        return a.y - b.y;
      });
    placed.forEach(function (label, i) {
      var above = placed[i - 1];
      if (above && label.y - above.y < 13) label.y = Math.max(label.line.at + 13, above.y + 13);
      svg.append(el("text", {
        class: "chart-threshold-label chart-threshold-label-" + label.line.level,
        x: left + 6, y: label.y,
      }, thresholdText(label.line, unit)));
    });
  }

  /** The nearest sample to the pointer: a guide line and its time and value. A redraw
   * (a new sample arrived) keeps it where the pointer is. */
  function addReadout(box, svg, metric, values, f) {
    if (!values.length) return;
    var group = el("g", { class: "chart-readout", visibility: "hidden", "aria-hidden": "true" });
    var guide = el("line", { class: "chart-guide", y1: f.top, y2: f.top + f.height });
    var dot = el("circle", { class: "chart-last", r: 4 });
    var label = el("text", { class: "chart-readout-text", y: f.top - 8 });
    group.append(guide, dot, label);
    var area = el("rect", {
      class: "chart-hit", x: f.left, y: f.top, width: f.width, height: f.height,
    });
    svg.append(group, area);
    function showAt(px) {
      var nearest = values[0];
      values.forEach(function (p) {
        if (Math.abs(f.x(p.t) - px) < Math.abs(f.x(nearest.t) - px)) nearest = p;
      });
      var cx = f.x(nearest.t);
      guide.setAttribute("x1", cx);
      guide.setAttribute("x2", cx);
      dot.setAttribute("cx", cx);
      dot.setAttribute("cy", f.y(nearest.value));
      var value = formatValue(nearest.value, metric.unit);
      label.textContent = stamp(new Date(nearest.t)) + " \u00b7 " + value;
      var third = f.width / 3;
      var anchor = cx < f.left + third ? "start" : cx > f.left + 2 * third ? "end" : "middle";
      label.setAttribute("text-anchor", anchor);
      label.setAttribute("x", cx);
      group.setAttribute("visibility", "visible");
    }
    function follow(event) {
      box.pointerX = event.clientX - svg.getBoundingClientRect().left;
      showAt(box.pointerX);
    }
    area.addEventListener("pointermove", follow);
    area.addEventListener("pointerdown", follow);
    area.addEventListener("pointerleave", function () {
      box.pointerX = null;
      group.setAttribute("visibility", "hidden");
    });
    if (typeof box.pointerX === "number") showAt(box.pointerX);
  }

  window.LineLeadChart = {
    draw: draw,
    formatValue: formatValue,
    stamp: stamp,
    clock: clock,
  };
})();
