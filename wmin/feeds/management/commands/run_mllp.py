"""Run the MLLP listener for the trusts' RIS feeds until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from wmin.feeds.listener import DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_WORKERS, serve, serve_processes

log = logging.getLogger("wmin.feeds.listener")


class Command(BaseCommand):
    help = "Listen for HL7 v2 over MLLP from the trusts' RIS (TLS when MLLP_TLS_CERT/KEY are set)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MLLP_HOST)
        parser.add_argument("--port", type=int, default=settings.MLLP_PORT, help="0 picks a free port")
        parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="threads applying messages")
        parser.add_argument("--processes", type=int, default=1,
                            help="listener processes sharing the port (each with --workers threads)")
        parser.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES)
        parser.add_argument("--ready-file", type=Path, help="write HOST:PORT here once listening")

    def handle(self, *args, host: str, port: int, workers: int, processes: int, max_message_bytes: int,
               ready_file: Path | None, **options):
        def ready(bound_host: str, bound_port: int, tls: bool) -> None:
            kind = "MLLP over TLS" if tls else "plain MLLP"
            log.info("hl7.listening", extra={"host": bound_host, "port": bound_port, "tls": tls, "workers": workers})
            shape = f"{processes} processes x {workers} workers" if processes > 1 else f"{workers} workers"
            self.stdout.write(f"MLLP listener on {bound_host}:{bound_port} ({kind}, {shape})")
            self.stdout.flush()
            if ready_file is not None:
                ready_file.write_text(f"{bound_host}:{bound_port}\n")

        if processes > 1:
            serve_processes(host, port, processes=processes, max_workers=workers, max_message_bytes=max_message_bytes,
                            on_ready=ready)
        else:
            asyncio.run(serve(host, port, max_workers=workers, max_message_bytes=max_message_bytes, on_ready=ready))
        self.stdout.write("MLLP listener stopped")
