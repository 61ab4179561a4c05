// The app's charts, drawn by uPlot (static/vendor/uplot/): one metric over time on the
// monitoring page, and the validation score run after run. uPlot scales, draws the
// line and follows the pointer; ours is what it cannot know: the axes in our units and
// words, the thresholds as dashed lines with their labels, a gap wherever nothing
// happened (no point, not a zero), why a chart is empty, a readout of the value under
// the pointer, a sentence for screen readers, and for runs a link on each dot.
// LineLeadCharts.metric() and .runs() draw; a second call on the same box updates the
// chart in place (the pointer's readout stays). Colours come from app.css (.chart).
(function () {
  "use strict";

  var HOUR = 3600 * 1000;
  var DAY = 24 * HOUR;
  var NBSP = "\u00a0";
  var PAD = { top: 24, right: 12 }; // room for the unit, the readout and off-scale labels

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

  function shortDate(date) {
    return date.toLocaleDateString("en-GB", { day: "numeric", month: "short" });
  }

  /** "6 Dec, 14:05": when a run was. */
  function runStamp(date) {
    return shortDate(date) + ", " + clock(date);
  }

  /** "14:05" today, "Sat 6 14:05" another day. */
  function stamp(date) {
    var today = new Date().toDateString() === date.toDateString();
    return (today ? "" : dayLabel(date) + " ") + clock(date);
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
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

  /** Value ticks from 0 up past the largest value and the first threshold. */
  function valueTicks(unit, values, thresholds) {
    if (unit === "ratio") return [0, 0.25, 0.5, 0.75, 1];
    if (unit === "level") return [0, 1, 2];
    var top = Math.max.apply(null, [0].concat(values));
    // The scale reaches the first threshold, and the second when it is not far beyond:
    // a critical line ten times higher would flatten the values to the floor.
    var first = thresholds[0];
    var second = thresholds[1];
    if (first && first.value > top) top = first.value;
    if (second && second.value > top && second.value <= top * 1.5) top = second.value;
    if (!(top > 0)) top = unit === "count" ? 4 : 1;
    var step = niceStep(top, 4);
    if (unit === "count") step = Math.max(1, Math.ceil(step));
    var ticks = [0];
    while (ticks[ticks.length - 1] < top - step * 1e-6) ticks.push(ticks.length * step);
    return ticks;
  }

  /** Time ticks at whole local hours (a day) or midnights (a week). */
  function timeTicks(since, until, plotWidth) {
    var ticks = [];
    var date = new Date(since);
    if (until - since > 2 * DAY) {
      date.setHours(24, 0, 0, 0);
      var every = plotWidth < 420 ? 2 : 1;
      for (var i = 0; date.getTime() < until; i++, date.setDate(date.getDate() + 1)) {
        if (i % every === 0) ticks.push(date.getTime());
      }
      return ticks;
    }
    var hours = plotWidth < 360 ? 6 : plotWidth < 560 ? 4 : 3;
    date.setMinutes(0, 0, 0);
    date.setHours(date.getHours() + 1);
    while (date.getHours() % hours) date.setHours(date.getHours() + 1);
    for (; date.getTime() < until; date.setHours(date.getHours() + hours)) {
      ticks.push(date.getTime());
    }
    return ticks;
  }

  /** Runs are spaced evenly; a few get their date under the axis (their time, when all
   * are of one day): the first, the last, and evenly between. */
  function runTicks(runs, plotWidth) {
    var room = Math.max(1, Math.floor(plotWidth / 90));
    var every = Math.max(1, Math.ceil(runs.length / room));
    var last = runs.length - 1;
    var ticks = [];
    for (var i = 0; i < last; i += every) {
      if (i === 0 || last - i >= every) ticks.push(i); // clear of the last
    }
    return ticks.concat(last);
  }

  // --- The chart ----------------------------------------------------------------------

  function make(name, className, text) {
    var node = document.createElement(name);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** A colour of app.css's .chart rules (--chart-line, --chart-warning, ...). */
  function colour(box, name) {
    return getComputedStyle(box).getPropertyValue("--chart-" + name).trim();
  }

  function plotWidth(u) {
    return u.bbox.width / uPlot.pxRatio;
  }

  /**
   * Draw ``spec`` into ``box``, or update the chart already there. A spec says:
   * xs, ys (numbers, null for no value), xRange [min, max], yTicks (the last is the
   * top), yLabel(v), xSplits(u) and xLabel(x) for the axes, unit (above the values),
   * thresholds [{level, value, text}], steps (hold a value until the next), dots (on
   * the values no line reaches, and on the newest), empty (why there is nothing to
   * draw), readout(i), summary, marks (per value: {href, label, level, current}), height.
   */
  function draw(box, spec) {
    var width = Math.max(260, Math.round(box.clientWidth || 480));
    var chart = box.lineLeadChart;
    if (chart && chart.spec.steps === spec.steps && chart.spec.height === spec.height) {
      chart.spec = spec;
      if (chart.u.width !== width) chart.u.setSize({ width: width, height: spec.height });
      chart.u.setData([spec.xs, spec.ys]);
    } else {
      if (chart) chart.u.destroy();
      chart = box.lineLeadChart = build(box, spec, width);
    }
    chart.summary.textContent = spec.summary;
  }

  function build(box, spec, width) {
    box.classList.add("chart"); // app.css gives it the colours read here
    var chart = { spec: spec, marks: [], summary: make("p", "visually-hidden chart-summary") };
    var layer = (chart.layer = make("div", "chart-layer"));
    var readout = (chart.readout = make("div", "chart-readout"));
    var guide = (chart.guide = make("div", "chart-guide"));
    layer.setAttribute("aria-hidden", "true");
    readout.setAttribute("aria-hidden", "true");
    readout.hidden = guide.hidden = true;
    var holder = make("div");
    box.replaceChildren(chart.summary, holder);
    var text = { font: "12px " + getComputedStyle(box).fontFamily, stroke: colour(box, "text") };
    var line = colour(box, "line");
    var options = {
      width: width,
      height: spec.height,
      padding: [PAD.top, PAD.right, 0, 0],
      legend: { show: false },
      cursor: {
        x: false,
        y: false,
        drag: { x: false, y: false, setScale: false }, // no zoom
        hover: { skip: [null, undefined] }, // the nearest value, never a gap
        points: { size: 10, width: 2, stroke: "#fff", fill: line },
      },
      scales: {
        x: { time: false, range: function () { return chart.spec.xRange; } },
        y: { range: function () { return [0, top(chart.spec)]; } },
      },
      axes: [
        timeAxis(chart, text, colour(box, "axis")),
        valueAxis(chart, text, colour(box, "grid")),
      ],
      series: [{}, {
        stroke: line,
        width: 2,
        paths: spec.steps ? uPlot.paths.stepped({ align: 1 }) : uPlot.paths.linear(),
        points: {
          show: false, size: 9, width: 2, stroke: "#fff", fill: line,
          filter: function (u) {
            return chart.spec.dots ? lonely(u.data[1]) : null;
          },
        },
      }],
      hooks: {
        init: [function (u) { u.over.append(guide, layer, readout); }],
        drawAxes: [function (u) { drawThresholds(u, chart, box); }],
        draw: [function (u) { annotate(u, chart); }],
        setCursor: [function (u) { showReadout(u, chart); }],
      },
    };
    chart.u = new uPlot(options, [spec.xs, spec.ys], holder);
    return chart;
  }

  function top(spec) {
    return spec.yTicks[spec.yTicks.length - 1];
  }

  /** Along the bottom: times or runs, labels from the spec, no vertical grid. */
  function timeAxis(chart, text, stroke) {
    return {
      font: text.font, stroke: text.stroke, size: 30, gap: 4,
      grid: { show: false },
      ticks: { size: 5, width: 1, stroke: stroke },
      border: { show: true, width: 1, stroke: stroke },
      splits: function (u) {
        return chart.spec.xSplits(u);
      },
      // No hour or day label where it would run past either end of the plot.
      filter: function (u, splits) {
        return splits.map(function (x) {
          var at = u.valToPos(x, "x");
          return chart.spec.edgeLabels || (at >= 16 && at <= plotWidth(u) - 16) ? x : null;
        });
      },
      values: function (u, splits) {
        return splits.map(function (x) {
          return x === null ? "" : chart.spec.xLabel(x);
        });
      },
    };
  }

  /** Up the side: the spec's ticks as gridlines, the axis as wide as its labels. */
  function valueAxis(chart, text, grid) {
    return {
      font: text.font, stroke: text.stroke, gap: 8,
      size: function (u, values) {
        var longest = (values || []).reduce(function (n, s) {
          return Math.max(n, String(s).length);
        }, 1);
        return 14 + longest * 7.5;
      },
      grid: { width: 1, stroke: grid },
      ticks: { show: false },
      splits: function () {
        return chart.spec.yTicks;
      },
      values: function (u, splits) {
        return splits.map(chart.spec.yLabel);
      },
    };
  }

  /** The values with no value beside them (no line reaches them) and the newest. */
  function lonely(ys) {
    var found = [];
    var newest = null;
    ys.forEach(function (y, i) {
      if (y === null) return;
      newest = i;
      if ((i === 0 || ys[i - 1] === null) && (i === ys.length - 1 || ys[i + 1] === null)) {
        found.push(i);
      }
    });
    if (newest !== null && found[found.length - 1] !== newest) found.push(newest);
    return found;
  }

  function onScale(chart, threshold) {
    return threshold.value <= top(chart.spec);
  }

  /** The thresholds on the scale as dashed lines, over the grid and under the values. */
  function drawThresholds(u, chart, box) {
    var ctx = u.ctx;
    var ratio = uPlot.pxRatio;
    ctx.save();
    ctx.lineWidth = 1.5 * ratio;
    ctx.setLineDash([6 * ratio, 4 * ratio]);
    chart.spec.thresholds.filter(onScale.bind(null, chart)).forEach(function (threshold) {
      var y = Math.round(u.valToPos(threshold.value, "y", true)) + 0.5;
      ctx.strokeStyle = colour(box, threshold.level);
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
    });
    ctx.restore();
  }

  /** What is written on the plot, laid out again after each redraw: the unit, the
   * thresholds' labels, why it is empty, and the marks. Coordinates are the plot's. */
  function annotate(u, chart) {
    var spec = chart.spec;
    var h = u.bbox.height / uPlot.pxRatio;
    var items = [];
    if (spec.unit) {
      var unit = make("span", "chart-unit", spec.unit);
      unit.style.left = 2 - u.bbox.left / uPlot.pxRatio + "px"; // over the values' axis
      unit.style.top = -PAD.top + "px";
      items.push(unit);
    }
    var lines = [];
    spec.thresholds.forEach(function (threshold) {
      if (onScale(chart, threshold)) {
        lines.push({ threshold: threshold, at: u.valToPos(threshold.value, "y") });
        return;
      }
      // Above the scale: named at the top instead of drawn.
      var text = "\u2191 " + threshold.text + ", above the scale";
      var label = make("span", labelClass(threshold) + " chart-off-scale", text);
      label.style.right = "0";
      label.style.top = -PAD.top + 2 + "px";
      items.push(label);
    });
    items = items.concat(thresholdLabels(lines));
    var shown = spec.ys.some(function (y, i) {
      return y !== null && spec.xs[i] >= spec.xRange[0] && spec.xs[i] <= spec.xRange[1];
    });
    if (!shown && spec.empty) {
      var empty = make("span", "chart-empty", spec.empty);
      empty.style.top = clearOf(lines, h) + "px";
      items.push(empty);
    }
    chart.layer.replaceChildren.apply(chart.layer, items);
    placeMarks(u, chart);
  }

  function labelClass(threshold) {
    return "chart-threshold-label chart-threshold-label-" + threshold.level;
  }

  /** The labels go over the data (with a halo), so a line never hides them, and at the
   * left end: the newest values are on the right. Each sits above its line, unless the
   * line is at the top of the plot or another label is in the way: then below it. */
  function thresholdLabels(lines) {
    var placed = lines
      .map(function (line) {
        return { line: line, y: line.at < 14 ? line.at + 2 : line.at - 16 };
      })
      .sort(function (a, b) {
        return a.y - b.y;
      });
    return placed.map(function (label, i) {
      var above = placed[i - 1];
      if (above && label.y - above.y < 14) label.y = Math.max(label.line.at + 2, above.y + 14);
      var node = make("span", labelClass(label.line.threshold), label.line.threshold.text);
      node.style.left = "6px";
      node.style.top = label.y + "px";
      return node;
    });
  }

  /** A height in the plot as far as can be from every threshold line. */
  function clearOf(lines, height) {
    var best = height / 2;
    var bestDistance = -1;
    [0.5, 0.3, 0.7, 0.15, 0.85].forEach(function (share) {
      var at = height * share;
      var distance = lines.reduce(function (d, line) {
        return Math.min(d, Math.abs(line.at - at));
      }, Infinity);
      if (distance > bestDistance + 8) {
        best = at;
        bestDistance = distance;
      }
    });
    return best - 10;
  }

  /** A link per value, as a dot (a run and its report); kept between redraws, so the
   * keyboard stays on the one it is on. Focus shows its readout as hovering does. */
  function placeMarks(u, chart) {
    var marks = chart.spec.marks || [];
    while (chart.marks.length > marks.length) chart.marks.pop().remove();
    marks.forEach(function (mark, i) {
      var link = chart.marks[i];
      if (!link) {
        link = chart.marks[i] = make("a", "chart-mark-link");
        link.append(make("span", "chart-mark"));
        link.addEventListener("focus", function () {
          u.setCursor({ left: u.valToPos(u.data[0][i], "x"), top: u.valToPos(u.data[1][i], "y") });
        });
        link.addEventListener("blur", function () {
          u.setCursor({ left: -10, top: -10 });
        });
        u.over.append(link);
      }
      link.href = mark.href;
      link.setAttribute("aria-label", mark.label);
      link.firstChild.className =
        "chart-mark chart-mark-" + (mark.level || "none") + (mark.current ? " is-current" : "");
      link.style.left = u.valToPos(u.data[0][i], "x") + "px";
      link.style.top = u.valToPos(u.data[1][i], "y") + "px";
    });
  }

  /** The value nearest the pointer: a guide line, uPlot's dot, and its time and value
   * over the plot, at the left, the middle or the right as the pointer is. */
  function showReadout(u, chart) {
    var i = u.cursor.idxs ? u.cursor.idxs[1] : null;
    var off = i === null || i === undefined || u.cursor.left < 0;
    chart.readout.hidden = off;
    chart.guide.hidden = off;
    u.over.classList.toggle("is-reading", !off); // the readout covers off-scale labels
    if (off) return;
    var x = u.valToPos(u.data[0][i], "x");
    var third = plotWidth(u) / 3;
    chart.guide.style.left = x + "px";
    chart.readout.textContent = chart.spec.readout(i);
    chart.readout.style.top = -PAD.top + 2 + "px";
    chart.readout.style.left = x + "px";
    chart.readout.dataset.anchor = x < third ? "start" : x > 2 * third ? "end" : "middle";
  }

  // --- A metric over time (monitoring) ---------------------------------------------------

  function thresholdsOf(rule) {
    if (!rule) return [];
    return ["warning", "critical"]
      .filter(function (level) {
        return typeof rule[level] === "number";
      })
      .map(function (level) {
        return { level: level, value: rule[level], direction: rule.direction };
      });
  }

  /** "warning 1,500 ms"; between two verdicts, "warning below Ready". */
  function thresholdText(threshold, unit) {
    if (unit === "level" && !Number.isInteger(threshold.value)) {
      var below = threshold.direction === "below";
      var name = LEVEL_NAMES[below ? Math.ceil(threshold.value) : Math.floor(threshold.value)];
      if (name) return threshold.level + (below ? " below " : " above ") + name;
    }
    return threshold.level + " " + formatValue(threshold.value, unit);
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

  /** The points as uPlot's columns, with a null wherever samples are missing (the
   * sampler was down): a gap in the line, as for a time with nothing to measure. */
  function columns(points, maxGap) {
    var xs = [];
    var ys = [];
    points.forEach(function (p, i) {
      var before = points[i - 1];
      if (before && p.t - before.t > maxGap) {
        xs.push((before.t + p.t) / 2);
        ys.push(null);
      }
      xs.push(p.t);
      ys.push(p.value);
    });
    return { xs: xs, ys: ys };
  }

  function metricSummary(metric, values, range, thresholds) {
    var text = metric.label + ", " + range.label + ": ";
    var limits = thresholds.map(function (threshold) {
      return threshold.level + " at " + formatValue(threshold.value, metric.unit);
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
      text + plural(values.length, "value") + ", latest " +
      formatValue(latest.value, metric.unit) + " at " + stamp(new Date(latest.t)) +
      ", lowest " + formatValue(low.value, metric.unit) + ", highest " +
      formatValue(high.value, metric.unit) + "." + tail
    );
  }

  /**
   * Draw ``metric`` ({label, unit, rule}) into ``box``. ``points``: [{t: ms since epoch,
   * value: number|null}], oldest first; ``range``: {since, until, label} in ms;
   * ``sampleEveryS``: the sampling period.
   */
  function metric(box, metric, points, range, sampleEveryS) {
    var unit = metric.unit;
    var thresholds = thresholdsOf(metric.rule);
    thresholds.forEach(function (threshold) {
      threshold.text = thresholdText(threshold, unit);
    });
    var values = points.filter(function (p) {
      return p.value !== null && p.t >= range.since && p.t <= range.until;
    });
    var ticks = valueTicks(unit, values.map(function (p) { return p.value; }), thresholds);
    var top = ticks[ticks.length - 1];
    var data = columns(points, usualSpacing(points, sampleEveryS * 1000) * 2.5);
    draw(box, {
      height: 200,
      xs: data.xs,
      ys: data.ys,
      // A little past the newest time: its dot is drawn whole.
      xRange: [range.since, range.until + (range.until - range.since) / 100],
      xSplits: function (u) {
        return timeTicks(range.since, range.until, plotWidth(u));
      },
      xLabel: function (t) {
        return range.until - range.since > 2 * DAY ? dayLabel(new Date(t)) : clock(new Date(t));
      },
      yTicks: ticks,
      yLabel: function (v) {
        return tickValue(v, unit, top);
      },
      unit: unitName(unit),
      thresholds: thresholds,
      // Counts and verdicts hold until the next sample: steps, not slopes.
      steps: unit === "count" || unit === "level",
      dots: true,
      empty: points.length ? "Nothing to measure in this period" : "No samples in this period",
      readout: function (i) {
        return stamp(new Date(data.xs[i])) + " \u00b7 " + formatValue(data.ys[i], unit);
      },
      summary: metricSummary(metric, values, range, thresholds),
    });
  }

  // --- Validation scores run after run -------------------------------------------------

  var READINESS_LEVEL = { READY: "ok", CONDITIONAL: "warning", "NOT READY": "critical" };

  function runsSummary(runs, ready, conditional) {
    var last = runs[runs.length - 1];
    var scores = runs.map(function (run) {
      return run.score;
    });
    return (
      "Score of the last " + runs.length + " runs, from " + runStamp(new Date(runs[0].at)) +
      " to " + runStamp(new Date(last.at)) + ": latest " + last.score.toFixed(1) + " (" +
      last.readiness + "), lowest " + Math.min.apply(null, scores).toFixed(1) +
      ", highest " + Math.max.apply(null, scores).toFixed(1) + ". READY from " + ready +
      ", CONDITIONAL from " + conditional + "."
    );
  }

  /**
   * Draw the score of ``runs`` ([{run, score, readiness, at, current}], oldest first),
   * evenly spaced, into ``box``, with the verdicts' thresholds ``limits`` ({ready,
   * conditional}); ``link(run)`` is the address of a run's report. Each dot is a link.
   */
  function runs(box, runs, limits, link) {
    var first = new Date(runs[0].at);
    var oneDay = new Date(runs[runs.length - 1].at).toDateString() === first.toDateString();
    var pad = Math.max(0.3, (runs.length - 1) * 0.05); // the end dots clear of the axes
    var describe = function (run) {
      return "Run " + run.run + ", " + runStamp(new Date(run.at)) + ": score " +
        run.score.toFixed(1) + ", " + run.readiness;
    };
    draw(box, {
      height: 220,
      xs: runs.map(function (run, i) {
        return i;
      }),
      ys: runs.map(function (run) {
        return run.score;
      }),
      xRange: runs.length > 1 ? [-pad, runs.length - 1 + pad] : [-1, 1],
      xSplits: function (u) {
        return runTicks(runs, plotWidth(u));
      },
      xLabel: function (i) {
        var date = new Date(runs[i].at);
        return oneDay ? clock(date) : shortDate(date);
      },
      edgeLabels: true,
      yTicks: [0, 20, 40, 60, 80, 100],
      yLabel: String,
      unit: "",
      thresholds: [
        { level: "ready", value: limits.ready, text: "READY " + limits.ready },
        {
          level: "conditional",
          value: limits.conditional,
          text: "CONDITIONAL " + limits.conditional,
        },
      ],
      steps: false,
      readout: function (i) {
        return describe(runs[i]);
      },
      marks: runs.map(function (run) {
        return {
          href: link(run),
          label: describe(run) + (run.current ? " (this run)" : "") + ": open its report",
          level: READINESS_LEVEL[run.readiness],
          current: run.current,
        };
      }),
      summary: runsSummary(runs, limits.ready, limits.conditional),
    });
  }

  window.LineLeadCharts = {
    metric: metric,
    runs: runs,
    formatValue: formatValue,
    stamp: stamp,
    runStamp: runStamp,
    clock: clock,
  };
})();
