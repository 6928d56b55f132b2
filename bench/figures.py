"""Pure arithmetic of the benchmark: windows, rates, percentiles, targets, the printed table.

Nothing here does I/O; every figure of the report is computed by one function of this module from
raw observations (accept times from the simulator ledger, CPU samples, produce times), so the docs
(docs/development/benchmarks.md) can say exactly how each number is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def parse_iso(text: str) -> float:
    """``2026-05-09T07:30:00.123Z`` → POSIX seconds (the simulator's ``firstAcceptedAt``, ms precision)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def histogram_mean(exposition: str, name: str) -> tuple[int, float]:
    """``(count, mean)`` of Prometheus histogram ``name`` (unlabelled) in a text exposition."""
    count, total = 0, math.nan
    for line in exposition.splitlines():
        if line.startswith(f"{name}_count "):
            count = int(float(line.split()[-1]))
        elif line.startswith(f"{name}_sum "):
            total = float(line.split()[-1])
    return count, (total / count if count else math.nan)


@dataclass(frozen=True, slots=True)
class Window:
    """The steady window of a run: first to last accepted send (excludes start-up, join and drain)."""

    first: float
    last: float
    accepted: int

    @property
    def seconds(self) -> float:
        return self.last - self.first

    @property
    def rate(self) -> float:
        """Accepted sends per second inside the window (``accepted - 1`` intervals between them)."""
        return (self.accepted - 1) / self.seconds if self.seconds > 0 and self.accepted > 1 else math.nan


def window(accept_times: Iterable[float]) -> Window:
    times = sorted(accept_times)
    if not times:
        return Window(math.nan, math.nan, 0)
    return Window(times[0], times[-1], len(times))


def median_run(runs: Sequence[dict[str, Any]], key: str = "throughput_per_s") -> dict[str, Any]:
    """The run whose ``key`` is the median (the lower one of the middle two for an even count);
    runs without a finite ``key`` sort first. Robust against one run disturbed by other work."""

    def value(run: dict[str, Any]) -> float:
        v = run.get(key)
        return v if isinstance(v, int | float) and math.isfinite(v) else -math.inf

    ordered = sorted(runs, key=value)
    return ordered[(len(ordered) - 1) // 2]


def per_thousand(cpu_s: float | None, events: int) -> float:
    """CPU seconds per 1 000 events (NaN when not measurable)."""
    if cpu_s is None or events <= 0:
        return math.nan
    return cpu_s / events * 1000


def cpu_bound_rate(cpu_s_per_1000: float) -> float:
    """Events per second one fully busy core could process at this CPU cost."""
    return 1000 / cpu_s_per_1000 if cpu_s_per_1000 > 0 else math.nan


def littles_bound(max_in_flight: int, mean_latency_s: float) -> float:
    """Little's law: at most ``max_in_flight`` requests complete every ``mean latency`` seconds."""
    return max_in_flight / mean_latency_s if mean_latency_s > 0 else math.inf


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 and not math.isnan(b) else math.nan


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the table: a figure, its value, the target and whether the value meets it."""

    figure: str
    value: float
    unit: str
    target: float | None = None  # None: information only
    at_least: bool = True  # the value must be >= target (else <=)

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        if math.isnan(self.value) or math.isnan(self.target):
            return False
        return self.value >= self.target if self.at_least else self.value <= self.target

    @property
    def verdict(self) -> str:
        return {None: "", True: "PASS", False: "FAIL"}[self.passed]

    @property
    def margin(self) -> float:
        """value / target (how far above or below the target it is; NaN without a target)."""
        if self.target is None or self.target == 0:
            return math.nan
        return self.value / self.target

    def to_json(self) -> dict[str, object]:
        return {
            "figure": self.figure,
            "value": _finite(self.value),
            "unit": self.unit,
            "target": None if self.target is None else _finite(self.target),
            "comparison": ">=" if self.at_least else "<=",
            "passed": self.passed,
        }


def _finite(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else round(x, 4)


def fmt(x: float) -> str:
    """A number in a width-friendly form: 3 significant digits, thousands separators."""
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) >= 0.01 else f"{x:.2g}"


def table(checks: Sequence[Check]) -> str:
    """The one-screen table: figure | value | target | verdict."""
    rows = [("figure", "value", "target", "")]
    for c in checks:
        target = "" if c.target is None else ("≥ " if c.at_least else "≤ ") + fmt(c.target)
        rows.append((c.figure, f"{fmt(c.value)} {c.unit}".strip(), target, c.verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for n, r in enumerate(rows):
        lines.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)
