"""Ask a web server's /healthz every INTERVAL seconds until stopped, as a load balancer
would, each time on a new connection, and print one line per probe: the monotonic time
it was sent, the milliseconds until the whole answer came back, and the status (0 when
none came within the timeout). ``bench abuse`` runs it in a process of its own, so the
attacks sharing the benchmark's process cannot slow the measurement down.

    python -m lineled.benchmarks.probe HOST PORT [INTERVAL] [TIMEOUT]
"""

from __future__ import annotations

import contextlib
import http.client
import sys
import time


def probe(host: str, port: int, timeout: float) -> int:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def main(host: str, port: int, interval: float = 0.05, timeout: float = 5.0) -> None:
    while True:
        sent = time.monotonic()
        status = probe(host, port, timeout)
        took = time.monotonic() - sent
        print(f"{sent:.4f} {took * 1000:.2f} {status}", flush=True)
        time.sleep(max(0.0, interval - took))


if __name__ == "__main__":
    args = sys.argv[1:]
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        main(args[0], int(args[1]), *(float(a) for a in args[2:4]))
