"""Which dead letters an operator means, and counts of what was read (pure: no I/O).

A :class:`Selection` is the filter set shared by ``dlq inspect`` and ``dlq replay``; every filter
value is checked when the selection is built, so a typo is an error naming the flag, not an empty
result. Positions (``--partition 0:15-20``) are positions *in the DLQ topic*, as the table shows them.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from consumer.deadletters.format import DeadLetter
from consumer.errors import ConsumerError
from consumer.outcome import OutcomeClass, Reason

_DURATION = re.compile(r"^(?:(\d{1,6})w)?(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,9})s)?$")
_DURATION_UNITS = (604_800, 86_400, 3_600, 60, 1)
_POSITION = re.compile(r"^(\d{1,6})(?::(\d{1,19})(?:(-)(\d{1,19})?)?)?$")
_SEND_RESULT = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
_REASONS = {r.value for r in Reason}


def _usage(message: str) -> ConsumerError:
    return ConsumerError(message, reason="usage")


# --- selection --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionRange:
    """Offsets ``first``..``last`` (inclusive; ``None``: open) of one DLQ partition."""

    partition: int
    first: int = 0
    last: int | None = None

    def __contains__(self, letter: object) -> bool:
        if not isinstance(letter, DeadLetter):
            return False
        offset = letter.record.offset
        return (
            letter.record.partition == self.partition
            and offset >= self.first
            and (self.last is None or offset <= self.last)
        )


@dataclass(frozen=True, slots=True)
class Selection:
    """Filters combined with AND; values of one filter with OR. Empty filters select everything."""

    reasons: frozenset[str] = frozenset()
    outcomes: frozenset[str] = frozenset()
    event_types: frozenset[str] = frozenset()
    email_ids: frozenset[int] = frozenset()
    correlation_ids: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    positions: tuple[PositionRange, ...] = ()

    @property
    def empty(self) -> bool:
        return self == Selection()

    def partitions(self) -> frozenset[int] | None:
        """The DLQ partitions worth reading (``None``: all)."""
        return frozenset(p.partition for p in self.positions) if self.positions else None

    def matches(self, letter: DeadLetter) -> bool:
        reasons = {v for v in (letter.reason, letter.send_result) if v is not None}
        return (
            (not self.reasons or bool(self.reasons & reasons))
            and (not self.outcomes or letter.outcome in self.outcomes)
            and (not self.event_types or letter.event_type in self.event_types)
            and (not self.email_ids or letter.email_id in self.email_ids)
            and (not self.correlation_ids or letter.correlation_id in self.correlation_ids)
            and (self.since is None or letter.timestamp >= self.since)
            and (self.until is None or letter.timestamp < self.until)
            and (not self.positions or any(letter in p for p in self.positions))
        )


def build_selection(
    *,
    reasons: Sequence[str] = (),
    outcomes: Sequence[str] = (),
    event_types: Sequence[str] = (),
    email_ids: Sequence[str] = (),
    correlation_ids: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
    positions: Sequence[str] = (),
    now: datetime,
) -> Selection:
    """Check and convert the command's filter flags; ``ConsumerError`` names the flag at fault."""
    selection = Selection(
        reasons=frozenset(_reason(r) for r in reasons),
        outcomes=frozenset(_outcome(o) for o in outcomes),
        event_types=frozenset(_non_empty("--event-type", t) for t in event_types),
        email_ids=frozenset(_email_id(e) for e in email_ids),
        correlation_ids=frozenset(_non_empty("--correlation-id", c) for c in correlation_ids),
        since=parse_time(since, now, "--since") if since else None,
        until=parse_time(until, now, "--until") if until else None,
        positions=tuple(parse_position(p) for p in positions),
    )
    if selection.since and selection.until and selection.since >= selection.until:
        raise _usage("--since must be earlier than --until")
    return selection


def _reason(value: str) -> str:
    if value.lower() in _REASONS:
        return value.lower()
    if _SEND_RESULT.match(value):  # a HubSpot sendResult, known or added after this release
        return value
    close = difflib.get_close_matches(value.lower(), sorted(_REASONS), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise _usage(
        f"--reason: unknown reason {value!r}{hint}; use a reason code such as bad_request, "
        "schema_violation, no_route, expired, or a HubSpot sendResult in capitals"
    )


def _outcome(value: str) -> str:
    try:
        return OutcomeClass(value.upper()).value
    except ValueError:
        known = ", ".join(c.value for c in OutcomeClass)
        raise _usage(f"--outcome: unknown outcome class {value!r}; one of {known}") from None


def _email_id(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise _usage(f"--email-id: a positive integer, not {value!r}")
    return int(value)


def _non_empty(flag: str, value: str) -> str:
    if not value.strip():
        raise _usage(f"{flag}: must not be empty")
    return value.strip()


def parse_time(text: str, now: datetime, flag: str = "--since") -> datetime:
    """An ISO 8601 date or date-time (no zone: UTC), or a duration before ``now`` (``2h``, ``1d12h``)."""
    value = text.strip()
    match = _DURATION.match(value)
    if match and value:
        seconds = sum(int(n) * unit for n, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if n)
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _usage(
            f"{flag}: expected an ISO time like 2026-03-02T12:00:00Z or a duration like 2h, 30m, 1d"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_position(text: str) -> PositionRange:
    """``P`` (whole partition), ``P:O`` (one record), ``P:A-B`` or ``P:A-`` (offsets A to B / to the end)."""
    match = _POSITION.match(text.strip())
    if not match:
        raise _usage(f"--partition: PARTITION[:OFFSET[-[OFFSET]]] like 0, 0:15 or 0:15-20, not {text!r}")
    part, first, dash, last = match.groups()
    if first is None:
        return PositionRange(int(part))
    end = int(first) if dash is None else (int(last) if last is not None else None)
    if end is not None and end < int(first):
        raise _usage(f"--partition: the range {text!r} ends before it starts")
    return PositionRange(int(part), int(first), end)


# --- summaries --------------------------------------------------------------------------------------


class Tally:
    """Running counts: records read, records selected, the selected ones by reason and event type."""

    __slots__ = ("by_event_type", "by_reason", "read", "selected")

    def __init__(self) -> None:
        self.read = 0
        self.selected = 0
        self.by_reason: Counter[str] = Counter()
        self.by_event_type: Counter[str] = Counter()

    def add(self, letter: DeadLetter, *, selected: bool) -> None:
        self.read += 1
        if selected:
            self.selected += 1
            self.by_reason[letter.label] += 1
            self.by_event_type[letter.event_type or "?"] += 1

    def to_json(self) -> dict[str, object]:
        return {
            "read": self.read,
            "selected": self.selected,
            "by_reason": dict(self.by_reason.most_common()),
            "by_event_type": dict(self.by_event_type.most_common()),
        }
