"""Validate this deployment (or a live one) now, in this process: the 25 tests, each
scored, and the readiness verdict."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lineled.errors import DomainError
from validation import services
from validation.models import Run
from validation.suite import CATEGORIES

SUMMARY_WIDTH = 70


class Command(BaseCommand):
    help = (
        "Run the validation suite in this process (no worker needed) and print each test's "
        "score and the readiness verdict. The run and its evidence are stored as any run is. "
        "Exits 0 whatever the verdict; 1 when the run itself could not be done."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--category", default="", help=f"only this category: {', '.join(CATEGORIES)}"
        )
        parser.add_argument(
            "--live", default="", metavar="URL", help="validate the deployment at URL over HTTP"
        )
        parser.add_argument("--token", default="", help="an ops user's API token, with --live")
        parser.add_argument(
            "--cases",
            type=Path,
            metavar="FILE",
            help="golden cases from this JSON file instead of the stored ones (the cases "
            "format, or the question-set format bench chat reads)",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )

    def handle(self, *args, category, live, token, cases, as_json, **options):
        progress = options["verbosity"] > 0 and not as_json
        try:
            run = services.run_here(
                category=category.strip(),
                live=live.strip(),
                token=token.strip(),
                cases=self._cases(cases) if cases else None,
                log=(lambda line: self.stderr.write(f"  {line}")) if progress else None,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        report = services.run_out(run).model_dump(mode="json")
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._table(report)
        if run.status == Run.Status.FAILED:
            raise CommandError(f"validation run {run.pk} failed: {run.error}")

    def _cases(self, path: Path) -> list:
        try:
            raw = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read the cases file {path}: {exc}") from None
        try:
            return services.cases_from(raw)
        except DomainError as exc:
            raise CommandError(f"{path}: {exc.message}") from None

    def _table(self, report: dict) -> None:
        write = self.stdout.write
        write(f"{'category':<12} {'test':<42} {'score':>5}  {'pass':<5} summary")
        for test in report["tests"]:
            mark = "pass" if test["passed"] else "FAIL"
            if test["blocking"] and not test["passed"]:
                mark = "FAIL*"
            summary = test["summary"]
            if len(summary) > SUMMARY_WIDTH:
                summary = summary[: SUMMARY_WIDTH - 1] + "…"
            write(
                f"{test['category']:<12} {test['name'][:42]:<42} {test['score']:>5.1f}  "
                f"{mark:<5} {summary}"
            )
        for test in report["tests"]:
            advice = test["details"].get("recommendation") if not test["passed"] else ""
            if advice:
                write(f"  {test['id']}: {advice}")
        passed = sum(t["passed"] for t in report["tests"])
        where = report["target"] or "this deployment (in process)"
        if report["status"] == Run.Status.FAILED:
            write(f"run {report['run']} failed after {report['duration_s']} s: {report['error']}")
            return
        write(
            f"{report['readiness']}: score {report['score']}, {passed}/{len(report['tests'])} "
            f"passed ({report['success_rate']:.0%}) for {where}, in {report['duration_s']} s "
            f"(run {report['run']})"
        )
        if report["blocking_failed"]:
            write(f"blocking tests failed (*): {', '.join(report['blocking_failed'])}")
