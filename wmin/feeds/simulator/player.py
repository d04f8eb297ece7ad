"""Plays trust scripts to the hub's MLLP listener over real sockets, one kept-open connection each."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wmin.feeds.hl7.mllp import MllpDecoder, frame

from .feeds import TrustScript


@dataclass
class TrustResult:
    ods_code: str
    sent: Counter[str] = field(default_factory=Counter)
    acks: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    error: str = ""


async def play_trust(script: TrustScript, host: str, port: int, *, messages: int, rate: float) -> TrustResult:
    result = TrustResult(script.ods_code)
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        result.error = f"cannot connect to {host}:{port}: {exc}"
        return result
    decoder = MllpDecoder()
    interval = 1.0 / rate if rate > 0 else 0.0
    next_at = time.monotonic()
    try:
        for _ in range(messages):
            kind, payload = script.next_message(datetime.now(UTC))
            started = time.monotonic()
            writer.write(frame(payload))
            await writer.drain()
            replies: list[bytes] = []
            while not replies:
                chunk = await asyncio.wait_for(reader.read(65536), timeout=60)
                if not chunk:
                    raise ConnectionError("the listener closed the connection")
                replies = decoder.feed(chunk)
            result.latencies.append(time.monotonic() - started)
            result.sent[kind] += 1
            result.acks[_code(replies[0])] += 1
            if interval:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    except (OSError, TimeoutError, ConnectionError) as exc:
        result.error = str(exc)
    finally:
        writer.close()
    return result


async def play(scripts: list[TrustScript], host: str, port: int, *, messages: int, rate: float) -> list[TrustResult]:
    return list(await asyncio.gather(*(play_trust(s, host, port, messages=messages, rate=rate) for s in scripts)))


def _code(reply: bytes) -> str:
    for segment in reply.replace(b"\n", b"\r").split(b"\r"):
        if segment.startswith(b"MSA") and len(segment) > 5:
            return segment[4:6].decode("ascii", "replace")
    return "??"
