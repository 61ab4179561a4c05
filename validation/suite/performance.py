"""Performance: how fast answers and searches come, how many answers a second the
deployment keeps up across concurrent conversations, fifty users at once by text and
voice, and whether the web process's memory grows under that load.

Concurrent load runs in threads of this process, each asking through ``ctx.client``: in
process every thread has its own database connection (closed when it ends), as each
request of the web server would; live, each thread's requests go to the server. The
fifty users are ``bench load``'s (``lineled.benchmarks.load.driver``), asking through
the same client.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from lineled.benchmarks.load.driver import Plan, Turn, drive
from monitoring.metrics import percentile
from validation.speech import speak
from validation.suite import Outcome, check
from validation.suite.context import Case, Context

ANSWER_TARGET_MS, ANSWER_LIMIT_MS = 2000, 10000
SEARCH_TARGET_MS, SEARCH_LIMIT_MS = 300, 2000
THROUGHPUT_THREADS, THROUGHPUT_SECONDS, THROUGHPUT_TARGET = 8, 5.0, 5.0  # answers/s
USERS_TYPED, USERS_SPOKEN = 40, 10
USERS_TARGET_MS, USERS_LIMIT_MS, PENALTY_PER_ERROR = 1000, 2000, 10
USERS_TIMEOUT_S = 120  # an answer not back by then is an error
MEMORY_TARGET_MB, MEMORY_LIMIT_MB = 150, 500


def linear(value: float, target: float, limit: float) -> float:
    """100 at or under ``target``, 0 at or over ``limit``, a straight line between."""
    if value <= target:
        return 100.0
    if value >= limit:
        return 0.0
    return 100.0 * (limit - value) / (limit - target)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _failure(answer: dict | None) -> str:
    """Why an answer counts as an error ('' when it is a finished answer)."""
    if not answer:
        return "no answer came back"
    if answer.get("status") != "done":
        return f"answer {answer.get('status')}: {answer.get('error') or 'no reason given'}"
    return ""


def _together(count: int, prepare: Callable[[int], object], act: Callable[[int, object], dict]):
    """In ``count`` threads: ``prepare(i)``, then, all at the same moment, ``act(i,
    prepared)``. Each thread's result, or ``{"error"}`` with what it raised.

    Each thread closes its own database connection when done, as a request would.
    """
    barrier = threading.Barrier(count)
    results: list[dict] = [{} for _ in range(count)]

    def run(i: int) -> None:
        try:
            try:
                prepared, problem = prepare(i), ""
            except Exception as exc:
                prepared, problem = None, f"{type(exc).__name__}: {exc}"[:300]
            barrier.wait()  # whether or not it is ready, so no thread waits forever
            results[i] = {"error": problem} if problem else act(i, prepared)
        except Exception as exc:
            results[i] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _standalone(ctx: Context) -> list[Case]:
    """Cases that make sense asked on their own (no earlier turns)."""
    return [c for c in ctx.cases if not c.history] or ctx.cases


def _errors(items: list[dict]) -> dict:
    """The distinct errors and how often each happened."""
    return dict(Counter(item["error"] for item in items if item.get("error")))


@check("perf.answer_latency", "performance", "Answer latency p95")
def answer_latency(ctx: Context) -> Outcome:
    if not ctx.cases:
        return Outcome(0, "no golden cases to time", {}, "Add validation cases.")
    answers = [(case, ctx.typed(case)) for case in ctx.cases]
    times = [a["elapsed_ms"] for _, a in answers]
    p95, p50 = percentile(times, 95), percentile(times, 50)
    failed = [c.question for c, a in answers if _failure(a)]
    details = {
        "p50_ms": p50,
        "p95_ms": p95,
        "max_ms": round(max(times), 1),
        "target_ms": ANSWER_TARGET_MS,
        "limit_ms": ANSWER_LIMIT_MS,
        "failed": failed,
        "answers": [
            {
                "question": c.question,
                "elapsed_ms": round(a["elapsed_ms"], 1),
                "server_total_ms": (a.get("timings") or {}).get("total_ms"),
                "first_token_ms": (a.get("timings") or {}).get("first_token_ms"),
                "status": a.get("status"),
            }
            for c, a in answers
        ],
    }
    # A fast failure is no answer: only finished answers count towards the score.
    score = linear(p95, ANSWER_TARGET_MS, ANSWER_LIMIT_MS) * (1 - len(failed) / len(answers))
    summary = f"p95 {p95:.0f} ms, p50 {p50:.0f} ms over {len(times)} typed golden questions"
    if failed:
        summary += f"; {len(failed)} failed"
    advice = "Answers are slow: see the slowest questions; check the language model's speed "
    advice += "and the search time in each answer's timings."
    if failed:
        advice = f"{len(failed)} answers failed (see their status): fix that first. " + advice
    return Outcome(score, summary, details, "" if score >= 80 else advice)


@check("perf.search_latency", "performance", "Search latency p95")
def search_latency(ctx: Context) -> Outcome:
    questions = [c.question for c in ctx.cases if c.answerable]
    if not questions:
        return Outcome(0, "no answerable golden cases to search for", {}, "Add validation cases.")
    timed, errors = [], []
    for attempt in (1, 2):  # the second pass shows what caching does
        for question in questions:
            try:
                found = ctx.client.search(question)
            except Exception as exc:
                errors.append({"query": question, "error": f"{type(exc).__name__}: {exc}"[:300]})
                continue
            results = found.get("results") or []
            timed.append(
                {
                    "query": question,
                    "pass": attempt,
                    "ms": round(found["ms"], 1),
                    "results": len(results),
                    "top_document": results[0].get("document_id") if results else None,
                }
            )
    times = [t["ms"] for t in timed]
    p95 = percentile(times, 95) if times else float(SEARCH_LIMIT_MS)
    score = linear(p95, SEARCH_TARGET_MS, SEARCH_LIMIT_MS) * len(times) / (len(times) + len(errors))
    details = {
        "p50_ms": percentile(times, 50),
        "p95_ms": p95,
        "target_ms": SEARCH_TARGET_MS,
        "limit_ms": SEARCH_LIMIT_MS,
        "searches": len(timed),
        "empty": sum(not t["results"] for t in timed),
        "errors": errors,
        "timed": timed,
    }
    summary = f"p95 {p95:.0f} ms over {len(timed)} searches" + (
        f", {len(errors)} failed" if errors else ""
    )
    advice = "Search is slow or failing: check the retrieval backend (the monitoring "
    advice += "retrieval page) and the errors listed."
    return Outcome(score, summary, details, "" if score >= 80 else advice)


@check("perf.throughput", "performance", "Throughput with concurrent conversations")
def throughput(ctx: Context) -> Outcome:
    questions = [c.question for c in _standalone(ctx)]
    if not questions:
        return Outcome(0, "no golden cases to ask", {}, "Add validation cases.")

    def converse(i: int, conversation) -> dict:
        asked, times, errors = 0, [], []
        deadline = time.monotonic() + THROUGHPUT_SECONDS
        while time.monotonic() < deadline:
            question = questions[(i + asked) % len(questions)]
            asked += 1
            started = time.perf_counter()
            try:
                problem = _failure(ctx.client.ask(conversation, question))
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"[:300]
            times.append(_ms(started))
            if problem:
                errors.append(problem)
        return {"asked": asked, "times": times, "errors": errors}

    started = time.perf_counter()
    threads = _together(THROUGHPUT_THREADS, lambda i: ctx.client.conversation(), converse)
    elapsed = time.perf_counter() - started
    failures = [{"error": e} for t in threads for e in t.get("errors", [])]
    failures += [t for t in threads if t.get("error")]  # a thread that could not start
    answered = sum(t.get("asked", 0) - len(t.get("errors", [])) for t in threads)
    rate = answered / elapsed
    times = [ms for t in threads for ms in t.get("times", [])]
    score = (
        min(100.0, 100.0 * rate / THROUGHPUT_TARGET) * answered / max(1, answered + len(failures))
    )
    details = {
        "threads": THROUGHPUT_THREADS,
        "seconds": round(elapsed, 2),
        "answered": answered,
        "answers_per_s": round(rate, 2),
        "target_answers_per_s": THROUGHPUT_TARGET,
        "errors": len(failures),
        "error_kinds": _errors(failures),
        "latency_p50_ms": percentile(times, 50),
        "latency_p95_ms": percentile(times, 95),
        "per_thread": [
            {"asked": t.get("asked", 0), "errors": len(t.get("errors", [])) or int("error" in t)}
            for t in threads
        ],
    }
    summary = (
        f"{rate:.1f} answers/s over {THROUGHPUT_THREADS} concurrent conversations "
        f"for {elapsed:.1f} s, {len(failures)} errors"
    )
    advice = "Concurrent conversations are slow or fail: see error_kinds (a 'database is "
    advice += "locked' error means SQLite cannot keep up: use PostgreSQL)."
    return Outcome(score, summary, details, "" if score >= 80 else advice)


def _fifty_users(ctx: Context) -> dict:
    """40 typed and 10 spoken questions, one per user, asked at the same moment by
    ``bench load``'s driver, with the serving process's memory read before (after a
    warm-up) and after."""
    typed = _standalone(ctx)
    spoken = [c.question for c in typed if c.answerable][:USERS_SPOKEN] or [typed[0].question]
    _warm_up(ctx, typed[0])
    wavs = {question: speak(question) for question in spoken}
    before = ctx.client.memory_mb()
    count = USERS_TYPED + USERS_SPOKEN

    def question(i: int, k: int) -> str:
        return spoken[i % len(spoken)] if i >= USERS_TYPED else typed[i % len(typed)].question

    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="validation-user") as pool:
        users = [_User(ctx.client, pool, wavs if i >= USERS_TYPED else None) for i in range(count)]
        plan = Plan(users=count, questions=1, timeout=USERS_TIMEOUT_S)
        run = asyncio.run(drive(plan, [user.open for user in users], question))
    ctx.memory = {"before_mb": before, "after_mb": ctx.client.memory_mb(), "users": count}
    turns = sorted(run.turns, key=lambda turn: turn.user)
    return {"users": [_user_row(turn) for turn in turns], "wall_s": round(run.seconds, 2)}


class _User:
    """A user of the driver asking through the suite's client, whose calls block: each
    runs in a thread of ``pool`` with a database connection of its own, closed after it
    as a request's is. Spoken with ``wavs`` (question -> recording), else typed."""

    def __init__(self, client, pool: ThreadPoolExecutor, wavs: dict[str, bytes] | None):
        self.client, self.pool, self.wavs = client, pool, wavs
        self.mode = "voice" if wavs else "text"
        self.conversation = None

    async def _call(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, _closing, function, *args
        )

    @contextlib.asynccontextmanager
    async def open(self):
        self.conversation = await self._call(self.client.conversation)
        yield self

    async def ask(self, text: str):
        problem = ""
        if self.wavs is None:
            answer = await self._call(self.client.ask, self.conversation, text)
        else:
            heard = await self._call(self.client.ask_spoken, self.conversation, self.wavs[text])
            yield {"type": "transcript", "text": heard.transcript}
            answer, problem = heard.answer, heard.error
        problem = problem or _failure(answer)
        if (answer or {}).get("text"):
            yield {"type": "token", "text": answer["text"]}  # the whole answer, at once
        yield (
            {"type": "error", "code": "failed", "message": problem} if problem else {"type": "done"}
        )


def _closing(function, *args):
    try:
        return function(*args)
    finally:
        connection.close()


def _user_row(turn: Turn) -> dict:
    """A user's row of the details, as the report shows it."""
    error = turn.detail if turn.error == "failed" else turn.error and f"{turn.error}: {turn.detail}"
    row = {"mode": turn.mode, "question": turn.question}
    if turn.total is not None:
        row["ms"] = round(turn.total * 1000, 1)
    row.update(error=error, answer=turn.answer[:160])
    if turn.mode == "voice":
        row["transcript"] = turn.transcript
    return row


def _warm_up(ctx: Context, case: Case) -> None:
    """One typed and one spoken question first, so what loads once (the speech models)
    does not count as growth; both are the run's shared answers, asked once anyway."""
    ctx.typed(case)
    ctx.spoken(case)


@check("perf.concurrent_users", "performance", "50 concurrent users, text and voice")
def concurrent_users(ctx: Context) -> Outcome:
    if not ctx.cases:
        return Outcome(0, "no golden cases to ask", {}, "Add validation cases.")
    load = _fifty_users(ctx)
    users = load["users"]
    times = [u["ms"] for u in users if "ms" in u]
    p95 = percentile(times, 95) if times else float(USERS_LIMIT_MS)
    failed = [u for u in users if u.get("error")]
    score = max(0.0, linear(p95, USERS_TARGET_MS, USERS_LIMIT_MS) - PENALTY_PER_ERROR * len(failed))
    by_mode = {}
    for mode in ("text", "voice"):
        own = [u["ms"] for u in users if u.get("mode") == mode]
        by_mode[mode] = {
            "users": len(own),
            "p50_ms": percentile(own, 50),
            "p95_ms": percentile(own, 95),
            "max_ms": max(own) if own else None,
        }
    details = {
        "users": len(users),
        "p95_ms": p95,
        "target_ms": USERS_TARGET_MS,
        "limit_ms": USERS_LIMIT_MS,
        "wall_s": load["wall_s"],
        "errors": len(failed),
        "error_kinds": _errors(failed),
        "by_mode": by_mode,
        "each": users,
    }
    summary = (
        f"{len(users)} users at once ({USERS_TYPED} typed, {USERS_SPOKEN} spoken): "
        f"p95 {p95:.0f} ms, {len(failed)} errors"
    )
    advice = "The deployment does not keep up with 50 users at once: see error_kinds and "
    advice += "the slowest users; add web processes (serve --web N, on PostgreSQL and Redis), "
    advice += "or use PostgreSQL if SQLite reports locks."
    return Outcome(score, summary, details, "" if score >= 80 else advice)


@check("perf.memory", "performance", "Memory growth under load")
def memory(ctx: Context) -> Outcome:
    recorded, load = ctx.memory, "perf.concurrent_users"
    if not recorded:  # the 50-user test did not run in this run: run its load here
        _fifty_users(ctx)
        recorded, load = ctx.memory, "its own"
    before, after = recorded.get("before_mb"), recorded.get("after_mb")
    details = {
        "mode": ctx.client.mode,
        "before_mb": round(before, 1) if before is not None else None,
        "after_mb": round(after, 1) if after is not None else None,
        "users": recorded.get("users"),
        "load": load,  # whose fifty users were measured
        "target_mb": MEMORY_TARGET_MB,
        "limit_mb": MEMORY_LIMIT_MB,
        "process": "this process" if ctx.client.mode == "in-process" else "the web server",
    }
    if before is None or after is None:
        return Outcome(
            0,
            "the web process's memory could not be read",
            details,
            "Expose the process's resident memory (GET /api/system/status → process.rss_mb, "
            "Linux /proc) to an ops token.",
        )
    growth = after - before
    details["growth_mb"] = round(growth, 1)
    score = linear(growth, MEMORY_TARGET_MB, MEMORY_LIMIT_MB)
    summary = (
        f"resident memory {before:.0f} → {after:.0f} MB ({growth:+.0f} MB) under "
        f"{recorded.get('users')} concurrent users"
    )
    advice = "Memory grows under load: look for caches without a bound and answers or audio "
    advice += "kept after the request."
    return Outcome(score, summary, details, "" if score >= 80 else advice)
