import json
import time
from dataclasses import dataclass
from types import ModuleType

from django.core.management.base import BaseCommand, CommandError

from chat.benchmarks import calibrate, chat
from knowledge.benchmarks import ingest, retrieval
from lineled.bench import sandbox
from lineled.benchmarks import abuse, load
from monitoring.benchmarks import monitoring
from validation.benchmarks import validation
from voice.benchmarks import voice


@dataclass(frozen=True)
class Benchmark:
    """A module with ``run(options, log=None) -> dict`` (JSON-able figures) and
    ``add_arguments(parser)``."""

    name: str
    help: str
    module: ModuleType

    @property
    def run(self):
        return self.module.run

    def arguments(self, parser) -> None:
        self.module.add_arguments(parser)


BENCHMARKS = {
    b.name: b
    for b in [
        Benchmark(
            "retrieval",
            "hit@1/hit@4 on development question sets and search latency p50/p95",
            retrieval,
        ),
        Benchmark("ingest", "PDF ingestion speed (pages per second, page images included)", ingest),
        Benchmark(
            "chat",
            "answers through chat.services: latency p50/p95, time to first token, fact recall, "
            "decline accuracy, follow-up accuracy",
            chat,
        ),
        Benchmark(
            "calibrate",
            "fit the local model's unit weights and decline threshold on a question set, "
            "beside the figures of those in use",
            calibrate,
        ),
        Benchmark(
            "voice",
            "spoken questions (espeak-ng voices, clean and with kitchen noise) through the voice "
            "path: word error rate, fact recall against typing, time to first audio",
            voice,
        ),
        Benchmark(
            "validation",
            "the full validation suite in process on the demo manuals, with a worker: "
            "its duration, score and verdict (targets: 60 s, READY at 95)",
            validation,
        ),
        Benchmark(
            "monitoring",
            "one metric-sampling pass on a database with 100,000 chat messages (target <= 1 s)",
            monitoring,
        ),
        Benchmark(
            "abuse",
            "issue 16's attacks (floods, bombs, bad input, a killed worker...) on a private "
            "deployment on loopback: what came back, /healthz meanwhile, what was left, safe",
            abuse,
        ),
        Benchmark(
            "load",
            "users asking at once over the chat (and voice) socket of a private deployment or a "
            "given URL: first token and total p50/p95/max, answers/s, errors by kind, CPU per "
            "answer, web processes' memory",
            load,
        ),
    ]
}


class Command(BaseCommand):
    help = (
        "Run a benchmark in a throwaway database and print its figures. "
        "Benchmarks: " + ", ".join(f"{b.name} ({b.help})" for b in BENCHMARKS.values())
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        subparsers = parser.add_subparsers(dest="benchmark", metavar="NAME", required=True)
        for bench in BENCHMARKS.values():
            sub = subparsers.add_parser(bench.name, help=bench.help, description=bench.help)
            sub.add_argument(
                "--json", action="store_true", dest="as_json", help="print one JSON object"
            )
            bench.arguments(sub)
        return parser

    def handle(self, benchmark, as_json=False, **options):
        bench = BENCHMARKS[benchmark]
        started = time.perf_counter()
        with sandbox(f"bench_{bench.name}"):
            try:
                result = bench.run(options, log=None if as_json else self.stderr.write)
            except (ValueError, FileNotFoundError) as exc:
                raise CommandError(str(exc)) from exc
        result = {"benchmark": bench.name, **result}
        result["seconds"] = round(time.perf_counter() - started, 2)
        if as_json:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(json.dumps(result, indent=2))
