"""Evaluates the invariants I1-I13 (docs/results/reliability.md) from a run's :class:`Evidence` (pure).

Each check returns a :class:`Verdict`: the violation count (0 passes), the target as written on
that page, and a small detail dict with the first offenders — never addresses or secrets (events
are named by index, sendIds are shortened). Times are wall-clock seconds; the simulator stamps a
request when it arrives and when its answer leaves, so "done" times are lower bounds of when the
consumer could know, which makes the commit-safety check free of false alarms.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.evidence import DlqEntry, Evidence, Request
from tests.chaos.generator import Event, Kind

TERMINAL_RESULTS = frozenset({"PREVIOUSLY_BOUNCED"})
TRANSIENT_REASONS = frozenset(
    {
        "server_error",
        "timeout",
        "connection_error",
        "rate_limited",
        "unauthorized",
        "forbidden",
        "locked",
        "ambiguous_response",
        "retries_exhausted",
        "daily_limit",
        "portal_migrating",
        "endpoint_not_found",
        "redirected",
        "wrong_portal",
        "transient_breaker",
        "mass_dlq_breaker",
        "portal_unavailable",
    }
)
TRANSIENT_STATUSES = frozenset({401, 403, 408, 423, 429, 477})
CLOCK_SLACK_S = 0.005  # rounding of logged times (4 decimals, DLQ CreateTime in ms)


@dataclass(frozen=True, slots=True)
class Verdict:
    id: str
    name: str
    target: str
    count: int
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.count == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "count": self.count,
            "pass": self.passed,
            **self.detail,
        }


def short(send_id: str | None) -> str:
    return (send_id or "-")[:12]


class Facts:
    """Indexes over the evidence shared by several checks."""

    def __init__(self, ev: Evidence) -> None:
        self.ev = ev
        self.by_sid: dict[str, Event] = {e.send_id: e for e in ev.events if e.send_id}
        self.by_to: dict[str, Event] = {e.address: e for e in ev.events if e.address and e.kind.requested}
        self.by_offset = {po: idx for idx, places in ev.placed.items() for po in places}
        self.requests_by_sid: dict[str, list[Request]] = defaultdict(list)
        for r in ev.requests:
            if r.send_id:
                self.requests_by_sid[r.send_id].append(r)
        self.accepted_at: dict[str, float] = {}  # sendId -> arrival of the accepted request
        self.answered_at: dict[str, float] = {}  # sendId -> first 200 answer leaving (any sendResult)
        for sid, reqs in self.requests_by_sid.items():
            for r in reqs:
                if r.accepted and sid not in self.accepted_at:
                    self.accepted_at[sid] = r.t_in
                if r.status == 200:
                    self.answered_at[sid] = min(self.answered_at.get(sid, r.t_out), r.t_out)
        self.dlq_by_index: dict[int, list[float]] = defaultdict(list)
        self.dlq_unmapped = 0
        for d in ev.dlq:
            idx = self.source_of(d)
            if idx is None:
                self.dlq_unmapped += 1
            else:
                self.dlq_by_index[idx].append(d.timestamp)
        self.disruptions = sorted(
            [f.at for f in ev.faults if f.kind.disruptive]
            + [t["t"] for t in ev.timeline if t["event"] in ("toggle", "member.crashed")]
        )

    def source_of(self, d: DlqEntry) -> int | None:
        """Index of the event a DLQ record came from (by its context headers), if known."""
        if d.partition is None or d.offset is None:
            return None
        return self.by_offset.get((d.partition, d.offset))

    def done_at(self, event: Event) -> float | None:
        if event.kind.poison:
            times = self.dlq_by_index.get(event.index)
            return min(times) if times else None
        return self.answered_at.get(event.send_id or "")

    def disrupted_between(self, a: float, b: float) -> bool:
        i = bisect.bisect_right(self.disruptions, a)
        return i < len(self.disruptions) and self.disruptions[i] < b


def i1_no_loss(f: Facts) -> Verdict:
    def delivered(e: Event) -> bool:
        if e.kind is Kind.TERMINAL:
            return any(r.result in TERMINAL_RESULTS for r in f.requests_by_sid.get(e.send_id or "", []))
        return (e.send_id or "") in f.accepted_at

    wanted = (Kind.VALID, Kind.TERMINAL)
    missing = [e.index for e in f.ev.events if e.kind in wanted and not delivered(e)]
    unpublished = sum(1 for e in f.ev.events if e.index not in f.ev.placed)
    return Verdict(
        "I1",
        "no loss",
        "0 missing",
        len(missing),
        {"missing_first": missing[:10], "unpublished": unpublished},
    )


def i2_no_duplicate_email(f: Facts) -> Verdict:
    per_sid = Counter(line.get("sendId") for line in f.ev.ledger)
    per_to = Counter(line.get("to") for line in f.ev.ledger)
    dup_sid = {s: n for s, n in per_sid.items() if n > 1}
    dup_to = sum(n - 1 for n in per_to.values() if n > 1)
    return Verdict(
        "I2",
        "no duplicate email",
        "exactly 1 accepted send per sendId",
        sum(n - 1 for n in dup_sid.values()) + dup_to,
        {
            "duplicate_send_ids": [short(s) for s in list(dup_sid)[:5]],
            "second_email_same_event": dup_to,
            "shadow_duplicates_prevented": f.ev.stats.get("duplicates_prevented", 0),
        },
    )


def i3_one_send_id(f: Facts) -> Verdict:
    foreign = {r.send_id for r in f.ev.requests if r.send_id and r.send_id not in f.by_sid}
    no_sid = sum(1 for r in f.ev.requests if not r.send_id)
    mismatched = 0  # a request for an event (by recipient) that did not carry the event's sendId
    for r in f.ev.requests:
        event = f.by_to.get(r.to or "")
        if event is not None and r.send_id != event.send_id:
            mismatched += 1
    return Verdict(
        "I3",
        "one sendId per event",
        "exactly 1",
        len(foreign) + no_sid + mismatched,
        {
            "foreign_send_ids": len(foreign),
            "requests_without_send_id": no_sid,
            "requests_with_another_events_send_id": mismatched,
        },
    )


def holds_original(d: DlqEntry, original: bytes) -> bool:
    """The dead letter carries the original value: whole, or (marked truncated) a prefix of it whose
    headers name the whole value's size and SHA-256."""
    if d.headers.get("ssc.original.truncated") != "true":
        return d.value == original
    return (
        original.startswith(d.value)
        and d.headers.get("ssc.original.size") == str(len(original))
        and d.headers.get("ssc.original.sha256") == hashlib.sha256(original).hexdigest()
    )


def i4_dlq_is_poison(f: Facts) -> Verdict:
    poison = {e.index for e in f.ev.events if e.kind.poison}
    dead = set(f.dlq_by_index)
    missing, extra = sorted(poison - dead), sorted(dead - poison)
    events = {e.index: e for e in f.ev.events}
    altered = sum(
        1
        for d in f.ev.dlq
        if (idx := f.source_of(d)) is not None and not holds_original(d, events[idx].value)
    )
    truncated = sum(1 for d in f.ev.dlq if d.headers.get("ssc.original.truncated") == "true")
    dups = sum(len(v) - 1 for v in f.dlq_by_index.values())
    return Verdict(
        "I4",
        "DLQ holds exactly the poison events",
        "equal sets; 0 valid dead-lettered",
        len(missing) + len(extra) + f.dlq_unmapped + altered,
        {
            "poison": len(poison),
            "dead_lettered": len(dead),
            "missing_first": missing[:10],
            "valid_dead_lettered_first": extra[:10],
            "unmapped": f.dlq_unmapped,
            "value_altered": altered,
            "truncated": truncated,
            "redelivered_duplicates": dups,
        },
    )


def i5_commit_safety(f: Facts) -> Verdict:
    """Every committed position must have every lower offset done *before* the sample saw it."""
    events = {e.index: e for e in f.ev.events}
    partitions: dict[int, list[int]] = defaultdict(list)
    for p, o in f.by_offset:
        partitions[p].append(o)
    prefix: dict[int, tuple[list[int], list[float]]] = {}
    for p, offsets in partitions.items():
        offsets.sort()
        worst, maxima = float("-inf"), []
        for o in offsets:
            done = f.done_at(events[f.by_offset[(p, o)]])
            worst = max(worst, float("inf") if done is None else done)
            maxima.append(worst)
        prefix[p] = (offsets, maxima)
    violations, first = 0, None
    for s in f.ev.samples:
        for p, committed in s.committed.items():
            offsets, maxima = prefix.get(p, ([], []))
            k = bisect.bisect_left(offsets, committed)  # offsets below the committed position
            if k and maxima[k - 1] > s.t + CLOCK_SLACK_S:
                violations += 1
                if first is None:
                    bad = next(o for o, m in zip(offsets, maxima, strict=True) if m > s.t + CLOCK_SLACK_S)
                    first = {
                        "sample_t": round(s.t - f.ev.t0, 2),
                        "partition": p,
                        "committed": committed,
                        "offset_not_done": bad,
                        "event": f.by_offset[(p, bad)],
                    }
    return Verdict(
        "I5",
        "commit safety (no commit-ahead)",
        "0 violations",
        violations,
        {"samples": len(f.ev.samples), "first": first},
    )


def i6_transient_never_dead_lettered(f: Facts) -> Verdict:
    events = {e.index: e for e in f.ev.events}
    bad = 0
    reasons: Counter[str] = Counter()
    for d in f.ev.dlq:
        status = d.headers.get("ssc.http.status")
        reason = d.headers.get("ssc.reason", "")
        idx = f.source_of(d)
        transient = (
            d.headers.get("ssc.outcome") != "PERMANENT"
            or reason in TRANSIENT_REASONS
            or (status is not None and (int(status) in TRANSIENT_STATUSES or int(status) >= 500))
            or (idx is not None and not events[idx].kind.poison)
        )
        bad += transient
        reasons[reason] += 1
    return Verdict("I6", "transient failures never dead-lettered", "0", bad, {"dlq_reasons": dict(reasons)})


def i7_redelivery(f: Facts) -> Verdict:
    t = f.ev.profile.tuning
    redelivered = retried = 0
    for r in f.ev.requests:
        if r.result != "IDEMPOTENT_IGNORE" or not r.send_id:
            continue
        first = f.accepted_at.get(r.send_id)
        if first is not None and f.disrupted_between(first, r.t_in):
            redelivered += 1
        else:
            retried += 1
    kills = len(f.disruptions)
    bound = kills * (t.max_in_flight + t.commit_every)
    return Verdict(
        "I7",
        "redelivered attempts after kills",
        "<= kills x (max_in_flight + commit batch)",
        max(0, redelivered - bound),
        {"redelivered": redelivered, "bound": bound, "disruptions": kills, "same_process_retries": retried},
    )
