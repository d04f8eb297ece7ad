"""MLLP framing (HL7 v2 Minimal Lower Layer Protocol): 0x0B payload 0x1C 0x0D. Pure, no sockets.

`MllpDecoder` is fed whatever `recv()` returned and hands back every complete payload:

- bytes before a start block (0x0B) are noise and are discarded;
- a 0x1C not followed by 0x0D inside a frame is kept as data (`envelope.clean` strips it);
- a 0x0B inside a frame is kept as data too (`envelope.clean` strips it and splits at each MSH);
- frames may be split across any chunk boundaries, several frames may share one chunk;
- a frame growing past `max_message_bytes` raises `FrameTooLarge`; the decoder then drops that frame
  and resynchronises on the next 0x0B, so the connection can carry on.

No complete message is ever lost or held back by an oversized one: when one `feed()` both completes
payloads and drops an oversized frame, the payloads are returned and `FrameTooLarge` is raised by the
next call that has nothing to return (``feed(b"")`` surfaces it at once).
"""

from __future__ import annotations

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576


def frame(payload: bytes) -> bytes:
    """Wrap one payload in MLLP start and end blocks."""
    return START_BLOCK + payload + END_BLOCK


class FrameTooLarge(Exception):
    """A frame grew past the decoder's limit; it has been dropped."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"MLLP frame of at least {size} bytes exceeds the {limit}-byte limit")
        self.size = size
        self.limit = limit


class MllpDecoder:
    """Incremental MLLP deframer for one connection."""

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        if max_message_bytes < 1:
            raise ValueError("max_message_bytes must be positive")
        self.max_message_bytes = max_message_bytes
        self._buffer = bytearray()
        self._in_frame = False
        self._scanned = 0  # bytes of the current frame already searched for an end block
        self._pending_error: FrameTooLarge | None = None

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for an incomplete frame (0 between frames)."""
        return len(self._buffer)

    @property
    def in_frame(self) -> bool:
        """True when a start block has been seen and its end block has not."""
        return self._in_frame

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add received bytes; return the payloads (without framing) of every frame now complete.

        Raises `FrameTooLarge` (the frame already dropped) when a frame overflowed and nothing else
        is ready to return; otherwise the error waits for the next call that returns nothing.
        """
        if chunk:
            self._buffer += chunk
        payloads: list[bytes] = []
        buffer = self._buffer
        limit = self.max_message_bytes
        while True:
            if not self._in_frame:
                start = buffer.find(START_BLOCK)
                if start < 0:
                    buffer.clear()  # noise between frames
                    break
                del buffer[: start + 1]
                self._in_frame = True
                self._scanned = 0
            end = buffer.find(END_BLOCK, self._scanned)
            if end < 0:
                if len(buffer) > limit:
                    self._overflowed(len(buffer))
                    buffer.clear()  # the rest of this frame is discarded up to the next start block
                    break
                self._scanned = max(0, len(buffer) - 1)  # the 0x1C may be the last byte so far
                break
            if end > limit:
                self._overflowed(end)
            else:
                payloads.append(bytes(buffer[:end]))
            del buffer[: end + len(END_BLOCK)]
            self._in_frame = False
        if not payloads and self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error
        return payloads

    def _overflowed(self, size: int) -> None:
        self._in_frame = False
        self._scanned = 0
        self._pending_error = FrameTooLarge(size, self.max_message_bytes)
