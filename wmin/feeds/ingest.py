"""Every inbound HL7 message: stored raw first, then checked, parsed, applied and acknowledged.

`receive(payload, peer=...)` takes one MLLP frame's bytes and returns the reply to frame back: the
original-mode ACK of its message, or for a batch (BHS … BTS) a batch of ACKs in one frame.
`receive_frame` gives the per-message results. The order is the design's rule:

(a) the raw bytes go into InboundMessage in their own committed transaction, keyed by sending
    facility + MSH-10 (salvaged with `peek_header`), before anything can fail;
(b) the same key again → the stored ACK, nothing changed, `attempts` counted (a different message
    under a reused key is kept as its own row, linked by `duplicate_of`, never applied on its own);
(c) no active feed profile lists MSH-4, or the peer is not in its allowed hosts → AR;
    a processing id other than P, or a version outside 2.3-2.8 → AR (202 / 203);
    a message type the hub does not take → AR 200/201 (ADT events other than A08/A31: AA, ignored);
(d) unparseable → AR with the reason;
(e) ContentError from the parser or a handler → AE with ERR (table 0357);
(f) the handler runs in one transaction with the row's status and ACK, so a crash before commit
    leaves the message unacknowledged for the RIS to resend; any other exception → AE 207, the
    message kept for replay. Success → AA (APPLIED, or IGNORED when there was nothing to do).

A batch frame is stored whole first (message_type BATCH), then each message as its own row. The
row's INSERT and outcome UPDATE are plain SQL: they run for every message (see bench/hl7_ingest).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from wmin.audit.context import Actor, acting_as

from .models import FeedProfile, InboundMessage, InboundStatus

if TYPE_CHECKING:
    from wmin.feeds.hl7.model import MessageHeader, ParsedMessage

log = logging.getLogger(__name__)

ACCEPTED_PROCESSING_IDS = frozenset({"P"})  # a production hub applies production messages only
_VERSION = re.compile(r"^\s*2\.(\d+)")
ACCEPTED_MINOR_VERSIONS = range(3, 9)  # v2.3 … v2.8 (DESIGN.md)
PROFILE_CACHE_SECONDS = 10.0
IN_FLIGHT_WAIT_SECONDS = 3.0
# Table 0357 codes that HL7 original mode answers with AR (the message, not its content, is refused).
_REJECT_CODES = frozenset({"200", "201", "202", "203"})


@dataclass(frozen=True)
class Ack:
    """One message's acknowledgement: its text, how to encode it, and the stored row."""

    text: str
    encoding: str = "utf-8"
    code: str = ""
    message_id: int | None = None

    def encoded(self) -> bytes:
        return self.text.encode(_codec(self.encoding), errors="replace")


class _AlreadyAcknowledged(Exception):
    """Another worker applied the same message first; its ACK stands."""

    def __init__(self, ack: str) -> None:
        self.ack = ack


# Public API ----------------------------------------------------------------------------------


def receive(payload: bytes, *, peer: str) -> bytes:
    """The reply to one MLLP frame: one ACK, or a BHS/BTS batch of ACKs for a batch."""
    acks = receive_frame(payload, peer=peer)
    if len(acks) == 1:
        return acks[0].encoded()
    return batch_reply(acks)


def receive_frame(payload: bytes, *, peer: str) -> list[Ack]:
    """Store, check, apply and acknowledge every message in one frame (a batch holds several)."""
    from wmin.feeds.hl7 import envelope
    from wmin.feeds.hl7.errors import UnparseableMessage

    try:
        messages = envelope.clean(payload)
    except UnparseableMessage as exc:
        return [_reject_unreadable(payload, peer, exc.reason or "The frame holds no HL7 message")]
    except Exception as exc:  # a bug in cleaning must not lose the bytes
        log.exception("hl7.clean_failed", extra={"peer": peer})
        return [_reject_unreadable(payload, peer, f"The frame could not be read: {exc}")]
    if not messages:
        return [_reject_unreadable(payload, peer, "The frame holds no HL7 message")]
    if len(messages) == 1:
        return [_receive_one(payload, messages[0].text, messages[0].encoding, peer)]
    # A batch (or several MSH in one frame): the frame's own bytes first, then one row per message.
    envelope_row = _insert(raw=payload, peer=peer, message_type="BATCH")
    acks = [
        _receive_one(m.text.encode(_codec(m.encoding), errors="replace"), m.text, m.encoding, peer) for m in messages
    ]
    InboundMessage.objects.filter(pk=envelope_row.pk).update(
        status=InboundStatus.IGNORED,
        error=_clip(f"A frame of {len(acks)} messages, each stored and answered on its own row: "
                    + ", ".join(f"#{a.message_id} {a.code}" for a in acks), 4000),
        ack=batch_reply(acks).decode(_codec(acks[0].encoding), errors="replace"),
    )
    return acks


def process_stored(message: InboundMessage, *, peer: str | None = None) -> Ack:
    """Check, parse and apply a stored message (the path replay shares); the row records the outcome."""
    from wmin.feeds.hl7 import envelope

    raw = bytes(message.raw)
    try:
        cleaned = envelope.clean(raw)
    except Exception:
        cleaned = []
    if cleaned:
        text, encoding = cleaned[0].text, cleaned[0].encoding
    else:
        text, encoding = raw.decode("utf-8", errors="replace"), "utf-8"
    header, header_error = _peek(text)
    return _process(message, text, encoding, header, header_error, peer if peer is not None else message.peer)


def batch_reply(acks: list[Ack]) -> bytes:
    """Acknowledge a batch with a batch: BHS, each ACK, BTS with the count (HL7 batch protocol)."""
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
    head = f"BHS|^~\\&|{settings.HUB_APPLICATION}|{settings.HUB_FACILITY}|||{stamp}\r"
    body = "".join(a.text if a.text.endswith("\r") else a.text + "\r" for a in acks)
    tail = f"BTS|{len(acks)}\r"
    encoding = acks[0].encoding if acks else "utf-8"
    return (head + body + tail).encode(_codec(encoding), errors="replace")


def feed_profile_for(facility: str, peer_host: str) -> tuple[FeedProfile | None, str]:
    """The active profile that lists this MSH-4 and allows this host, or None and why not."""
    wanted = _facility_keys(facility)
    if not wanted:
        return None, "MSH-4 sending facility is empty"
    for profile in _active_profiles():
        listed = {str(f).strip().upper() for f in profile.sending_facilities or [] if str(f).strip()}
        if listed & wanted:
            if profile.allowed_hosts and not _host_allowed(peer_host, profile.allowed_hosts):
                return None, f"{peer_host or 'This host'} may not send for {facility}"
            return profile, ""
    return None, f"No trust's feed profile lists the sending facility {facility!r}"


def forget_profiles(**_: object) -> None:
    """Drop the cached profiles (an admin saved one in this process)."""
    with _profile_lock:
        _profile_cache.clear()


# One message ---------------------------------------------------------------------------------


def _receive_one(raw: bytes, text: str, encoding: str, peer: str) -> Ack:
    header, header_error = _peek(text)
    row, duplicate = _store(raw, header, peer, _codec(encoding))
    if duplicate is not None:
        return duplicate
    return _process(row, text, encoding, header, header_error, peer)


def _process(
    row: InboundMessage,
    text: str,
    encoding: str,
    header: MessageHeader | None,
    header_error: str,
    peer: str,
) -> Ack:
    from wmin.feeds.hl7 import parse
    from wmin.feeds.hl7.errors import ContentError, UnparseableMessage

    from .handlers import Unsupported, precheck

    encoding = _codec(encoding)
    if header is None:
        return _finish_reject(row, encoding, header_error or "The message has no readable MSH segment")

    # (c) who is sending
    profile, why = feed_profile_for(_text(header.sending_facility), _host_of(peer))
    if profile is None:
        return _finish(row, header, encoding, InboundStatus.REJECTED, "AR", "", why)
    row.trust_id = profile.trust_id
    policy = _policy_error(header)
    if policy is not None:
        code, reason, location = policy
        return _finish(row, header, encoding, InboundStatus.REJECTED, "AR", code, reason, location)

    # Message types the hub does not take: AR 200/201 (or AA for ADT events it has no use for).
    try:
        skip = precheck(header)
    except Unsupported as exc:
        return _finish(row, header, encoding, InboundStatus.REJECTED, "AR", exc.code, exc.reason, "MSH^1^9")
    if skip is not None:
        return _finish(row, header, encoding, InboundStatus.IGNORED, "AA", "", skip.note)

    # (d), (e) parse
    try:
        parsed = parse.parse_message(text)
    except UnparseableMessage as exc:
        return _finish(row, header, encoding, InboundStatus.REJECTED, "AR", "", exc.reason or "Unparseable message")
    except ContentError as exc:
        status, code = (
            (InboundStatus.REJECTED, "AR") if str(exc.code) in _REJECT_CODES else (InboundStatus.CONTENT_ERROR, "AE")
        )
        return _finish(row, header, encoding, status, code, str(exc.code), exc.reason, exc.location or "")
    except Exception as exc:  # a parser bug: keep the message for replay
        log.exception("hl7.parse_crashed", extra={"inbound_id": row.pk})
        return _finish(row, header, encoding, InboundStatus.CONTENT_ERROR, "AE", "207", f"Parser failure: {exc}")

    # (f) apply
    header = parsed.header or header
    try:
        ack_text = _apply(row, parsed, header, profile)
    except _AlreadyAcknowledged as done:
        return Ack(done.ack, encoding, _ack_code(done.ack), row.pk)
    except Unsupported as exc:
        return _finish(row, header, encoding, InboundStatus.REJECTED, "AR", exc.code, exc.reason, "MSH^1^9")
    except ContentError as exc:
        return _finish(
            row, header, encoding, InboundStatus.CONTENT_ERROR, "AE", str(exc.code), exc.reason, exc.location or ""
        )
    except Exception as exc:
        log.exception("hl7.handler_failed", extra={"inbound_id": row.pk})
        reason = f"Could not apply the message: {type(exc).__name__}: {exc}"[:900]
        return _finish(row, header, encoding, InboundStatus.CONTENT_ERROR, "AE", "207", reason)
    return Ack(ack_text, encoding, "AA", row.pk)


def _apply(row: InboundMessage, parsed: ParsedMessage, header: MessageHeader, profile: FeedProfile) -> str:
    """(f) The handler and the row's outcome in one transaction; the ACK text it committed."""
    from .handlers import dispatch

    actor = Actor(user_id=None, label=f"HL7 feed {profile.trust.ods_code}", role="system")
    for attempt in range(2):
        try:
            with transaction.atomic(), acting_as(actor):
                outcome = dispatch(parsed, profile=profile, message_id=row.pk, now=timezone.now())
                status = InboundStatus.APPLIED if outcome.applied else InboundStatus.IGNORED
                ack_text = build_ack(header, "AA", text=_msa_text(outcome.ack_text))
                _write_outcome(row, status, ack_text, "", outcome.note, applied=outcome.applied)
                return ack_text
        except IntegrityError:
            # Another connection created the same slot, referral or patient a moment ago: this
            # message then applies on top of theirs (handlers take no savepoints on the hot path).
            if attempt:
                raise
    raise AssertionError("unreachable")


def build_ack(header: MessageHeader, code: str, **options: Any) -> str:
    """The core's ACK, read back before it is sent: a sender whose MSH-1/MSH-2 cannot be echoed
    (a field separator that is also an encoding character) is answered in the standard ones."""
    from wmin.feeds.hl7 import ack as hl7ack
    from wmin.feeds.hl7.parse import peek_header

    text = hl7ack.build_ack(header, code, **options)
    try:
        readable = peek_header(text).message_type == "ACK"
    except Exception:
        readable = False
    if readable:
        return text
    standard = dataclasses.replace(header, field_separator="|", encoding_characters="^~\\&")
    return hl7ack.build_ack(standard, code, **options)


def _finish(
    row: InboundMessage,
    header: MessageHeader,
    encoding: str,
    status: str,
    code: str,
    error_code: str,
    reason: str,
    location: str = "",
) -> Ack:
    from wmin.feeds.hl7 import ack as hl7ack

    if code == "AE" and not error_code:
        error_code = "207"
    # ERR carries a table 0357 code; an AR for an unknown sender has none, its MSA-3 says why.
    errors = [hl7ack.AckError(error_code, reason, location)] if error_code else []
    try:
        text = build_ack(header, code, text=_msa_text(reason), errors=errors)
    except Exception as exc:  # a header too broken to echo: reject from the raw bytes
        log.warning("hl7.ack_failed", extra={"inbound_id": row.pk, "error": str(exc)})
        text = hl7ack.build_reject(bytes(row.raw), reason)
        code = _ack_code(text) or code
    try:
        _write_outcome(row, status, text, error_code, reason, applied=False)
    except _AlreadyAcknowledged as done:
        return Ack(done.ack, encoding, _ack_code(done.ack), row.pk)
    return Ack(text, encoding, code, row.pk)


def _finish_reject(row: InboundMessage, encoding: str, reason: str) -> Ack:
    from wmin.feeds.hl7 import ack as hl7ack

    text = hl7ack.build_reject(bytes(row.raw), reason)
    try:
        _write_outcome(row, InboundStatus.REJECTED, text, "", reason, applied=False)
    except _AlreadyAcknowledged as done:
        return Ack(done.ack, encoding, _ack_code(done.ack), row.pk)
    return Ack(text, encoding, _ack_code(text) or "AR", row.pk)


def _reject_unreadable(payload: bytes, peer: str, reason: str) -> Ack:
    """A frame with no message we can read: keep the bytes, answer AR."""
    from wmin.feeds.hl7 import ack as hl7ack

    row = _insert(raw=payload, peer=peer)
    text = hl7ack.build_reject(payload, reason)
    InboundMessage.objects.filter(pk=row.pk).update(
        status=InboundStatus.REJECTED, ack=text, error=_clip(reason, 4000)
    )
    return Ack(text, "utf-8", _ack_code(text) or "AR", row.pk)


def _write_outcome(row: InboundMessage, status: str, ack: str, error_code: str, error: str, *, applied: bool) -> None:
    """Record the outcome once: only the first worker to answer this row writes its ACK."""
    error_code, error = error_code[:8], _clip(error, 4000)
    applied_at = timezone.now() if applied else None
    table = InboundMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, ack = %s, error_code = %s, error = %s, trust_id = %s, "
            "applied_at = COALESCE(%s, applied_at) WHERE id = %s AND ack = ''",
            [status, ack, error_code, error, row.trust_id,
             connection.ops.adapt_datetimefield_value(applied_at), row.pk],
        )
        updated = cursor.rowcount
    if not updated:
        current = InboundMessage.objects.filter(pk=row.pk).values_list("ack", flat=True).first() or ""
        raise _AlreadyAcknowledged(current)
    row.status, row.ack, row.error_code, row.error = status, ack, error_code, error
    if applied_at is not None:
        row.applied_at = applied_at


# Storing first -------------------------------------------------------------------------------


def _store(
    raw: bytes, header: MessageHeader | None, peer: str, encoding: str = "utf-8"
) -> tuple[InboundMessage, Ack | None]:
    """(a) and (b): the row for these bytes, or the original's ACK when it is a duplicate."""
    facility = _clip(header.sending_facility_id if header else "", 80)
    control_id = _clip(_text(header.control_id) if header else "", 80).strip()
    message_type = _clip(_text(header.message_type) if header else "", 8)
    trigger = _clip(_text(header.trigger) if header else "", 8)
    fields = {"sending_facility": facility, "control_id": control_id, "message_type": message_type, "trigger": trigger}
    for attempt in range(3):
        try:
            if connection.in_atomic_block:  # a caller's transaction: a savepoint keeps it usable
                with transaction.atomic():
                    return _insert_row(raw, _clip(peer, 80), fields), None
            # Autocommit (the listener): the INSERT commits on its own, one round trip.
            return _insert_row(raw, _clip(peer, 80), fields), None
        except IntegrityError:
            if not control_id:
                raise
            original = (
                InboundMessage.objects.filter(
                    sending_facility=facility, control_id=control_id, duplicate_of__isnull=True
                )
                .only("pk", "raw", "ack", "peer")
                .first()
            )
            if original is None:  # deleted between the insert and the look-up: try again
                continue
            return original, _duplicate(original, raw, peer, fields, encoding)
        except DatabaseError:
            if attempt:
                raise
            # Odd bytes in a salvaged header field the database will not take: keep the raw bytes anyway.
            log.warning("hl7.store_fallback", extra={"peer": peer})
            fields = {"sending_facility": "", "control_id": "", "message_type": "", "trigger": ""}
    raise RuntimeError("Could not store the message")


def _duplicate(original: InboundMessage, raw: bytes, peer: str, fields: dict[str, str], encoding: str) -> Ack:
    """(b) The same sender and MSH-10 again: the original's ACK, nothing applied."""
    ack = original.ack or _wait_for_ack(original.pk)
    if bytes(original.raw) == raw:
        InboundMessage.objects.filter(pk=original.pk).update(attempts=F("attempts") + 1)
        if not ack:
            # Stored but never answered (the process stopped mid-way): answer it now.
            return process_stored(original, peer=peer)
        return Ack(ack, encoding, _ack_code(ack), original.pk)
    earlier = InboundMessage.objects.filter(duplicate_of=original, raw=raw).only("pk", "ack").first()
    if earlier is not None:  # this different message, sent again
        InboundMessage.objects.filter(pk=earlier.pk).update(attempts=F("attempts") + 1)
        return Ack(earlier.ack or ack, encoding, _ack_code(earlier.ack or ack), earlier.pk)
    copy = InboundMessage.objects.create(
        raw=raw,
        peer=_clip(peer, 80),
        duplicate_of=original,
        status=InboundStatus.IGNORED,
        error_code="205",
        error=(
            f"Same sending facility and MSH-10 as message {original.pk} but different content: kept, "
            "answered with that message's ACK and not applied (replay it to apply it)."
        ),
        ack=ack,
        **fields,
    )
    if not ack:
        ack = process_stored(original, peer=original.peer).text
        InboundMessage.objects.filter(pk=copy.pk).update(ack=ack)
    return Ack(ack, encoding, _ack_code(ack), copy.pk)


def _wait_for_ack(message_id: int) -> str:
    """A duplicate of a message another connection is applying right now: wait for its ACK."""
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    while time.monotonic() < deadline:
        ack = InboundMessage.objects.filter(pk=message_id).values_list("ack", flat=True).first()
        if ack:
            return ack
        time.sleep(0.05)
    return ""


def _insert_row(raw: bytes, peer: str, fields: dict[str, str]) -> InboundMessage:
    """INSERT the raw message. Plain SQL: this runs for every message and the ORM's create costs
    twice the CPU here (see bench/hl7_ingest); the model's own defaults are written out below."""
    table = InboundMessage._meta.db_table
    received_at = timezone.now()
    params = [
        connection.ops.adapt_datetimefield_value(received_at), peer, raw, fields["sending_facility"],
        fields["control_id"], fields["message_type"], fields["trigger"], InboundStatus.RECEIVED,
    ]
    sql = (
        f"INSERT INTO {table} (received_at, peer, raw, sending_facility, control_id, message_type, "
        '"trigger", status, error_code, error, ack, attempts, history) '
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', '', '', 1, '[]')"
    )
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(sql + " RETURNING id", params)
            pk = cursor.fetchone()[0]
        else:
            cursor.execute(sql, params)
            pk = cursor.lastrowid
    return InboundMessage(pk=pk, received_at=received_at, peer=peer, raw=raw, attempts=1, **fields)


def _insert(*, raw: bytes, peer: str, message_type: str = "") -> InboundMessage:
    with transaction.atomic():
        return InboundMessage.objects.create(raw=raw, peer=_clip(peer, 80), message_type=message_type)


# Checks --------------------------------------------------------------------------------------


def _policy_error(header: MessageHeader) -> tuple[str, str, str] | None:
    processing = _text(header.processing_id).split("^")[0].strip().upper()
    if processing not in ACCEPTED_PROCESSING_IDS:
        return "202", f"Processing id {processing or '(empty)'!r} is not accepted; the hub takes P (production)", "MSH-11"
    version = _text(header.version).strip()
    match = _VERSION.match(version)
    if match is None or int(match.group(1)) not in ACCEPTED_MINOR_VERSIONS:
        return "203", f"HL7 version {version or '(empty)'!r} is not accepted; the hub takes 2.3 to 2.8", "MSH-12"
    return None


_profile_cache: dict[str, tuple[float, list[FeedProfile]]] = {}
_profile_lock = threading.Lock()


def _active_profiles() -> list[FeedProfile]:
    now = time.monotonic()
    with _profile_lock:
        cached = _profile_cache.get("active")
        if cached is not None and now - cached[0] < PROFILE_CACHE_SECONDS:
            return cached[1]
    profiles = list(FeedProfile.objects.filter(active=True).select_related("trust").order_by("pk"))
    with _profile_lock:
        _profile_cache["active"] = (now, profiles)
    return profiles


post_save.connect(forget_profiles, sender=FeedProfile, dispatch_uid="feeds.forget_profiles.save")
post_delete.connect(forget_profiles, sender=FeedProfile, dispatch_uid="feeds.forget_profiles.delete")


def _host_allowed(host: str, allowed: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in allowed
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(str(entry).strip(), strict=False):
                return True
        except ValueError:
            if str(entry).strip() == host:
                return True
    return False


# Small helpers -------------------------------------------------------------------------------


def _peek(text: str) -> tuple[MessageHeader | None, str]:
    from wmin.feeds.hl7 import parse
    from wmin.feeds.hl7.errors import UnparseableMessage

    try:
        return parse.peek_header(text), ""
    except UnparseableMessage as exc:
        return getattr(exc, "header", None), exc.reason or "Unreadable MSH segment"
    except Exception as exc:  # a bug in the peek must not lose the message
        log.exception("hl7.peek_failed")
        return None, f"Unreadable MSH segment: {exc}"


def _facility_keys(facility: str) -> set[str]:
    parts = [p.strip().upper() for p in str(facility or "").split("^")]
    keys = {"^".join(parts).strip("^")} | {p for p in parts[:2] if p}
    return {k for k in keys if k}


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value).replace("\x00", "")


def _clip(value: str, size: int) -> str:
    return (value or "").replace("\x00", "")[:size]


def _host_of(peer: str) -> str:
    """'10.1.2.3:5000' → '10.1.2.3'; '[::1]:5000' → '::1'; anything else as given."""
    if peer.startswith("["):
        return peer[1:].split("]", 1)[0]
    if peer.count(":") == 1:
        return peer.split(":", 1)[0]
    return peer


def _msa_text(reason: str) -> str:
    """MSA-3 is 80 characters in v2.3-2.5; the whole reason goes in ERR and on the row."""
    text = " ".join((reason or "").split())
    return text if len(text) <= 80 else text[:77] + "..."


def _ack_code(text: str) -> str:
    for segment in re.split(r"[\r\n]+", text or ""):
        if segment.startswith("MSA") and len(segment) > 4:
            return segment[4:].split(segment[3], 1)[0][:2]
    return ""


def _codec(encoding: str) -> str:
    import codecs

    try:
        return codecs.lookup(encoding or "utf-8").name
    except LookupError:
        return "utf-8"
