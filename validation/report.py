"""What a run's report page shows: its tests grouped by category, the verdict explained,
the recommendations of the failed ones and the trend of earlier runs (each test's
evidence is drawn by ``validation.evidence``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from validation.models import Result, Run
from validation.suite import CATEGORIES, all_tests

CATEGORY_LABELS = {
    "text": "Text",
    "voice": "Voice",
    "cross-modal": "Cross-modal",
    "integration": "Integration",
    "performance": "Performance",
}
TREND_RUNS = 30
STATUS_LABELS = {"queued": "Queued", "running": "Running", "done": "Done", "failed": "Failed"}
TRIGGER_SHORT = {
    "admin": "Ops console",
    "api": "API",
    "browser": "Browser",
    "cli": "Command line",
    "schedule": "Nightly",
}
TRIGGER_LABELS = {
    "admin": "the ops console",
    "api": "the REST API",
    "browser": "the browser",
    "cli": "manage.py validate",
    "schedule": "the nightly schedule",
}
READINESS_LEVELS = {"READY": "ok", "CONDITIONAL": "warning", "NOT READY": "critical"}


# --- the report's parts ---------------------------------------------------------------


def describe(run: Run) -> Run:
    """``run`` with what the pages show of it: its scope, status and verdict's colour."""
    run.scope_label = (
        f"{CATEGORY_LABELS.get(run.category, run.category)} only" if run.category else "All"
    )
    run.status_label = STATUS_LABELS.get(run.status, run.status)
    run.trigger_label = TRIGGER_LABELS.get(run.trigger, run.trigger)
    run.trigger_short = TRIGGER_SHORT.get(run.trigger, run.trigger)
    run.is_active = run.status in (Run.Status.QUEUED, Run.Status.RUNNING)
    run.readiness_level = READINESS_LEVELS.get(run.readiness, "")
    run.expected_total = run.tests_total or expected_total(run.category)
    return run


def explanation(run: Run) -> str:
    """Why the run got its verdict, in the thresholds' terms."""
    if run.score is None or run.success_rate is None:
        return ""
    t = thresholds()
    score, passed = f"{run.score:g}", f"{run.success_rate * 100:.0f}%"
    if run.readiness == Run.Readiness.READY:
        return (
            f"Score {score} (at least {t['ready']:g}), {passed} of the tests passed "
            f"(at least {t['ready_success'] * 100:.0f}%) and no blocking test failed."
        )
    short = []
    if run.score < t["ready"]:
        short.append(f"the score {score} is below {t['ready']:g}")
    if run.success_rate < t["ready_success"]:
        short.append(f"{passed} of the tests passed, below {t['ready_success'] * 100:.0f}%")
    if run.blocking_failed:
        short.append("a blocking test failed")
    text = "Short of READY: " + "; ".join(short or ["see the tests below"]) + "."
    if run.readiness == Run.Readiness.CONDITIONAL:
        return text + (
            f" CONDITIONAL: the score is at least {t['conditional']:g} and at least "
            f"{t['conditional_success'] * 100:.0f}% of the tests passed."
        )
    return text + (
        f" Below CONDITIONAL too (a score of {t['conditional']:g} and "
        f"{t['conditional_success'] * 100:.0f}% of the tests passed)."
    )


def took(ms: float) -> str:
    return f"{ms / 1000:.1f}\u00a0s" if ms >= 1000 else f"{ms:.0f}\u00a0ms"


@dataclass
class Section:
    category: str
    label: str
    results: list[Result] = field(default_factory=list)

    @property
    def score(self) -> float | None:
        if not self.results:
            return None
        return sum(r.score for r in self.results) / len(self.results)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)


def sections(run: Run, results: list[Result]) -> list[Section]:
    """The categories the run covered, in the suite's order, each with its tests."""
    by_category = {c: Section(c, CATEGORY_LABELS[c]) for c in CATEGORIES}
    for result in results:
        by_category.setdefault(
            result.category, Section(result.category, result.category.title())
        ).results.append(result)
    return [s for s in by_category.values() if s.results or s.category == run.category]


def recommendations(results: list[Result]) -> list[tuple[Result, str]]:
    """What to fix: each failed test's recommendation, blocking failures first."""
    failed = [r for r in results if not r.passed]
    failed.sort(key=lambda r: (not r.blocking, r.order))
    return [(r, r.details.get("recommendation") or r.summary) for r in failed]


def pass_marks() -> dict[str, float]:
    return {test.id: test.pass_mark for test in all_tests()}


def expected_total(category: str) -> int:
    """How many tests a run of ``category`` (empty: all) will have."""
    return sum(1 for t in all_tests() if not category or t.category == category)


def thresholds() -> dict[str, float]:
    """The readiness thresholds in force (settings), as the chart and the verdict use them."""
    return {
        "ready": settings.VALIDATION_READY_SCORE,
        "ready_success": settings.VALIDATION_READY_SUCCESS,
        "conditional": settings.VALIDATION_CONDITIONAL_SCORE,
        "conditional_success": settings.VALIDATION_CONDITIONAL_SUCCESS,
    }


def trend(run: Run) -> list[dict]:
    """Finished runs of the same scope (the whole suite, or one category) up to this
    one, oldest first: the points of the trend chart."""
    earlier = (
        Run.objects.filter(
            status=Run.Status.DONE, category=run.category, created_at__lte=run.created_at
        )
        .exclude(score=None)
        .order_by("-created_at", "-pk")[:TREND_RUNS]
    )
    return [trend_point(r, current=r.pk == run.pk) for r in reversed(earlier)]


def recent_trend() -> tuple[str, list[dict]]:
    """The runs page's chart: the latest finished runs of the whole suite, oldest first;
    while there are none, those of the category run last. Returns (category, points)."""
    done = Run.objects.filter(status=Run.Status.DONE).exclude(score=None)
    scope = "" if done.filter(category="").exists() else None
    if scope is None:
        scope = done.order_by("-created_at", "-pk").values_list("category", flat=True).first()
    if scope is None:
        return "", []
    latest = done.filter(category=scope).order_by("-created_at", "-pk")[:TREND_RUNS]
    return scope, [trend_point(r) for r in reversed(latest)]


def trend_point(run: Run, current: bool = False) -> dict:
    return {
        "run": run.pk,
        "score": run.score,
        "success_rate": run.success_rate,
        "readiness": run.readiness,
        "at": (run.finished_at or run.created_at).isoformat(),
        "current": current,
    }
