"""Clean one MLLP payload into the HL7 messages it carries, as text, before anything parses it.

Real feeds arrive with UTF-8 BOMs, UTF-16, stray MLLP bytes (0x0B, 0x1C) inside the payload, LF or
CRLF line ends, blank lines, indentation, batch wrappers (FHS/BHS … BTS/FTS) and MSH-18 character
sets that do not always match the bytes. `clean` repairs all of these, records each repair in
`CleanMessage.notes`, and decodes each message by its own MSH-18 (a batch may mix them). The
structural work is done on bytes: every supported single-byte charset and UTF-8 are ASCII-compatible,
so CR, the separators and the segment ids are the same bytes in all of them.

A payload holding several MSH segments without a batch wrapper yields one message per MSH (some
engines put several messages in one frame; a frame restarted mid-message ends up here too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UnparseableMessage

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BATCH_SEGMENTS = frozenset({b"FHS", b"BHS", b"BTS", b"FTS"})
_WIDE_STARTS = {
    codec: {segment.encode(codec) for segment in ("MSH", "FHS", "BHS")}
    for codec in ("utf-16-le", "utf-16-be")
}
_EMBEDDED_MSH = re.compile(rb"MSH[^A-Za-z0-9\s]")

# MSH-18 (table 0211) values, normalised (upper case, no spaces, dashes or underscores) → Python codec.
_CHARSETS: dict[str, str] = {
    "UNICODEUTF8": "utf-8",
    "UTF8": "utf-8",
    "UNICODE": "utf-8",
    "ASCII": "ascii",
    "USASCII": "ascii",
    "ISOIR6": "ascii",
    "8859/1": "iso8859-1",
    "88591": "iso8859-1",
    "ISO88591": "iso8859-1",
    "ISOIR100": "iso8859-1",
    "LATIN1": "iso8859-1",
    "8859/15": "iso8859-15",
    "ISO885915": "iso8859-15",
    "CP1252": "cp1252",
    "WINDOWS1252": "cp1252",
    "GB18030": "gb18030",
    "GB180302000": "gb18030",
    "BIG5": "big5",
    "KSX1001": "euc_kr",
    "ISOIR87": "iso2022_jp",
    "UNICODEUTF16": "utf-16",
    "UTF16": "utf-16",
    "UNICODEUTF32": "utf-32",
    "UTF32": "utf-32",
}
_CHARSETS.update({f"8859/{n}": f"iso8859-{n}" for n in range(2, 10)})


@dataclass(frozen=True)
class CleanMessage:
    """One message's text (segments ended by CR), the codec it was decoded with, and every repair made."""

    text: str
    encoding: str
    notes: tuple[str, ...] = ()


def clean(payload: bytes) -> list[CleanMessage]:
    """Every HL7 message in one payload, cleaned and decoded. Raises UnparseableMessage if there is none."""
    notes: list[str] = []
    data, wide_codec = _narrow_wide_encodings(bytes(payload), notes)
    data = _strip_boms_and_stray_bytes(data, notes)
    data = _normalise_line_ends(data, notes)
    segments = _segments(data, notes)
    messages, batch_notes = _split_messages(segments)
    if not messages:
        raise UnparseableMessage("No MSH segment found in the payload")
    notes.extend(batch_notes)
    return [_decode(message, wide_codec, notes) for message in messages]


def holds_message(payload: bytes) -> bool:
    """Whether `clean` finds at least one message in the payload (a frame with none is junk)."""
    try:
        return bool(clean(payload))
    except UnparseableMessage:
        return False
    except Exception:
        return True  # a fault in cleaning: the one-message path keeps the bytes and says why


def same_message(first: bytes, second: bytes) -> bool:
    """Whether two payloads carry the same message(s): the same bytes, or the same text once cleaned
    with MSH-7 set aside (a RIS resending a message may frame it afresh or stamp it again)."""
    if first == second:
        return True
    try:
        return _comparable(clean(first)) == _comparable(clean(second))
    except UnparseableMessage:
        return False


def _comparable(messages: list[CleanMessage]) -> list[str]:
    texts = []
    for message in messages:
        head, _, rest = message.text.partition("\r")
        fields = head.split(head[3:4]) if len(head) > 3 else [head]
        if len(fields) > 6:
            fields[6] = ""  # MSH-7: when the sender stamped it
        texts.append(head[3:4].join(fields) + "\r" + rest)
    return texts


# Steps -----------------------------------------------------------------------------------------


def _narrow_wide_encodings(data: bytes, notes: list[str]) -> tuple[bytes, str | None]:
    """UTF-16/32 payloads become UTF-8 bytes so the byte-level steps apply; the original codec is kept."""
    codec: str | None = None
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        codec = "utf-32"
    elif data.startswith(_UTF16_BOMS):
        codec = "utf-16"
    elif data[:6] in _WIDE_STARTS["utf-16-le"]:
        codec = "utf-16-le"
    elif data[:6] in _WIDE_STARTS["utf-16-be"]:
        codec = "utf-16-be"
    if codec is None:
        return data, None
    notes.append(f"payload is {codec.upper()}; decoded before cleaning")
    text = data.decode(codec, errors="replace").lstrip("\ufeff")
    return text.encode("utf-8"), codec


def _strip_boms_and_stray_bytes(data: bytes, notes: list[str]) -> bytes:
    if UTF8_BOM in data:
        count = data.count(UTF8_BOM)
        data = data.replace(UTF8_BOM, b"")
        notes.append(f"removed {count} UTF-8 byte order mark(s)")
    for byte, name in ((b"\x0b", "0x0B"), (b"\x1c", "0x1C"), (b"\x00", "NUL")):
        if byte in data:
            notes.append(f"removed {data.count(byte)} stray {name} byte(s)")
            data = data.replace(byte, b"")
    return data


def _normalise_line_ends(data: bytes, notes: list[str]) -> bytes:
    if b"\n" not in data:
        return data
    if b"\r\n" in data:
        data = data.replace(b"\r\n", b"\r")
        notes.append("CRLF segment terminators normalised to CR")
    if b"\n" in data:
        data = data.replace(b"\n", b"\r")
        notes.append("LF segment terminators normalised to CR")
    return data


def _segments(data: bytes, notes: list[str]) -> list[bytes]:
    pieces = data.split(b"\r")
    if pieces and not pieces[-1]:
        pieces.pop()  # the terminator of the last segment
    segments: list[bytes] = []
    blank = indented = 0
    for raw in pieces:
        segment = raw.lstrip(b" \t")
        if not segment.strip():
            blank += 1
            continue
        if len(segment) != len(raw):
            indented += 1
        segments.append(segment)
    if blank:
        notes.append(f"dropped {blank} blank segment(s)")
    if indented:
        notes.append(f"removed leading whitespace from {indented} segment(s)")
    return segments


def _segment_id(segment: bytes) -> bytes:
    if len(segment) == 3 or (len(segment) > 3 and not segment[3:4].isalnum()):
        return segment[:3]
    return b""


def _split_messages(segments: list[bytes]) -> tuple[list[list[bytes]], list[str]]:
    messages: list[list[bytes]] = []
    notes: list[str] = []
    batch_segments = dropped_before = 0
    for segment in segments:
        seg_id = _segment_id(segment)
        if seg_id in _BATCH_SEGMENTS:
            batch_segments += 1
            continue
        if seg_id != b"MSH" and not messages:
            embedded = _EMBEDDED_MSH.search(segment)
            if embedded is None:
                dropped_before += 1
                continue
            notes.append(f"removed {embedded.start()} byte(s) of noise before MSH")
            segment, seg_id = segment[embedded.start() :], b"MSH"
        if seg_id == b"MSH":
            messages.append([segment])
        else:
            messages[-1].append(segment)
    if dropped_before:
        notes.append(f"dropped {dropped_before} segment(s) before the first MSH")
    if batch_segments:
        notes.append(f"unwrapped a batch: {batch_segments} batch segment(s), {len(messages)} message(s)")
    elif len(messages) > 1:
        notes.append(f"split a payload holding {len(messages)} MSH segments without a batch wrapper")
    return messages, notes


# Character sets --------------------------------------------------------------------------------


def declared_charset(msh: bytes) -> str:
    """MSH-18's first repetition and component, as sent (``""`` when absent)."""
    separator = msh[3:4]
    if not separator:
        return ""
    fields = msh.split(separator)
    if len(fields) < 18:
        return ""
    encoding_chars = fields[1]
    value = fields[17]
    repetition = encoding_chars[1:2] or b"~"
    component = encoding_chars[0:1] or b"^"
    value = value.split(repetition)[0].split(component)[0]
    return value.decode("ascii", errors="replace").strip()


def codec_for_charset(charset: str) -> str | None:
    """The Python codec for an MSH-18 value, or None if it is absent or unknown."""
    key = re.sub(r"[\s_\-]", "", charset.upper())
    return _CHARSETS.get(key)


def _decode(segments: list[bytes], wide_codec: str | None, shared_notes: list[str]) -> CleanMessage:
    data = b"\r".join(segments) + b"\r"
    notes = list(shared_notes)
    if wide_codec is not None:
        return CleanMessage(data.decode("utf-8", errors="replace"), wide_codec, tuple(notes))
    charset = declared_charset(segments[0])
    codec = codec_for_charset(charset) if charset else None
    if charset and codec is None:
        notes.append(f"unknown MSH-18 character set {charset!r}; guessed from the bytes")
    text, used = _decode_bytes(data, codec, notes, charset)
    return CleanMessage(text, used, tuple(notes))


def _decode_bytes(data: bytes, codec: str | None, notes: list[str], charset: str) -> tuple[str, str]:
    if codec in ("utf-16", "utf-32"):
        notes.append(f"MSH-18 says {charset!r} but the bytes are not {codec.upper()}; guessed from the bytes")
        codec = None
    if codec == "iso8859-1" and not data.isascii():
        utf8 = _try(data, "utf-8")
        if utf8 is not None:
            notes.append("MSH-18 says 8859/1 but the bytes are valid UTF-8; decoded as UTF-8")
            return utf8, "utf-8"
        if any(0x80 <= byte <= 0x9F for byte in data):
            cp1252 = _try(data, "cp1252")
            if cp1252 is not None:
                notes.append("MSH-18 says 8859/1 but bytes 0x80-0x9F are Windows-1252; decoded as cp1252")
                return cp1252, "cp1252"
        return data.decode("iso8859-1"), "iso8859-1"
    if codec is not None:
        text = _try(data, codec)
        if text is not None:
            return text, codec
        notes.append(f"bytes are not valid {codec} as MSH-18 {charset!r} says; guessed from the bytes")
    return _guess(data, notes, declared=codec is not None or bool(charset))


def _guess(data: bytes, notes: list[str], *, declared: bool) -> tuple[str, str]:
    utf8 = _try(data, "utf-8")
    if utf8 is not None:
        if not declared and not data.isascii():
            notes.append("no MSH-18; bytes are valid UTF-8")
        return utf8, "utf-8"
    cp1252 = _try(data, "cp1252")
    if cp1252 is not None:
        notes.append("bytes are not UTF-8; decoded as cp1252")
        return cp1252, "cp1252"
    notes.append("bytes are neither UTF-8 nor cp1252; decoded as ISO 8859-1")
    return data.decode("iso8859-1"), "iso8859-1"


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None
