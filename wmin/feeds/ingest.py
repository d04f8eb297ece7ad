"""Every inbound HL7 message: stored raw first, then checked, parsed, applied and acknowledged.

`receive(payload, peer=...)` takes one MLLP frame's bytes and returns the reply to frame back: the
original-mode ACK of its message, or for a batch (BHS … BTS) a batch of ACKs in one frame.
`receive_frame` gives the per-message results. The order is the design's rule:

(a) the raw bytes go into InboundMessage in their own committed transaction, keyed by sending
    facility + MSH-10 (salvaged with `peek_header`), before anything can fail (on PostgreSQL that
    commit does not wait for the disk; the outcome's commit, which comes before any ACK, does);
(b) the same key again with the same message → the stored ACK, nothing changed, `attempts`
    counted; a different message under a reused key → kept as its own row, linked by
    `duplicate_of` (the admin's "control id reused"), answered AE 205 and not applied;
(c) no active feed profile lists MSH-4, or the peer is not in its allowed hosts (a profile that
    lists none admits nobody) → AR, and a rate-limited log line;
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
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from audit.context import Actor, acting_as

from .logs import RateLimitedLog
from .models import FeedProfile, InboundMessage, InboundStatus
from .rows import commit_without_waiting_for_disk, execute_together, insert_returning_id

if TYPE_CHECKING:
    from wmin.feeds.hl7.model import MessageHeader, ParsedMessage

    from .handlers import FeedWork

log = logging.getLogger(__name__)
_refusals = RateLimitedLog(log)

ACCEPTED_PROCESSING_IDS = frozenset({"P"})  # a production hub applies production messages only
_VERSION = re.compile(r"^\s*2\.(\d+)")
ACCEPTED_MINOR_VERSIONS = range(3, 9)  # v2.3 … v2.8 (DESIGN.md)
PROFILE_CACHE_SECONDS = 10.0
IN_FLIGHT_WAIT_SECONDS = 3.0
CONTROL_ID_KEY_LENGTH = 199  # MSH-10's length in v2.7 and v2.8
FACILITY_KEY_LENGTH = 80
DUPLICATE_KEY = "205"  # table 0357: duplicate key identifier
GROUP_LOCK_TIMEOUT_MS = 1000  # a group waiting longer on a row lock goes one message at a time
# Table 0357 codes that HL7 original mode answers with AR (the message, not its content, is refused).
_STANDARD_ENCODING = frozenset({"^~\\&", "^~\\&#"})
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


def apply_together(
    frames: Sequence[tuple[bytes, str]],
) -> tuple[dict[int, bytes | None], list[tuple[int, Callable[[], bytes | None]]]]:
    """Group commit: the replies to the frames it could take together, and calls for the rest.

    Their raw rows go in with one INSERT (committed before anything is applied, as for a single
    message) and the messages are applied and answered in one transaction, so a burst across many
    connections costs two commits rather than two per message. Everything out of the ordinary is
    left to the one-message path, as a call to make after this returns (the listener makes each on
    its own worker thread, so a slow one holds up no other trust): batch frames, frames with no
    readable MSH-10, a sender and MSH-10 already stored (a duplicate), and, if any message of the
    group fails to apply or waits too long for a lock, the whole group, each message then in its
    own transaction as `receive` would have done.
    """
    replies: dict[int, bytes | None] = {}
    leftovers: list[tuple[int, Callable[[], bytes | None]]] = []
    candidates: list[_Arrival] = []
    seen: set[tuple[str, str]] = set()
    for index, (payload, peer) in enumerate(frames):
        arrival = _arrival(index, payload, peer)
        if arrival is None or arrival.key in seen:
            leftovers.append((index, _one_frame(payload, peer)))
            continue
        seen.add(arrival.key)
        candidates.append(arrival)
    stored = _store_together(candidates)
    arrivals = [a for a in candidates if a.index in stored]
    acks = _apply_together(arrivals, stored) if arrivals else {}
    for arrival in candidates:
        if arrival.index not in stored:
            leftovers.append((arrival.index, _one_frame(arrival.raw, arrival.peer)))
        elif arrival.index in acks:
            replies[arrival.index] = acks[arrival.index].encoded()
        else:  # the group did not apply: this message on its own, as it was stored
            leftovers.append((arrival.index, _one_stored(stored[arrival.index], arrival)))
    leftovers.sort(key=lambda leftover: leftover[0])
    return replies, leftovers


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
    """The active profile that lists this MSH-4 and allows this host, or None and why not.

    Profiles are closed by default: one that lists no RIS host or network admits nobody."""
    wanted = _facility_keys(facility)
    if not wanted:
        _refusals.warning("hl7.sender_refused", key=peer_host, peer_host=peer_host, reason="MSH-4 empty")
        return None, "MSH-4 sending facility is empty"
    for profile in _active_profiles():
        listed = {str(f).strip().upper() for f in profile.sending_facilities or [] if str(f).strip()}
        if listed & wanted:
            if not profile.admits(peer_host):
                why = (
                    f"{peer_host or 'This host'} may not send for {facility}: its feed profile lists no such RIS host"
                    if profile.allowed_hosts
                    else f"{facility}'s feed profile lists no RIS host yet: nobody may send for it"
                )
                _refusals.warning(
                    "hl7.sender_refused", key=peer_host, peer_host=peer_host, facility=facility[:80],
                    trust=profile.trust.ods_code, reason="host not allowed",
                )
                return None, why
            return profile, ""
    _refusals.warning("hl7.sender_refused", key=peer_host, peer_host=peer_host, facility=facility[:80],
                      reason="no profile lists the facility")
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


@dataclass(frozen=True)
class _Verdict:
    """What the checks before applying decided: answer at once (`parsed` None), or apply `parsed`."""

    header: MessageHeader | None
    status: str = ""
    code: str = ""
    error_code: str = ""
    reason: str = ""
    location: str = ""
    parsed: ParsedMessage | None = None
    profile: FeedProfile | None = None


def _check(row: InboundMessage, text: str, header: MessageHeader | None, header_error: str, peer: str) -> _Verdict:
    """(c), (d), (e) before anything is applied: who is sending, what, and whether it parses."""
    from wmin.feeds.hl7 import parse
    from wmin.feeds.hl7.errors import ContentError, UnparseableMessage

    from .handlers import Unsupported, precheck

    if header is None:
        reason = header_error or "The message has no readable MSH segment"
        _refusals.warning("hl7.message_unreadable", key=_host_of(peer), peer=peer, reason=reason, inbound_id=row.pk)
        return _Verdict(None, InboundStatus.REJECTED, "AR", "", reason)

    # (c) who is sending
    profile, why = feed_profile_for(_text(header.sending_facility), _host_of(peer))
    if profile is None:
        return _Verdict(header, InboundStatus.REJECTED, "AR", "", why)
    row.trust_id = profile.trust_id
    policy = _policy_error(header)
    if policy is not None:
        code, reason, location = policy
        return _Verdict(header, InboundStatus.REJECTED, "AR", code, reason, location)

    # Message types the hub does not take: AR 200/201 (or AA for ADT events it has no use for).
    try:
        skip = precheck(header)
    except Unsupported as exc:
        return _Verdict(header, InboundStatus.REJECTED, "AR", exc.code, exc.reason, "MSH^1^9")
    if skip is not None:
        return _Verdict(header, InboundStatus.IGNORED, "AA", "", skip.note)

    # (d), (e) parse
    try:
        parsed = parse.parse_message(text, None if header_error else header)  # a salvaged header is read again
    except UnparseableMessage as exc:
        reason = exc.reason or "Unparseable message"
        _refusals.warning("hl7.message_unreadable", key=_host_of(peer), peer=peer, reason=reason, inbound_id=row.pk)
        return _Verdict(header, InboundStatus.REJECTED, "AR", "", reason)
    except ContentError as exc:
        status, code = (
            (InboundStatus.REJECTED, "AR") if str(exc.code) in _REJECT_CODES else (InboundStatus.CONTENT_ERROR, "AE")
        )
        return _Verdict(header, status, code, str(exc.code), exc.reason, exc.location or "")
    except Exception as exc:  # a parser bug: keep the message for replay
        log.exception("hl7.parse_crashed", extra={"inbound_id": row.pk})
        return _Verdict(header, InboundStatus.CONTENT_ERROR, "AE", "207", f"Parser failure: {exc}")
    return _Verdict(parsed.header or header, parsed=parsed, profile=profile)


def _process(
    row: InboundMessage,
    text: str,
    encoding: str,
    header: MessageHeader | None,
    header_error: str,
    peer: str,
) -> Ack:
    """Check, then (f) apply in its own transaction; the row records the outcome."""
    from wmin.feeds.hl7.errors import ContentError

    from .handlers import Unsupported

    encoding = _codec(encoding)
    verdict = _check(row, text, header, header_error, peer)
    if verdict.parsed is None:
        return _answer(row, verdict, encoding)
    header = verdict.header
    assert header is not None and verdict.profile is not None
    try:
        ack = _apply_messages([(row, verdict, encoding)], lock_timeout_ms=None)[0]
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
    return ack


def _answer(row: InboundMessage, verdict: _Verdict, encoding: str) -> Ack:
    if verdict.header is None:
        return _finish_reject(row, encoding, verdict.reason)
    return _finish(
        row, verdict.header, encoding, verdict.status, verdict.code, verdict.error_code, verdict.reason,
        verdict.location,
    )


_Checked = tuple[InboundMessage, "_Verdict", str]  # a stored row, what `_check` found, its encoding


def _apply_messages(messages: Sequence[_Checked], *, lock_timeout_ms: int | None) -> list[Ack]:
    """(f) The one way messages are applied: in one transaction with one unit of work, a single
    message being a group of one. Each message's handler runs, then every row's outcome is written
    in one statement; the ACKs it committed, in order. Raises what a handler raised (nothing of the
    group applied), or _AlreadyAcknowledged if another worker answered one of the rows first."""
    for attempt in range(2):
        try:
            return _apply_once(messages, lock_timeout_ms=lock_timeout_ms)
        except IntegrityError:
            # Another connection created the same slot, referral or patient a moment ago (the
            # insert waited for it and it committed): apply again, on top of theirs, by version.
            if attempt:
                raise
            log.info("hl7.apply_retried", extra={"messages": len(messages)}, exc_info=True)
    raise AssertionError("unreachable")


def _apply_once(messages: Sequence[_Checked], *, lock_timeout_ms: int | None) -> list[Ack]:
    from .handlers import FeedWork

    answers: list[Ack] = []
    outcomes: list[list[Any]] = []
    applied_ats: list[datetime | None] = []
    with transaction.atomic():
        named = ((v.parsed, v.profile) for _, v, _ in messages if v.parsed is not None and v.profile is not None)
        # A lock waited on for longer than `lock_timeout_ms` fails the whole unit of work.
        work = FeedWork.begin(named, lock_timeout_ms=lock_timeout_ms)
        for row, verdict, encoding in messages:
            if verdict.parsed is None:
                text, code, error_code = _answer_text(
                    row, verdict.header, verdict.code, verdict.error_code, verdict.reason, verdict.location
                )
                status, note, applied_at = verdict.status, verdict.reason, None
            else:
                assert verdict.header is not None and verdict.profile is not None
                status, text, note, applied = _dispatch(row, verdict.parsed, verdict.header, verdict.profile, work)
                code, error_code = "AA", ""
                applied_at = timezone.now() if applied else None
            outcomes.append(_outcome_params(row, status, text, error_code, note, applied_at=applied_at))
            applied_ats.append(applied_at)
            answers.append(Ack(text, _codec(encoding), code, row.pk))
        work.finish()
        if _write_outcomes(outcomes) != len(outcomes):
            # Someone answered one meanwhile: undo; alone, the row's ACK stands, else one by one.
            raise _AlreadyAcknowledged(_current_ack(messages[0][0].pk) if len(messages) == 1 else "")
    for (row, _, _), params, applied_at in zip(messages, outcomes, applied_ats, strict=True):
        _took(row, params, applied_at)
    return answers


def _dispatch(
    row: InboundMessage, parsed: ParsedMessage, header: MessageHeader, profile: FeedProfile, work: FeedWork
) -> tuple[str, str, str, bool]:
    """Run the message's handler in the caller's transaction: (status, ACK text, note, applied)."""
    from .handlers import dispatch

    actor = Actor(user_id=None, label=f"HL7 feed {profile.trust.ods_code}", role="system")
    with acting_as(actor):
        outcome = dispatch(parsed, profile=profile, message_id=row.pk, now=timezone.now(), work=work)
    status = InboundStatus.APPLIED if outcome.applied else InboundStatus.IGNORED
    return status, build_ack(header, "AA", text=_msa_text(outcome.ack_text)), outcome.note, outcome.applied


def build_ack(header: MessageHeader, code: str, **options: Any) -> str:
    """The core's ACK, read back before it is sent: a sender whose MSH-1/MSH-2 cannot be echoed
    (a field separator that is also an encoding character) is answered in the standard ones."""
    from wmin.feeds.hl7 import ack as hl7ack
    from wmin.feeds.hl7.parse import peek_header

    text = hl7ack.build_ack(header, code, **options)
    if header.field_separator == "|" and header.encoding_characters in _STANDARD_ENCODING:
        return text  # the usual separators always read back
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
    text, code, error_code = _answer_text(row, header, code, error_code, reason, location)
    try:
        _write_outcome(row, status, text, error_code, reason, applied=False)
    except _AlreadyAcknowledged as done:
        return Ack(done.ack, encoding, _ack_code(done.ack), row.pk)
    return Ack(text, encoding, code, row.pk)


def _answer_text(
    row: InboundMessage, header: MessageHeader | None, code: str, error_code: str, reason: str, location: str = ""
) -> tuple[str, str, str]:
    """The ACK for a message answered without applying it: (text, MSA-1 code, ERR code)."""
    from wmin.feeds.hl7 import ack as hl7ack

    if header is None:
        text = hl7ack.build_reject(bytes(row.raw), reason)
        return text, _ack_code(text) or "AR", ""
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
    return text, code, error_code


def _finish_reject(row: InboundMessage, encoding: str, reason: str) -> Ack:
    text, code, _ = _answer_text(row, None, "AR", "", reason)
    try:
        _write_outcome(row, InboundStatus.REJECTED, text, "", reason, applied=False)
    except _AlreadyAcknowledged as done:
        return Ack(done.ack, encoding, _ack_code(done.ack), row.pk)
    return Ack(text, encoding, code, row.pk)


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
    applied_at = timezone.now() if applied else None
    params = _outcome_params(row, status, ack, error_code, error, applied_at=applied_at)
    if not _write_outcomes([params]):
        raise _AlreadyAcknowledged(_current_ack(row.pk))
    _took(row, params, applied_at)


def _current_ack(row_id: int) -> str:
    """The ACK another worker already wrote for this row."""
    return InboundMessage.objects.filter(pk=row_id).values_list("ack", flat=True).first() or ""


def _took(row: InboundMessage, params: list[Any], applied_at: datetime | None) -> None:
    """The in-memory row follows the outcome written (`_outcome_params`)."""
    row.status, row.ack, row.error_code, row.error = params[:4]
    if applied_at is not None:
        row.applied_at = applied_at


def _outcome_sql() -> str:
    return (
        f"UPDATE {InboundMessage._meta.db_table} SET status = %s, ack = %s, error_code = %s, error = %s, "
        "trust_id = %s, applied_at = COALESCE(%s, applied_at) WHERE id = %s AND ack = ''"
    )


def _outcome_params(
    row: InboundMessage, status: str, ack: str, error_code: str, error: str, *, applied_at: datetime | None
) -> list[Any]:
    return [status, ack, error_code[:8], _clip(error, 4000), row.trust_id,
            connection.ops.adapt_datetimefield_value(applied_at), row.pk]


# Storing first -------------------------------------------------------------------------------


def _store(
    raw: bytes, header: MessageHeader | None, peer: str, encoding: str = "utf-8"
) -> tuple[InboundMessage, Ack | None]:
    """(a) and (b): the row for these bytes, or the original's ACK when it is a duplicate."""
    fields = _key_fields(header)
    facility, control_id = fields["sending_facility"], fields["control_id"]
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
            assert header is not None  # a control id came from it
            return original, _duplicate(original, raw, header, peer, fields, encoding)
        except DataError:
            if attempt:
                raise
            # Odd bytes in a salvaged header field the database will not take: keep the raw bytes
            # anyway. Only for a value refused: a row stored without its key escapes the duplicate
            # check, so after any other failure (the server down or restarting) nothing is stored
            # and nothing answered, and the RIS sends the message again.
            log.warning("hl7.store_fallback", extra={"peer": peer})
            fields = {"sending_facility": "", "control_id": "", "message_type": "", "trigger": ""}
    raise RuntimeError("Could not store the message")


def _key_fields(header: MessageHeader | None) -> dict[str, str]:
    """The columns a stored message is found by: sender + MSH-10 (its key), type and trigger."""
    return {
        "sending_facility": _key_value(header.sending_facility_id if header else "", FACILITY_KEY_LENGTH),
        "control_id": _key_value(_text(header.control_id).strip() if header else "", CONTROL_ID_KEY_LENGTH),
        "message_type": _clip(_text(header.message_type) if header else "", 8),
        "trigger": _clip(_text(header.trigger) if header else "", 8),
    }


def _key_value(value: str, size: int) -> str:
    """A key column's value: the whole value when it fits; past the column's size (beyond what the
    standard allows), its start and a hash of the whole, so two values differing only at the end
    never share a key."""
    value = _text(value)
    if len(value) <= size:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{value[: size - len(digest) - 1]}#{digest}"


def _duplicate(
    original: InboundMessage, raw: bytes, header: MessageHeader, peer: str, fields: dict[str, str], encoding: str
) -> Ack:
    """(b) The same sender and MSH-10 again: the same message gets the original's ACK and changes
    nothing; a different message under the reused id is kept, flagged and answered AE. Bytes not
    seen before are kept on their own row either way."""
    from wmin.feeds.hl7.envelope import same_message

    if bytes(original.raw) == raw:
        ack = _original_ack(original, peer)
        InboundMessage.objects.filter(pk=original.pk).update(attempts=F("attempts") + 1)
        return Ack(ack, encoding, _ack_code(ack), original.pk)
    earlier = InboundMessage.objects.filter(duplicate_of=original, raw=raw).only("pk", "ack").first()
    if earlier is not None and earlier.ack:  # these bytes again: their ACK again
        InboundMessage.objects.filter(pk=earlier.pk).update(attempts=F("attempts") + 1)
        return Ack(earlier.ack, encoding, _ack_code(earlier.ack), earlier.pk)
    copy = InboundMessage.objects.create(raw=raw, peer=_clip(peer, 80), duplicate_of=original, **fields)
    if same_message(bytes(original.raw), raw):  # framed or stamped afresh: the same message
        ack = _original_ack(original, peer)
        copy.trust_id = original.trust_id
        note = f"The same message as #{original.pk}, sent again: answered with its ACK, not applied again."
        _write_outcome(copy, InboundStatus.IGNORED, ack, "", note, applied=False)
        return Ack(ack, encoding, _ack_code(ack), copy.pk)
    InboundMessage.objects.filter(pk=copy.pk).update(control_id_reused=True)
    profile, why = feed_profile_for(_text(header.sending_facility), _host_of(peer))
    if profile is None:
        return _finish(copy, header, encoding, InboundStatus.REJECTED, "AR", "", why)
    copy.trust_id = profile.trust_id
    reason = (
        f"Control id reused: MSH-10 {_text(header.control_id).strip()!r} from {fields['sending_facility']} "
        f"already named a different message (#{original.pk}). This one is stored but not applied: "
        "send it again under a new MSH-10."
    )
    _refusals.warning(
        "hl7.control_id_reused", key=fields["sending_facility"], facility=fields["sending_facility"],
        message_id=copy.pk, original_id=original.pk,
    )
    return _finish(copy, header, encoding, InboundStatus.CONTENT_ERROR, "AE", DUPLICATE_KEY, reason, "MSH^1^10")


def _original_ack(original: InboundMessage, peer: str) -> str:
    """The first message's ACK; if it was stored but never answered (the process stopped mid-way,
    or another connection is applying it and takes too long), it is answered now."""
    ack = original.ack or _wait_for_ack(original.pk)
    return ack or process_stored(original, peer=peer).text


def _wait_for_ack(message_id: int) -> str:
    """A duplicate of a message another connection is applying right now: wait for its ACK."""
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    while time.monotonic() < deadline:
        ack = InboundMessage.objects.filter(pk=message_id).values_list("ack", flat=True).first()
        if ack:
            return ack
        time.sleep(0.05)
    return ""


# The raw row as every message is first stored: its key fields, the model's defaults written out.
_RAW_COLUMNS = (
    'received_at, peer, raw, sending_facility, control_id, message_type, "trigger", status, error_code, error, '
    "ack, attempts, history"
)
_RAW_VALUES = "(%s, %s, %s, %s, %s, %s, %s, %s, '', '', '', 1, '[]')"


def _raw_params(stamp: object, peer: str, raw: bytes, fields: dict[str, str]) -> list[object]:
    return [stamp, peer, raw, fields["sending_facility"], fields["control_id"], fields["message_type"],
            fields["trigger"], InboundStatus.RECEIVED]


def _insert_row(raw: bytes, peer: str, fields: dict[str, str]) -> InboundMessage:
    """INSERT the raw message. Plain SQL: this runs for every message and the ORM's create costs
    twice the CPU here (see bench/hl7_ingest)."""
    received_at = timezone.now()
    params = _raw_params(connection.ops.adapt_datetimefield_value(received_at), peer, raw, fields)
    sql = f"INSERT INTO {InboundMessage._meta.db_table} ({_RAW_COLUMNS}) VALUES {_RAW_VALUES}"
    # Its commit need not wait for the disk: no ACK goes out before the row's outcome is committed
    # durably, and a crash before that loses no message the RIS was told we have.
    pk = insert_returning_id(sql, params, before=commit_without_waiting_for_disk())
    return InboundMessage(pk=pk, received_at=received_at, peer=peer, raw=raw, attempts=1, **fields)


def _insert(*, raw: bytes, peer: str, message_type: str = "") -> InboundMessage:
    with transaction.atomic():
        return InboundMessage.objects.create(raw=raw, peer=_clip(peer, 80), message_type=message_type)


# Arriving together ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Arrival:
    """A single-message frame with a readable header and MSH-10: the kind that can share a commit."""

    index: int
    raw: bytes
    text: str
    encoding: str
    peer: str
    header: MessageHeader
    fields: dict[str, str]

    @property
    def key(self) -> tuple[str, str]:
        return self.fields["sending_facility"], self.fields["control_id"]


def _arrival(index: int, payload: bytes, peer: str) -> _Arrival | None:
    from wmin.feeds.hl7 import envelope

    try:
        messages = envelope.clean(payload)
    except Exception:
        return None  # the one-message path stores it and says why
    if len(messages) != 1:
        return None
    header, _ = _peek(messages[0].text)
    if header is None:
        return None
    fields = _key_fields(header)
    if not fields["control_id"]:
        return None
    return _Arrival(index, payload, messages[0].text, messages[0].encoding, _clip(peer, 80), header, fields)


def _store_together(arrivals: list[_Arrival]) -> dict[int, InboundMessage]:
    """(a) One INSERT, committed, for every arrival whose key is new: frame index → its row."""
    if not arrivals or not connection.features.can_return_rows_from_bulk_insert or connection.in_atomic_block:
        return {}
    received_at = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(received_at)
    params = [value for a in arrivals for value in _raw_params(stamp, a.peer, a.raw, a.fields)]
    sql = (
        f"INSERT INTO {InboundMessage._meta.db_table} ({_RAW_COLUMNS}) VALUES "
        f"{', '.join([_RAW_VALUES] * len(arrivals))} ON CONFLICT DO NOTHING RETURNING id, sending_facility, control_id"
    )
    try:
        with connection.cursor() as cursor:
            # As for one message: the commit need not wait for the disk, the ACKs wait for a durable one.
            execute_together(cursor, [*commit_without_waiting_for_disk(), (sql, params)])
            inserted = {(facility, control_id): pk for pk, facility, control_id in cursor.fetchall()}
    except DatabaseError:
        log.warning("hl7.store_together_failed", exc_info=True)
        return {}  # each goes the one-message way, which says what it could not store
    stored: dict[int, InboundMessage] = {}
    for a in arrivals:
        pk = inserted.get(a.key)
        if pk is not None:
            stored[a.index] = InboundMessage(
                pk=pk, received_at=received_at, peer=a.peer, raw=a.raw, attempts=1, **a.fields
            )
    return stored


def _apply_together(arrivals: list[_Arrival], stored: dict[int, InboundMessage]) -> dict[int, Ack]:
    """(c)-(f) for the group in one transaction: every message's ACK, or none if any failed (each
    then goes on its own, as it was stored)."""
    checked = [
        (stored[a.index], _check(stored[a.index], a.text, a.header, "", a.peer), a.encoding) for a in arrivals
    ]
    try:
        acks = _apply_messages(checked, lock_timeout_ms=GROUP_LOCK_TIMEOUT_MS)
    except Exception:
        # A content error, a lock waited on too long, a bug: nothing of the group was applied.
        log.info("hl7.group_fell_back", extra={"messages": len(arrivals)}, exc_info=True)
        return {}
    return {arrival.index: ack for arrival, ack in zip(arrivals, acks, strict=True)}


def _write_outcomes(outcomes: list[list[Any]]) -> int:
    """Every row's outcome (the `_outcome_params` of each); how many rows took theirs."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql" or len(outcomes) == 1:
            cursor.executemany(_outcome_sql(), outcomes)
            return cursor.rowcount
        # One statement for the group: PostgreSQL plans it once rather than once per message.
        values = ", ".join(["(%s, %s, %s, %s, %s::bigint, %s::timestamptz, %s::bigint)"] * len(outcomes))
        cursor.execute(
            f"UPDATE {InboundMessage._meta.db_table} AS m SET status = v.status, ack = v.ack, "
            "error_code = v.error_code, error = v.error, trust_id = v.trust_id, "
            "applied_at = COALESCE(v.applied_at, m.applied_at) "
            f"FROM (VALUES {values}) AS v(status, ack, error_code, error, trust_id, applied_at, id) "
            "WHERE m.id = v.id AND m.ack = ''",
            [value for params in outcomes for value in params],
        )
        return cursor.rowcount


def _one_frame(payload: bytes, peer: str) -> Callable[[], bytes | None]:
    return lambda: _guarded(peer, receive, payload, peer=peer)


def _one_stored(row: InboundMessage, arrival: _Arrival) -> Callable[[], bytes | None]:
    def answer() -> bytes | None:
        ack = _guarded(arrival.peer, _process, row, arrival.text, arrival.encoding, arrival.header, "", arrival.peer)
        return ack.encoded() if ack is not None else None

    return answer


def _guarded(who: str, step: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """One message's own path, for one frame of a group: its failure is its own (None: no ACK)."""
    try:
        result = step(*args, **kwargs)
    except Exception:
        log.exception("hl7.receive_failed", extra={"peer": who})
        return None
    return result


# Checks --------------------------------------------------------------------------------------


def _policy_error(header: MessageHeader) -> tuple[str, str, str] | None:
    processing = _text(header.processing_id).split("^")[0].strip().upper()
    if processing not in ACCEPTED_PROCESSING_IDS:
        return "202", f"Processing id {processing or '(empty)'!r} is not accepted; the hub takes P (production)", "MSH^1^11"
    version = _text(header.version).strip()
    match = _VERSION.match(version)
    if match is None or int(match.group(1)) not in ACCEPTED_MINOR_VERSIONS:
        return "203", f"HL7 version {version or '(empty)'!r} is not accepted; the hub takes 2.3 to 2.8", "MSH^1^12"
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
