"""Ninja schemas of the validation app's API, fields listed explicitly."""

from datetime import datetime

from ninja import Field, Schema


class RunIn(Schema):
    """Empty: all 25 tests; a category (text, voice, cross-modal, integration or
    performance): only its five."""

    category: str = Field("", max_length=16)


class RunOut(Schema):
    run: int  # the run's id
    status: str  # queued, running, done or failed
    trigger: str  # admin, api (a token), browser (the session), cli or schedule
    mode: str  # in-process or live
    target: str  # the live deployment's URL; empty in-process
    category: str  # empty: the whole suite
    tests_done: int
    tests_total: int  # 0 until a worker has started the run
    score: float | None  # 0-100, the mean of the tests' scores; null until done
    success_rate: float | None  # 0-1, the share of tests passed
    readiness: str  # READY, CONDITIONAL or NOT READY; empty until done
    blocking_failed: list[str]  # ids of blocking tests that failed
    duration_s: float | None
    error: str  # why the run failed, when it did
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_run(run) -> int:
        return run.pk

    @staticmethod
    def resolve_mode(run) -> str:
        return "live" if run.target else "in-process"


class ResultOut(Schema):
    id: str
    category: str
    name: str
    score: float  # 0-100
    passed: bool
    blocking: bool  # a failure keeps the run from READY
    summary: str  # one line: what was measured, or what failed and why
    duration_ms: float
    details: dict  # the evidence: inputs, outputs, timings, and "recommendation"

    @staticmethod
    def resolve_id(result) -> str:
        return result.test_id


class RunDetailOut(RunOut):
    tests: list[ResultOut]  # in the suite's order

    @staticmethod
    def resolve_tests(run) -> list:
        return list(run.results.all())


class CaseOut(Schema):
    question: str
    history: list[str]  # earlier questions of the conversation, in order
    answerable: bool
    facts: list[str]  # what a correct answer must contain (in order for a procedure)
    document: str  # file name of the document that answers it
    pages: list[int]
    sections: list[str]  # section ids that answer it (e.g. 3-401.11); citing any one counts
    # fact, procedure, safety, off-topic, follow-up; numeric-table, paraphrase, multi-section
    kind: str


class ImportOut(Schema):
    imported: int
    total: int  # cases stored now


# --- What the notifications socket tells ops browsers while a run goes ----------------


class RunProgressEvent(Schema):
    run: int
    done: int  # tests finished so far
    total: int


class RunFinishedEvent(Schema):
    run: int
    readiness: str  # READY, CONDITIONAL or NOT READY; empty when the run failed
