"""Done offsets above a commit position, carried in the Kafka commit metadata (pure).

A partition's committed position is its lowest offset that is not done; records above it may be done
already (sent, terminal, or dead-lettered) while a slower one holds the position. Without more
information a new owner — after a crash, a rebalance or a restart — sends them again: harmless for
the recipient (same ``sendId``), but each costs a request of HubSpot's budget. As in Confluent's
Parallel Consumer, the committing member therefore writes those done offsets into the metadata
string Kafka stores with each committed offset, and the next owner skips them.

Format, version 1 (ASCII, so characters equal bytes for ``offset.metadata.max.bytes``)::

    "ssc1." + base64url_without_padding(digest[8] + varint runs)

- *runs* are LEB128 varints, alternating lengths that start at the committed position: not done,
  done, not done, done, …, ending with a done run; every length is at least 1 (the position itself is
  never done). Offsets inside a done run that the member never fetched do not exist for it (compacted
  away, transaction markers, aborted records): nothing reads them, so counting them done is safe.
- *digest* is BLAKE2b-64 over the topic, the partition, the committed position and the runs, so a
  string that is truncated, altered, copied to another partition or left over from another position
  does not verify.

Decoding never raises: an empty, foreign (another tool's string, another version), corrupt or
mismatched metadata gives :data:`NOTHING_DONE` with a status that says why — the safe answer, which
skips nothing. Encoding keeps within a character budget (the broker's ``offset.metadata.max.bytes``,
4096 by default): when the runs do not fit, it keeps the longest prefix that does (the lower done
ranges, still exact) and drops the rest, which are then sent again; with no room at all it returns "".
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from operator import itemgetter

MAGIC = "ssc1."
DEFAULT_MAX_BYTES = 4096  # Kafka's default offset.metadata.max.bytes
DIGEST_BYTES = 8
MAX_SPAN = 1 << 31  # decoded runs never describe more offsets than this above the position


class Status(StrEnum):
    """What decoding found in a partition's commit metadata."""

    RESTORED = "restored"  # ours, intact, for this partition and position
    EMPTY = "empty"  # no metadata (a first commit, an offset reset, an older version of this service)
    FOREIGN = "foreign"  # another tool's string, or a format version this one does not know
    CORRUPT = "corrupt"  # our prefix, but it does not decode or does not verify
    MISMATCH = "mismatch"  # intact shape, but written for another partition or position


@dataclass(frozen=True, slots=True)
class DoneOffsets:
    """Half-open ``[start, end)`` ranges of offsets known to be done, sorted and disjoint."""

    ranges: tuple[tuple[int, int], ...] = ()

    def __contains__(self, offset: object) -> bool:
        if not isinstance(offset, int) or not self.ranges:
            return False
        i = bisect.bisect_right(self.ranges, offset, key=itemgetter(0)) - 1
        return i >= 0 and self.ranges[i][0] <= offset < self.ranges[i][1]

    def __bool__(self) -> bool:
        return bool(self.ranges)

    @property
    def count(self) -> int:
        return sum(end - start for start, end in self.ranges)


NOTHING_DONE = DoneOffsets()


@dataclass(frozen=True, slots=True)
class Restored:
    done: DoneOffsets
    status: Status


def merge(*sources: Iterable[tuple[int, int]]) -> DoneOffsets:
    """The union of ranges (each half-open, in any order), as sorted disjoint ranges; adjacent or
    overlapping ranges are joined, empty ones dropped."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(r for src in sources for r in src if r[0] < r[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return DoneOffsets(tuple(out))


def encode(
    topic: str, partition: int, position: int, done: DoneOffsets, max_bytes: int = DEFAULT_MAX_BYTES
) -> str:
    """The metadata to commit with ``position``: the ranges of ``done`` above it, as many as fit in
    ``max_bytes`` characters (the lowest first). "" when none is above the position or none fits."""
    runs = bytearray()
    fits = 0  # length of ``runs`` after the last (not done, done) pair that fits the budget
    cursor = position
    for low, end in done.ranges:
        start = max(low, cursor + 1)  # the position itself is never done; ranges are disjoint
        if end <= start:
            continue
        if end - position > MAX_SPAN:
            break
        _append_varint(runs, start - cursor)
        _append_varint(runs, end - start)
        if encoded_length(len(runs)) > max_bytes:
            break
        fits = len(runs)
        cursor = end
    if not fits:
        return ""
    body = bytes(runs[:fits])
    return MAGIC + _b64(_digest(topic, partition, position, body) + body)


def encoded_length(runs_bytes: int) -> int:
    """Characters of the metadata whose runs take ``runs_bytes`` bytes."""
    return len(MAGIC) + (4 * (DIGEST_BYTES + runs_bytes) + 2) // 3


def decode(topic: str, partition: int, position: int, metadata: str | None) -> Restored:
    """The done offsets a commit of ``position`` on this partition carried; never raises, and skips
    nothing (:data:`NOTHING_DONE`) unless the metadata is ours, intact and written for exactly this
    partition and position."""
    if not metadata:
        return Restored(NOTHING_DONE, Status.EMPTY)
    if not metadata.startswith(MAGIC):
        return Restored(NOTHING_DONE, Status.FOREIGN)
    text = metadata[len(MAGIC) :]
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return Restored(NOTHING_DONE, Status.CORRUPT)
    if _b64(raw) != text:  # only the canonical spelling: no padding, no stray low bits
        return Restored(NOTHING_DONE, Status.CORRUPT)
    digest, body = raw[:DIGEST_BYTES], raw[DIGEST_BYTES:]
    ranges = _parse_runs(position, body)
    if ranges is None:
        return Restored(NOTHING_DONE, Status.CORRUPT)
    if digest != _digest(topic, partition, position, body):
        return Restored(NOTHING_DONE, Status.MISMATCH)
    return Restored(DoneOffsets(ranges), Status.RESTORED)


def _parse_runs(position: int, body: bytes) -> tuple[tuple[int, int], ...] | None:
    values: list[int] = []
    value = shift = 0
    for byte in body:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            if shift > 28:  # more than five bytes: beyond MAX_SPAN
                return None
            continue
        values.append(value)
        value = shift = 0
    if shift or not values or len(values) % 2 or 0 in values or sum(values) > MAX_SPAN:
        return None
    ranges: list[tuple[int, int]] = []
    cursor = position
    for gap, length in zip(values[::2], values[1::2], strict=True):
        ranges.append((cursor + gap, cursor + gap + length))
        cursor += gap + length
    return tuple(ranges)


def _append_varint(out: bytearray, value: int) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _digest(topic: str, partition: int, position: int, body: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=DIGEST_BYTES, person=b"ssc-offsets-v1")
    h.update(f"{topic}\0{partition}\0{position}\0".encode())
    h.update(body)
    return h.digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
