"""Per-partition offset tracking (pure): what may be committed, and how full each partition's window is.

A record is *tracked* when fetched and *done* when HubSpot confirmed every send of it (or answered a
terminal per-recipient result) or its dead-letter write was acknowledged. The commit position of a
partition is the lowest tracked offset that is not done — or one past the highest done offset when
everything fetched is done. Committing that position (``offset + 1`` semantics are built in) can
never pass an offset that is not done (invariant I5), whatever order completions arrive in.

Offsets within a partition arrive in increasing order but may have gaps (compaction, transaction
markers); gaps are skipped because nothing was fetched there.

Each assignment of a partition gets a fresh :class:`PartitionTracker`. After a revocation, the old
tracker is *fenced*: late completions for it are ignored, so they cannot move a position that now
belongs to another member.

Done offsets above the position (:meth:`PartitionTracker.done_above`) travel with each commit
(``consumer/offset_metadata.py``); a new tracker starts *restoring* until the previous owner's are
read back (:meth:`PartitionTracker.restore`), and commits nothing meanwhile, so it cannot overwrite
them before it has read them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from consumer.offset_metadata import NOTHING_DONE, DoneOffsets, merge


@dataclass(slots=True)
class PartitionTracker:
    """Tracked offsets of one partition for one assignment generation."""

    generation: int
    committed: int | None = None  # the last position handed to Kafka (None: nothing committed yet)
    fenced: bool = False
    restoring: bool = False  # waiting for the done offsets an earlier owner committed (no commit meanwhile)
    restored: DoneOffsets = NOTHING_DONE  # done by an earlier owner, read from the committed metadata
    _pending: deque[tuple[int, float]] = field(default_factory=deque)  # (offset, fetched_at) in order
    _done: set[int] = field(default_factory=set)  # done offsets still in _pending
    _position: int | None = None  # lowest not-done offset, or highest done + 1
    _marks: int = 0  # completions so far: the done offsets changed
    _committed_marks: int = -1  # _marks at the last commit

    def track(self, offset: int, fetched_at: float = 0.0) -> None:
        """Record that ``offset`` was fetched and is now in flight."""
        if self._pending and offset <= self._pending[-1][0]:
            raise ValueError(f"offset {offset} fetched out of order")
        if self._position is not None and offset < self._position:
            raise ValueError(f"offset {offset} is below the tracked position {self._position}")
        self._pending.append((offset, fetched_at))
        if self._position is None:
            self._position = offset

    def done(self, offset: int) -> bool:
        """Mark ``offset`` done; returns False (and changes nothing) when the tracker is fenced."""
        if self.fenced:
            return False
        if not self._pending or offset < self._pending[0][0]:
            return False  # already done and released, or never tracked
        self._done.add(offset)
        self._marks += 1
        while self._pending and self._pending[0][0] in self._done:
            head, _ = self._pending.popleft()
            self._done.discard(head)
            self._position = head + 1
        if self._pending:
            self._position = self._pending[0][0]
        return True

    @property
    def position(self) -> int | None:
        """Where a consumer of this partition should resume: every offset below it is done."""
        return self._position

    def commit_due(self, *, done_above: bool = False) -> int | None:
        """The position to commit, or None when it has not moved since the last commit (nor, with
        ``done_above``, the done offsets above it) or the tracker is still restoring."""
        pos = self._position
        if pos is None or self.restoring or (self.committed is not None and pos < self.committed):
            return None
        if self.committed is None or pos > self.committed:
            return pos
        return pos if done_above and self._marks != self._committed_marks else None

    def committed_at(self, position: int, marks: int | None = None) -> None:
        """``position`` was committed; ``marks`` (:attr:`marks` when the commit was built) says which
        completions its metadata carried."""
        self.committed = position if self.committed is None else max(self.committed, position)
        if marks is not None:
            self._committed_marks = marks

    @property
    def marks(self) -> int:
        return self._marks

    def restore(self, done: DoneOffsets) -> None:
        """Offsets an earlier owner committed as done (they are skipped, and carried on in commits)."""
        self.restored = done
        self.restoring = False

    def known_done(self, offset: int) -> bool:
        """True when an earlier owner already finished ``offset``: it must not be processed again."""
        return offset in self.restored

    def done_above(self) -> DoneOffsets:
        """Offsets above the position known to be done: completed here (joined across the offsets the
        broker never returned between them, which do not exist for this consumer) or restored."""
        if not self._done and not self.restored:
            return NOTHING_DONE
        own: list[tuple[int, int]] = []
        start = end = -1
        for offset, _ in self._pending:
            if offset in self._done:
                if start < 0:
                    start = offset
                end = offset + 1
            elif start >= 0:
                own.append((start, end))
                start = -1
        if start >= 0:
            own.append((start, end))
        pos = self._position if self._position is not None else 0
        return merge(own, (r for r in self.restored.ranges if r[1] > pos))

    @property
    def window(self) -> int:
        """Records fetched and not yet committable (the uncommitted window)."""
        return len(self._pending)

    def oldest_incomplete_since(self) -> float | None:
        """Fetch time of the oldest record that is not done (None when all are done)."""
        return self._pending[0][1] if self._pending else None

    def fence(self) -> None:
        self.fenced = True
