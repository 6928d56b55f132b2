"""Breakers (pure state machines) that turn a systemic failure into a pause instead of a DLQ flood.

- :class:`TransientBreaker` opens after N consecutive RETRY-class attempts (HubSpot down, network
  partition): retries stop hammering, the pipeline pauses, a probe decides when to resume.
  THROTTLE answers are not failures: they only slow the limiter.
- :class:`MassDeadLetterBreaker` opens when PERMANENT outcomes burst (more than ``ratio`` of the last
  ``window`` records, or ``consecutive`` in a row, both in dispatch order): that pattern means a
  configuration error (unpublished template, wrong environment's ids, an event type without a
  route), not bad events, so the records must wait rather than be dead-lettered. The pipeline
  decides what counts: HubSpot refusals and missing routes; malformed records, schema violations and
  expired events are per-event problems and are not counted.

Both are closed again by the caller when a probe succeeds (:meth:`reset`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consumer.outcome import OutcomeClass


@dataclass(slots=True)
class TransientBreaker:
    threshold: int
    consecutive: int = 0
    is_open: bool = False

    def record(self, cls: OutcomeClass) -> bool:
        """Feed one attempt's class; returns True when this attempt opened the breaker."""
        if cls is OutcomeClass.RETRY:
            self.consecutive += 1
            if not self.is_open and self.consecutive >= self.threshold:
                self.is_open = True
                return True
        elif cls is not OutcomeClass.THROTTLE:
            self.consecutive = 0
        return False

    def reset(self) -> None:
        self.consecutive = 0
        self.is_open = False


@dataclass(slots=True)
class MassDeadLetterBreaker:
    """Judges PERMANENT outcomes in *dispatch order* (the sequence number the pipeline gives each
    record as it starts), not completion order: with many records in flight, failures that finish
    fast (or whose DLQ writes are acknowledged in one batch) would otherwise look like a burst. A
    record whose outcome is not known yet breaks a run and counts as not permanent in the ratio."""

    window: int
    ratio: float
    consecutive_limit: int
    min_events: int
    is_open: bool = False
    _results: dict[int, bool] = field(default_factory=dict)  # sequence -> was PERMANENT
    _high: int = -1

    def would_open(self, seq: int, dispatched: int = -1) -> bool:
        """Whether record ``seq`` being PERMANENT would open the breaker (checked before dead-lettering);
        ``dispatched`` is the highest sequence number handed out so far (records still in flight)."""
        if self.is_open:
            return True
        results = self._results
        run = 1
        s = seq - 1
        while results.get(s) is True:
            run, s = run + 1, s - 1
        s = seq + 1
        while results.get(s) is True:
            run, s = run + 1, s + 1
        if run >= self.consecutive_limit:
            return True
        # The ratio is over every record dispatched in the window, finished or not: records still in
        # flight count as not (yet) permanent, so failures that finish first cannot inflate it.
        high = max(self._high, seq, dispatched)
        low = max(high - self.window, -1)
        span = high - low
        permanent = 1 + sum(1 for s, p in results.items() if p and s > low and s != seq)
        return span >= self.min_events and permanent / span > self.ratio

    def record(self, seq: int, permanent: bool) -> None:
        """Feed the outcome of record ``seq`` (True when it was dead-lettered as PERMANENT)."""
        self._results[seq] = permanent
        self._high = max(self._high, seq)
        if len(self._results) > 2 * self.window:  # keep memory bounded: forget what left the window
            low = self._high - self.window
            self._results = {s: p for s, p in self._results.items() if s > low}

    def open(self) -> None:
        self.is_open = True

    def reset(self) -> None:
        """Close after a successful probe; the history restarts so the same burst is not re-counted."""
        self.is_open = False
        self._results.clear()
