"""Runs the web app, the MLLP listener, each trust's simulated RIS and a Celery worker with beat;
Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand

from wmin.demo.users import ensure_demo_users
from wmin.feeds.models import FeedProfile

DEMO_OPEN_SLOTS_PER_RIS = 20


class Command(BaseCommand):
    help = "Run every process of the demo and stop them all cleanly on Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, port: int, **options):
        python = sys.executable
        processes: dict[str, list[str]] = {
            "web": [python, "-m", "gunicorn", "wmin.wsgi:application", "--bind", f"127.0.0.1:{port}",
                    "--workers", "2", "--threads", "4", "--access-logfile", "-"],
        }
        if "run_mllp" in get_commands():
            processes["mllp"] = [python, "manage.py", "run_mllp"]
        if "simulate_ris" in get_commands():
            # Each trust's RIS answers the hub's SRM (mostly AA; AR for a slot it already booked and
            # a seeded tenth) and its 15-minute SQM poll, on DEMO_RIS_PORT_BASE + n.
            processes["ris"] = [python, "manage.py", "simulate_ris", "--listen-srm", "--messages", "0",
                                "--open-slots", str(DEMO_OPEN_SLOTS_PER_RIS)]
        processes["worker"] = [python, "-m", "celery", "-A", "wmin", "worker", "--beat", "--loglevel", "INFO",
                               "-Q", "default,hl7,solver,notify", "--concurrency", "2",
                               "--schedule", str(settings.BASE_DIR / "var" / "celerybeat-schedule")]
        (settings.BASE_DIR / "var").mkdir(exist_ok=True)
        environment = demo_environment()
        running = {
            name: subprocess.Popen(cmd, cwd=settings.BASE_DIR, start_new_session=True, env=environment)
            for name, cmd in processes.items()
        }
        _wait_for(f"http://127.0.0.1:{port}/health/", seconds=30)
        self.stdout.write(self.style.SUCCESS(f"\nThe hub is running at http://127.0.0.1:{port}/"))
        if "mllp" in running:
            self.stdout.write(f"MLLP listener for trust RIS feeds on {settings.MLLP_HOST}:{settings.MLLP_PORT}")
        if "ris" in running:
            ports = sorted(p for p in FeedProfile.objects.filter(active=True).values_list("ris_port", flat=True) if p)
            if ports:
                self.stdout.write(f"Simulated trust RIS answering SRM and SQM on 127.0.0.1:{ports[0]}-{ports[-1]} "
                                  "(DEMO_RIS_PORT_BASE)")
        broker = settings.CELERY_BROKER_URL.split("@")[-1]
        self.stdout.write(f"Task worker with beat on {broker}; press Ctrl-C to stop everything.")
        self.stdout.write("Sign in as:")
        for sign_in in ensure_demo_users():
            self.stdout.write(f"  {sign_in.who:<55} {sign_in.how}")
        self.stdout.write("")
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, process in running.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} stopped (exit {process.returncode}); stopping the rest.")
                        stopping = True
                time.sleep(0.5)
        finally:
            for process in running.values():
                if process.poll() is None:
                    process.terminate()  # the leader only: gunicorn and celery then stop their own children
            deadline = time.monotonic() + 15
            for process in running.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            self.stdout.write(f"Stopped {', '.join(running)}.")


def demo_environment() -> dict[str, str]:
    """What every process of the demo runs with."""
    return {
        **os.environ,
        # Every process hands tasks to the worker, Redis or not: nothing long runs inside a request.
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # Production-like: Django's debug pages would show anyone every URL and setting.
        "DJANGO_DEBUG": "false",
    }


def _wait_for(url: str, *, seconds: float) -> None:
    """Until the web app answers (so the banner comes after its start-up lines), or give up quietly."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.3)
