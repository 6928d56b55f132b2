"""The behavioural invariants I8-I13 (retry etiquette, recovery, progress, clean stop, resources,
secrets) and the run's figures (recovery times, throughput, latency, RSS). Pure, like :mod:`checker`.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from typing import Any

from tests.chaos.checker import (
    CLOCK_SLACK_S,
    Facts,
    Verdict,
    i1_no_loss,
    i2_no_duplicate_email,
    i3_one_send_id,
    i4_dlq_is_poison,
    i5_commit_safety,
    i6_transient_never_dead_lettered,
    i7_redelivery,
)
from tests.chaos.driver import FaultRecord
from tests.chaos.evidence import Evidence
from tests.chaos.generator import Kind
from tests.chaos.observe import CommitSample
from tests.chaos.plan import FaultKind


def i8_retry_etiquette(f: Facts) -> Verdict:
    """(a) no re-send of a sendId before the Retry-After it was given (same process); (b) while a
    window lasts: until the breakers open, attempts <= in-flight + the failures that open a breaker
    (the answers before it opens and the requests in flight when it does); once every member that
    paused has paused, attempts <= in-flight at that moment + probes. A window in which no member
    paused is judged whole by the second bound."""
    early = 0
    for reqs in f.requests_by_sid.values():
        for a, b in itertools.pairwise(reqs):
            if a.retry_after is None or f.disrupted_between(a.t_in, b.t_in):
                continue  # a restarted member does not know the previous one's Retry-After
            if b.t_in < a.t_out + a.retry_after - CLOCK_SLACK_S:
                early += 1
    excess, windows = 0, []
    tuning = f.ev.profile.tuning
    for rec in f.ev.faults:
        if not rec.kind.window:
            continue
        status = rec.detail.get("status")
        members = max(1, len(rec.detail.get("live", [])))
        opened_at = paused_at(rec, f.ev.logs.pauses)
        starts = [r.t_in for r in f.ev.requests if rec.at <= r.t_in <= rec.healed_at and r.status == status]
        before = sum(1 for t in starts if t < opened_at)
        probes = sum(1 for t in f.ev.logs.probes if opened_at <= t <= rec.healed_at + 1.0)
        allowed_before = members * (tuning.max_in_flight + tuning.transient_failures_to_open - 1)
        allowed = members * tuning.max_in_flight + probes
        excess += max(0, before - allowed_before) + max(0, len(starts) - before - allowed)
        windows.append(
            {
                "status": status,
                "before_paused": before,
                "allowed_before_paused": allowed_before,
                "attempts": len(starts) - before,
                "probes": probes,
                "allowed": allowed,
            }
        )
    return Verdict(
        "I8",
        "retry etiquette",
        "0 early; before the pause <= in-flight + failures to open - 1; while paused <= in-flight + probes",
        early + excess,
        {"early": early, "windows": windows},
    )


def paused_at(rec: FaultRecord, pauses: dict[str, list[float]]) -> float:
    """When the last member to pause in the window first paused there; the window's start if none did."""
    firsts = [
        min(ts)
        for ts in ([t for t in times if rec.at <= t <= rec.healed_at] for times in pauses.values())
        if ts
    ]
    return max(firsts, default=rec.at)


def recovered_at(rec: FaultRecord, samples: list[CommitSample]) -> float | None:
    """First sample after the fault healed whose commits moved past the baseline (or nothing left)."""
    base = rec.baseline
    for s in samples:
        if s.t <= rec.healed_at:
            continue
        if base is None or any(s.committed.get(p, 0) > o for p, o in base.committed.items()):
            return s.t
        if (not base.committed and s.committed) or s.lag == 0:
            return s.t
    return None


def i9_recovery(f: Facts) -> tuple[Verdict, list[dict[str, Any]]]:
    rows, late = [], 0
    for rec in f.ev.faults:
        at = recovered_at(rec, f.ev.samples)
        seconds = None if at is None else round(at - rec.healed_at, 2)
        ok = seconds is not None and (rec.bound_s is None or seconds <= rec.bound_s)
        late += not ok
        rows.append({**rec.to_json(f.ev.t0), "recovery_s": seconds, "pass": ok})
    return Verdict(
        "I9",
        "recovery after a fault",
        "kill <= session timeout + 10 s; broker back <= 30 s",
        late,
        {"faults": len(rows)},
    ), rows


def _unhealthy(f: Facts) -> list[tuple[float, float]]:
    b = f.ev.profile.bounds
    return [(r.at, r.healed_at + b.window_recovery_s) for r in f.ev.faults if r.kind.window]


def i10_no_stuck_consumer(f: Facts) -> Verdict:
    bound = f.ev.profile.bounds.stuck_s
    excused = _unhealthy(f)
    longest: dict[int, float] = defaultdict(float)
    since: dict[int, float] = {}
    last: dict[int, int] = {}
    for s in f.ev.samples:
        for p, end in s.ends.items():
            c = s.committed.get(p, 0)
            if c > last.get(p, -1) or c >= end:
                since[p] = s.t
            elif p in since and not any(a <= s.t <= b for a, b in excused):
                longest[p] = max(longest[p], s.t - since[p])
            last[p] = c
    stuck = {p: round(v, 1) for p, v in longest.items() if v > bound}
    return Verdict(
        "I10",
        "no stuck consumer",
        f"no progress with lag > 0 never > {bound:.0f} s",
        len(stuck),
        {"longest_stall_s": round(max(longest.values(), default=0.0), 1), "stuck": stuck},
    )


def resent_after_clean_stop(f: Facts, rec: FaultRecord, until: float) -> set[str]:
    """sendIds the member restarted after a clean stop sent although the stopped member had finished
    them (a 200 answer, while it lived, to a request it sent) or had committed past their offset. A
    request sent by an earlier, killed incarnation and answered late (accept-then-hang) is not the
    stopped member's: that record is a redelivery of the kill, which the stopped member need not reach."""
    born, exited, restart = rec.detail.get("member_started", rec.at), rec.detail["exited"], rec.healed_at
    committed = {int(p): o for p, o in (rec.detail.get("committed_at_stop") or {}).items()}
    out: set[str] = set()
    for r in f.ev.requests:
        if not (restart <= r.t_in <= until and r.send_id) or r.send_id in out:
            continue
        finished = any(
            a.status == 200 and born <= a.t_in and a.t_out <= exited
            for a in f.requests_by_sid.get(r.send_id, [])
        )
        event = f.by_sid.get(r.send_id)
        places = f.ev.placed.get(event.index, []) if event else []
        if finished or any(o < committed.get(p, -1) for p, o in places):
            out.add(r.send_id)
    return out


def i11_clean_stop(f: Facts) -> Verdict:
    b = f.ev.profile.bounds
    slow = [
        s
        for s in f.ev.stops
        if s["stop_s"] > b.stop_s or s["forced"] or (s["returncode"] != 0 and s.get("running", True))
    ]
    resent = 0
    ends = [*sorted(r.at for r in f.ev.faults), f.ev.end]
    for rec in f.ev.faults:
        if rec.kind is not FaultKind.CONSUMER_TERM or rec.detail.get("exited") is None:
            continue
        resent += len(resent_after_clean_stop(f, rec, next(t for t in ends if t > rec.at)))
    final = f.ev.final_resent or 0
    return Verdict(
        "I11",
        "clean stop then restart re-sends nothing",
        "0 re-attempts; stop <= 25 s",
        resent + final + len(slow),
        {
            "resent_after_sigterm": resent,
            "resent_after_final_stop": f.ev.final_resent,
            "stops": len(f.ev.stops),
            "slow_or_failed_stops": slow[:5],
            "max_stop_s": max((s["stop_s"] for s in f.ev.stops), default=None),
        },
    )


def i12_resources(f: Facts) -> Verdict:
    b, limit = f.ev.profile.bounds, f.ev.profile.tuning.max_in_flight
    over = sum(1 for _, _, v in f.ev.in_flight if v > limit)
    growth: dict[str, float] = {}
    for name, series in f.ev.rss.items():
        if len(series) < 3 or series[-1][0] - series[0][0] < b.warmup_s * 2:
            continue  # too short-lived to tell warm-up from growth (other incarnations cover it)
        warm_end = series[0][0] + b.warmup_s
        warm = [mb for t, mb in series if t <= warm_end][-1]
        growth[name] = round(max(mb for t, mb in series if t > warm_end) - warm, 1)
    grew = {n: g for n, g in growth.items() if g > b.rss_growth_mb}
    return Verdict(
        "I12",
        "resources bounded",
        f"in-flight <= {limit}; RSS growth after warm-up <= {b.rss_growth_mb:.0f} MB",
        over + len(grew),
        {
            "in_flight_max": max((v for _, _, v in f.ev.in_flight), default=None),
            "in_flight_samples": len(f.ev.in_flight),
            "rss_growth_mb": growth,
        },
    )


def i13_canaries(f: Facts, needles: dict[str, str]) -> Verdict:
    header_hits = sum(
        1 for d in f.ev.dlq for k, v in d.headers.items() for n in needles.values() if n in k or n in v
    )
    log_hits, metric_hits = f.ev.logs.canary_hits, f.ev.metric_canary_hits
    return Verdict(
        "I13",
        "canaries absent from logs, metrics, DLQ headers",
        "0 hits",
        len(log_hits) + len(metric_hits) + header_hits,
        {
            "log_hits": log_hits[:5],
            "metric_hits": metric_hits[:5],
            "dlq_header_hits": header_hits,
            "log_lines_scanned": f.ev.logs.lines,
        },
    )


def partition_progress(f: Facts) -> Verdict:
    """Group chaos: after the last toggle every partition commits again (or is caught up) within 60 s."""
    toggles = [t["t"] for t in f.ev.timeline if t["event"] == "toggle"]
    if not toggles:
        return Verdict("P", "partition progress after the last toggle", "n/a", 0)
    last, bound = max(toggles), f.ev.profile.bounds.partition_progress_s
    before = [s for s in f.ev.samples if s.t <= last]
    base = before[-1].committed if before else {}
    late: dict[int, float | None] = {}
    for p in range(f.ev.profile.partitions):
        hit = next(
            (
                s.t
                for s in f.ev.samples
                if s.t > last
                and (s.committed.get(p, 0) > base.get(p, 0) or s.committed.get(p, 0) >= s.ends.get(p, 0))
            ),
            None,
        )
        if hit is None or hit - last > bound:
            late[p] = None if hit is None else round(hit - last, 1)
    return Verdict(
        "P",
        "every partition progresses after the last toggle",
        f"<= {bound:.0f} s",
        len(late),
        {"late_partitions": late},
    )


def crashes(f: Facts) -> Verdict:
    crashed = [i["name"] for i in f.ev.incarnations if i["crashed"]]
    return Verdict(
        "X",
        "no consumer crash, no crashed record",
        "0",
        len(crashed) + f.ev.logs.events.get("record.crashed", 0),
        {
            "crashed_members": crashed,
            "record_crashed": f.ev.logs.events.get("record.crashed", 0),
            "error_events": dict(f.ev.logs.errors),
            "unstructured_log_lines": f.ev.logs.unstructured,
        },
    )


def figures(f: Facts) -> dict[str, Any]:
    ev = f.ev
    latencies = sorted(
        f.accepted_at[e.send_id] - ev.sent_at[e.index]
        for e in ev.events
        if e.kind is Kind.VALID and e.send_id in f.accepted_at and e.index in ev.sent_at
    )
    accepts = sorted(f.accepted_at.values())
    buckets: dict[int, int] = defaultdict(int)
    for t in accepts:
        buckets[int(t // 5)] += 1
    span = (accepts[-1] - accepts[0]) if len(accepts) > 1 else 0.0

    def pct(q: float) -> float | None:
        return (
            round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)
            if latencies
            else None
        )

    rss_all = [mb for series in ev.rss.values() for _, mb in series]
    return {
        "throughput": {
            "accepted": len(accepts),
            "span_s": round(span, 1),
            "events_per_s": round(len(accepts) / span, 1) if span else None,
            "peak_5s_per_s": round(max(buckets.values(), default=0) / 5, 1),
            "offered_per_s": round(len(ev.events) / ev.profile.produce_s, 1),
        },
        "latency_ms": {
            "p50": pct(0.50),
            "p99": pct(0.99),
            "max": pct(1.0),
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        },
        "rss_mb": {
            "max": max(rss_all, default=None),
            "series": {
                n: [[round(t - ev.t0, 1), mb] for t, mb in s[:: max(1, len(s) // 120)]]
                for n, s in ev.rss.items()
            },
        },
    }


def evaluate(
    ev: Evidence, needles: dict[str, str]
) -> tuple[list[Verdict], list[dict[str, Any]], dict[str, Any]]:
    """All verdicts of the run's profile, the recovery table and the figures."""
    f = Facts(ev)
    i9, recovery = i9_recovery(f)
    verdicts = [
        i1_no_loss(f),
        i2_no_duplicate_email(f),
        i3_one_send_id(f),
        i4_dlq_is_poison(f),
        i5_commit_safety(f),
        i6_transient_never_dead_lettered(f),
        i7_redelivery(f),
        i8_retry_etiquette(f),
        i9,
        i10_no_stuck_consumer(f),
        i11_clean_stop(f),
        i12_resources(f),
        i13_canaries(f, needles),
        crashes(f),
    ]
    if ev.profile.toggle_every_s is not None:
        verdicts.append(partition_progress(f))
    return verdicts, recovery, figures(f)
