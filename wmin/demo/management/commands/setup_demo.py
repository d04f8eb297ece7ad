from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from slots.network_loader import NetworkDataError, load_network
from wmin.demo.dashboards import prepare_dashboards
from wmin.demo.users import ensure_demo_users
from wmin.feeds.profiles import ensure_default_profiles
from wmin.simulation.demand import SIZES, clear_synthetic_demand, generate_demand


class Command(BaseCommand):
    help = "Load the 47 sites, feed profiles and seeded synthetic demand, and create the demo sign-ins."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="demo")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--keep", action="store_true", help="Keep existing demand if there is any")

    def handle(self, *args, size: str, seed: int, keep: bool, **options):
        try:
            network = load_network(Path(settings.FIXTURES_DIR))
        except NetworkDataError as exc:
            raise CommandError(f"Nothing was loaded. {exc}") from exc
        self.stdout.write(f"Network: {network.sites} sites ({network.hospitals} hospitals, {network.cdcs} CDCs), {network.trusts} trusts.")
        ensure_default_profiles()
        from booking.models import Referral

        kept = keep and Referral.objects.exists()
        if kept:
            self.stdout.write("Keeping the existing synthetic demand.")
        else:
            clear_synthetic_demand()
            demand = generate_demand(SIZES[size], seed=seed, now=timezone.now(), show_progress=True)
            self.stdout.write(
                f"Demand ({size}, seed {seed}): {demand.referrals} referrals, {demand.slots} pool slots "
                f"({demand.open_slots} open), {demand.bookings} bookings ({demand.did_not_attend} DNAs, "
                f"{demand.cancelled} cancelled); {demand.share_over_six_weeks:.1%} waiting over 6 weeks, "
                f"{demand.share_over_thirteen_weeks:.1%} over 13 weeks."
            )
        self.stdout.write("Dashboards: wait snapshots and a what-if simulation for the capacity advice ...")
        ready = prepare_dashboards(timezone.now(), fresh=not kept)
        self.stdout.write(
            f"  {ready.snapshot_rows} snapshot rows written"
            + (f"; simulation {ready.simulation.pk} {ready.simulation.get_status_display().lower()}" if ready.simulation else "")
        )
        self.stdout.write("\nSign in as:")
        for sign_in in ensure_demo_users():
            self.stdout.write(f"  {sign_in.who:<55} {sign_in.how}")
