"""Validation endpoints (ops only): start a run, follow it, read its report's data, and
export or import the golden cases the tests ask."""

from ninja import Query, Router
from ninja.responses import Status

from lineled.auth import require_role
from lineled.roles import Role
from lineled.schemas import ErrorOut
from validation import services
from validation.models import Case
from validation.schemas import CaseOut, ImportOut, RunDetailOut, RunIn, RunOut

router = Router(tags=["validation"])

DENIED = {403: ErrorOut}

CASES_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": CaseOut.json_schema()},
                "example": [
                    {
                        "question": "How long do fries cook?",
                        "facts": ["3 minutes"],
                        "document": "hb-eq-101-fryer.pdf",
                        "pages": [2],
                        "kind": "fact",
                    },
                    {"question": "What is the capital of France?", "kind": "off-topic"},
                    {
                        "question": "How many days can opened deli ham stay in the cooler?",
                        "answerable": True,
                        "must_include": ["7 days"],
                        "expected_sections": ["3-501.17"],
                        "kind": "fact",
                    },
                ],
            }
        },
    }
}


def _ops(request):
    require_role(request, Role.OPS)
    return request.auth


@router.post(
    "/runs",
    response={202: RunOut, 400: ErrorOut, 409: ErrorOut, **DENIED},
    summary="Start a validation run",
)
def start(request, body: RunIn = None):
    """Queues a run that a Celery worker executes: all 25 tests, or the five of one
    ``category``. Follow it with ``GET /runs/{id}`` (``tests_done`` of ``tests_total``)
    or the notifications socket's ``validation.progress`` and ``validation.finished``.
    One run at a time: 409 while another is queued or running."""
    user = _ops(request)
    # The Validation page starts runs with the browser session; scripts use a token.
    trigger = "browser" if request.auth_method == "session" else "api"
    run = services.start(trigger=trigger, user=user, category=body.category if body else "")
    return Status(202, run)


@router.get(
    "/runs", response={200: list[RunOut], **DENIED}, summary="Validation runs, newest first"
)
def runs(request, limit: int = Query(50, ge=1, le=500)):
    """Each run's status, progress and verdict, without the tests' evidence."""
    _ops(request)
    return services.runs(limit)


@router.get(
    "/runs/{run_id}",
    response={200: RunDetailOut, **DENIED, 404: ErrorOut},
    summary="A run with its tests and their evidence",
)
def run(request, run_id: int):
    """The verdict, and each test's score, pass or fail, summary and ``details``: the
    questions asked, the answers and citations, the timings, what failed and why, and a
    ``recommendation`` when it failed."""
    _ops(request)
    return services.get_run(run_id)


@router.get("/cases", response={200: list[CaseOut], **DENIED}, summary="Export the golden cases")
def export_cases(request):
    """Every case, enabled or not, in the shape ``POST /cases`` takes back."""
    _ops(request)
    return services.export_cases()


@router.post(
    "/cases",
    response={200: ImportOut, 400: ErrorOut, **DENIED},
    summary="Import golden cases",
    openapi_extra=CASES_BODY,
)
def import_cases(request, replace: bool = False):
    """Adds the cases of the JSON list sent, or none of them if one is invalid (the
    message names it). Only ``question`` is required; ``kind`` defaults to ``fact``.
    The evaluation format ``bench chat`` reads is taken too: ``must_include`` (facts),
    ``expected_sections`` (sections), ``answerable``, ``history``, kind ``off-corpus``
    (off-topic). With ``replace=true`` the existing cases are removed first."""
    _ops(request)
    imported = services.import_cases(request.body, replace=replace)
    return {"imported": imported, "total": Case.objects.count()}
