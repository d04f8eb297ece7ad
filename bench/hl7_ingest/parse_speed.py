"""Parse speed, per message: hl7apy, python-hl7 and wmin.feeds.hl7, on the same cleaned messages.

    python -m bench.hl7_ingest.parse_speed [--repeat 2000] [--hl7apy-repeat 20] [--files siu_s12_ntierprise_1.hl7,...]

Reads ../shared/hl7. For each file: hl7apy ``parse_message`` (tolerant, groups found), ``hl7.parse``,
``wmin.feeds.hl7.parse_message`` (header and typed body), and the full pure path the listener takes
(clean + parse_message + build_ack). Best of three timed loops, in microseconds per message.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import hl7
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as hl7apy_parse_message

from wmin.feeds.hl7 import ContentError, build_ack, clean, parse_message, peek_header

SHARED_HL7 = Path(__file__).resolve().parents[2].parent / "shared" / "hl7"
DEFAULT_FILES = (
    "siu_s12_ntierprise_1.hl7,siu_s12_renalware_1.hl7,siu_s12_msfhirconv_1.hl7,orm_o01_msfhirconv_2.hl7"
)


def best_microseconds(work: Callable[[], object], repeat: int) -> float:
    work()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeat):
            work()
        best = min(best, (time.perf_counter() - started) / repeat)
    return best * 1e6


def listener_path(raw: bytes) -> None:
    for message in clean(raw):
        try:
            build_ack(parse_message(message.text).header, "AA")
        except ContentError as error:
            build_ack(peek_header(message.text), "AE", text=error.reason)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hl7_ingest.parse_speed", description=__doc__)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--hl7apy-repeat", type=int, default=20)
    parser.add_argument("--files", default=DEFAULT_FILES)
    args = parser.parse_args()
    print(
        f"{'file':30s} {'bytes':>6s} {'hl7apy':>10s} {'hl7.parse':>10s} {'ours':>10s} {'+clean+ACK':>10s}  (µs/msg)"
    )
    for name in args.files.split(","):
        raw = (SHARED_HL7 / name).read_bytes()
        text = clean(raw)[0].text
        apy = best_microseconds(
            lambda text=text: hl7apy_parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT),
            args.hl7apy_repeat,
        )
        python_hl7 = best_microseconds(lambda text=text: hl7.parse(text), args.repeat // 4)
        ours = best_microseconds(lambda text=text: parse_message(text), args.repeat)
        whole = best_microseconds(lambda raw=raw: listener_path(raw), args.repeat)
        print(f"{name:30s} {len(raw):6d} {apy:10.0f} {python_hl7:10.0f} {ours:10.0f} {whole:10.0f}")


if __name__ == "__main__":
    main()
