"""The ops pages of validation: the runs (start one, follow it live; and their rows alone,
for the page to swap in) and a run's report."""

from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lineled.auth import role_required
from lineled.roles import Role
from validation import evidence, report, services
from validation.models import Run


@role_required(Role.OPS)
def runs(request):
    scope, trend = report.recent_trend()
    context = {
        "runs": [report.describe(run) for run in services.runs(50)],
        "categories": report.CATEGORY_LABELS,
        "suite_total": report.expected_total(""),
        "trend": trend,
        "trend_scope": scope,
        "trend_label": report.CATEGORY_LABELS.get(scope, ""),
        "thresholds": report.thresholds(),
    }
    return render(request, "validation/runs.html", context)


@never_cache
@require_GET
@role_required(Role.OPS)
def run_rows(request):
    """The runs page's rows of the runs named by ``?id=`` (one or more), rendered as the
    page renders them, for the page to swap in (htmx, validation.js): a row asks again
    while its run is under way and on a socket event about it; a new run's row is asked
    for the same way. A run deleted since has no row, so its row goes."""
    ids = request.GET.getlist("id")
    if not ids or not all(value.isdigit() for value in ids):
        return HttpResponseBadRequest("?id= must name runs by number")
    found = services.runs(len(ids), ids=[int(value) for value in ids])
    return render(
        request, "validation/_run_rows.html", {"runs": [report.describe(run) for run in found]}
    )


@role_required(Role.OPS)
def run_report(request, run_id: int):
    run = report.describe(get_object_or_404(Run.objects.select_related("started_by"), pk=run_id))
    results = list(run.results.all())
    marks = report.pass_marks()
    for result in results:
        result.pass_mark = marks.get(result.test_id)
        result.took = report.took(result.duration_ms)
        result.evidence = evidence.html(result.details, run.target)
    context = {
        "run": run,
        "expected_total": run.expected_total,
        "results": results,
        "passed": sum(r.passed for r in results),
        "sections": report.sections(run, results),
        "recommendations": report.recommendations(results),
        "blocking_failed": [r for r in results if r.blocking and not r.passed],
        "explanation": report.explanation(run),
        "category_label": report.CATEGORY_LABELS.get(run.category, run.category),
        "trend": report.trend(run),
        "thresholds": report.thresholds(),
    }
    return render(request, "validation/report.html", context)
