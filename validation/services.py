"""Validation runs: the 25 tests against this deployment (or a live one), scored into a
readiness verdict, with every test's evidence kept.

``start`` records a queued run and has a worker execute it (admin, API, schedule);
``run_here`` executes one in this process (``manage.py validate``: no worker needed).
Both go through ``execute``, which claims the run, runs each test, stores its result
as it finishes (progress is broadcast to ops browsers) and writes the verdict.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from ninja import Schema

from chat import judging
from lineled import notify
from lineled.errors import Conflict, Invalid, NotFound
from lineled.roles import Role
from lineled.services import VALIDATION_USERNAME, service_account
from validation import tasks
from validation.clients import Client, InProcessClient, LiveClient
from validation.models import RUN_TIME_LIMIT_S, Case, Result, Run
from validation.schemas import RunDetailOut, RunFinishedEvent, RunOut, RunProgressEvent
from validation.suite import CATEGORIES, Outcome, Test, all_tests
from validation.suite.context import Case as CaseData
from validation.suite.context import Context

logger = logging.getLogger(__name__)

DEFAULT_CASES = Path(__file__).resolve().parent / "cases" / "demo.json"
CASE_FIELDS = (
    "question",
    "history",
    "answerable",
    "facts",
    "document",
    "pages",
    "sections",
    "kind",
)
KINDS = {*Case.Kind.values, "off-corpus"}  # shared/eval's name for off-topic


# --- runs ----------------------------------------------------------------------------------


def in_flight() -> Run | None:
    """The run being executed or waiting for a worker, if there is one."""
    since = timezone.now() - timedelta(seconds=RUN_TIME_LIMIT_S)
    active = Run.objects.filter(
        status__in=[Run.Status.QUEUED, Run.Status.RUNNING], created_at__gte=since
    )
    return active.order_by("created_at").first()


def start(*, trigger: str, user=None, category: str = "") -> Run:
    """A queued run that a worker executes once this transaction commits. One at a
    time: Conflict while another is queued or running (a run loads the whole system)."""
    _check_category(category)
    if (busy := in_flight()) is not None:
        raise Conflict(
            f"validation run {busy.pk} is {busy.status}; one run at a time: follow it, "
            "and start another when it is done"
        )
    run = Run.objects.create(trigger=trigger, started_by=user, category=category)
    tasks.execute_run.delay_on_commit(run.pk)
    return run


def run_here(*, category: str = "", live: str = "", token: str = "", cases=None, log=None) -> Run:
    """Create and execute a run in this process (the CLI)."""
    _check_category(category)
    if live and not token:
        raise Invalid("--live needs --token (an ops user's API token)")
    client = LiveClient(live, token) if live else None
    if client is not None:
        client.check()  # unreachable, or not an ops token: Invalid, and no run recorded
    run = Run.objects.create(trigger=Run.Trigger.CLI, category=category, target=live)
    return execute(run.pk, client=client, cases=cases, log=log)


def execute(run_id: int, *, client: Client | None = None, cases=None, log=None) -> Run:
    """Run the tests of a queued run; returns it finished (done, or failed and why)."""
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
        status=Run.Status.RUNNING, started_at=now
    )
    run = Run.objects.get(pk=run_id)
    if not claimed:
        return run  # another worker has it, or it already ran
    tests = [t for t in all_tests() if not run.category or t.category == run.category]
    Run.objects.filter(pk=run.pk).update(tests_total=len(tests))
    started = time.perf_counter()
    try:
        context = Context(
            client=client or InProcessClient(validation_user()),
            cases=cases if cases is not None else enabled_cases(),
            log=log or (lambda message: None),
        )
        for order, test in enumerate(tests):
            _record(run, order, test, _run_one(test, context))
            Run.objects.filter(pk=run.pk).update(tests_done=order + 1)
            progress = RunProgressEvent(run=run.pk, done=order + 1, total=len(tests))
            _broadcast("validation.progress", progress)
    except Exception as exc:
        logger.exception("validation run %s failed", run.pk)
        Run.objects.filter(pk=run.pk).update(
            status=Run.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
            duration_s=round(time.perf_counter() - started, 1),
        )
        _broadcast("validation.finished", RunFinishedEvent(run=run.pk, readiness=""))
        return Run.objects.get(pk=run.pk)
    verdict = score(list(run.results.all()))
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.DONE,
        finished_at=timezone.now(),
        duration_s=round(time.perf_counter() - started, 1),
        **verdict,
    )
    _broadcast("validation.finished", RunFinishedEvent(run=run.pk, readiness=verdict["readiness"]))
    return Run.objects.get(pk=run.pk)


def _run_one(test: Test, context: Context) -> tuple[Outcome, float]:
    context.log(f"{test.category}: {test.name}")
    began = time.perf_counter()
    try:
        outcome = test.function(context)
    except Exception as exc:  # a test that cannot run has failed, with the reason
        logger.warning("validation test %s raised", test.id, exc_info=True)
        outcome = Outcome(
            0.0,
            f"could not run: {type(exc).__name__}: {exc}"[:480],
            {"error": f"{type(exc).__name__}: {exc}"[:2000]},
            "Fix the error above; the test could not exercise the system.",
        )
    return outcome, (time.perf_counter() - began) * 1000


def _record(run: Run, order: int, test: Test, measured: tuple[Outcome, float]) -> Result:
    outcome, ms = measured
    # Judged on the score as stored and shown: 79.96 is shown as 80.0, so it passes a
    # mark of 80 (judging the unrounded value failed a result that the report showed
    # at the mark).
    value = round(max(0.0, min(100.0, float(outcome.score))), 1)
    details = dict(outcome.details)
    if outcome.recommendation:
        details["recommendation"] = outcome.recommendation
    return Result.objects.create(
        run=run,
        test_id=test.id,
        category=test.category,
        name=test.name,
        order=order,
        score=value,
        passed=value >= test.pass_mark,
        blocking=test.blocking,
        summary=outcome.summary[:500],
        details=_jsonable(details),
        duration_ms=round(ms, 1),
    )


def _jsonable(value):
    """JSON that PostgreSQL stores: its jsonb refuses the NUL character (evidence of
    binary input has them), so each becomes U+FFFD."""
    return _without_nul(json.loads(json.dumps(value, default=str)))


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def score(results: list[Result]) -> dict:
    """The mean score, the share passed, and the readiness the settings give them."""
    if not results:
        return {
            "score": 0.0,
            "success_rate": 0.0,
            "readiness": Run.Readiness.NOT_READY,
            "blocking_failed": [],
        }
    mean = sum(r.score for r in results) / len(results)
    success = sum(r.passed for r in results) / len(results)
    blocking = [r.test_id for r in results if r.blocking and not r.passed]
    if (
        mean >= settings.VALIDATION_READY_SCORE
        and success >= settings.VALIDATION_READY_SUCCESS
        and not blocking
    ):
        readiness = Run.Readiness.READY
    elif (
        mean >= settings.VALIDATION_CONDITIONAL_SCORE
        and success >= settings.VALIDATION_CONDITIONAL_SUCCESS
    ):
        readiness = Run.Readiness.CONDITIONAL
    else:
        readiness = Run.Readiness.NOT_READY
    return {
        "score": round(mean, 1),
        "success_rate": round(success, 3),
        "readiness": readiness,
        "blocking_failed": blocking,
    }


def _check_category(category: str) -> None:
    if category and category not in CATEGORIES:
        raise Invalid(f"unknown category {category!r}; one of {', '.join(CATEGORIES)}")


def _broadcast(kind: str, payload: Schema) -> None:
    """Tell ops browsers now (a run's progress is written outside any transaction)."""
    notify.send(notify.role_group(Role.OPS), kind, payload.model_dump(mode="json"), on_commit=False)


def validation_user():
    """The account in-process runs ask as (its conversations are the run's evidence).

    It is an active crew member, so it sees pages and page images as a crew member
    would, but it has no usable password: nobody can sign in as it.
    """
    return service_account(VALIDATION_USERNAME, "Validation", role=Role.CREW)


# --- reading runs ----------------------------------------------------------------------


def get_run(run_id: int) -> Run:
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"no validation run {run_id}")
    return run


def runs(limit: int = 50, *, ids: Iterable[int] | None = None):
    """The latest runs, newest first, with who started them; or those of ``ids`` that are
    still there (the runs page's rows, asked for again)."""
    found = Run.objects.select_related("started_by")
    if ids is not None:
        found = found.filter(pk__in=ids)
    return found[: max(1, min(limit, 500))]


def run_out(run: Run, *, with_results: bool = True) -> RunOut:
    """The run as the API shows it, with its tests and their evidence (``RunDetailOut``)
    or without (``RunOut``): for what prints or sends a run outside the API (whose
    endpoints return the ``Run`` and let Ninja read it through the same schemas)."""
    return (RunDetailOut if with_results else RunOut).from_orm(run)


# --- golden cases ----------------------------------------------------------------------


def enabled_cases() -> list[CaseData]:
    return [
        CaseData(
            c.pk,
            c.question,
            list(c.history),
            c.answerable,
            list(c.facts),
            c.document,
            list(c.pages),
            c.kind,
            list(c.sections),
        )
        for c in Case.objects.filter(enabled=True)
    ]


def parse_cases(raw) -> list[dict]:
    """Validated case dicts from JSON text or a list; Invalid names the first bad one.

    Either question-set format ``chat.judging`` reads (``bench chat`` reads the same
    files): this project's (``facts``, ``document`` or ``manual``, ``pages``,
    ``sections``, ``history`` or ``after``, kind ``off-topic``) or shared/eval's
    (``must_include``, ``expected_sections``, ``answerable``, ``history``, kind
    ``off-corpus``, read as off-topic). A follow-up naming an earlier case with
    ``after`` is asked in that case's conversation, so its history becomes the
    questions asked there before it.
    """
    try:
        items = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except ValueError as exc:
        raise Invalid(f"the cases are not JSON: {exc}") from None
    if not isinstance(items, list) or not items:
        raise Invalid("the cases must be a non-empty JSON list")
    cleaned, conversations = [], {}
    for number, item in enumerate(items, 1):
        case = _parse_case(number, item)
        history = case.history
        if case.after and case.follow_up:
            if case.after not in conversations:
                raise Invalid(f"case {number}: after names no earlier case ({case.after!r})")
            turns = conversations[case.after]
            history = list(turns)
        else:
            turns = [*history]
        turns.append(case.question)
        conversations[case.id] = turns
        cleaned.append(
            {
                "question": case.question.strip()[:500],
                "history": history,
                "answerable": case.answerable,
                "facts": case.facts,
                "document": case.document[:255],
                "pages": case.pages,
                "sections": case.sections,
                "kind": case.kind,
            }
        )
    return cleaned


def _parse_case(number: int, item) -> judging.Case:
    """One case checked field by field (the message names the case), then read by
    ``chat.judging.case_from`` as ``bench chat`` reads it."""
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise Invalid(f"case {number}: a question is required")
    if not item["question"].strip():
        raise Invalid(f"case {number}: a question is required")
    kind = item.get("kind") or "fact"
    if not isinstance(kind, str) or kind not in KINDS:
        raise Invalid(
            f"case {number}: kind must be one of {', '.join(Case.Kind.values)} "
            "(off-corpus is read as off-topic)"
        )
    for name in ("history", "facts", "must_include", "pages", "sections", "expected_sections"):
        if not isinstance(item.get(name, []), list):
            raise Invalid(f"case {number}: {name} must be a list")
    if not all(isinstance(p, int) and p > 0 for p in item.get("pages", [])):
        raise Invalid(f"case {number}: pages are page numbers from 1")
    sections = item.get("expected_sections") or item.get("sections") or []
    if not all(isinstance(s, str) and s.strip() for s in sections):
        raise Invalid(f"case {number}: sections are section ids such as 3-401.11")
    try:
        return judging.case_from(item, number)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"case {number}: {exc}") from None


def cases_from(raw) -> list[CaseData]:
    """Cases for one run, not stored (``validate --cases FILE``)."""
    return [CaseData(-i, **c) for i, c in enumerate(parse_cases(raw), 1)]


@transaction.atomic
def import_cases(raw, *, replace: bool = False) -> int:
    """Add the cases (all or none); ``replace`` removes the existing ones first."""
    cleaned = parse_cases(raw)
    if replace:
        Case.objects.all().delete()
    Case.objects.bulk_create([Case(**c) for c in cleaned])
    return len(cleaned)


def export_cases() -> list[dict]:
    return [{f: getattr(c, f) for f in CASE_FIELDS} for c in Case.objects.all()]


def ensure_default_cases() -> int:
    """Seed the demo manuals' golden cases when there are none."""
    if Case.objects.exists() or not DEFAULT_CASES.exists():
        return 0
    return import_cases(DEFAULT_CASES.read_text())
