"""Celery tasks for the network dashboards (queue `solver`, see CELERY_TASK_ROUTES).

They take primary keys only and call the services.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import allocations, simulations, snapshots


@shared_task(name="wmin.network.tasks.take_wait_snapshot")
def take_wait_snapshot() -> int:
    """Today's wait snapshot (run hourly by Celery beat; each run replaces today's rows)."""
    return snapshots.take_snapshot(timezone.now())


@shared_task(name="wmin.network.tasks.run_what_if_simulation")
def run_what_if_simulation(run_id: int) -> bool:
    return simulations.run_simulation(run_id)


@shared_task(name="wmin.network.tasks.run_allocation_now")
def run_allocation_now(request_id: int) -> bool:
    return allocations.run_allocation(request_id)
