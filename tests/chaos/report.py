"""The run's JSON report, its one-screen summary, and the store of failing seeds for ``replay``.

``report.json`` holds: profile and seed, versions, settings, the fault timeline, every invariant's
count and target, the recovery time after every fault, throughput, p50/p99 latency and the RSS series.
A failing run leaves ``<base>/failing-seeds/<profile>-<seed>.json``; ``python -m tests.chaos replay
<that file>`` runs the same profile with the same seed (same events, poison, fault plan).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.chaos.checker import Verdict

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BASE = Path(os.environ.get("CHAOS_DIR", "/tmp/ssc-chaos"))


def versions(kafka_version: str) -> dict[str, str]:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    return {
        "consumer": version("single-send-consumer"),
        "git": git("rev-parse", "--short", "HEAD"),
        "git_dirty": str(bool(git("status", "--porcelain", "--", "consumer"))).lower(),
        "python": platform.python_version(),
        "aiokafka": version("aiokafka"),
        "aiohttp": version("aiohttp"),
        "kafka": kafka_version,
        "platform": platform.platform(),
    }


def invariants_json(verdicts: list[Verdict]) -> dict[str, Any]:
    return {v.id: v.to_json() for v in verdicts}


def compact(report: dict[str, Any]) -> dict[str, Any]:
    """The few lines worth quoting: verdict, each invariant's count, recovery, figures."""
    fig = report.get("figures", {})
    rec = [r for r in report.get("recovery", []) if r.get("recovery_s") is not None]
    return {
        "profile": report["profile"],
        "seed": report["seed"],
        "overrides": report.get("overrides") or {},
        "passed": report["passed"],
        "wall_s": report.get("wall_s"),
        "versions": {k: report["versions"].get(k) for k in ("consumer", "git", "git_dirty", "kafka")},
        "counts": {
            k: report["counts"].get(k)
            for k in (
                "events",
                "poison",
                "terminal",
                "requests",
                "shadow_duplicates",
                "hangs",
                "dlq_records",
                "incarnations",
                "toggles",
                "commit_samples",
            )
        },
        "invariants": {k: v["count"] for k, v in report["invariants"].items()},
        "failed": [k for k, v in report["invariants"].items() if not v["pass"]],
        "recovery_s": {
            "faults": len(report.get("recovery", [])),
            "measured": len(rec),
            "worst": max((r["recovery_s"] for r in rec), default=None),
            "by_kind": _worst_by_kind(rec),
        },
        "throughput_per_s": fig.get("throughput", {}).get("events_per_s"),
        "peak_5s_per_s": fig.get("throughput", {}).get("peak_5s_per_s"),
        "latency_ms": {k: fig.get("latency_ms", {}).get(k) for k in ("p50", "p99")},
        "rss_max_mb": fig.get("rss_mb", {}).get("max"),
        "notes": report.get("notes", []),
    }


def _worst_by_kind(rows: list[dict[str, Any]]) -> dict[str, float]:
    worst: dict[str, float] = {}
    for r in rows:
        worst[r["kind"]] = max(worst.get(r["kind"], 0.0), r["recovery_s"])
    return worst


def write(report: dict[str, Any], out: Path, base: Path = DEFAULT_BASE) -> Path | None:
    """Write ``report.json``, ``summary.json`` and ``summary.txt`` to ``out``; keep a failing seed."""
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "summary.json").write_text(json.dumps(compact(report), indent=1, default=str))
    (out / "summary.txt").write_text(summary(report))
    if report["passed"]:
        return None
    seeds = base / "failing-seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    keep = seeds / f"{report['profile']}-{report['seed']}.json"
    failed = [k for k, v in report["invariants"].items() if not v["pass"]]
    keep.write_text(
        json.dumps(
            {
                "profile": report["profile"],
                "seed": report["seed"],
                "failed": failed,
                "overrides": report.get("overrides", {}),
                "report": str(out / "report.json"),
            },
            indent=1,
        )
    )
    return keep


def summary(report: dict[str, Any]) -> str:
    """One screen: verdict, invariants, recovery, figures."""
    fig = report.get("figures", {})
    thr, lat = fig.get("throughput", {}), fig.get("latency_ms", {})
    lines = [
        f"chaos {report['profile']} seed={report['seed']} {report.get('overrides') or ''}: "
        f"{'PASS' if report['passed'] else 'FAIL'} "
        f"in {report.get('wall_s')} s  (consumer {report['versions'].get('consumer')} "
        f"@{report['versions'].get('git')}, Kafka {report['versions'].get('kafka')})",
        f"events {report['counts'].get('events')} (poison {report['counts'].get('poison')}, terminal "
        f"{report['counts'].get('terminal')}), faults {len(report.get('recovery', []))} + "
        f"{report['counts'].get('toggles', 0)} toggles, requests {report['counts'].get('requests')}, "
        f"shadow duplicates prevented {report['counts'].get('shadow_duplicates')} "
        f"({report['counts'].get('repeated_after_faults')} repeated after faults)",
    ]
    for key, v in report["invariants"].items():
        mark = "ok  " if v["pass"] else "FAIL"
        lines.append(f"  {mark} {key:<4} {v['name']:<48} {v['count']:>6}   target: {v['target']}")
    rec = [r for r in report.get("recovery", []) if r.get("recovery_s") is not None]
    if rec:
        worst = max(rec, key=lambda r: r["recovery_s"] / (r.get("bound_s") or 1))
        lines.append(
            f"recovery: {len(rec)}/{len(report.get('recovery', []))} measured, worst {worst['kind']} "
            f"{worst['recovery_s']} s (bound {worst.get('bound_s')} s)"
        )
    lines.append(
        f"throughput {thr.get('events_per_s')}/s (peak 5 s {thr.get('peak_5s_per_s')}/s, offered "
        f"{thr.get('offered_per_s')}/s); latency p50 {lat.get('p50')} ms, p99 {lat.get('p99')} ms; "
        f"RSS max {fig.get('rss_mb', {}).get('max')} MB"
    )
    if report.get("notes"):
        lines += [f"note: {n}" for n in report["notes"]]
    lines.append(f"report: {report.get('artifacts')}/report.json")
    return "\n".join(lines) + "\n"


def load_seed(path: Path) -> tuple[str, int, dict[str, str]]:
    """Profile name, seed and overrides of a kept failing run."""
    data = json.loads(path.read_text())
    return str(data["profile"]), int(data["seed"]), dict(data.get("overrides") or {})


def print_summary(report: dict[str, Any]) -> None:
    sys.stdout.write(summary(report))
    sys.stdout.flush()
