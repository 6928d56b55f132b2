"""The checker finds each kind of violation it exists for, and passes a clean run (I1-I7)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chaos.checker import (
    Facts,
    i1_no_loss,
    i2_no_duplicate_email,
    i3_one_send_id,
    i4_dlq_is_poison,
    i5_commit_safety,
    i6_transient_never_dead_lettered,
    i7_redelivery,
)
from tests.chaos.checker_runtime import evaluate
from tests.chaos.driver import FaultRecord
from tests.chaos.evidence import Request
from tests.chaos.generator import Kind, generate
from tests.chaos.observe import CommitSample
from tests.chaos.plan import FaultKind
from tests.chaos.scenario import PROFILE, T0, clean, dead_letter, first, needles
from tests.chaos.stage import save_artifacts


def test_a_clean_run_passes_every_invariant() -> None:
    verdicts, _, _ = evaluate(clean(), needles())
    assert {v.id: v.count for v in verdicts if v.count} == {}


def test_a_valid_event_never_accepted_is_lost() -> None:
    lost = first(Kind.VALID)
    ev = clean()
    ev.requests = [r for r in ev.requests if r.send_id != lost.send_id]
    verdict = i1_no_loss(Facts(ev))
    assert verdict.count == 1
    assert verdict.detail["missing_first"] == [lost.index]


def test_a_terminal_event_without_its_terminal_answer_is_lost() -> None:
    terminal = first(Kind.TERMINAL)
    ev = clean()
    ev.requests = [
        dataclasses.replace(r, result=None) if r.send_id == terminal.send_id else r for r in ev.requests
    ]
    assert i1_no_loss(Facts(ev)).count == 1


def test_a_second_accepted_send_of_one_send_id_is_a_duplicate_email() -> None:
    ev = clean()
    ev.ledger.append(dict(ev.ledger[0]))
    assert i2_no_duplicate_email(Facts(ev)).count >= 1


def test_a_request_with_a_send_id_of_no_event_breaks_one_send_id_per_event() -> None:
    valid = first(Kind.VALID)
    ev = clean()
    ev.requests.append(Request(T0 + 25, T0 + 25.01, 200, "f" * 64, valid.address, None, None))
    verdict = i3_one_send_id(Facts(ev))
    assert verdict.detail["foreign_send_ids"] == 1
    assert verdict.detail["requests_with_another_events_send_id"] == 1


def test_a_poison_event_missing_from_the_dlq_and_a_valid_one_in_it_both_count() -> None:
    poison, valid = first(Kind.POISON_MALFORMED), first(Kind.VALID)
    ev = clean()
    ev.dlq = [d for d in ev.dlq if d.offset != poison.index] + [dead_letter(valid, T0 + 26)]
    verdict = i4_dlq_is_poison(Facts(ev))
    assert verdict.detail["missing_first"] == [poison.index]
    assert verdict.detail["valid_dead_lettered_first"] == [valid.index]
    assert verdict.count == 2


def test_a_dead_letter_that_is_a_redelivered_copy_is_not_a_violation() -> None:
    poison = first(Kind.POISON_400)
    ev = clean()
    ev.dlq.append(dead_letter(poison, T0 + 27))
    verdict = i4_dlq_is_poison(Facts(ev))
    assert verdict.count == 0
    assert verdict.detail["redelivered_duplicates"] == 1


def test_a_dead_letter_cut_to_a_described_prefix_holds_the_original_and_a_wrong_one_does_not() -> None:
    poison = first(Kind.POISON_MALFORMED)
    about = {
        "ssc.original.truncated": "true",
        "ssc.original.size": str(len(poison.value)),
        "ssc.original.sha256": hashlib.sha256(poison.value).hexdigest(),
    }
    ev = clean()
    rest = [d for d in ev.dlq if d.offset != poison.index]
    cut = dead_letter(poison, T0 + 26)
    ev.dlq = [*rest, dataclasses.replace(cut, value=poison.value[:5], headers={**cut.headers, **about})]
    verdict = i4_dlq_is_poison(Facts(ev))
    assert (verdict.count, verdict.detail["truncated"]) == (0, 1)
    wrong = {**about, "ssc.original.sha256": "0" * 64}
    ev.dlq = [*rest, dataclasses.replace(cut, value=poison.value[:5], headers={**cut.headers, **wrong})]
    assert i4_dlq_is_poison(Facts(ev)).detail["value_altered"] == 1


def test_a_commit_past_an_offset_answered_later_is_commit_ahead() -> None:
    ev = clean()
    ev.samples.insert(0, CommitSample(T0 + 5, "tick", {0: 1}, {0: 6}))  # offset 0 is answered at T0 + 10
    verdict = i5_commit_safety(Facts(ev))
    assert verdict.count == 1
    assert verdict.detail["first"]["offset_not_done"] == 0


def test_a_server_error_in_the_dlq_is_a_dead_lettered_transient_failure() -> None:
    ev = clean()
    ev.dlq[0] = dataclasses.replace(ev.dlq[0], headers={**ev.dlq[0].headers, "ssc.http.status": "503"})
    assert i6_transient_never_dead_lettered(Facts(ev)).count == 1


def test_redelivery_beyond_the_bound_after_one_kill_is_counted() -> None:
    ev = clean()
    kill = FaultRecord(FaultKind.CONSUMER_KILL, T0 + 21, T0 + 21, 16.0, None)
    valid = first(Kind.VALID)
    again = Request(T0 + 22, T0 + 22.01, 200, valid.send_id, valid.address, "IDEMPOTENT_IGNORE", None)
    bound = PROFILE.tuning.max_in_flight + PROFILE.tuning.commit_every
    ev.faults = [kill]
    ev.requests += [again] * (bound + 3)
    verdict = i7_redelivery(Facts(ev))
    assert verdict.detail["redelivered"] == bound + 3
    assert verdict.count == 3


def test_a_retry_in_the_same_process_is_not_redelivery() -> None:
    ev = clean()
    valid = first(Kind.VALID)
    ev.requests.append(
        Request(T0 + 22, T0 + 22.01, 200, valid.send_id, valid.address, "IDEMPOTENT_IGNORE", None)
    )
    verdict = i7_redelivery(Facts(ev))
    assert verdict.detail == {**verdict.detail, "redelivered": 0, "same_process_retries": 1}


@settings(max_examples=300, deadline=None)
@given(
    done=st.lists(st.one_of(st.none(), st.floats(0, 100)), min_size=1, max_size=25),
    samples=st.lists(st.tuples(st.floats(0, 120), st.integers(0, 25)), min_size=1, max_size=10),
)
def test_commit_safety_agrees_with_a_brute_force_oracle(
    done: list[float | None], samples: list[tuple[float, int]]
) -> None:
    evs = generate(9, len(done), poison=0, terminal=0)
    requests = [
        Request(t - 0.001, t, 200, e.send_id, e.address, None, None)
        for e, t in zip(evs, done, strict=True)
        if t is not None
    ]
    ev = clean(
        events=evs,
        placed={e.index: [(0, e.index)] for e in evs},
        requests=requests,
        dlq=[],
        samples=[CommitSample(t, "tick", {0: c}, {0: len(done)}) for t, c in samples],
    )
    finish = [float("inf") if d is None else d for d in done]
    oracle = sum(any(finish[o] > t + 0.005 for o in range(min(c, len(done)))) for t, c in samples)
    assert i5_commit_safety(Facts(ev)).count == oracle


def test_the_manifest_and_commit_samples_are_written_as_json_lines(tmp_path: Path) -> None:
    ev = clean()
    save_artifacts(tmp_path, ev)
    manifest = [orjson.loads(line) for line in (tmp_path / "manifest.jsonl").read_bytes().splitlines()]
    commits = [orjson.loads(line) for line in (tmp_path / "commits.jsonl").read_bytes().splitlines()]
    assert [m[0] for m in manifest] == [e.index for e in ev.events]
    assert manifest[0][3] == [[0, 0]]
    assert [c[2] for c in commits] == [{"0": 2}, {"0": 6}]
