"""The behavioural checks (I8-I13, group progress, crashes) fail when their rule is broken."""

from __future__ import annotations

from tests.chaos.checker import Facts
from tests.chaos.checker_runtime import (
    crashes,
    i8_retry_etiquette,
    i9_recovery,
    i10_no_stuck_consumer,
    i11_clean_stop,
    i12_resources,
    i13_canaries,
    partition_progress,
)
from tests.chaos.driver import FaultRecord
from tests.chaos.evidence import DlqEntry, LogScan, Request
from tests.chaos.generator import Canaries, Kind
from tests.chaos.observe import CommitSample
from tests.chaos.plan import FaultKind
from tests.chaos.scenario import PROFILE, SEED, T0, clean, first, needles


def sample(t: float, committed: int, end: int = 6) -> CommitSample:
    return CommitSample(T0 + t, "tick", {0: committed}, {0: end})


def test_a_resend_before_the_given_retry_after_is_early() -> None:
    valid = first(Kind.VALID)
    ev = clean()
    ev.requests += [
        Request(T0 + 21, T0 + 21.01, 503, valid.send_id, valid.address, None, 2.0),
        Request(
            T0 + 22, T0 + 22.01, 200, valid.send_id, valid.address, "IDEMPOTENT_IGNORE", None
        ),  # 1 s early
    ]
    ev.requests.sort(key=lambda r: r.t_in)
    assert i8_retry_etiquette(Facts(ev)).detail["early"] == 1


WINDOW = FaultRecord(FaultKind.OUTAGE_503, T0 + 40, T0 + 60, 15.0, None, {"status": 503, "live": ["m0.1"]})
IN_FLIGHT = PROFILE.tuning.max_in_flight
BEFORE_OPEN = IN_FLIGHT + PROFILE.tuning.transient_failures_to_open - 1


def attempts(at: float, n: int) -> list[Request]:
    return [Request(T0 + at, T0 + at + 0.01, 503, None, None, None, 2.0)] * n


def window_of(
    requests: list[Request], logs: LogScan, window: FaultRecord = WINDOW
) -> tuple[int, dict[str, object]]:
    ev = clean(faults=[window], logs=logs)
    ev.requests = sorted(ev.requests + requests, key=lambda r: r.t_in)
    verdict = i8_retry_etiquette(Facts(ev))
    return verdict.count, verdict.detail["windows"][0]


def test_attempts_during_a_window_no_member_paused_in_beyond_in_flight_plus_probes_are_counted() -> None:
    count, window = window_of(attempts(41, IN_FLIGHT + 3), LogScan(probes=[T0 + 45, T0 + 50]))
    assert window == {
        "status": 503,
        "before_paused": 0,
        "allowed_before_paused": BEFORE_OPEN,
        "attempts": IN_FLIGHT + 3,
        "probes": 2,
        "allowed": IN_FLIGHT + 2,
    }
    assert count == 1


def test_attempts_before_the_breaker_opens_are_bounded_by_in_flight_plus_the_failures_that_open_it() -> None:
    # a record refused at the window's start is sent again after its Retry-After, beside a full
    # pipeline (a rebalance in between dispatched it again): the breaker opens on that burst
    logs = LogScan(probes=[T0 + 45, T0 + 50], pauses={"m0.1": [T0 + 42.1, T0 + 55]})
    count, window = window_of(attempts(40, 1) + attempts(42, IN_FLIGHT) + attempts(45, 2), logs)
    assert (window["before_paused"], window["attempts"], window["allowed"]) == (
        IN_FLIGHT + 1,
        2,
        IN_FLIGHT + 2,
    )
    assert count == 0
    count, window = window_of(attempts(41, BEFORE_OPEN + 1), logs)
    assert (window["before_paused"], count) == (BEFORE_OPEN + 1, 1)


def test_attempts_once_every_member_paused_beyond_in_flight_plus_probes_are_counted() -> None:
    live = FaultRecord(
        FaultKind.OUTAGE_503, T0 + 40, T0 + 60, 15.0, None, {"status": 503, "live": ["m0.1", "m0.2"]}
    )
    logs = LogScan(probes=[T0 + 30, T0 + 45], pauses={"m0.1": [T0 + 30, T0 + 41], "m0.2": [T0 + 43]})
    count, window = window_of(attempts(42, 5) + attempts(44, 2 * IN_FLIGHT + 2), logs, live)
    assert (window["before_paused"], window["attempts"], window["probes"]) == (5, 2 * IN_FLIGHT + 2, 1)
    assert count == 1


def test_recovery_counts_from_the_kill_to_the_first_commit_past_the_baseline() -> None:
    kill = FaultRecord(FaultKind.CONSUMER_KILL, T0 + 30, T0 + 30, 16.0, sample(30, 3, 9))
    ev = clean(faults=[kill], samples=[sample(35, 3, 9), sample(41, 3, 9), sample(44, 5, 9)])
    verdict, rows = i9_recovery(Facts(ev))
    assert rows[0]["recovery_s"] == 14.0
    assert verdict.count == 0
    late = clean(faults=[kill], samples=[sample(35, 3, 9), sample(47, 5, 9)])
    assert i9_recovery(Facts(late))[0].count == 1


def test_no_progress_with_lag_for_longer_than_ninety_seconds_is_a_stuck_consumer() -> None:
    ev = clean(samples=[sample(t, 2, 6) for t in range(0, 100, 5)])
    verdict = i10_no_stuck_consumer(Facts(ev))
    assert verdict.count == 1
    assert verdict.detail["longest_stall_s"] == 95.0


def test_a_stall_inside_a_hubspot_outage_is_not_a_stuck_consumer() -> None:
    outage = FaultRecord(FaultKind.OUTAGE_503, T0 + 10, T0 + 100, 15.0, None, {"status": 503})
    ev = clean(faults=[outage], samples=[sample(t, 2, 6) for t in range(0, 100, 5)])
    assert i10_no_stuck_consumer(Facts(ev)).count == 0


def test_a_member_restarted_after_a_clean_stop_resending_a_finished_event_fails_i11() -> None:
    valid = first(Kind.VALID)
    stop = FaultRecord(
        FaultKind.CONSUMER_TERM,
        T0 + 20,
        T0 + 24,
        16.0,
        None,
        {"member_started": T0, "exited": T0 + 22, "committed_at_stop": {"0": 6}, "stop_s": 2.0},
    )
    ev = clean(faults=[stop])
    ev.requests.append(
        Request(T0 + 25, T0 + 25.01, 200, valid.send_id, valid.address, "IDEMPOTENT_IGNORE", None)
    )
    verdict = i11_clean_stop(Facts(ev))
    assert verdict.detail["resent_after_sigterm"] == 1


def test_a_late_answer_to_the_killed_predecessors_request_is_not_a_resend_after_a_clean_stop() -> None:
    valid = first(Kind.VALID)
    lived = {"member_started": T0 + 10, "exited": T0 + 22, "committed_at_stop": {}, "stop_s": 2.0}
    stop = FaultRecord(FaultKind.CONSUMER_TERM, T0 + 20, T0 + 24, 16.0, None, lived)
    ev = clean(faults=[stop])
    ev.requests = [r for r in ev.requests if r.send_id != valid.send_id] + [
        Request(T0 + 9, T0 + 12, 200, valid.send_id, valid.address, None, None),  # hung past the kill
        Request(T0 + 25, T0 + 25.01, 200, valid.send_id, valid.address, "IDEMPOTENT_IGNORE", None),
    ]
    ev.requests.sort(key=lambda r: r.t_in)
    assert i11_clean_stop(Facts(ev)).detail["resent_after_sigterm"] == 0


def test_a_member_killed_by_sigterm_before_its_service_started_is_not_a_failed_stop() -> None:
    early = {"member": "m0.1", "stop_s": 0.05, "returncode": -15, "forced": False, "running": False}
    assert i11_clean_stop(Facts(clean(stops=[early]))).count == 0
    assert i11_clean_stop(Facts(clean(stops=[{**early, "running": True}]))).count == 1


def test_a_slow_or_forced_stop_fails_i11() -> None:
    ev = clean(stops=[{"member": "m0.1", "stop_s": 26.0, "returncode": 0, "forced": False}])
    assert i11_clean_stop(Facts(ev)).count == 1
    assert i11_clean_stop(Facts(clean(final_resent=3))).count == 3


def test_in_flight_above_the_limit_and_rss_growth_after_warm_up_fail_i12() -> None:
    over = clean(in_flight=[(T0 + 1, "m0.1", PROFILE.tuning.max_in_flight + 1.0)])
    assert i12_resources(Facts(over)).count == 1
    growing = {"m0.1": [(T0 + t, 80.0 + (t > 15) * 50.0) for t in range(0, 40, 2)]}
    verdict = i12_resources(Facts(clean(rss=growing)))
    assert verdict.detail["rss_growth_mb"] == {"m0.1": 50.0}
    assert verdict.count == 1
    flat = {"m0.1": [(T0 + t, 80.0 + (t < 8) * -30.0) for t in range(0, 40, 2)]}  # warm-up growth is fine
    assert i12_resources(Facts(clean(rss=flat))).count == 0


def test_a_canary_in_a_dlq_header_a_log_or_a_metric_is_a_leak() -> None:
    canaries = Canaries.for_seed(SEED)
    ev = clean()
    ev.dlq.append(DlqEntry(0, 99, b"", {"ssc.detail": f"to {canaries.marker}.u1@example.com"}, T0))
    ev.logs = LogScan(canary_hits=[("consumer-m0.1.log", "token")])
    ev.metric_canary_hits = [("m0.1", "sasl_password")]
    verdict = i13_canaries(Facts(ev), needles())
    assert verdict.count == 3


def test_a_partition_without_progress_sixty_seconds_after_the_last_toggle_is_late() -> None:
    ev = clean(
        timeline=[{"t": T0 + 10, "event": "toggle"}],
        samples=[sample(5, 2), sample(30, 2), sample(80, 3)],
    )
    verdict = partition_progress(Facts(ev))
    assert verdict.detail["late_partitions"] == {0: 70.0}


def test_a_member_exiting_on_its_own_is_a_crash() -> None:
    ev = clean(incarnations=[{"name": "m0.1", "crashed": True}])
    assert crashes(Facts(ev)).count == 1
