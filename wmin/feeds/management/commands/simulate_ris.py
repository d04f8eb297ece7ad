"""Play each trust's RIS feed to the hub's MLLP listener, and answer the hub's SRM like its RIS would."""

from __future__ import annotations

import asyncio
import signal
import socket
import statistics
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wmin.feeds.simulator.fake_ris import FakeRis
from wmin.feeds.simulator.feeds import admit_sender, scripts_for
from wmin.feeds.simulator.player import play


class Command(BaseCommand):
    help = (
        "Send each trust's RIS traffic (slot releases, local bookings, cancellations, orders, ADT) over MLLP "
        "to the listener; with --listen-srm also run a fake RIS per trust on its profile's ris_port."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trusts", default="", help="ODS codes, comma separated (default: every profile)")
        parser.add_argument("--messages", type=int, default=50, help="messages per trust")
        parser.add_argument("--rate", type=float, default=5.0, help="messages per second per trust (0: flat out)")
        parser.add_argument("--listen-srm", action="store_true", help="answer the hub's SRM/SQM on each ris_port")
        parser.add_argument("--reject-share", type=float, default=0.1,
                            help="share of SRM^S01 answered AR 'slot went locally first'")
        parser.add_argument("--open-slots", type=int, default=0,
                            help="slots each RIS has open from the start (what an SQM poll finds)")
        parser.add_argument("--host", default=settings.MLLP_HOST)
        parser.add_argument("--port", type=int, default=settings.MLLP_PORT)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, trusts: str, messages: int, rate: float, listen_srm: bool, reject_share: float,
               open_slots: int, host: str, port: int, seed: int, **options):
        codes = [c.strip().upper() for c in trusts.split(",") if c.strip()]
        run_id = f"{int(time.time()) % 100_000_000:08d}"
        scripts = scripts_for(codes or None, seed=seed, run_id=run_id)
        if not scripts:
            raise CommandError("No active feed profiles with scanners: run setup_demo first.")
        for script, _ in scripts:
            script.hold_open(open_slots, datetime.now(UTC))
        if messages:
            sender = _source_address(host, port)
            opened = admit_sender([profile for _, profile in scripts], sender)
            if opened:
                self.stdout.write(f"Feed profiles now admit {sender}, where the simulator sends from: {', '.join(opened)}")
        asyncio.run(self._run(scripts, host, port, messages, rate, listen_srm, reject_share, seed))

    async def _run(self, scripts, host, port, messages, rate, listen_srm, reject_share, seed) -> None:
        servers: list[FakeRis] = []
        if listen_srm:
            for script, profile in scripts:
                if not profile.ris_port:
                    continue
                ris = FakeRis(script.style, reject_share=reject_share, open_slots=script.open_slots, seed=seed,
                              booked_locally=script.booked.__contains__)
                try:
                    await ris.start(profile.ris_host or "127.0.0.1", profile.ris_port)
                except OSError as exc:
                    self.stderr.write(f"{script.ods_code}: cannot listen on {profile.ris_port}: {exc}")
                    continue
                servers.append(ris)
                self.stdout.write(f"{script.ods_code} RIS answering SRM on {profile.ris_host}:{profile.ris_port}")
        if messages:
            self.stdout.write(f"Playing {messages} messages from each of {len(scripts)} trusts to {host}:{port}")
            started = time.monotonic()
            results = await play([s for s, _ in scripts], host, port, messages=messages, rate=rate)
            self._report(results, time.monotonic() - started)
        if servers:
            self.stdout.write("Answering SRM until Ctrl-C")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await stop.wait()
            for ris in servers:
                await ris.stop()
            taken = sum(len(r.received) for r in servers)
            self.stdout.write(f"Answered {taken} SRM and {sum(r.queries for r in servers)} SQM")

    def _report(self, results, seconds: float) -> None:
        total = sum(sum(r.acks.values()) for r in results)
        self.stdout.write(f"{'trust':6} {'sent':>5}  {'AA':>4} {'AE':>4} {'AR':>4}  {'p50 ms':>7}  kinds")
        for r in results:
            p50 = statistics.median(r.latencies) * 1000 if r.latencies else 0.0
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(r.sent.items()))
            self.stdout.write(
                f"{r.ods_code:6} {sum(r.sent.values()):5}  {r.acks['AA']:4} {r.acks['AE']:4} {r.acks['AR']:4}  "
                f"{p50:7.1f}  {kinds}" + (f"  ERROR {r.error}" if r.error else "")
            )
        self.stdout.write(f"{total} messages acknowledged in {seconds:.1f} s ({total / max(seconds, 1e-9):.0f}/s)")


def _source_address(host: str, port: int) -> str:
    """The address this machine sends from to reach host:port (the listener sees it as the peer)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:  # connecting a UDP socket sends nothing
        probe.connect((host, port or 9))
        return probe.getsockname()[0]
