"""Done offsets in the commit metadata: exact round trip, within the broker's limit, and never a skip
from a metadata that is missing, foreign, corrupt or written for another partition or position."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.offset_metadata import (
    DEFAULT_MAX_BYTES,
    MAGIC,
    MAX_SPAN,
    NOTHING_DONE,
    DoneOffsets,
    Status,
    decode,
    encode,
    encoded_length,
    merge,
)
from consumer.settings import EngineSettings

TOPIC = "events.v1"


@st.composite
def position_and_done(draw: st.DrawFn, max_ranges: int = 60) -> tuple[int, DoneOffsets]:
    """A committed position and disjoint, non-adjacent done ranges above it."""
    position = draw(st.integers(min_value=0, max_value=2**40))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(1, 300), st.integers(1, 300)), max_size=max_ranges
        )  # (gap, length) runs
    )
    ranges, cursor = [], position
    for gap, length in pairs:
        ranges.append((cursor + gap, cursor + gap + length))
        cursor += gap + length
    return position, DoneOffsets(tuple(ranges))


def covered(done: DoneOffsets) -> set[int]:
    return {o for start, end in done.ranges for o in range(start, end)}


@settings(max_examples=600, deadline=None)
@given(position_and_done())
def test_what_is_encoded_decodes_to_exactly_the_same_done_offsets(case: tuple[int, DoneOffsets]) -> None:
    position, done = case
    text = encode(TOPIC, 3, position, done, max_bytes=1_000_000)
    restored = decode(TOPIC, 3, position, text)
    if done:
        assert restored.status is Status.RESTORED
        assert restored.done == done
    else:
        assert text == ""
        assert restored.done == NOTHING_DONE


@settings(max_examples=600, deadline=None)
@given(position_and_done(max_ranges=400), st.integers(min_value=0, max_value=3_000))
def test_a_metadata_never_exceeds_its_budget_and_keeps_a_correct_prefix(
    case: tuple[int, DoneOffsets], budget: int
) -> None:
    position, done = case
    text = encode(TOPIC, 0, position, done, max_bytes=budget)
    assert len(text.encode()) <= budget
    kept = decode(TOPIC, 0, position, text).done
    assert kept.ranges == done.ranges[: len(kept.ranges)]  # the lowest ranges, each exact


def test_the_default_budget_is_the_brokers_default_limit() -> None:
    assert DEFAULT_MAX_BYTES == 4096  # Kafka's offset.metadata.max.bytes default
    assert EngineSettings().commit_metadata_max_bytes == DEFAULT_MAX_BYTES


def test_a_full_default_window_of_alternating_done_offsets_fits_the_default_budget() -> None:
    engine = EngineSettings()
    position = 10**12  # large offsets cost nothing: runs are relative to the position
    done = DoneOffsets(tuple((position + i, position + i + 1) for i in range(1, engine.partition_window, 2)))
    text = encode(TOPIC, 0, position, done, max_bytes=engine.commit_metadata_max_bytes)
    assert len(text) <= engine.commit_metadata_max_bytes
    assert decode(TOPIC, 0, position, text).done == done  # nothing had to be dropped


def test_when_nothing_fits_the_commit_carries_no_metadata() -> None:
    done = DoneOffsets(((5, 6),))
    assert encode(TOPIC, 0, 0, done, max_bytes=len(MAGIC) + 10) == ""
    assert encode(TOPIC, 0, 0, done, max_bytes=0) == ""
    assert encode(TOPIC, 0, 0, done) != ""


def test_offsets_at_or_below_the_position_are_never_encoded_as_done() -> None:
    done = DoneOffsets(((3, 8), (10, 12)))
    restored = decode(TOPIC, 0, 5, encode(TOPIC, 0, 5, done)).done
    assert restored.ranges == ((6, 8), (10, 12))
    assert 5 not in restored
    assert encode(TOPIC, 0, 20, done) == ""
    below_then_above = DoneOffsets(((1, 3), (4, 6), (7, 9)))  # the first two end at or below 6
    assert decode(TOPIC, 0, 5, encode(TOPIC, 0, 5, below_then_above)).done.ranges == ((7, 9),)


@pytest.mark.parametrize(
    ("metadata", "status"),
    [
        (None, Status.EMPTY),
        ("", Status.EMPTY),
        ("my-app checkpoint 17", Status.FOREIGN),
        ('{"owner": "connect"}', Status.FOREIGN),
        ("bAAAAAAAAAAAAAAA", Status.FOREIGN),  # another library's base64 offset map
        ("ssc2.AAAAAAAAAAAAAAAAAAA", Status.FOREIGN),  # a later format version
        ("ssc1.", Status.CORRUPT),
        ("ssc1.!!!!", Status.CORRUPT),
        ("ssc1.AAAAAAAAAAAA", Status.CORRUPT),  # digest without runs
    ],
)
def test_missing_foreign_and_corrupt_metadata_skip_nothing(metadata: str | None, status: Status) -> None:
    restored = decode(TOPIC, 0, 100, metadata)
    assert restored.status is status
    assert restored.done == NOTHING_DONE


def test_metadata_of_another_partition_topic_or_position_skips_nothing() -> None:
    text = encode(TOPIC, 2, 100, DoneOffsets(((102, 150),)))
    assert decode(TOPIC, 2, 100, text).status is Status.RESTORED
    for topic, partition, position in (
        (TOPIC, 3, 100),
        ("events.v2", 2, 100),
        (TOPIC, 2, 101),
        (TOPIC, 2, 99),
    ):
        restored = decode(topic, partition, position, text)
        assert restored.status is Status.MISMATCH
        assert restored.done == NOTHING_DONE


@settings(max_examples=600, deadline=None)
@given(position_and_done(max_ranges=20), st.data())
def test_any_change_to_a_metadata_makes_it_skip_nothing(
    case: tuple[int, DoneOffsets], data: st.DataObject
) -> None:
    position, done = case
    text = encode(TOPIC, 1, position, done)
    if not text:
        return
    i = data.draw(st.integers(0, len(text) - 1))
    kind = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
    char = data.draw(st.characters(codec="ascii"))
    changed = {
        "replace": text[:i] + char + text[i + 1 :],
        "delete": text[:i] + text[i + 1 :],
        "insert": text[:i] + char + text[i:],
        "truncate": text[:i],
    }[kind]
    if changed == text:
        return
    restored = decode(TOPIC, 1, position, changed)
    assert restored.status is not Status.RESTORED
    assert restored.done == NOTHING_DONE


@settings(max_examples=600, deadline=None)
@given(st.text(max_size=200) | st.text(max_size=200).map(lambda t: MAGIC + t))
def test_arbitrary_text_never_raises_and_skips_nothing(text: str) -> None:
    assert decode(TOPIC, 0, 7, text).done == NOTHING_DONE


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 30)), max_size=30), st.integers(-5, 260))
def test_merged_ranges_contain_exactly_the_union(pairs: list[tuple[int, int]], probe: int) -> None:
    ranges = [(start, start + length) for start, length in pairs]
    merged = merge(ranges[::2], ranges[1::2])
    union = {o for start, end in ranges for o in range(start, end)}
    assert covered(merged) == union
    assert (probe in merged) == (probe in union)
    assert all(a[1] < b[0] for a, b in zip(merged.ranges, merged.ranges[1:], strict=False))  # disjoint, apart


def test_the_version_1_format_is_stable() -> None:
    """A commit written by one release must verify in the next: the exact text is pinned."""
    done = DoneOffsets(((102, 150), (160, 161)))
    text = encode(TOPIC, 3, 100, done)
    assert text == "ssc1.dQbCWCeztucCMAoB"
    assert decode(TOPIC, 3, 100, text) == decode(TOPIC, 3, 100, "ssc1.dQbCWCeztucCMAoB")
    assert decode(TOPIC, 3, 100, text).done == done


def test_a_metadata_whose_base64_ends_in_any_letter_round_trips() -> None:
    done = DoneOffsets(((1, 2), (3, 26)))  # runs 1, 1, 1, 23: the last character encodes 23, "X"
    text = encode(TOPIC, 0, 0, done)
    assert text.endswith("X")
    assert decode(TOPIC, 0, 0, text).done == done


def test_the_status_names_are_stable() -> None:
    assert [s.value for s in Status] == ["restored", "empty", "foreign", "corrupt", "mismatch"]


def test_the_length_of_a_metadata_is_its_prefix_and_unpadded_base64_of_digest_and_runs() -> None:
    assert [encoded_length(n) for n in range(6)] == [16, 17, 19, 20, 21, 23]
    assert len(encode(TOPIC, 0, 0, DoneOffsets(((1, 128),)))) == encoded_length(2)  # 1 and 127: a byte each
    assert len(encode(TOPIC, 0, 0, DoneOffsets(((1, 129),)))) == encoded_length(3)  # 128 takes two bytes


def test_a_metadata_that_exactly_fills_its_budget_is_kept() -> None:
    done = DoneOffsets(((1, 2), (3, 4)))
    one = encode(TOPIC, 0, 0, DoneOffsets(((1, 2),)))
    both = encode(TOPIC, 0, 0, done)
    assert (len(one), len(both)) == (encoded_length(2), encoded_length(4))
    assert encode(TOPIC, 0, 0, done, max_bytes=len(both)) == both
    kept = encode(TOPIC, 0, 0, done, max_bytes=len(both) - 1)  # the higher range is dropped
    assert decode(TOPIC, 0, 0, kept).done == DoneOffsets(((1, 2),))
    assert encode(TOPIC, 0, 0, done, max_bytes=len(one)) == kept
    assert encode(TOPIC, 0, 0, done, max_bytes=len(one) - 1) == ""


def test_a_done_range_may_span_up_to_max_span_offsets_above_the_position() -> None:
    position = 1_000
    widest = DoneOffsets(((position + 1, position + MAX_SPAN),))
    assert decode(TOPIC, 0, position, encode(TOPIC, 0, position, widest)).done == widest  # five-byte varints
    wider = DoneOffsets(((position + 5, position + 6), (position + 7, position + MAX_SPAN + 1)))
    kept = decode(TOPIC, 0, position, encode(TOPIC, 0, position, wider)).done
    assert kept == DoneOffsets(((position + 5, position + 6),))  # the range beyond the span is dropped


def test_a_range_that_ends_just_above_the_position_has_nothing_left_to_encode() -> None:
    assert encode(TOPIC, 0, 5, DoneOffsets(((4, 6),))) == ""  # only 5, the position: never done
    assert decode(TOPIC, 0, 5, encode(TOPIC, 0, 5, DoneOffsets(((4, 7),)))).done == DoneOffsets(((6, 7),))
    assert decode(TOPIC, 0, 5, encode(TOPIC, 0, 5, DoneOffsets(((6, 7),)))).done == DoneOffsets(((6, 7),))


def crafted(body: bytes) -> str:
    """Our prefix around a body with a digest that cannot verify: parses (MISMATCH) or not (CORRUPT)."""
    return MAGIC + base64.urlsafe_b64encode(bytes(8) + body).rstrip(b"=").decode()


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\x01\x01", Status.MISMATCH),  # one gap, one done run: well formed
        (b"\x01\x01\x01\x01", Status.MISMATCH),
        (b"\x01", Status.CORRUPT),  # a gap without its done run
        (b"\x01\x01\x01", Status.CORRUPT),
        (b"\x01\x81", Status.CORRUPT),  # ends inside a varint
        (b"\x00\x01", Status.CORRUPT),  # an empty run
        (b"\x01\x00", Status.CORRUPT),
        (varint(1) + varint(MAX_SPAN - 1), Status.MISMATCH),  # exactly MAX_SPAN offsets
        (varint(1) + varint(MAX_SPAN), Status.CORRUPT),  # one more
        (b"\x01\xff\xff\xff\xff\x07", Status.MISMATCH),  # a five-byte varint
        (b"\x01\x80\x80\x80\x80\x80\x01", Status.CORRUPT),  # six bytes: beyond any span
    ],
)
def test_runs_are_checked_before_the_digest(body: bytes, status: Status) -> None:
    restored = decode(TOPIC, 0, 0, crafted(body))
    assert restored.status is status
    assert restored.done == NOTHING_DONE


def test_a_non_canonical_spelling_of_a_valid_metadata_is_corrupt() -> None:
    text = encode(TOPIC, 0, 0, DoneOffsets(((1, 2),)))  # 10 bytes: the last character carries 4 spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    stray = alphabet[alphabet.index(text[-1]) + 1]  # same bytes, a spare bit set
    assert base64.urlsafe_b64decode(text[5:] + "==") == base64.urlsafe_b64decode(text[5:-1] + stray + "==")
    assert decode(TOPIC, 0, 0, text[:-1] + stray).status is Status.CORRUPT
    assert decode(TOPIC, 0, 0, text + "==").status is Status.CORRUPT  # padding is not ours either


def test_an_offset_is_done_from_the_start_of_its_range_up_to_but_not_including_its_end() -> None:
    done = DoneOffsets(((5, 6), (8, 11)))
    assert [o for o in range(13) if o in done] == [5, 8, 9, 10]
    assert "5" not in done
    assert 5.0 not in done
    assert 0 not in DoneOffsets()
    assert done.count == 4
    assert DoneOffsets().count == 0
    assert bool(done) is True
    assert bool(DoneOffsets()) is False


def test_merge_drops_empty_ranges_and_joins_adjacent_and_overlapping_ones() -> None:
    assert merge([(3, 3), (4, 2)]) == DoneOffsets()
    assert merge([(1, 3)], [(3, 5)]) == DoneOffsets(((1, 5),))
    assert merge([(1, 6)], [(2, 4)]) == DoneOffsets(((1, 6),))  # one inside the other
    assert merge([(1, 4)], [(2, 6)], [(7, 8)]) == DoneOffsets(((1, 6), (7, 8)))
