"""MLLP framing: whole payloads out of any chunking, noise skipped, oversized frames dropped."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wmin.feeds.hl7.mllp import END_BLOCK, START_BLOCK, FrameTooLarge, MllpDecoder, frame

MESSAGE = b"MSH|^~\\&|RIS|RRK|HUB|WMIN|20261123090000||ACK^S12^ACK|1|P|2.5.1\rMSA|AA|1"


def test_frame_wraps_a_payload_in_start_and_end_blocks() -> None:
    assert frame(b"abc") == b"\x0babc\x1c\r"
    assert (START_BLOCK, END_BLOCK) == (b"\x0b", b"\x1c\r")


def test_a_frame_fed_whole_yields_its_payload() -> None:
    assert MllpDecoder().feed(frame(MESSAGE)) == [MESSAGE]


def test_a_frame_fed_byte_by_byte_yields_its_payload_once() -> None:
    decoder = MllpDecoder()
    out = [payload for byte in frame(MESSAGE) for payload in decoder.feed(bytes([byte]))]
    assert out == [MESSAGE]
    assert decoder.buffered_bytes == 0 and not decoder.in_frame


def test_an_end_block_split_between_chunks_is_found() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0bABC\x1c") == []
    assert decoder.feed(b"\r") == [b"ABC"]


def test_bytes_before_a_start_block_are_discarded() -> None:
    assert MllpDecoder().feed(b"noise\r\n\x00" + frame(b"A") + b"more noise" + frame(b"B")) == [b"A", b"B"]


def test_a_lone_0x1c_inside_a_message_is_kept_as_data() -> None:
    assert MllpDecoder().feed(b"\x0bMSH|x\x1cy\x1c\r") == [b"MSH|x\x1cy"]


def test_several_frames_in_one_chunk_all_come_out_in_order() -> None:
    chunk = b"".join(frame(bytes([65 + i]) * 3) for i in range(5))
    assert MllpDecoder().feed(chunk) == [b"AAA", b"BBB", b"CCC", b"DDD", b"EEE"]


def test_an_oversized_frame_raises_and_the_decoder_resyncs_on_the_next_start_block() -> None:
    decoder = MllpDecoder(max_message_bytes=10)
    assert decoder.feed(b"\x0b12345") == []
    with pytest.raises(FrameTooLarge):
        decoder.feed(b"678901234")
    assert decoder.feed(b"rest of the big one\x1c\r") == []  # discarded, not a message
    assert decoder.feed(frame(b"small")) == [b"small"]


def test_a_complete_oversized_frame_is_dropped_but_its_neighbours_are_kept() -> None:
    decoder = MllpDecoder(max_message_bytes=5)
    payloads = decoder.feed(frame(b"ok") + frame(b"far too long") + frame(b"ok2"))
    assert payloads == [b"ok", b"ok2"]  # nothing held back by the oversized frame
    with pytest.raises(FrameTooLarge):
        decoder.feed(b"")  # the error surfaces on the next call with nothing to return
    assert decoder.feed(frame(b"next")) == [b"next"]


def test_a_frame_exactly_at_the_limit_is_accepted() -> None:
    assert MllpDecoder(max_message_bytes=4).feed(frame(b"1234")) == [b"1234"]


@settings(max_examples=150, deadline=None)
@given(
    payloads=st.lists(st.binary(min_size=0, max_size=60).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c\r", b"")),
                      min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)  # fmt: skip
def test_any_chunking_of_a_stream_yields_the_same_payloads(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(frame(p) for p in payloads)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    decoder = MllpDecoder()
    out = [p for a, b in itertools.pairwise(points) for p in decoder.feed(stream[a:b])]
    assert out == payloads
