"""Breakers (pure state machines) that turn a systemic failure into a pause instead of a DLQ flood.

- :class:`TransientBreaker` opens after N consecutive RETRY-class attempts (HubSpot down, network
  partition): retries stop hammering, the pipeline pauses, a probe decides when to resume.
  THROTTLE answers are not failures: they only slow the limiter.
- :class:`MassDeadLetterBreaker` opens when PERMANENT outcomes burst (more than ``ratio`` of the last
  ``window`` finished records, or ``consecutive`` in a row): that pattern means a configuration
  error (unpublished template, wrong environment's ids), not bad events, so the records must wait
  rather than be dead-lettered.

Both are closed again by the caller when a probe succeeds (:meth:`reset`).
"""

from __future__ import annotations

from collections import deque
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
    window: int
    ratio: float
    consecutive_limit: int
    min_events: int
    is_open: bool = False
    _recent: deque[bool] = field(default_factory=deque)
    _permanent_in_window: int = 0
    _consecutive: int = 0

    def would_open(self) -> bool:
        """Whether one more PERMANENT outcome would open the breaker (checked before dead-lettering)."""
        if self.is_open:
            return True
        consecutive = self._consecutive + 1
        total = min(len(self._recent) + 1, self.window)
        permanent = self._permanent_in_window + 1
        if len(self._recent) >= self.window and self._recent[0]:
            permanent -= 1
        if consecutive >= self.consecutive_limit:
            return True
        return total >= self.min_events and permanent / total > self.ratio

    def record(self, permanent: bool) -> None:
        """Feed one finished record (True when it was dead-lettered as PERMANENT)."""
        self._recent.append(permanent)
        self._permanent_in_window += permanent
        if len(self._recent) > self.window:
            self._permanent_in_window -= self._recent.popleft()
        self._consecutive = self._consecutive + 1 if permanent else 0

    def open(self) -> None:
        self.is_open = True

    def reset(self) -> None:
        """Close after a successful probe; the history restarts so the same burst is not re-counted."""
        self.is_open = False
        self._recent.clear()
        self._permanent_in_window = 0
        self._consecutive = 0
