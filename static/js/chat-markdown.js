// The little markdown an answer uses, made safe: the text is HTML-escaped first, then
// **bold**, line breaks, numbered lists (as step cards), bullet lists, headings (as
// bold lines) and citation markers [n] (as chips) are turned into HTML. Nothing else
// is interpreted, so an answer can never inject markup.
(function () {
  "use strict";

  var ITEM_OL = /^\s{0,3}(\d{1,3})[.)]\s+(.*)$/;
  var ITEM_UL = /^\s{0,3}[-*•]\s+(.*)$/;
  var HEADING = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
  var CONTINUED = /^\s{2,}\S/;
  // Citation markers, the shape chat/markers.py gives them (ANY): "[3]", "[1, 2]",
  // "[1–3]", "[^1]". Answers are written with "[n]"; remote models may group them.
  var MARKERS = /\[(\^?\d{1,3}(?:\s*[,–-]\s*\^?\d{1,3})*)\]/g;

  function escapeHtml(text) {
    return text
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function chip(number) {
    return (
      '<button type="button" class="cite-chip" data-cite="' + number + '" ' +
      'aria-label="Source ' + number + '" title="Show source ' + number + '">' + number + "</button>"
    );
  }

  // "1, 2" and "1-3" both become one chip per source.
  function ranks(list) {
    var out = [];
    list.replace(/\^/g, "").split(/\s*,\s*/).forEach(function (part) {
      var range = part.split(/\s*[–-]\s*/);
      var from = Number(range[0]);
      var to = Number(range[range.length - 1]);
      for (var n = from; n <= to && n - from < 10; n += 1) out.push(n);
    });
    return out;
  }

  function inline(text) {
    var html = escapeHtml(text);
    html = html.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>");
    html = html.replace(/\*\*/g, ""); // an unclosed ** (still streaming) shows nothing
    html = html.replace(/(^|[\s(])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, "$1<em>$2</em>");
    return html.replace(MARKERS, function (match, list) {
      return ranks(list).map(chip).join("");
    });
  }

  function parse(text) {
    var lines = text.replace(/\r\n?/g, "\n").split("\n");
    var blocks = [];
    var current = null;
    var gap = false;
    lines.forEach(function (line) {
      var match;
      if (!line.trim()) {
        gap = true;
        if (current && current.type === "p") current = null;
        return;
      }
      var isList = current && (current.type === "ol" || current.type === "ul");
      if ((match = ITEM_OL.exec(line))) {
        if (!current || current.type !== "ol") blocks.push((current = { type: "ol", items: [] }));
        current.items.push({ number: Number(match[1]), text: match[2] });
      } else if ((match = ITEM_UL.exec(line))) {
        if (!current || current.type !== "ul") blocks.push((current = { type: "ul", items: [] }));
        current.items.push({ text: match[1] });
      } else if ((match = HEADING.exec(line))) {
        blocks.push({ type: "h", text: match[1] });
        current = null;
      } else if (isList && !gap && CONTINUED.test(line)) {
        current.items[current.items.length - 1].text += "\n" + line.trim();
      } else if (current && current.type === "p") {
        current.lines.push(line.trim());
      } else {
        blocks.push((current = { type: "p", lines: [line.trim()] }));
      }
      gap = false;
    });
    return blocks;
  }

  function lines(text) {
    return text.split("\n").map(inline).join("<br>");
  }

  function renderBlock(block) {
    if (block.type === "p") return "<p>" + block.lines.map(inline).join("<br>") + "</p>";
    if (block.type === "h") return '<p class="answer-heading"><strong>' + inline(block.text) + "</strong></p>";
    if (block.type === "ul") {
      return '<ul class="bullets">' + block.items.map(function (item) {
        return "<li>" + lines(item.text) + "</li>";
      }).join("") + "</ul>";
    }
    var start = block.items[0].number;
    return '<ol class="steps" start="' + start + '">' + block.items.map(function (item) {
      return (
        '<li class="step"><span class="step-number" aria-hidden="true">' + item.number +
        '</span><div class="step-text">' + lines(item.text) + "</div></li>"
      );
    }).join("") + "</ol>";
  }

  /** HTML for an answer's text. */
  function render(text) {
    return parse(text || "").map(renderBlock).join("");
  }

  /** The answer as plain text: markers and markdown marks removed. */
  function plain(text) {
    return (text || "")
      .replace(MARKERS, "")
      .replace(/\*\*/g, "")
      .replace(/^\s{0,3}#{1,6}\s+/gm, "")
      .replace(/[ \t]+([.,;:!?])/g, "$1")
      .replace(/[ \t]{2,}/g, " ")
      .trim();
  }

  window.LineLeadChat = window.LineLeadChat || {};
  window.LineLeadChat.markdown = { render: render, plain: plain, escape: escapeHtml };
})();
