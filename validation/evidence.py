"""A test's evidence (its ``details``) as readable HTML for the report page.

The evidence is whatever a test put in ``details``; it is drawn by its shape (an
answer, a list of citations, records under the same keys as a table, key and value)
rather than test by test, so a new test's evidence shows without a change here.
Everything is escaped; only a snippet's ``<mark>`` survives.
"""

from __future__ import annotations

import json
import re

from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

MAX_TEXT = 1200  # characters of one string shown before it is cut
MAX_ITEMS = 40  # items of one list
MAX_DEPTH = 4
# Evidence keys that say what went wrong: shown in the failure colour. An "error" is one
# only at the top (the test broke); deeper down it is often what a probe expected.
FAILURE_KEYS = {"failed", "failures", "problems", "missing", "why", "wrong"}
TOP_FAILURE_KEYS = {"error", "errors"}
# Parts of an answer (chat.schemas.MessageOut) that are ids and bookkeeping.
ANSWER_NOISE = {"id", "conversation", "role", "reply_to", "created_at", "feedback", "modality"}
_LONG_TOKEN = re.compile(r"[^\s]{25,}")
_BREAK_AFTER = re.compile(r"([/?=_.,])(?=[^\s])")
UNITS = (("_ms", "ms"), ("_s", "s"), ("_mb", "MB"), ("_pct", "%"))


def html(details: dict, base: str = "") -> SafeString:
    """``details`` (minus the recommendation, shown apart) as nested HTML; page links
    of a live run's citations point at ``base``, the deployment that served them."""
    shown = {k: v for k, v in (details or {}).items() if k != "recommendation"}
    if not shown:
        return format_html('<p class="val-none">{}</p>', "No evidence recorded.")
    return _mapping(shown, 0, base)


def _mapping(data: dict, depth: int, base: str) -> SafeString:
    rows = format_html_join(
        "",
        '<div class="{}"><dt>{}</dt><dd>{}</dd></div>',
        ((_pair_class(k, v, depth), _label(k), _value(k, v, depth, base)) for k, v in data.items()),
    )
    return format_html('<dl class="val-dl">{}</dl>', rows)


def _is_failure(key: str, value, depth: int) -> bool:
    name = str(key).lower()
    return bool(value) and (name in FAILURE_KEYS or (depth == 0 and name in TOP_FAILURE_KEYS))


def _pair_class(key: str, value, depth: int = 1) -> str:
    names = ["val-pair"]
    if _is_failure(key, value, depth):
        names.append("is-bad")
    if (isinstance(value, list) and any(isinstance(v, dict) for v in value)) or (
        isinstance(value, dict) and _is_keyed_table(value)
    ):
        names.append("is-wide")  # a table or cards: the whole width, under its name
    elif isinstance(value, dict) or (isinstance(value, str) and len(value) > 60):
        names.append("is-span")  # a whole row of a card
    return " ".join(names)


def _value(key: str, value, depth: int, base: str) -> SafeString:
    if depth > MAX_DEPTH:
        return format_html("<code>{}</code>", _cut(json.dumps(value, default=str)))
    if isinstance(value, dict):
        if _is_citation(value):
            return _citations([value], base)
        if _is_answer(value):
            return _answer(value, depth, base)
        if _is_keyed_table(value):
            return _table([{"": k, **v} for k, v in value.items()], depth, base)
        return _mapping(value, depth + 1, base) if value else _muted("none")
    if isinstance(value, list | tuple):
        return _sequence(key, list(value), depth, base)
    return _scalar(key, value)


def _sequence(key: str, items: list, depth: int, base: str) -> SafeString:
    if not items:
        return _muted("none")
    more = len(items) - MAX_ITEMS
    items = items[:MAX_ITEMS]
    if all(isinstance(i, dict) and _is_citation(i) for i in items):
        body = _citations(items, base)
    elif all(_is_scalar(i) or _is_flat_list(i) for i in items):
        body = format_html_join(
            "", '<li class="val-chip">{}</li>', ((_chip(key, i),) for i in items)
        )
        body = format_html('<ul class="val-chips">{}</ul>', body)
    elif _is_table(items):
        body = _table(items, depth, base)
    else:
        body = format_html_join(
            "", '<li class="val-item">{}</li>', ((_card(key, i, depth, base),) for i in items)
        )
        body = format_html('<ol class="val-items">{}</ol>', body)
    if more > 0:
        body = format_html("{}{}", body, _muted(f"and {more} more"))
    return body


def _card(key: str, item, depth: int, base: str) -> SafeString:
    """One record of a list: what was asked first, then its short fields side by side,
    then the long ones across the card."""
    if not isinstance(item, dict) or not item or _is_citation(item) or _is_answer(item):
        return _value(key, item, depth + 1, base)

    def place(pair):
        name, value = pair
        if name == "question":
            return 0
        return (
            2
            if "is-span" in _pair_class(name, value) or "is-wide" in _pair_class(name, value)
            else 1
        )

    return _mapping(dict(sorted(item.items(), key=place)), depth + 1, base)


def _chip(key: str, item) -> SafeString:
    """One item of a list of plain values; a short list in it (``[file, [pages]]``)
    reads as its parts joined."""
    if isinstance(item, list | tuple):
        return format_html_join(" \u00b7 ", "{}", ((_chip(key, part),) for part in item))
    return _scalar(key, item)


def _scalar(key: str, value) -> SafeString:
    if value is None:
        return _muted("\u2013")
    if isinstance(value, bool):
        return format_html(
            '<span class="val-flag val-flag-{}">{}</span>', str(value).lower(), _yes_no(value)
        )
    if isinstance(value, int | float):
        return format_html('<span class="val-num">{}</span>', _number(key, value))
    text = str(value)
    if not text:
        return _muted("\u2013")
    if key.lower() == "snippet" or "<mark>" in text:
        return format_html('<span class="val-text">{}</span>', _marked(_cut(text)))
    if _is_url(text) and key.lower().endswith("url"):
        return format_html('<a href="{}">{}</a>', text, _cut(text, 80))
    cls = "val-text is-long" if len(text) > 160 or "\n" in text else "val-text"
    return format_html('<span class="{}">{}</span>', cls, _breakable(_cut(text)))


def _answer(answer: dict, depth: int, base: str) -> SafeString:
    """A chat answer: its words, whether it declined, its timings and citations."""
    parts = [format_html('<blockquote class="val-answer">{}</blockquote>', _cut(answer["text"]))]
    rest = {
        k: v for k, v in answer.items() if k not in ANSWER_NOISE and k not in ("text", "citations")
    }
    if rest:
        parts.append(_mapping(rest, depth + 1, base))
    citations = answer.get("citations") or []
    parts.append(_citations(citations, base) if citations else _muted("No citations."))
    return mark_safe("".join(parts))  # every part is escaped above


def _citations(citations: list[dict], base: str) -> SafeString:
    cards = format_html_join("", "{}", ((_citation(c, base),) for c in citations))
    return format_html('<ul class="citation-list val-citations">{}</ul>', cards)


def _citation(citation: dict, base: str) -> SafeString:
    title = citation.get("title") or citation.get("filename") or "A document"
    pages = citation.get("pages") or []
    where = ("pp. " if len(pages) > 1 else "p. ") + ", ".join(str(p) for p in pages)
    thumb = _link(citation.get("thumbnail_url"), base)
    image = _link(citation.get("image_url"), base) or thumb
    picture = (
        format_html('<img src="{}" alt="" loading="lazy" width="104" height="135">', thumb)
        if thumb
        else ""
    )
    extra = {
        k: v
        for k, v in citation.items()
        if k not in {"title", "filename", "pages", "snippet", "thumbnail_url", "image_url"}
        and k not in {"rank", "document_id", "chunk_id", "heading", "score"}
    }
    body = format_html(
        '<span class="citation-thumb">{}</span><span class="citation-body">'
        '<span class="citation-title">{}</span><span class="citation-where">'
        '<span class="citation-pages">{}</span>{}</span>'
        '<span class="citation-snippet">{}</span>{}</span>',
        picture,
        title,
        where if pages else "",
        format_html('<span class="citation-heading">{}</span>', citation["heading"])
        if citation.get("heading")
        else "",
        _marked(_cut(str(citation.get("snippet") or ""))),
        _mapping(extra, MAX_DEPTH, base) if extra else "",
    )
    if image:
        label = f"Open page {where.split(' ', 1)[-1]} of {title}" if pages else f"Open {title}"
        card = format_html(
            '<a class="citation-card" href="{}" target="_blank" rel="noopener" '
            'aria-label="{}">{}</a>',
            image,
            label,
            body,
        )
    else:
        card = format_html('<div class="citation-card no-thumb">{}</div>', body)
    return format_html('<li class="citation">{}</li>', card)


def _table(rows: list[dict], depth: int, base: str) -> SafeString:
    """Rows under the same few keys: a column per key, nested values drawn small."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    columns.sort(key=lambda c: (c != "", c != "question"))  # the name, then what was asked
    head = format_html_join("", '<th scope="col">{}</th>', ((_label(c),) for c in columns))
    body = format_html_join(
        "", "<tr>{}</tr>", ((_cells(row, columns, depth, base),) for row in rows)
    )
    return format_html(
        '<div class="table-wrap"><table class="table val-table"><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table></div>",
        head,
        body,
    )


def _cells(row: dict, columns: list[str], depth: int, base: str) -> SafeString:
    def css(column: str, value) -> str:
        names = ["num"] if _is_number(value) else []
        if _is_failure(column, value, depth + 1):
            names.append("is-bad")
        return " ".join(names)

    # data-label: a phone shows each row as a card, its cells under their column's name.
    return format_html_join(
        "",
        '<td class="{}" data-label="{}">{}</td>',
        (
            (
                css(c, row.get(c)),
                _label(c),
                _value(c, row.get(c), depth + 1, base) if c in row else "",
            )
            for c in columns
        ),
    )


# --- small helpers ----------------------------------------------------------------------


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_flat_list(value, depth: int = 0) -> bool:
    """A short list of plain values, or of short lists of them: ``["a.pdf", [1, 2]]``."""
    if not isinstance(value, list | tuple) or len(value) > 6 or depth > 1:
        return False
    return all(_is_scalar(v) or _is_flat_list(v, depth + 1) for v in value)


def _is_table(rows: list) -> bool:
    """Records under a few shared keys (the golden cases a test asked, say) read best
    as a table, one row each."""
    if not all(isinstance(r, dict) and r for r in rows):
        return False
    columns = {k for r in rows for k in r}
    return len(columns) <= 9 and not any(
        _is_answer(v) for r in rows for v in r.values() if isinstance(v, dict)
    )


def _is_keyed_table(value: dict) -> bool:
    """Records by name (``{"empty": {...}, "huge": {...}}``): a table, a row each."""
    rows = list(value.values())
    return len(rows) >= 2 and _is_table(rows) and not any(map(_is_citation, rows))


def _is_citation(value: dict) -> bool:
    return (
        "thumbnail_url" in value or "image_url" in value or {"document_id", "pages"} <= set(value)
    )


def _is_answer(value: dict) -> bool:
    return isinstance(value.get("text"), str) and "citations" in value and "declined" in value


def _is_url(text: str) -> bool:
    return text.startswith(("/", "http://", "https://"))


def _link(url, base: str) -> str:
    """A page link safe to put in ``href``/``src`` (never ``javascript:``)."""
    if not isinstance(url, str) or not _is_url(url):
        return ""
    return base.rstrip("/") + url if base and url.startswith("/") else url


def _label(key: str) -> str:
    for suffix, _unit in UNITS:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    text = key.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def _number(key: str, value: float) -> str:
    unit = next((u for suffix, u in UNITS if key.endswith(suffix)), "")
    if isinstance(value, int):
        text = f"{value:,}"
    elif unit == "ms" or abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    if unit == "%":
        return text + "%"
    return f"{text}\u00a0{unit}" if unit else text


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\u2026 ({len(text) - limit:,} more characters)"


def _breakable(text: str) -> SafeString:
    """Escaped text where a long unbroken run (a URL, a file name) may wrap after its
    slashes, dots and underscores, instead of pushing a table wider than the page."""
    escaped = str(conditional_escape(text))
    return mark_safe(  # escaped first: only <wbr> is added
        _LONG_TOKEN.sub(lambda m: _BREAK_AFTER.sub(r"\1<wbr>", m.group(0)), escaped)
    )


def _marked(text: str) -> SafeString:
    """Escaped text in which only ``<mark>`` and ``</mark>`` stay tags."""
    escaped = str(conditional_escape(text))
    return mark_safe(  # escaped first: only the two mark tags come back
        escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")
    )


def _muted(text: str) -> SafeString:
    return format_html('<span class="val-none">{}</span>', text)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"
