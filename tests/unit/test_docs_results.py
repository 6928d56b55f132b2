"""The results pages are regenerated from the runs' JSON reports: a chaos report becomes a row of the
reliability table, a benchmark report the figures table, and only the generated block changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from docgen import results
from tests.chaos import report as chaos_report
from tests.chaos import scenario
from tests.chaos.checker_runtime import evaluate
from tests.unit.docs_site import DOCS


def chaos_run(**changes: Any) -> dict[str, Any]:
    """A report.json as ``python -m tests.chaos run`` writes it, from the checker's clean scenario."""
    verdicts, _, figures = evaluate(scenario.clean(), scenario.needles())
    recovery = [
        {"kind": "consumer_sigkill", "at_s": 10.0, "healed_s": 11.0, "bound_s": 16.0, "recovery_s": 7.29},
        {"kind": "consumer_sigkill", "at_s": 40.0, "healed_s": 41.0, "bound_s": 16.0, "recovery_s": 3.1},
        {"kind": "broker_restart", "at_s": 70.0, "healed_s": 75.0, "bound_s": 30.0, "recovery_s": 1.29},
    ]
    figures["throughput"].update(events_per_s=110.1, offered_per_s=111.1)
    figures["latency_ms"].update(p50=9.9, p99=32368.2)
    figures["rss_mb"] = {"max": 73.2}
    report = {
        "profile": "soak",
        "seed": 6202,
        "passed": all(v.passed for v in verdicts),
        "wall_s": 916.3,
        "versions": {"consumer": "0.1.0", "git": "2549c83", "kafka": "4.4.0"},
        "counts": {"events": 6, "requests": 116201, "hangs": 965, "shadow_duplicates": 2531, "toggles": 0},
        "invariants": chaos_report.invariants_json(verdicts),
        "recovery": recovery,
        "figures": figures,
    }
    report.update(changes)
    return report


def test_a_chaos_report_becomes_one_row_of_the_runs_table() -> None:
    row = results.chaos_row(chaos_run())
    assert row["faults"] == {"consumer_sigkill": 2, "broker_restart": 1}
    assert row["worst_recovery"] == {"kind": "consumer_sigkill", "s": 7.29, "bound_s": 16.0}
    line = results.render_chaos([row]).splitlines()[2]
    assert line == (
        "| `soak` seed 6202 | `2549c83` | PASS: 14 invariants, every count 0 | 916 s "
        "| 3: 2 SIGKILL, 1 broker restart | 116 201 (965 hangs, 2 531 duplicates prevented by `sendId`) "
        "| 110/s (offered 111/s) | 9.9 ms / 32.4 s | 7.3 s SIGKILL (bound 16 s) | 73 MB |"
    )


def test_a_failed_invariant_shows_in_the_row() -> None:
    report = chaos_run(passed=False)
    report["invariants"]["I4"]["count"] = 3
    assert "**FAIL**: I4 3" in results.render_chaos([results.chaos_row(report)])


def test_the_compact_summary_of_a_run_is_accepted_too() -> None:
    row = results.chaos_row(chaos_report.compact(chaos_run()))
    assert row["faults"] == {"faults": 3}
    assert row["worst_recovery"] == {"kind": "consumer_sigkill", "s": 7.29, "bound_s": None}
    assert "| 3 |" in results.render_chaos([row])


def test_recording_a_run_again_replaces_its_row(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    before = json.loads((docs / results.RELIABILITY.data).read_text())
    results.record_chaos([chaos_run(seed=1)], docs)
    page = results.record_chaos([chaos_run(seed=1, wall_s=12.0)], docs)
    rows = json.loads((docs / results.RELIABILITY.data).read_text())
    assert rows[:-1] == before
    assert rows[-1]["seed"] == 1
    assert rows[-1]["wall_s"] == 12.0
    text = page.read_text()
    assert text.count("`soak` seed 1 |") == 1
    assert (
        text.split("<!-- BEGIN GENERATED")[0]
        == (DOCS / results.RELIABILITY.page).read_text().split("<!-- BEGIN GENERATED")[0]
    )


def test_a_page_without_the_generated_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="no generated block 'chaos-runs'"):
        results.replace_block("# Reliability\n", "chaos-runs", "| table |")


def bench_report() -> dict[str, Any]:
    """A JSON report as ``python -m bench.engine`` writes it (only the keys the page reads)."""

    def latency(engine: list[float], cpu: list[float], mean_ms: float, naive: float, fast: float) -> Any:
        runs = [
            {"throughput_per_s": t, "cpu_s_per_1000": c, "others_cpu_util": 0.01}
            for t, c in zip(engine, cpu, strict=True)
        ]
        return {
            "probe": {"mean_ms": mean_ms},
            "engine": runs[0],
            "engine_runs": runs,
            "paced": {"target_rate_per_s": 0.3 * sorted(engine)[1], "p50_ms": 10.5, "p99_ms": 34.0},
            "naive": {"throughput_per_s": naive, "others_cpu_util": 0.02},
            "faststream": {"throughput_per_s": fast, "others_cpu_util": 0.04},
        }

    return {
        "started_at": "20261128T051057Z",
        "git_commit": "86dab7d0123456789",
        "measured_code": "snapshot of HEAD",
        "versions": {
            "python": "3.11.7",
            "aiokafka": "0.14.0",
            "aiohttp": "3.14.5",
            "pydantic": "2.14.4",
            "faststream": "0.7.8",
        },
        "machine": {"cpus": 2, "cpu_model": "Intel Xeon"},
        "parameters": {"latencies": "0,20", "repeat": 3, "max_in_flight": 64, "rss_events": 100_000},
        "results": {
            "kafka": {"version": "4.4.0"},
            "latency_0ms": latency([2100.0, 2243.0, 2300.0], [0.44, 0.435, 0.42], 0.432103, 543.0, 448.0),
            "latency_20ms": latency([1991.4, 1900.0, 2000.0], [0.4753, 0.5, 0.45], 21.665, 42.85, 36.0),
            "rss": {"peak_rss_mb": 96.4, "rss_mb_trace": [90.1, 93.0, 94.2, 95.0, 96.4]},
        },
    }


def test_a_benchmark_report_becomes_the_figures_table() -> None:
    figures = results.bench_figures(bench_report())
    assert figures["by_latency"]["0"]["throughput_per_s"] == 2243.0  # the median run, as the command picks
    assert figures["by_latency"]["0"]["cpu_s_per_1000_runs"] == [0.42, 0.435, 0.44]
    rows = {line.split(" | ")[0]: line for line in results.render_bench(figures).splitlines()}
    assert rows["| engine throughput"] == (
        "| engine throughput | 2 243 ev/s | 1 991 ev/s | ≥ 0.8 × min(bound, CPU-bound) = 1 839 / 1 683 — "
        "**pass** at 0 ms, **pass** at 20 ms |"
    )
    assert (
        rows["| engine ÷ (a)"]
        == "| engine ÷ (a) | 4.1 × | 46.5 × | ≥ 20 × — fail at 0 ms, **pass** at 20 ms |"
    )
    assert rows["| peak RSS while a 100 000-event backlog drains"].endswith(
        "| 96.4 MB, flat |  | ≤ 200 MB — **pass** |"
    )


def test_recording_a_benchmark_rewrites_only_the_block(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    report = bench_report()
    report["results"]["latency_0ms"]["naive"]["throughput_per_s"] = 100.0
    page = results.record_bench(report, docs).read_text()
    assert "| engine ÷ (a) | 22.4 × |" in page
    original = (DOCS / results.BENCHMARKS.page).read_text()
    assert page.split("<!-- END GENERATED")[1] == original.split("<!-- END GENERATED")[1]
