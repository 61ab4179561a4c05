"""Sample the metrics once (or keep watching), evaluate the alert rules, print values."""

from __future__ import annotations

import json
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from monitoring import services


class Command(BaseCommand):
    help = (
        "Sample every metric now, evaluate the alert rules and print the values. With "
        "--watch, keep sampling each interval unless beat's task already did: the "
        "watchdog that still raises the heartbeat alert when every worker is down."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--probes",
            action="store_true",
            help="also run the probe questions (text and voice) now",
        )
        parser.add_argument(
            "--watch",
            type=float,
            metavar="SECONDS",
            help="keep running: every SECONDS, sample if the sampling interval (the "
            "sample-metrics periodic task's) has passed since anyone last did",
        )

    def handle(self, *args, **options):
        if options["watch"] is not None:
            return self._watch(options["watch"])
        result = services.sample(force=True, probes=True if options["probes"] else None)
        report = {
            "sampled_in_ms": result.duration_ms,
            "metrics": {
                s.name: {
                    "value": s.value,
                    "count": s.count,
                    **({"detail": s.detail} if s.value is None and s.detail else {}),
                }
                for s in result.samples
            },
            "alerts": [
                {"id": alert.pk, "metric": alert.metric, "severity": alert.severity, "event": event}
                for alert, event in result.changed
            ],
            "status": services.overall_status().status,
        }
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
            return
        for sample in result.samples:
            value = services.format_value(sample.name, sample.value)
            self.stdout.write(f"{sample.name:<28} {value:>12}  ({sample.count} events)")
        for entry in report["alerts"]:
            self.stdout.write(
                f"alert {entry['id']} {entry['event']}: {entry['metric']} ({entry['severity']})"
            )
        self.stdout.write(f"status {report['status']}; sampled in {result.duration_ms:.0f} ms")

    def _watch(self, every: float) -> None:
        if every < 1:
            raise CommandError("--watch needs at least 1 second")
        stop = threading.Event()
        for name in ("SIGINT", "SIGTERM"):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
        self.stdout.write(f"watching: sampling every {every:g} s unless beat's task did")
        while not stop.is_set():
            try:
                result = services.sample_if_due()
                if not result.skipped:
                    self.stdout.write(
                        f"sampled {len(result.samples)} metrics in {result.duration_ms:.0f} ms"
                    )
            except Exception as exc:  # keep watching; the next pass may work
                self.stderr.write(f"sampling failed: {type(exc).__name__}: {exc}")
            stop.wait(every)
