"""Ops console views of the validation app's models.

Golden cases are what ops edit (and export or import as JSON). Runs and their results
are written by the runs themselves, so they are read-only; "Run validation now" on the
runs list starts one through the service, as the API and the nightly schedule do.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from chat.admin import ReadOnlyAdmin, ReadOnlyInline
from lineled.errors import DomainError
from validation import report, services
from validation.models import Case, Result, Run

# The verdict as a coloured chip that also says it in words.
READINESS_STYLE = {
    "READY": "background:#dcfce7;color:#1f7a3f",
    "CONDITIONAL": "background:#fef3c7;color:#7c4a03",
    "NOT READY": "background:#fee4e2;color:#b42318",
}
CHIP = "padding:1px 8px;border-radius:6px;font-weight:700;white-space:nowrap;{}"


def category_choices() -> list[tuple[str, str]]:
    total = report.expected_total("")
    return [("", f"All {total} tests")] + [
        (value, f"{label} only") for value, label in report.CATEGORY_LABELS.items()
    ]


class CaseImportForm(forms.Form):
    file = forms.FileField(
        label="JSON file",
        help_text="A list of cases, as “Export selected as JSON” writes them, or a "
        "question set in the evaluation format bench chat reads (must_include, "
        "expected_sections, answerable, history; kind off-corpus is off-topic). Only the "
        "question is required. If one case is invalid, none is imported.",
    )
    replace = forms.BooleanField(
        required=False, label="Replace the existing cases (delete every case first)"
    )


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = (
        "short_question",
        "kind",
        "answerable",
        "document",
        "pages",
        "sections",
        "enabled",
    )
    list_editable = ("enabled",)
    list_filter = ("kind", "answerable", "enabled")
    search_fields = ("question", "document")
    fields = (
        "question",
        "kind",
        "history",
        "answerable",
        "facts",
        "document",
        "pages",
        "sections",
        "enabled",
        "created_at",
    )
    readonly_fields = ("created_at",)
    actions = ("export_json",)
    change_list_template = "validation/admin/case_change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="validation_case_import"), *super().get_urls()]

    @admin.display(description="question", ordering="question")
    def short_question(self, case: Case) -> str:
        return Truncator(case.question).chars(90)

    @admin.action(description="Export selected as JSON")
    def export_json(self, request, queryset):
        cases = [{f: getattr(c, f) for f in services.CASE_FIELDS} for c in queryset.order_by("pk")]
        body = json.dumps(cases, indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="validation-cases.json"'
        return response

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CaseImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                count = services.import_cases(
                    form.cleaned_data["file"].read(), replace=form.cleaned_data["replace"]
                )
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(request, f"Imported {count} case(s).", messages.SUCCESS)
                return redirect("admin:validation_case_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import validation cases",
            "form": form,
        }
        return TemplateResponse(request, "validation/admin/case_import.html", context)


class ResultInline(ReadOnlyInline):
    model = Result
    fields = ("name", "category", "shown_score", "passed", "blocking", "summary", "duration_ms")
    readonly_fields = fields
    show_change_link = False

    @admin.display(description="score")
    def shown_score(self, result: Result) -> str:
        return f"{result.score:.0f}"


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "trigger",
        "scope",
        "status",
        "progress",
        "shown_score",
        "success",
        "shown_readiness",
        "report_link",
    )
    list_display_links = ("id", "created_at")
    list_filter = ("status", "readiness", "trigger", "category", "created_at")
    list_select_related = ("started_by",)
    search_fields = ("error", "target")
    date_hierarchy = "created_at"
    fields = (
        "status",
        "shown_readiness",
        "score",
        "success_rate",
        "blocking_failed",
        "report_link",
        "trigger",
        "started_by",
        "category",
        "target",
        "tests_done",
        "tests_total",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "duration_s",
    )
    readonly_fields = fields
    inlines = (ResultInline,)
    change_list_template = "validation/admin/run_change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.start_view)
        return [path("start/", view, name="validation_run_start"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {"start_choices": category_choices(), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    @admin.display(description="tests", ordering="category")
    def scope(self, run: Run) -> str:
        return report.CATEGORY_LABELS.get(run.category, run.category) if run.category else "all"

    @admin.display(description="progress")
    def progress(self, run: Run) -> str:
        total = run.tests_total or report.expected_total(run.category)
        return f"{run.tests_done}/{total}"

    @admin.display(description="score", ordering="score")
    def shown_score(self, run: Run) -> str:
        return "-" if run.score is None else f"{run.score:.1f}"

    @admin.display(description="passed", ordering="success_rate")
    def success(self, run: Run) -> str:
        return "-" if run.success_rate is None else f"{run.success_rate:.0%}"

    @admin.display(description="readiness", ordering="readiness")
    def shown_readiness(self, run: Run) -> str:
        if not run.readiness:
            return "-"
        return format_html(
            '<span style="{}">{}</span>',
            CHIP.format(READINESS_STYLE.get(run.readiness, "")),
            run.readiness,
        )

    @admin.display(description="report")
    def report_link(self, run: Run) -> str:
        return format_html('<a href="{}">Report</a>', reverse("validation:report", args=[run.pk]))

    def start_view(self, request):
        """“Run validation now”: a queued run that a worker picks up."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("validation.add_run"):
            raise PermissionDenied
        category = request.POST.get("category", "")
        try:
            run = services.start(trigger="admin", user=request.user, category=category)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return redirect("admin:validation_run_changelist")
        scope = f"the {category} tests" if category else "all the tests"
        message = format_html(
            'Validation run {} started ({}): a worker runs it now. <a href="{}">Follow it on '
            "its report</a>.",
            run.pk,
            scope,
            reverse("validation:report", args=[run.pk]),
        )
        self.message_user(request, message, messages.SUCCESS)
        return redirect("admin:validation_run_changelist")
