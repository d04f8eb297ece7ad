"""ER7 (pipe-and-hat) syntax: separators, segment and field access, escaping. The parser's hot path.

Fields are split with `str.split` once per segment; components, repetitions and escapes are only
looked at for the handful of fields the hub reads. Field numbers follow the standard everywhere:
``fields[n]`` is SEG-n, for MSH too (MSH-1, the field separator, is put back in at index 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_ENCODING_CHARACTERS = "^~\\&"
EXPLICIT_NULL = '""'


@dataclass(frozen=True)
class Separators:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @classmethod
    def from_msh(cls, field_separator: str, encoding_characters: str) -> Separators:
        """Separators from MSH-1 and MSH-2; missing encoding characters take their defaults."""
        chars = list(encoding_characters[:4])
        defaults = DEFAULT_ENCODING_CHARACTERS
        while len(chars) < 4:
            chars.append(defaults[len(chars)])
        return cls(field_separator, chars[0], chars[1], chars[2], chars[3])

    @property
    def encoding_characters(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent


STANDARD = Separators()


class Segment:
    """One segment: its id, its fields (``fields[n]`` is SEG-n), and its occurrence among its kind."""

    __slots__ = ("fields", "id", "occurrence")

    def __init__(self, segment_id: str, fields: list[str], occurrence: int) -> None:
        self.id = segment_id
        self.fields = fields
        self.occurrence = occurrence

    def raw(self, n: int) -> str:
        """SEG-n exactly as sent (``""`` when absent)."""
        fields = self.fields
        return fields[n] if n < len(fields) else ""

    def location(self, n: int) -> str:
        """ERR-2 style location: ``SEG^occurrence^field``."""
        return f"{self.id}^{self.occurrence}^{n}"

    def __repr__(self) -> str:
        return f"<Segment {self.id}#{self.occurrence} {len(self.fields) - 1} fields>"


class Er7Message:
    """The segments of one message, split into fields."""

    __slots__ = ("segments", "separators")

    def __init__(self, segments: list[Segment], separators: Separators) -> None:
        self.segments = segments
        self.separators = separators

    @classmethod
    def from_text(cls, text: str, separators: Separators) -> Er7Message:
        field_sep = separators.field
        segments: list[Segment] = []
        counts: dict[str, int] = {}
        for line in text.replace("\n", "\r").split("\r"):
            if not line.strip():
                continue
            fields = line.split(field_sep)
            segment_id = fields[0].strip().upper()
            if segment_id == "MSH":
                fields.insert(1, field_sep)
            count = counts.get(segment_id, 0) + 1
            counts[segment_id] = count
            segments.append(Segment(segment_id, fields, count))
        return cls(segments, separators)

    def first(self, segment_id: str) -> Segment | None:
        for segment in self.segments:
            if segment.id == segment_id:
                return segment
        return None

    def all(self, segment_id: str) -> list[Segment]:
        return [segment for segment in self.segments if segment.id == segment_id]

    # Values ------------------------------------------------------------------------------------

    def value(self, segment: Segment | None, n: int, component: int = 1, subcomponent: int = 1) -> str:
        """Unescaped SEG-n.component.subcomponent of the first repetition (``""`` when absent)."""
        if segment is None:
            return ""
        raw = segment.raw(n)
        if not raw:
            return ""
        seps = self.separators
        if seps.repetition in raw:
            raw = raw.split(seps.repetition, 1)[0]
        return self._pick(raw, component, subcomponent)

    def components(self, raw_field: str) -> list[str]:
        """The unescaped components of one field repetition (first subcomponent each)."""
        seps = self.separators
        return [self._pick(part, 1, 1) for part in raw_field.split(seps.component)]

    def repetitions(self, segment: Segment | None, n: int) -> list[str]:
        """SEG-n's repetitions, raw."""
        if segment is None:
            return []
        raw = segment.raw(n)
        return raw.split(self.separators.repetition) if raw else []

    def component_of(self, raw_field: str, component: int, subcomponent: int = 1) -> str:
        """Unescaped component (and subcomponent) of one raw field repetition."""
        return self._pick(raw_field, component, subcomponent)

    def joined(self, segment: Segment | None, n: int) -> str:
        """SEG-n's first repetition with its components unescaped and joined by a standard ``^``."""
        if segment is None:
            return ""
        raw = segment.raw(n)
        if not raw:
            return ""
        seps = self.separators
        raw = raw.split(seps.repetition, 1)[0]
        parts = raw.split(seps.component)
        return "^".join(unescape(part, seps) for part in parts).rstrip("^")

    def _pick(self, raw: str, component: int, subcomponent: int) -> str:
        seps = self.separators
        if component > 1 or seps.component in raw:
            parts = raw.split(seps.component)
            if component > len(parts):
                return ""
            raw = parts[component - 1]
        if subcomponent > 1 or seps.subcomponent in raw:
            parts = raw.split(seps.subcomponent)
            if subcomponent > len(parts):
                return ""
            raw = parts[subcomponent - 1]
        if seps.escape and seps.escape in raw:
            raw = unescape(raw, seps)
        return "" if raw == EXPLICIT_NULL else raw


# Escaping --------------------------------------------------------------------------------------

_FORMATTING = {".br": "\n", ".sp": "\n", ".in": "", ".ti": "", ".sk": " ", ".fi": "", ".nf": "", ".ce": ""}


def unescape(value: str, seps: Separators = STANDARD) -> str:
    """Resolve HL7 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\ …) in one value."""
    esc = seps.escape
    if not esc or esc not in value:
        return value
    out: list[str] = []
    i = 0
    length = len(value)
    while i < length:
        char = value[i]
        if char != esc:
            out.append(char)
            i += 1
            continue
        end = value.find(esc, i + 1)
        if end < 0:  # an unterminated escape: keep the rest as text
            out.append(value[i:])
            break
        out.append(_escape_meaning(value[i + 1 : end], seps))
        i = end + 1
    return "".join(out)


def _escape_meaning(code: str, seps: Separators) -> str:
    simple = {
        "F": seps.field,
        "S": seps.component,
        "T": seps.subcomponent,
        "R": seps.repetition,
        "E": seps.escape,
    }
    if code in simple:
        return simple[code]
    if code[:1] == "X" and len(code) > 1:
        return _hex_text(code[1:])
    if code[:1] in ("H", "N", "Z", "C", "M") or code == "":
        return ""
    prefix = code[:3]
    if prefix in _FORMATTING:
        return _FORMATTING[prefix]
    return ""


def _hex_text(digits: str) -> str:
    try:
        data = bytes.fromhex(digits)
    except ValueError:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso8859-1")


_NEEDS_ESCAPE = re.compile(r"[|^~\\&\r\n]")


def escape(value: str, seps: Separators = STANDARD) -> str:
    """Escape text for one component: separators become \\F\\ \\S\\ \\T\\ \\R\\ \\E\\, line breaks \\.br\\."""
    if seps is STANDARD and not _NEEDS_ESCAPE.search(value):
        return value
    esc = seps.escape
    table = {
        esc: f"{esc}E{esc}",
        seps.field: f"{esc}F{esc}",
        seps.component: f"{esc}S{esc}",
        seps.subcomponent: f"{esc}T{esc}",
        seps.repetition: f"{esc}R{esc}",
        "\r": f"{esc}.br{esc}",
        "\n": f"{esc}.br{esc}",
    }
    text = value.replace("\r\n", "\n")
    return "".join(table.get(char, char) for char in text)
