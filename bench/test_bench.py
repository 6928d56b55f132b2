"""Tests of the benchmark's arithmetic (pure parts only), part of the whole suite: the benchmark is a
command, not a gate, but the way it turns observations into figures must be right."""

from __future__ import annotations

import math
import os
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bench.compare import summarise as compare_runs
from bench.figures import (
    Check,
    cpu_bound_rate,
    histogram_mean,
    littles_bound,
    median_run,
    parse_iso,
    per_thousand,
    percentile,
    table,
    window,
)
from bench.procstat import Sample, cpu_at, cpu_between, read
from bench.profile import summarise

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=200), st.floats(min_value=0, max_value=100))
def test_a_percentile_lies_between_the_smallest_and_the_largest_value(values: list[float], q: float) -> None:
    p = percentile(values, q)
    assert min(values) - 1e-6 <= p <= max(values) + 1e-6


@given(st.lists(finite, min_size=1, max_size=200), st.floats(0, 100), st.floats(0, 100))
def test_a_higher_percentile_is_never_smaller(values: list[float], q1: float, q2: float) -> None:
    lo, hi = sorted((q1, q2))
    assert percentile(values, lo) <= percentile(values, hi) + 1e-6


def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 99) == 40.0 + 0.96 * 10.0
    assert math.isnan(percentile([], 50))


def test_the_window_rate_counts_intervals_between_the_first_and_last_accept() -> None:
    w = window([103.0, 101.0, 102.0, 105.0, 101.0])
    assert (w.first, w.last, w.accepted) == (101.0, 105.0, 5)
    assert w.rate == 1.0  # 4 intervals in 4 s
    assert math.isnan(window([7.0]).rate)


def test_a_histogram_mean_is_its_sum_over_its_count() -> None:
    text = '# HELP x\nssc_x_seconds_bucket{le="0.1"} 3.0\nssc_x_seconds_count 4.0\nssc_x_seconds_sum 2.0\n'
    assert histogram_mean(text, "ssc_x_seconds") == (4, 0.5)
    count, mean = histogram_mean(text, "ssc_y_seconds")
    assert count == 0
    assert math.isnan(mean)


def test_iso_accept_times_parse_to_posix_seconds_with_milliseconds() -> None:
    assert parse_iso("1970-01-01T00:00:01.250Z") == 1.25


def test_the_median_run_is_reported_and_a_broken_run_counts_as_the_slowest() -> None:
    runs = [{"throughput_per_s": 2198.0}, {"throughput_per_s": 1899.0}, {"throughput_per_s": 2048.0}]
    assert median_run(runs)["throughput_per_s"] == 2048.0
    assert median_run([{"throughput_per_s": math.nan}, {"throughput_per_s": 5.0}])["throughput_per_s"] != 5.0
    assert median_run([{"throughput_per_s": 1.0}]) == {"throughput_per_s": 1.0}


def test_littles_bound_and_the_cpu_bound_rate() -> None:
    assert littles_bound(64, 0.02) == 3200
    assert cpu_bound_rate(0.5) == 2000  # 0.5 CPU s per 1 000 events = 0.5 ms per event
    assert per_thousand(2.0, 4000) == 0.5
    assert math.isnan(per_thousand(None, 10))


def test_a_check_passes_or_fails_in_the_direction_of_its_target() -> None:
    assert Check("rate", 10, "ev/s", 5).passed is True
    assert Check("rate", 4, "ev/s", 5).passed is False
    assert Check("cpu", 0.6, "s", 0.5, at_least=False).passed is False
    assert Check("cpu", 0.4, "s", 0.5, at_least=False).passed is True
    assert Check("info", 1, "ms").passed is None
    assert Check("missing", math.nan, "ms", 1).passed is False
    rendered = table([Check("rate", 10, "ev/s", 5), Check("cpu", 0.6, "s", 0.5, at_least=False)])
    assert "PASS" in rendered.splitlines()[2]
    assert "FAIL" in rendered.splitlines()[3]


samples = [Sample(10.0, 1.0, 0, 0), Sample(11.0, 1.5, 0, 0), Sample(13.0, 3.5, 0, 0)]


def test_cpu_is_interpolated_between_samples_and_unknown_outside_them() -> None:
    assert cpu_at(samples, 10.0) == 1.0
    assert cpu_at(samples, 12.0) == 2.5
    assert cpu_between(samples, 10.5, 13.0) == 3.5 - 1.25
    assert cpu_at(samples, 9.0) is None
    assert cpu_between(samples, 10.0, 14.0) is None


def test_this_process_can_be_sampled_and_a_missing_pid_cannot() -> None:
    me = read(os.getpid())
    assert me is not None
    assert me.cpu_s > 0
    assert me.hwm_kb >= me.rss_kb > 0
    assert read(2**22 + 12345) is None


def test_the_profile_attributes_samples_to_the_innermost_consumer_frame() -> None:
    loop = "run (asyncio/runners.py:190);BaseEventLoop.run_forever (asyncio/base_events.py:607)"
    collapsed = "\n".join(
        [
            f"{loop};Pipeline.process (consumer/pipeline.py:80);validate (consumer/decode.py:130);"
            "BaseModel.model_validate_json (pydantic/main.py:847) 30",
            f"{loop};Pipeline.process (consumer/pipeline.py:81);send (consumer/hubspot/client.py:10) 10",
            f"{loop};ResponseHandler.data_received (aiohttp/client_proto.py:359) 10",
            # start-up: ignored
            "<module> (consumer/__main__.py:6);import_module (importlib/__init__.py:1) 50",
        ]
    )
    result = summarise(collapsed)
    assert result["samples"] == 50
    stages = dict(result["by_stage"])
    assert stages == {
        "validate (consumer/decode.py)": 60.0,
        "send (consumer/hubspot/client.py)": 20.0,
        "<aiohttp>": 20.0,
    }
    assert dict(result["total_pct"])["Pipeline.process (consumer/pipeline.py)"] == 80.0
    assert dict(result["self_pct"])["BaseModel.model_validate_json (pydantic/main.py)"] == 60.0


def test_the_profile_counts_uvloop_stacks_and_never_imports() -> None:
    root = "_run_module_as_main (<frozen runpy>:198);<module> (consumer/__main__.py:6)"
    runner = f"{root};Runner.run (asyncio/runners.py:118)"
    collapsed = "\n".join(
        [
            f"{runner};Pipeline.process (consumer/pipeline.py:100) 10",
            # a callback's stack alone: uvloop's loop has no Python frame
            "ResponseHandler.data_received (aiohttp/client_proto.py:359) 30",
            # start-up: imports (also lazy ones inside the loop) and code before the loop
            f"{runner};_find_and_load (<frozen importlib._bootstrap>:1176) 40",
            f"{root};import_module (importlib/__init__.py:1) 50",
        ]
    )
    result = summarise(collapsed)
    assert result["samples"] == 40
    assert dict(result["by_stage"]) == {"<aiohttp>": 75.0, "Pipeline.process (consumer/pipeline.py)": 25.0}


def test_a_comparison_reports_median_and_range_per_commit_and_the_share_of_the_bound() -> None:
    runs: list[dict[str, Any]] = [
        {"cpu_s_per_1000": 0.40, "throughput_per_s": 1800.0, "others_cpu_util": 0.1},
        {"cpu_s_per_1000": 0.30, "throughput_per_s": 2000.0, "others_cpu_util": None},
        {"cpu_s_per_1000": 0.35, "throughput_per_s": 1900.0, "others_cpu_util": 0.3},
    ]
    s = compare_runs(runs, bound=2000.0)
    assert s["cpu_ms_per_event"] == [0.35, 0.30, 0.40]
    assert s["events_per_s"] == [1900.0, 1800.0, 2000.0]
    assert s["bound_ratio"] == 0.95
    assert s["others_cores"] == [0.0, 0.3]
    assert compare_runs([], bound=2000.0)["cpu_ms_per_event"] is None
