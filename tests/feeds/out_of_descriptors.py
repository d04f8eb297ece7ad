"""Run by test_listener_hostile_clients in a process of its own: an MLLP listener that runs out of
file descriptors while a client is waiting to connect.

Protocol on stdin/stdout: prints the port; on "exhaust" uses up every free descriptor and says
"exhausted"; on "errors" prints how many accept() calls have failed; on "free" gives the descriptors
back; on "report" prints what was logged and counted, as JSON.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wmin.settings.test")
django.setup()

from wmin.feeds.listener import ListenerThread  # noqa: E402

ACK = b"MSH|^~\\&|HUB|WMIN|RIS|RRK|20260101000000||ACK^S24^ACK|1|P|2.5.1\rMSA|AA|1"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def main() -> None:
    lines = Lines()
    logging.getLogger().addHandler(lines)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    thread = ListenerThread(handle=lambda payload, peer: ACK, record_metrics=False, watch_profiles=False)
    _, port = thread.start()
    print(port, flush=True)
    hoard: list[int] = []
    for command in sys.stdin:
        command = command.strip()
        if command == "exhaust":
            while True:
                try:
                    hoard.append(os.open(os.devnull, os.O_RDONLY))
                except OSError:
                    break
            print("exhausted", flush=True)
        elif command == "errors":
            print(accept_errors(thread), flush=True)
        elif command == "free":
            for descriptor in hoard:
                os.close(descriptor)
            hoard.clear()
            print("freed", flush=True)
        elif command == "report":
            print(json.dumps({
                "messages": [r.getMessage() for r in lines.records if r.levelno >= logging.WARNING],
                # asyncio's own accept loop logged a traceback for every failed try; ours must not
                # (this process has no database: reading the profiles fails, and says so)
                "tracebacks": [r.getMessage() for r in lines.records
                               if r.exc_info and r.getMessage() != "hl7.profiles_not_read"],
                "accept_errors": accept_errors(thread),
            }), flush=True)
            break
    thread.stop()


def accept_errors(thread: ListenerThread) -> float:
    snapshot = thread.listener.metrics.snapshot()
    return sum(value for name, _, value in snapshot["counters"] if name == "accept_errors_total")


if __name__ == "__main__":
    main()
