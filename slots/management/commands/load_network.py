from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from slots.network_loader import NetworkDataError, load_network


class Command(BaseCommand):
    help = "Load ICBs, trusts, the 47 sites, scanners and the exam catalogue from fixtures/ (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--fixtures", type=Path, default=Path(settings.FIXTURES_DIR))

    def handle(self, *args, fixtures: Path, **options):
        try:
            summary = load_network(fixtures)
        except NetworkDataError as exc:
            raise CommandError(f"Nothing was loaded. {exc}") from exc
        self.stdout.write(
            f"Loaded {summary.sites} sites ({summary.hospitals} hospitals, {summary.cdcs} CDCs), "
            f"{summary.trusts} trusts, {summary.icbs} ICBs, {summary.scanners} scanners, "
            f"{summary.modalities} modalities, {summary.exam_types} exam types."
        )
