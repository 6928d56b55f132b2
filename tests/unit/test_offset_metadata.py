"""Done offsets in the commit metadata: exact round trip, within the broker's limit, and never a skip
from a metadata that is missing, foreign, corrupt or written for another partition or position."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.offset_metadata import (
    DEFAULT_MAX_BYTES,
    MAGIC,
    NOTHING_DONE,
    DoneOffsets,
    Status,
    decode,
    encode,
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
