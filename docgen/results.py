"""The generated blocks of the results pages, and how a chaos run or a benchmark run updates them.

``docs/results/reliability.md`` and ``docs/results/benchmarks.md`` are written by hand except for one
block each, between ``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->``. The block
is rendered from a committed data file beside the page (``reliability-runs.json``: one row per
recorded chaos run; ``benchmarks.json``: the figures of the latest benchmark run), so the drift test
can check it; the commands below turn a run's JSON report into that data and rewrite the block:

    python -m tests.chaos docs /tmp/ssc-chaos/soak-6202/report.json   # add (or replace) runs
    python -m bench.engine --report bench/results/engine-<UTC>.json --docs   # latest figures
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docgen.markdown import cell, table

DOCS = Path(__file__).resolve().parents[1] / "docs"


# ------------------------------------------------------------------------------------------- blocks


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with the generated block ``name`` replaced by ``content``; ValueError without markers."""
    begin = re.compile(rf"^<!-- BEGIN GENERATED: {re.escape(name)}\b.*-->\n", re.MULTILINE)
    end = re.compile(rf"^<!-- END GENERATED: {re.escape(name)} -->$", re.MULTILINE)
    start, stop = begin.search(text), end.search(text)
    if start is None or stop is None or stop.start() < start.end():
        raise ValueError(f"no generated block '{name}' (BEGIN/END GENERATED markers) in the page")
    return text[: start.end()] + content.rstrip("\n") + "\n" + text[stop.start() :]


@dataclass(frozen=True, slots=True)
class ResultsPage:
    page: str  # under docs/
    data: str  # under docs/
    block: str
    render: Callable[[Any], str]

    def refresh(self, text: str, docs: Path = DOCS) -> str:
        """The page ``text`` with its block rendered from the committed data file."""
        data = json.loads((docs / self.data).read_text(encoding="utf-8"))
        return replace_block(text, self.block, self.render(data))

    def update(self, data: Any, docs: Path = DOCS) -> Path:
        """Write ``data`` to the data file and re-render the page's block; returns the page."""
        (docs / self.data).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        page = docs / self.page
        page.write_text(self.refresh(page.read_text(encoding="utf-8"), docs), encoding="utf-8")
        return page


# ---------------------------------------------------------------------------------------- numbers


def num(x: float | None, digits: int = 0) -> str:
    """``2243.4`` → ``2 243``; ``0.4351`` (digits 3) → ``0.435``; None/NaN → ``n/a``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{digits}f}".replace(",", " ")


def sig(x: float | None) -> str:
    """Three significant digits, thousands spaced: ``148 113``, ``42.9``, ``0.435``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 100:
        return num(x)
    return f"{x:.3g}" if abs(x) >= 1 else f"{x:.3f}".rstrip("0").rstrip(".")


def duration_ms(ms: float | None) -> str:
    """``9.9`` → ``9.9 ms``; ``32368`` → ``32.4 s``; ``25000`` → ``25 s``."""
    if ms is None:
        return "n/a"
    if ms < 1000:
        return f"{sig(ms)} ms"
    s = ms / 1000
    return f"{s:.1f}".removesuffix(".0") + " s" if s < 100 else f"{num(s)} s"


# ------------------------------------------------------------------------------------ chaos runs

_FAULT_NAMES = {
    "consumer_sigkill": "SIGKILL",
    "consumer_sigterm": "SIGTERM",
    "consumer_sigstop": "SIGSTOP",
    "broker_restart": "broker restart",
    "sim_503_window": "503 window",
    "sim_401_window": "401 window",
    "leader_p0_sigkill": "partition-0 leader SIGKILL",
    "coordinator_sigkill": "coordinator SIGKILL",
}


def chaos_row(report: dict[str, Any]) -> dict[str, Any]:
    """One row of the runs table from a chaos run's ``report.json`` (or its compact ``summary.json``)."""
    counts = report.get("counts", {})
    versions = report.get("versions", {})
    recovery = report.get("recovery")
    worst: dict[str, Any] | None = None
    if isinstance(recovery, list):  # report.json: every fault with its recovery and bound
        faults: dict[str, int] = dict(Counter(str(r["kind"]) for r in recovery))
        measured = [r for r in recovery if r.get("recovery_s") is not None]
        if measured:
            w = max(measured, key=lambda r: r["recovery_s"] / (r.get("bound_s") or 1))
            worst = {"kind": w["kind"], "s": w["recovery_s"], "bound_s": w.get("bound_s")}
        figures = report.get("figures", {})
        throughput = figures.get("throughput", {})
        rate, offered = throughput.get("events_per_s"), throughput.get("offered_per_s")
        latency, rss = figures.get("latency_ms", {}), figures.get("rss_mb", {}).get("max")
        invariants = {k: v["count"] for k, v in report.get("invariants", {}).items()}
    else:  # summary.json: counts and the worst recovery per kind only
        summary = report.get("recovery_s") or {}
        faults = {"faults": summary.get("faults") or 0}
        by_kind = summary.get("by_kind") or {}
        if by_kind:
            kind = max(by_kind, key=by_kind.__getitem__)
            worst = {"kind": kind, "s": by_kind[kind], "bound_s": None}
        rate, offered = report.get("throughput_per_s"), None
        latency, rss = report.get("latency_ms", {}), report.get("rss_max_mb")
        invariants = dict(report.get("invariants", {}))
    return {
        "profile": report["profile"],
        "seed": report["seed"],
        "commit": versions.get("git"),
        "kafka": versions.get("kafka"),
        "passed": bool(report.get("passed")),
        "wall_s": report.get("wall_s"),
        "faults": {k: v for k, v in faults.items() if k != "member_toggle"},
        "toggles": counts.get("toggles") or 0,
        "incarnations": counts.get("incarnations"),
        "requests": counts.get("requests"),
        "hangs": counts.get("hangs"),
        "duplicates_prevented": counts.get("shadow_duplicates"),
        "throughput_per_s": rate,
        "offered_per_s": offered,
        "latency_ms": {"p50": latency.get("p50"), "p99": latency.get("p99")},
        "worst_recovery": worst,
        "rss_max_mb": rss,
        "invariants": invariants,
    }


def add_runs(rows: list[dict[str, Any]], new: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with ``new`` appended; a row of the same profile, seed and commit is replaced."""

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return row["profile"], row["seed"], row["commit"]

    replaced = {key(r) for r in new}
    return [r for r in rows if key(r) not in replaced] + list(new)


def _faults(row: dict[str, Any]) -> str:
    if row["toggles"]:
        return f"{row['toggles']} member toggles, {row['incarnations']} incarnations"
    faults = row["faults"]
    if list(faults) == ["faults"]:
        return str(faults["faults"])
    parts = ", ".join(f"{n} {_FAULT_NAMES.get(k, k)}" for k, n in faults.items())
    return f"{sum(faults.values())}: {parts}"


def _requests(row: dict[str, Any]) -> str:
    extra = []
    if row.get("hangs"):
        extra.append(f"{num(row['hangs'])} hangs")
    if row.get("duplicates_prevented"):
        extra.append(f"{num(row['duplicates_prevented'])} duplicates prevented by `sendId`")
    return num(row["requests"]) + (f" ({', '.join(extra)})" if extra else "")


def _verdict(row: dict[str, Any]) -> str:
    failing = {k: v for k, v in row["invariants"].items() if v}
    if row["passed"] and not failing:
        return f"PASS: {len(row['invariants'])} invariants, every count 0"
    return "**FAIL**: " + (", ".join(f"{k} {v}" for k, v in failing.items()) or "see the report's notes")


def _recovery(row: dict[str, Any]) -> str:
    if row["toggles"] and row["invariants"].get("P") == 0:
        return "every partition progresses after the last toggle"
    w = row.get("worst_recovery")
    if not w:
        return "n/a"
    bound = f" (bound {num(w['bound_s'])} s)" if w.get("bound_s") else ""
    return f"{w['s']:.1f} s {_FAULT_NAMES.get(w['kind'], w['kind'])}{bound}"


def render_chaos(rows: list[dict[str, Any]]) -> str:
    """The runs table, newest row last."""
    body = []
    for r in rows:
        offered = f" (offered {num(r['offered_per_s'])}/s)" if r.get("offered_per_s") else ""
        body.append(
            [
                f"`{r['profile']}` seed {r['seed']}",
                f"`{r['commit']}`",
                _verdict(r),
                f"{num(r['wall_s'])} s",
                cell(_faults(r)),
                cell(_requests(r)),
                f"{num(r['throughput_per_s'])}/s{offered}",
                f"{duration_ms(r['latency_ms']['p50'])} / {duration_ms(r['latency_ms']['p99'])}",
                cell(_recovery(r)),
                f"{num(r['rss_max_mb'])} MB",
            ]
        )
    header = [
        "run",
        "commit",
        "result",
        "wall",
        "faults",
        "requests",
        "throughput",
        "p50 / p99 publish→accepted",
        "worst recovery",
        "RSS max",
    ]
    return table(header, body)


def record_chaos(reports: Sequence[dict[str, Any]], docs: Path = DOCS) -> Path:
    """Add the runs of ``reports`` to the reliability page's data and re-render its block."""
    rows = json.loads((docs / RELIABILITY.data).read_text(encoding="utf-8"))
    return RELIABILITY.update(add_runs(rows, [chaos_row(r) for r in reports]), docs)


# ----------------------------------------------------------------------------------- benchmarks


def bench_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The page's figures from a ``python -m bench.engine`` JSON report (the median engine run per
    latency, as the command's own table picks it)."""
    params, results = report["parameters"], report["results"]
    versions = report.get("versions", {})
    machine = report.get("machine", {})
    latencies = [float(x) for x in str(params["latencies"]).split(",") if x.strip()]
    by_latency = {}
    others: list[float] = []
    for latency in latencies:
        r = results[f"latency_{latency:g}ms"]
        runs = r.get("engine_runs") or [r["engine"]]
        engine = sorted(runs, key=lambda x: x.get("throughput_per_s") or -math.inf)[(len(runs) - 1) // 2]
        others += [r[p].get("others_cpu_util") or 0.0 for p in ("engine", "paced", "naive", "faststream")]
        by_latency[f"{latency:g}"] = {
            "throughput_per_s": engine["throughput_per_s"],
            "request_ms": r["probe"]["mean_ms"],
            "cpu_s_per_1000": engine["cpu_s_per_1000"],
            "cpu_s_per_1000_runs": sorted(x["cpu_s_per_1000"] for x in runs),
            "paced_per_s": r["paced"].get("target_rate_per_s"),
            "p50_ms": r["paced"]["p50_ms"],
            "p99_ms": r["paced"]["p99_ms"],
            "naive_per_s": r["naive"]["throughput_per_s"],
            "faststream_per_s": r["faststream"]["throughput_per_s"],
        }
    rss = results.get("rss", {})
    trace = rss.get("rss_mb_trace") or []
    return {
        "run": f"engine-{report['started_at']}",
        "commit": (report.get("git_commit") or "")[:7] or None,
        "measured_code": report.get("measured_code"),
        "machine": f"{machine.get('cpus')} CPUs, {machine.get('cpu_model')}",
        "versions": {k: versions.get(k) for k in ("python", "aiokafka", "aiohttp", "pydantic", "faststream")},
        "kafka": results.get("kafka", {}).get("version"),
        "repeat": params.get("repeat"),
        "max_in_flight": params.get("max_in_flight"),
        "by_latency": by_latency,
        "rss_events": params.get("rss_events"),
        "rss_peak_mb": rss.get("peak_rss_mb"),
        "rss_flat": bool(trace) and max(trace) - min(trace) <= 0.1 * max(trace),
        "others_cpu_max": round(max(others, default=0.0), 2),
    }


def render_bench(data: dict[str, Any]) -> str:
    """The figures table of the latest run: one column per simulator latency, targets beside them."""
    lat = data["by_latency"]
    cols = list(lat)

    def row(name: str, values: list[str], target: str = "") -> list[str]:
        return [name, *values, target]

    def verdict(ok: bool) -> str:
        return "**pass**" if ok else "fail"

    bound = {k: data["max_in_flight"] / (v["request_ms"] / 1000) for k, v in lat.items()}
    cpu_rate = {k: 1 / v["cpu_s_per_1000"] * 1000 for k, v in lat.items()}
    goal = {k: 0.8 * min(bound[k], cpu_rate[k]) for k in cols}
    thr = {k: lat[k]["throughput_per_s"] for k in cols}
    naive = {k: thr[k] / lat[k]["naive_per_s"] for k in cols}
    fast = {k: thr[k] / lat[k]["faststream_per_s"] for k in cols}
    cpu = {k: lat[k]["cpu_s_per_1000"] for k in cols}

    def per_col(ok: dict[str, bool]) -> str:
        return ", ".join(f"{verdict(ok[k])} at {k} ms" for k in cols)

    def runs(k: str) -> str:
        xs = lat[k]["cpu_s_per_1000_runs"]
        return f" (runs: {xs[0]:.3f}–{xs[-1]:.3f})" if len(xs) > 1 else ""

    rows = [
        row(
            "engine throughput",
            [f"{num(thr[k])} ev/s" for k in cols],
            "≥ 0.8 × min(bound, CPU-bound) = "
            + " / ".join(num(goal[k]) for k in cols)
            + " — "
            + per_col({k: thr[k] >= goal[k] for k in cols}),
        ),
        row(
            f"Little's-law bound ({data['max_in_flight']} ÷ mean request latency)",
            [f"{num(bound[k])} ev/s ({sig(lat[k]['request_ms'])} ms)" for k in cols],
        ),
        row("CPU-bound rate (1 core)", [f"{num(cpu_rate[k])} ev/s" for k in cols]),
        row(
            "consumer CPU per 1 000 events",
            [f"{cpu[k]:.3f} s{runs(k)}" for k in cols],
            "≤ 0.5 s — " + per_col({k: cpu[k] <= 0.5 for k in cols}),
        ),
        row(
            "p50 / p99 event→accepted (paced at "
            + " / ".join(num(lat[k]["paced_per_s"]) for k in cols)
            + " ev/s)",
            [f"{sig(lat[k]['p50_ms'])} / {sig(lat[k]['p99_ms'])} ms" for k in cols],
            "(reported)",
        ),
        row("(a) naive aiokafka", [f"{sig(lat[k]['naive_per_s'])} ev/s" for k in cols]),
        row(
            "engine ÷ (a)",
            [f"{naive[k]:.1f} ×" for k in cols],
            "≥ 20 × — " + per_col({k: naive[k] >= 20 for k in cols}),
        ),
        row("(b) FastStream, `AckPolicy.ACK`", [f"{sig(lat[k]['faststream_per_s'])} ev/s" for k in cols]),
        row(
            "engine ÷ (b)",
            [f"{fast[k]:.1f} ×" for k in cols],
            "≥ 3 × — " + per_col({k: fast[k] >= 3 for k in cols}),
        ),
    ]
    if data.get("rss_peak_mb") is not None:
        flat = ", flat" if data.get("rss_flat") else ", growing"
        rows.append(
            row(
                f"peak RSS while a {num(data['rss_events'])}-event backlog drains",
                [f"{data['rss_peak_mb']:.1f} MB{flat}"] + [""] * (len(cols) - 1),
                "≤ 200 MB — " + verdict(data["rss_peak_mb"] <= 200),
            )
        )
    v = data["versions"]
    head = (
        f"Run `{data['run']}` (commit `{data['commit']}`, {data['measured_code']}, {data['repeat']} engine "
        f"runs per latency, the median reported), {data['machine']}, Python {v['python']}, aiokafka "
        f"{v['aiokafka']}, aiohttp {v['aiohttp']}, pydantic {v['pydantic']}, FastStream {v['faststream']}, "
        f"Apache Kafka {data['kafka']}; other processes used at most {data['others_cpu_max']:.2f} cores "
        "during the measurements."
    )
    header = ["figure", *[f"{k} ms" for k in cols], "target"]
    return head + "\n\n" + table(header, [[cell(c) for c in r] for r in rows])


def record_bench(report: dict[str, Any], docs: Path = DOCS) -> Path:
    """Make ``report`` the benchmark page's latest figures and re-render its block."""
    return BENCHMARKS.update(bench_figures(report), docs)


RELIABILITY = ResultsPage(
    "results/reliability.md", "results/reliability-runs.json", "chaos-runs", render_chaos
)
BENCHMARKS = ResultsPage("results/benchmarks.md", "results/benchmarks.json", "bench-figures", render_bench)
PAGES = (RELIABILITY, BENCHMARKS)
