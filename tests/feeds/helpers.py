"""Building a trust's HL7 messages in tests: incrementing control ids, explicit event times."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from booking.models import Patient
from wmin.feeds.ingest import Ack, receive_frame
from wmin.feeds.simulator import messages
from wmin.feeds.simulator.messages import RisStyle, SimPatient

T0 = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
_ids = itertools.count(1)


def sim_patient(patient: Patient) -> SimPatient:
    return SimPatient(
        nhs_number=patient.nhs_number,
        family_name=patient.family_name,
        given_name=patient.given_name,
        date_of_birth=patient.date_of_birth,
        sex=patient.sex or "F",
        postcode=patient.postcode or "B15 2TT",
    )


@dataclass
class Feed:
    """One trust's RIS in a test: each message gets a fresh MSH-10 and, unless given, a later time."""

    style: RisStyle
    clock: dt.datetime = T0
    sent: list[str] = field(default_factory=list)
    scanner: str = "RRK01-CT1"  # AIG-3 unless a message names another

    def _next(self, at: dt.datetime | None) -> tuple[str, dt.datetime]:
        if at is None:
            self.clock += dt.timedelta(minutes=1)
            at = self.clock
        return f"T{next(_ids):08d}", at

    def siu(self, trigger: str, slot_id: str, *, at: dt.datetime | None = None, **kwargs: object) -> bytes:
        control_id, at = self._next(at)
        kwargs.setdefault("starts_at", T0 + dt.timedelta(days=7))
        kwargs.setdefault("minutes", 20)
        kwargs.setdefault("scanner_id", self.scanner)
        text = messages.siu(trigger, style=self.style, control_id=control_id, sent_at=at, slot_id=slot_id, **kwargs)  # type: ignore[arg-type]
        self.sent.append(control_id)
        return text.encode("utf-8")

    def orm(self, control: str, placer: str, patient: SimPatient, *, at: dt.datetime | None = None, **kwargs: object) -> bytes:
        control_id, at = self._next(at)
        kwargs.setdefault("exam_code", "CHEAD")
        text = messages.orm(control, style=self.style, control_id=control_id, sent_at=at, placer=placer, patient=patient, **kwargs)  # type: ignore[arg-type]
        return text.encode("utf-8")

    def adt(self, trigger: str, patient: SimPatient, *, at: dt.datetime | None = None) -> bytes:
        control_id, at = self._next(at)
        return messages.adt(trigger, style=self.style, control_id=control_id, sent_at=at, patient=patient).encode("utf-8")


def apply(payload: bytes, peer: str = "127.0.0.1:5000") -> Ack:
    """Through ingest without a socket (the listener tests cover the socket)."""
    (ack,) = receive_frame(payload, peer=peer)
    return ack
