import json
import time

from django.core.management.base import BaseCommand, CommandError

from lineled.bench import BENCHMARKS, sandbox


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
        run = bench.load()
        started = time.perf_counter()
        with sandbox(f"bench_{bench.name}"):
            try:
                result = run(options, log=None if as_json else self.stderr.write)
            except (ValueError, FileNotFoundError) as exc:
                raise CommandError(str(exc)) from exc
        result = {"benchmark": bench.name, **result}
        result["seconds"] = round(time.perf_counter() - started, 2)
        if as_json:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(json.dumps(result, indent=2))
