"""`manage.py probe_leaks`: every role, every URL, every answer scanned for patient data (leak_probe)."""

import logging

from django.core.management.base import BaseCommand, CommandError

from wmin.demo.leak_probe import probe


class Command(BaseCommand):
    help = "Sign in as every role, request every URL and report any patient data a role should not see."

    def add_arguments(self, parser):
        parser.add_argument("--role", action="append", help="Only these roles (repeatable)")

    def handle(self, *args, role=None, **options):
        logging.getLogger("django.request").setLevel(logging.ERROR)  # the probe's 404s are expected
        report = probe(only=role)
        for name, counts in report.by_role.items():
            statuses = ", ".join(f"{code}: {count}" for code, count in sorted(counts.items()))
            self.stdout.write(f"  {name:<12} {statuses}")
        self.stdout.write(f"{report.requests} requests; {len(report.findings)} findings.")
        for finding in report.findings[:200]:
            self.stdout.write(f"  {finding}")
        if report.findings:
            raise CommandError(f"{len(report.findings)} responses showed patient data their role should not see.")
