"""Trigram language models in ARPA form, written here rather than by a toolkit.

Interpolated Kneser-Ney with one absolute discount. Each explicit n-gram carries its
interpolated probability and each history the weight it hands to the lower order, so
a decoder that backs off (pocketsphinx) computes exactly the interpolated model.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

DISCOUNT = 0.7


def arpa_text(
    sentences: list[str],
    vocabulary: list[str],
    prior: dict[str, float] | None = None,
    prior_weight: float = 0.0,
) -> str:
    """An interpolated Kneser-Ney trigram model in ARPA form over a closed vocabulary.

    Each explicit n-gram carries its interpolated probability and each history the
    weight it hands to the lower order, so backing off reproduces the interpolation.
    """
    trigrams: Counter = Counter()
    starts: Counter = Counter()
    for sentence in sentences:
        tokens = ["<s>", *sentence.split(), "</s>"]
        starts[tokens[1]] += 1
        for i in range(2, len(tokens)):
            trigrams[tuple(tokens[i - 2 : i + 1])] += 1
    # Kneser-Ney: the highest order counts tokens, a lower order counts the distinct
    # words seen before it; "<s> w" has no left context, so it counts tokens too.
    bigrams: Counter = Counter((b, c) for _a, b, c in trigrams)
    for word, n in starts.items():
        bigrams[("<s>", word)] = n
    unigrams: Counter = Counter(c for _b, c in bigrams)

    words = [w for w in vocabulary if w not in ("<s>", "</s>")] + ["</s>"]
    p1 = _unigram_probs(unigrams, words)
    if prior:
        total = sum(prior.get(w, 0.0) for w in words) or 1.0
        p1 = {
            w: (1 - prior_weight) * p + prior_weight * prior.get(w, 0.0) / total
            for w, p in p1.items()
        }
    p2, bow1 = _interpolate(bigrams, lambda h, w: p1[w[-1]])
    p3, bow2 = _interpolate(trigrams, lambda h, w: _backoff(p2, bow1, p1, w[1:]))

    lines = [
        "\\data\\",
        f"ngram 1={len(words) + 1}",
        f"ngram 2={len(p2)}",
        f"ngram 3={len(p3)}",
        "",
        "\\1-grams:",
    ]
    lines.append(f"-99.0000 <s> {_log(bow1.get(('<s>',), 1.0)):.4f}")
    for word in words:
        bow = bow1.get((word,))
        lines.append(f"{_log(p1[word]):.4f} {word}" + (f" {_log(bow):.4f}" if bow else ""))
    lines += ["", "\\2-grams:"]
    for gram in sorted(p2):
        bow = bow2.get(gram)
        lines.append(
            f"{_log(p2[gram]):.4f} {' '.join(gram)}" + (f" {_log(bow):.4f}" if bow else "")
        )
    lines += ["", "\\3-grams:"]
    lines += [f"{_log(p):.4f} {' '.join(g)}" for g, p in sorted(p3.items())]
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def _unigram_probs(counts: Counter, words: list[str]) -> dict[str, float]:
    total = sum(counts.values())
    spare = DISCOUNT * len(counts) / total if total else 1.0
    return {
        w: (max(counts.get(w, 0) - DISCOUNT, 0) / total if total else 0) + spare / len(words)
        for w in words
    }


def _interpolate(counts: dict, lower) -> tuple[dict, dict]:
    """Interpolated probabilities of the seen n-grams and the backoff weight of each
    history (the mass the discount set aside)."""
    by_history: dict[tuple, list] = defaultdict(list)
    for gram, n in counts.items():
        by_history[gram[:-1]].append((gram, n))
    probs, bows = {}, {}
    for history, grams in by_history.items():
        total = sum(n for _, n in grams)
        if not total:
            continue
        gamma = DISCOUNT * sum(1 for _, n in grams if n) / total
        seen_lower = 0.0
        for gram, n in grams:
            if not n:
                continue
            low = lower(history, gram)
            probs[gram] = max(n - DISCOUNT, 0) / total + gamma * low
            seen_lower += low
        # Renormalise so that backing off to the unseen words' lower-order mass sums to 1.
        left = 1.0 - sum(probs[g] for g, n in grams if n)
        bows[history] = left / max(1.0 - seen_lower, 1e-12)
    return probs, bows


def _backoff(p2: dict, bow1: dict, p1: dict, gram: tuple) -> float:
    if gram in p2:
        return p2[gram]
    return bow1.get(gram[:1], 1.0) * p1[gram[-1]]


def _log(p: float) -> float:
    return math.log10(max(p, 1e-99))
