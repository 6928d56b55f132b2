"""A hand-built, clean run as :class:`Evidence` for the checker's unit tests (no Kafka, no processes).

Six events on one partition, one request each where the kind calls for one, the DLQ holding exactly
the poison, commit samples that trail the answers. Tests take it and break one thing at a time.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.chaos.evidence import DlqEntry, Evidence, LogScan, Request
from tests.chaos.generator import Canaries, Event, Kind, generate
from tests.chaos.observe import CommitSample
from tests.chaos.profiles import PROFILES, Profile

SEED = 5
T0 = 1_000.0
PROFILE: Profile = dataclasses.replace(
    PROFILES["ci"], name="unit", events=6, poison=2, terminal=1, partitions=1
)


def events() -> list[Event]:
    return generate(SEED, PROFILE.events, poison=PROFILE.poison, terminal=PROFILE.terminal, users=6)


def answer(e: Event, t: float) -> Request:
    """The simulator's answer to ``e``'s first request at ``t`` (10 ms later)."""
    if e.kind is Kind.TERMINAL:
        return Request(t, t + 0.01, 200, e.send_id, e.address, "PREVIOUSLY_BOUNCED", None)
    if e.kind is Kind.POISON_400:
        return Request(t, t + 0.01, 400, e.send_id, e.address, None, None)
    return Request(t, t + 0.01, 200, e.send_id, e.address, None, None)


def dead_letter(e: Event, t: float) -> DlqEntry:
    headers = {"ssc.outcome": "PERMANENT", "ssc.reason": "bad_request"}
    if e.kind is Kind.POISON_400:
        headers["ssc.http.status"] = "400"
    else:
        headers["ssc.reason"] = "invalid_json"
    return DlqEntry(0, e.index, e.value, headers, t)


def clean(**overrides: Any) -> Evidence:
    evs = events()
    requests = [answer(e, T0 + 10 + e.index) for e in evs if e.kind.requested]
    dlq = [dead_letter(e, T0 + 10.5 + e.index) for e in evs if e.kind.poison]
    ledger = [{"sendId": r.send_id, "to": r.to} for r in requests if r.accepted]
    samples = [
        CommitSample(T0 + 12.5, "tick", {0: 2}, {0: 6}),  # events 0 and 1 are done by then
        CommitSample(T0 + 20.0, "tick", {0: 6}, {0: 6}),
    ]
    values: dict[str, Any] = {
        "profile": PROFILE,
        "seed": SEED,
        "t0": T0,
        "end": T0 + 30,
        "events": evs,
        "placed": {e.index: [(0, e.index)] for e in evs},
        "sent_at": {e.index: T0 + e.index for e in evs},
        "ledger": ledger,
        "requests": requests,
        "sends": [],
        "stats": {"duplicates_prevented": 0},
        "dlq": dlq,
        "samples": samples,
        "faults": [],
        "timeline": [],
        "stops": [],
        "incarnations": [{"name": "m0.1", "crashed": False}],
        "rss": {},
        "in_flight": [(T0 + 15, "m0.1", 12.0)],
        "metric_canary_hits": [],
        "logs": LogScan(files=1, lines=10),
        "final_resent": 0,
    }
    values.update(overrides)
    return Evidence(**values)


def needles() -> dict[str, str]:
    return Canaries.for_seed(SEED).needles()


def first(kind: Kind) -> Event:
    return next(e for e in events() if e.kind is kind)
