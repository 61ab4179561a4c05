"""``manage.py bench load``: many users asking at once over the chat socket (and, with
``--voice``, the voice socket), against a private deployment or a given URL.

Private (the default): ``manage.py serve --no-worker [--web N]`` on a free loopback port
(``lineled.benchmarks.deployment``), on the sandbox database with the demo manuals
ingested, and with REDIS_URL set on this Redis under keys of its own (the services
profile; without it the embedded one, one web process). Each user is a crew account of
its own, signing in on the socket with its session as a browser does.

``--url URL --token T``: a deployment already running; the users share the tokens given
(``--token`` again for more), so on the deployment raise ``ANSWERS_PER_USER`` and turn
``RATE_ASK`` and ``RATE_CONVERSATIONS`` off for the run, and its sockets must take API
tokens. Its processes cannot be read from here: no CPU or memory figures.

Each user makes a conversation over the REST API, opens its socket, and once every user
has, all ask (``lineled.benchmarks.load.driver``). Before that a few questions warm the
web processes (the index of the manuals loads on the first search). Figures: first token
and total p50/p95/max, answers/s, errors by kind (per mode too with ``--voice``), the
web processes' CPU time per answer and their resident memory before, after 100 and
1,000 answers when the run gets there, and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

from chat.benchmarks.chat import QUESTIONS, load_questions
from knowledge.demo import loader
from knowledge.search import schema
from lineled.benchmarks.deployment import Deployment, cpu_seconds, memory_mb
from lineled.benchmarks.load.driver import Plan, Turn, drive
from lineled.benchmarks.load.sockets import Credentials, Users
from lineled.management.commands.serve import web_processes
from lineled.roles import Role
from voice import audio, tts

# Issue 17's targets for 50 users at once on two web processes, PostgreSQL and Redis.
TARGETS = {"first_token_p95_ms": 300.0, "total_p95_ms": 1000.0, "errors": 0}
MEMORY_CHECKPOINTS = (100, 1000)  # answers after which the web processes' memory is read
KINDS = ("fact", "procedure", "safety")  # development questions asked on their own


def add_arguments(parser):
    parser.add_argument("--users", type=_positive, default=10, help="users asking at once")
    parser.add_argument("--questions", type=_positive, default=5, help="per user, at most")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        metavar="S",
        help="each user asks every S seconds (its first question at a moment of its own "
        "within the first S); 0: the next question as soon as the answer ends",
    )
    parser.add_argument(
        "--duration", type=float, default=600.0, metavar="S", help="no question after S seconds"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="an answer's longest wait"
    )
    parser.add_argument(
        "--voice",
        type=int,
        nargs="?",
        const=-1,
        default=0,
        metavar="N",
        help="N of the users ask by voice (alone: one in five)",
    )
    parser.add_argument(
        "--web", type=_positive, metavar="N", help="the private deployment's web processes"
    )
    parser.add_argument("--url", help="load this deployment instead of a private one")
    parser.add_argument("--token", action="append", help="an API token for --url (repeatable)")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def run(options: dict, log=None) -> dict:
    log = log or (lambda message: None)
    plan = Plan(
        users=options["users"],
        questions=options["questions"],
        every=options["pause"],
        duration=options["duration"],
        timeout=options["timeout"],
    )
    voices = options["voice"] if options["voice"] >= 0 else -(-plan.users // 5)
    voices = min(voices, plan.users)
    texts = _questions()
    speech = _speech(texts) if voices else None
    if options.get("url"):
        if not options.get("token"):
            raise ValueError("--url needs --token: an API token of the deployment's")
        tokens = options["token"]
        users = [Credentials(tokens[i % len(tokens)]) for i in range(plan.users)]
        figures = asyncio.run(_load(plan, options["url"], users, voices, texts, speech, None, log))
        return {"deployment": {"url": options["url"], "private": False}, **figures}
    web = web_processes(options.get("web"))  # refused here, before any set-up, if it cannot be
    with tempfile.TemporaryDirectory(prefix="lineled-load-") as folder:
        deployment = Deployment(Path(folder), worker=False, web=web, redis=bool(settings.REDIS_URL))
        _ingest_manuals(deployment)
        users = [_account(deployment, i) for i in range(plan.users)]
        started_s = deployment.up()
        pids = deployment.processes()["web"]
        log(f"deployment up at {deployment.base} in {started_s:.1f} s, web processes {pids}")
        try:
            figures = asyncio.run(
                _load(plan, deployment.base, users, voices, texts, speech, deployment, log)
            )
        finally:
            deployment.stop()
    return {
        "deployment": {
            "url": deployment.base,
            "private": True,
            "web_processes": len(pids),
            "database": connection.vendor,
            "channel_layer": "redis" if deployment.redis else "memory",
            "started_s": round(started_s, 1),
        },
        **figures,
    }


async def _load(plan, base, credentials, voices, texts, speech, deployment, log) -> dict:
    users = Users(base, speech)
    # The last users speak, so that a run with a few voice users has typed ones first.
    openers = [
        users.opener(c, voice=i >= len(credentials) - voices) for i, c in enumerate(credentials)
    ]
    try:
        warm = min(len(openers), 2 * (deployment.web or 1) if deployment else 2)
        await drive(Plan(users=warm, questions=1), openers[:warm], lambda i, k: texts[i])
        log(f"warmed up with {warm} questions; {plan.users} users asking")
        pids = deployment.processes()["web"] if deployment else []
        watch = _Watch(pids)
        client = _cpu_here()
        run = await drive(plan, openers, lambda i, k: texts[(i * 7 + k) % len(texts)], watch.turn)
        client = _cpu_here() - client
    finally:
        await users.aclose()
    result = run.summary()
    log(f"{result['answers']} answers, {result['errors']} errors in {run.seconds:.1f} s")
    return {
        "plan": {
            "users": plan.users,
            "voice_users": voices,
            "questions_per_user": plan.questions,
            "pause_s": plan.every,
            "duration_s": plan.duration,
            "timeout_s": plan.timeout,
        },
        # The figures depend on the machine, and on what else it was doing (this
        # process's users run on it too).
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
        "targets": TARGETS,
        "load_s": round(run.seconds, 2),  # from the first question to the last answer
        **result,
        **watch.figures(result["answers"]),
        # The users' own CPU time, taken from the same cores when the deployment is here.
        "users_cpu_s": round(client, 1),
    }


def _cpu_here() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


class _Watch:
    """The web processes' CPU time and memory, read around the run and as the answers
    pass each of MEMORY_CHECKPOINTS."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.cpu = self._cpu()
        self.memory = {"before": self._memory()}
        self.answers = 0

    def _cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def _memory(self) -> list[float]:
        return [round(memory_mb(pid)[0], 1) for pid in self.pids]

    def turn(self, turn: Turn) -> None:
        if turn.ok:
            self.answers += 1
            if self.answers in MEMORY_CHECKPOINTS:
                self.memory[f"after_{self.answers}"] = self._memory()

    def figures(self, answers: int) -> dict:
        if not self.pids:
            return {"cpu_ms_per_answer": None, "web_memory_mb": None}
        used = self._cpu() - self.cpu
        self.memory["after"] = self._memory()
        return {
            "cpu_ms_per_answer": round(used * 1000 / answers, 1) if answers else None,
            "web_memory_mb": self.memory,  # resident, per web process
        }


def _questions() -> list[str]:
    return [q["question"] for q in load_questions(QUESTIONS) if q["kind"] in KINDS]


def _speech(texts: list[str]):
    """``speak(text)``: the question as 16 kHz PCM, spoken by this machine's synthesizer
    (the one that speaks answers), with a little silence around it; all made here, so
    that no user waits for the synthesizer during the run."""
    engine = tts.engine()
    if engine is None:
        raise ValueError("--voice needs a speech synthesizer (VOICE_TTS, e.g. espeak-ng)")
    made = {
        text: audio.silence(300) + audio.load_wav(engine.synthesize(text).wav) + audio.silence(700)
        for text in texts
    }
    return made.__getitem__


def _ingest_manuals(deployment: Deployment) -> None:
    """The demo manuals, ingested into the sandbox with their pages in the deployment's
    media folder."""
    with override_settings(MEDIA_ROOT=deployment.media):
        loader.load()
    schema.analyze(connection)


def _account(deployment: Deployment, i: int) -> Credentials:
    account = deployment.account(f"load-user-{i}", Role.CREW)
    return Credentials(account.token, deployment.cookie(account))
