"""What each trust's RIS sends over a day: releases, local bookings, cancellations, orders, ADT.

A `TrustScript` is a snapshot of one trust (its feed profile, scanners and exam codes) taken before
the event loop starts, so playing it needs no database. Its quirks come from the profile: MSH-4 is
the first listed facility, the version is the profile's (v2.3 trusts send no TQ1 and name the exam
in SCH-8), status words are the profile's own (`Confirmed` or `Scheduled`), a third of the trusts
end segments with LF, and slots are released the way the profile says (S24, SIU with an `Open`
SCH-25, or only when polled with SQM).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nhs_number import calculate_checksum

from slots.models import ExamType, Scanner
from wmin.feeds.models import FeedProfile, SlotReleaseMode

from . import messages
from .messages import RisStyle, SimPatient

LONDON = ZoneInfo("Europe/London")
FAMILY = ["Ahmed", "Begum", "Brown", "Davies", "Evans", "Green", "Hughes", "Jones", "Khan", "Kaur", "Patel",
          "Roberts", "Singh", "Smith", "Taylor", "Thomas", "Walker", "White", "Williams", "Wilson", "Wright"]
GIVEN = ["Aisha", "Amelia", "Arjun", "David", "Emily", "Fatima", "George", "Grace", "Harpreet", "Isla", "Jack",
         "James", "Layla", "Margaret", "Mohammed", "Olivia", "Oliver", "Priya", "Ruby", "Sophie", "Thomas"]
# Share of each kind of message in a trust's feed.
MIX = {"release": 40, "book": 15, "cancel": 10, "block": 4, "order": 16, "change": 5, "withdraw": 3, "adt": 7}


@dataclass(frozen=True)
class ScannerRef:
    resource_id: str
    modality: str
    site_code: str
    outcode: str


@dataclass
class TrustScript:
    ods_code: str
    style: RisStyle
    mode: str
    scanners: list[ScannerRef]
    exam_codes: dict[str, list[str]]  # modality → the RIS's exam codes
    rng: random.Random
    run_id: str
    released: dict[str, tuple[datetime, int, ScannerRef]] = field(default_factory=dict)
    booked: dict[str, tuple[datetime, int, ScannerRef]] = field(default_factory=dict)
    orders: dict[str, tuple[SimPatient, str]] = field(default_factory=dict)
    patients: list[SimPatient] = field(default_factory=list)
    sequence: int = 0

    # What the fake RIS answers to an SQM: the slots it has open.
    def open_slots(self) -> list[dict[str, object]]:
        return [
            {"slot_id": slot_id, "starts_at": starts_at, "minutes": minutes, "scanner_id": scanner.resource_id}
            for slot_id, (starts_at, minutes, scanner) in list(self.released.items())[:200]
        ]

    def hold_open(self, count: int, now: datetime) -> None:
        """Slots the RIS has open before anything is played: what the hub's SQM poll finds."""
        for n in range(count):
            scanner = self.rng.choice(self.scanners)
            slot_id = f"{self.ods_code}{self.run_id}Q{n:04d}"
            self.released[slot_id] = (self._slot_time(now), self.rng.choice([15, 20, 30, 45]), scanner)

    def next_message(self, now: datetime) -> tuple[str, bytes]:
        kinds = list(MIX)
        kind = self.rng.choices(kinds, weights=[MIX[k] for k in kinds])[0]
        if kind in ("book", "block") and not self.released:
            kind = "release"
        if kind == "cancel" and not self.booked:
            kind = "book" if self.released else "release"
        if kind in ("change", "withdraw") and not self.orders:
            kind = "order"
        if kind == "adt" and not self.patients:
            kind = "order"
        if kind == "book" and not self.released:
            kind = "release"
        return kind, getattr(self, f"_{kind}")(now).encode("utf-8")

    # Messages ----------------------------------------------------------------------------------

    def _control_id(self) -> str:
        self.sequence += 1
        return f"{self.run_id}{self.sequence:06d}"

    def _release(self, now: datetime) -> str:
        scanner = self.rng.choice(self.scanners)
        starts_at = self._slot_time(now)
        minutes = self.rng.choice([15, 20, 30, 45])
        slot_id = f"{self.ods_code}{self.run_id}{self.sequence:06d}"
        self.released[slot_id] = (starts_at, minutes, scanner)
        if self.mode == SlotReleaseMode.SQM_POLL:
            # This RIS cannot push releases: the slot waits for the hub's SQM poll; say something else.
            return self._order(now)
        trigger, status = ("S24", "open") if self.mode == SlotReleaseMode.SIU_S23_S24 else ("S12", "open")
        return self._siu(trigger, slot_id, starts_at, minutes, scanner, now, status=status)

    def _book(self, now: datetime) -> str:
        slot_id = self.rng.choice(list(self.released))
        starts_at, minutes, scanner = self.released.pop(slot_id)
        self.booked[slot_id] = (starts_at, minutes, scanner)
        return self._siu("S12", slot_id, starts_at, minutes, scanner, now, status="booked", patient=self._patient(scanner))

    def _cancel(self, now: datetime) -> str:
        slot_id = self.rng.choice(list(self.booked))
        starts_at, minutes, scanner = self.booked.pop(slot_id)
        self.released[slot_id] = (starts_at, minutes, scanner)
        return self._siu("S15", slot_id, starts_at, minutes, scanner, now, status="cancelled")

    def _block(self, now: datetime) -> str:
        slot_id = self.rng.choice(list(self.released))
        starts_at, minutes, scanner = self.released.pop(slot_id)
        if self.mode == SlotReleaseMode.SIU_STATUS:
            return self._siu("S14", slot_id, starts_at, minutes, scanner, now, status="blocked")
        return self._siu("S23", slot_id, starts_at, minutes, scanner, now, status="blocked")

    def _order(self, now: datetime) -> str:
        scanner = self.rng.choice(self.scanners)
        patient = self._patient(scanner)
        exam = self.rng.choice(self.exam_codes.get(scanner.modality) or ["CHEAD"])
        placer = f"{self.ods_code}-{self.run_id}-{self.sequence:06d}"
        self.orders[placer] = (patient, exam)
        priority = self.rng.choices(["R", "S", "2WW", "SOON"], weights=[70, 10, 12, 8])[0]
        return messages.orm(
            "NW", style=self.style, control_id=self._control_id(), sent_at=now, placer=placer, patient=patient,
            exam_code=exam, priority=priority, modality=scanner.modality, omi=self.rng.random() < 0.3,
        )

    def _change(self, now: datetime) -> str:
        placer = self.rng.choice(list(self.orders))
        patient, exam = self.orders[placer]
        return messages.orm(
            "XO", style=self.style, control_id=self._control_id(), sent_at=now, placer=placer, patient=patient,
            exam_code=exam, priority=self.rng.choice(["S", "R", "2WW"]),
        )

    def _withdraw(self, now: datetime) -> str:
        placer = self.rng.choice(list(self.orders))
        patient, exam = self.orders.pop(placer)
        return messages.orm(
            "CA", style=self.style, control_id=self._control_id(), sent_at=now, placer=placer, patient=patient,
            exam_code=exam,
        )

    def _adt(self, now: datetime) -> str:
        patient = self.rng.choice(self.patients)
        moved = SimPatient(
            patient.nhs_number, patient.family_name, patient.given_name, patient.date_of_birth, patient.sex,
            postcode=f"{self.rng.choice(self.scanners).outcode} {self.rng.randint(1, 9)}AB",
            mobile=f"07700900{self.rng.randint(100, 999)}",
        )
        return messages.adt(self.rng.choice(["A08", "A31"]), style=self.style, control_id=self._control_id(),
                            sent_at=now, patient=moved)

    def _siu(self, trigger: str, slot_id: str, starts_at: datetime, minutes: int, scanner: ScannerRef, now: datetime,
             *, status: str, patient: SimPatient | None = None) -> str:
        exam = self.rng.choice(self.exam_codes.get(scanner.modality) or [""])
        return messages.siu(
            trigger, style=self.style, control_id=self._control_id(), sent_at=now, slot_id=slot_id,
            starts_at=starts_at, minutes=minutes, status=status, scanner_id=scanner.resource_id,
            site_code=scanner.site_code, exam_code=exam, patient=patient,
        )

    def _slot_time(self, now: datetime) -> datetime:
        day = (now + timedelta(days=self.rng.randint(1, 42))).astimezone(LONDON).date()
        minutes = self.rng.randrange(8 * 60, 19 * 60, 15)
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=LONDON)

    def _patient(self, scanner: ScannerRef) -> SimPatient:
        if self.patients and self.rng.random() < 0.3:
            return self.rng.choice(self.patients)
        while True:
            body = f"999{self.rng.randrange(1_000_000):06d}"
            check = calculate_checksum(body)
            if check != 10:
                break
        patient = SimPatient(
            nhs_number=f"{body}{check}",
            family_name=self.rng.choice(FAMILY),
            given_name=self.rng.choice(GIVEN),
            date_of_birth=date(1935, 1, 1) + timedelta(days=self.rng.randrange(30_000)),
            sex=self.rng.choice("FM"),
            postcode=f"{scanner.outcode} {self.rng.randint(1, 9)}{self.rng.choice('ABDEFGHJ')}{self.rng.choice('LNPQRSTU')}",
        )
        self.patients.append(patient)
        return patient


def admit_sender(profiles: list[FeedProfile], host: str) -> list[str]:
    """Let the simulator's host send for these trusts (profiles are closed by default); the ODS codes
    of the profiles that had to be opened to it."""
    opened = []
    for profile in profiles:
        if not profile.admits(host):
            profile.allowed_hosts = [*(profile.allowed_hosts or []), host]
            profile.save(update_fields=["allowed_hosts", "updated_at"])
            opened.append(profile.trust.ods_code)
    return opened


def scripts_for(ods_codes: list[str] | None, *, seed: int, run_id: str) -> list[tuple[TrustScript, FeedProfile]]:
    """One script per active feed profile (or those named), with each trust's quirks."""
    profiles = FeedProfile.objects.filter(active=True).select_related("trust").order_by("trust__ods_code")
    if ods_codes:
        profiles = profiles.filter(trust__ods_code__in=ods_codes)
    exams_by_modality: dict[str, list[str]] = {}
    for code, modality in ExamType.objects.values_list("code", "modality__code"):
        exams_by_modality.setdefault(modality, []).append(code)
    scripts = []
    for index, profile in enumerate(profiles):
        scanners = [
            ScannerRef(s.ris_resource_id, s.modality.code, s.site.code, s.site.outcode)
            for s in Scanner.objects.filter(site__trust=profile.trust).exclude(ris_resource_id="").select_related("site", "modality")
            if s.modality.code in exams_by_modality
        ]
        if not scanners:
            continue
        reverse_map: dict[str, list[str]] = {}
        for theirs, ours in (profile.exam_code_map or {}).items():
            reverse_map.setdefault(str(ours), []).append(str(theirs))
        exam_codes = {
            modality: [reverse_map.get(code, [code])[0] for code in codes] for modality, codes in exams_by_modality.items()
        }
        words = {"open": "Open", "booked": "Booked", "blocked": "Blocked", "cancelled": "Cancelled"}
        for word, meaning in (profile.status_map or {}).items():
            if meaning in words and words[meaning] == meaning.capitalize():
                words[meaning] = word  # the trust's own word: Confirmed, Scheduled…
        version = profile.hl7_version or "2.5.1"
        style = RisStyle(
            facility=(profile.sending_facilities or [profile.trust.ods_code])[0],
            application=(profile.sending_applications or ["RIS"])[0],
            version=version,
            line_ending="\n" if index % 3 == 1 else "\r",
            status_words=words,
            exam_in_appointment_type=version.startswith("2.3"),
        )
        script = TrustScript(
            ods_code=profile.trust.ods_code,
            style=style,
            mode=profile.slot_release_mode,
            scanners=scanners,
            exam_codes=exam_codes,
            rng=random.Random(seed * 1000 + index),
            run_id=run_id,
        )
        scripts.append((script, profile))
    return scripts
