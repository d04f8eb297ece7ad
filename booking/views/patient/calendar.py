"""An iCalendar (RFC 5545) file for one appointment: one VEVENT, times in UTC, text escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from booking.models import Booking

PRODUCT_ID = "-//West Midlands Imaging Network//Booking hub//EN"
UID_DOMAIN = "wmin-booking-hub.nhs.uk"


def escape_text(value: str) -> str:
    """TEXT values: backslash, semicolon and comma escaped; newlines as \\n (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space (3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode("utf-8")
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += piece
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def appointment_ics(booking: Booking, *, now: datetime) -> str:
    slot = booking.slot
    site = slot.site
    referral = booking.referral
    exam = referral.exam_type
    location = ", ".join(part for part in (site.name, site.postcode) if part)
    description = "\n".join(
        part
        for part in (
            f"Booking reference: {referral.booking_reference}",
            f"Preparation: {exam.preparation}" if exam.preparation else "",
            "To change or cancel, sign in to Book an imaging appointment or call the imaging department.",
        )
        if part
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:booking-{booking.pk}@{UID_DOMAIN}",
        f"DTSTAMP:{utc_stamp(now)}",
        f"DTSTART:{utc_stamp(slot.starts_at)}",
        f"DTEND:{utc_stamp(slot.ends_at)}",
        f"SUMMARY:{escape_text(f'{exam.name} appointment')}",
        f"LOCATION:{escape_text(location)}",
        f"DESCRIPTION:{escape_text(description)}",
        "STATUS:CONFIRMED",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(f'{exam.name} tomorrow')}",
        "TRIGGER:-P1D",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
