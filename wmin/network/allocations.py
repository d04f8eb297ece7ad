"""Network allocations a manager starts by hand: recorded (audited), queued on commit, run with
their progress stored so the page can show it, the way what-if simulations are. The nightly
allocation (booking.tasks.optimiser_allocate) runs the same two booking services without a record.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from audit.models import AuditAction
from audit.trail import record
from booking.optimiser.services import run_network_allocation
from booking.services.offers import send_allocation_offers
from wmin.celery import delay_or_report

from .models import AllocationRequest, SimulationStatus

logger = logging.getLogger(__name__)
QUEUE_DOWN = "The task queue was not available, so the allocation did not start. Try again in a few minutes."


def start_allocation(user: Any) -> AllocationRequest:
    """Record the request, audit it, and queue the work once the transaction commits."""
    from .tasks import run_allocation_now

    request = AllocationRequest.objects.create(created_by=user if user.is_authenticated else None)
    record(AuditAction.CREATE, object_type="booking.OptimiserRun", summary="Network allocation started by hand")

    def queue() -> None:
        if not delay_or_report(run_allocation_now, request.pk):
            AllocationRequest.objects.filter(pk=request.pk, status=SimulationStatus.QUEUED).update(
                status=SimulationStatus.FAILED, error=QUEUE_DOWN
            )

    transaction.on_commit(queue)
    return request


def run_allocation(request_id: int) -> bool:
    """Run a queued request. Claims it first, so a task delivered twice runs it once."""
    claimed = AllocationRequest.objects.filter(pk=request_id, status=SimulationStatus.QUEUED).update(
        status=SimulationStatus.RUNNING,
        started_at=timezone.now(),
        progress=10,
        stage="Loading the waiting list and the open slots, and solving",
    )
    if not claimed:
        return False
    request = AllocationRequest.objects.get(pk=request_id)
    try:
        now = timezone.now()
        run = run_network_allocation(now=now, triggered_by_id=request.created_by_id)
        AllocationRequest.objects.filter(pk=request_id).update(
            run=run, progress=70, stage=f"Sending {run.proposed:,} offers"
        )
        sent = send_allocation_offers(run, now=now)
    except Exception as exc:  # recorded on the request for the manager to see, then logged
        logger.exception("Network allocation request %s failed", request_id)
        AllocationRequest.objects.filter(pk=request_id).update(
            status=SimulationStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        return False
    AllocationRequest.objects.filter(pk=request_id).update(
        status=SimulationStatus.FINISHED, progress=100, stage="", offers_sent=sent, finished_at=timezone.now()
    )
    return True


def get_request_or_404(pk: int) -> AllocationRequest:
    request = AllocationRequest.objects.select_related("run").filter(pk=pk).first()
    if request is None:
        raise Http404("No such allocation")
    return request
