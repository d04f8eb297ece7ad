"""A trust's RIS as the hub's outbound side sees it: an MLLP server answering SRM and SQM.

SRM^S01/S04 get an ACK as a RIS with its own diary gives one. A booking (S01) for a slot already
booked, by the RIS's own staff (`booked_locally`) or by an earlier request, gets AR "already
booked"; otherwise AA, but for a seeded share of bookings the RIS's staff took a moment earlier
(`reject_share`: AR "slot went locally first"), or whenever `decide` says so. A cancellation (S04)
frees the slot.
SQM^S25 gets an SQR^S25 listing the open slots `open_slots` returns. Anything else gets AR 200.
Every request it took is kept in `received` for tests and reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wmin.feeds.hl7 import ack as hl7ack
from wmin.feeds.hl7.envelope import clean
from wmin.feeds.hl7.mllp import MllpDecoder, frame
from wmin.feeds.hl7.outbound import BookingRequest, parse_srm
from wmin.feeds.hl7.parse import peek_header

from .messages import RisStyle, sqr

log = logging.getLogger(__name__)


@dataclass
class FakeRis:
    style: RisStyle
    reject_share: float = 0.0
    decide: Callable[[str, BookingRequest], str | None] | None = None  # → AR text, or None to accept
    open_slots: Callable[[], list[dict[str, object]]] = list
    seed: int = 0
    booked: dict[str, str] = field(default_factory=dict)  # the diary: slot (filler id) → the hub's booking (placer id)
    booked_locally: Callable[[str], bool] = lambda slot: False  # slots the RIS's own staff booked
    received: list[tuple[str, BookingRequest]] = field(default_factory=list)
    queries: int = 0
    _random: random.Random = field(init=False)
    _server: asyncio.base_events.Server | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, reuse_address=True)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)

    def answer(self, payload: bytes) -> bytes:
        """The reply to one framed message."""
        try:
            text = clean(payload)[0].text
            header = peek_header(text)
        except Exception as exc:
            return hl7ack.build_reject(payload, f"Unreadable: {exc}").encode("utf-8")
        now = datetime.now(UTC)
        if header.message_type == "SRM":
            try:
                kind, request = parse_srm(text)
            except Exception as exc:
                return hl7ack.build_ack(header, "AE", text=str(exc)[:80]).encode("utf-8")
            self.received.append((kind, request))
            refusal = self._refusal(kind, request)
            if refusal:
                return hl7ack.build_ack(header, "AR", text=refusal[:80]).encode("utf-8")
            return hl7ack.build_ack(header, "AA").encode("utf-8")
        if header.message_type == "SQM":
            self.queries += 1
            reply = sqr(
                style=self.style,
                control_id=hl7ack.new_control_id(),
                sent_at=now,
                query_control_id=header.control_id,
                query_tag=header.control_id,
                slots=self.open_slots(),
            )
            return reply.encode("utf-8")
        return hl7ack.build_ack(
            header, "AR", text="Unsupported", errors=[hl7ack.AckError("200", "Unsupported message type", "MSH^1^9")]
        ).encode("utf-8")

    def _refusal(self, kind: str, request: BookingRequest) -> str | None:
        """Why the RIS refuses this request (None: it takes it), keeping its diary up to date. The
        same booking asked for again (a resend) gets the same answer."""
        slot, booking = request.filler_appointment_id, request.placer_appointment_id
        refusal = self.decide(kind, request) if self.decide is not None else None
        if refusal is not None or kind != "S01":
            if refusal is None and kind == "S04" and self.booked.get(slot) == booking:
                del self.booked[slot]
            return refusal
        if slot in self.booked:
            return None if self.booked[slot] == booking else f"Slot {slot} is already booked"
        if self.booked_locally(slot):
            return f"Slot {slot} is already booked"
        if self._random.random() < self.reject_share:
            self.booked[slot] = ""  # its own staff's booking, a moment before ours
            return f"Slot {slot} went locally first"
        self.booked[slot] = booking
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpDecoder()
        try:
            while chunk := await reader.read(65536):
                for payload in decoder.feed(chunk):
                    writer.write(frame(self.answer(payload)))
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        except Exception:
            log.exception("fake_ris.failed")
        finally:
            writer.close()


class FakeRisThread:
    """FakeRis on its own event loop in a background thread."""

    def __init__(self, ris: FakeRis, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ris, self.host, self.port = ris, host, port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-ris", daemon=True)

    def start(self) -> int:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.ris.start(self.host, self.port), self.loop).result(10)
        return self.port

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.ris.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FakeRisThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
