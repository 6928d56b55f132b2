"""Recent totals of all replicas, and the SVG line charts the status page draws from them (pure).

A :class:`History` keeps the last ``capacity`` samples of cumulative counters (events by outcome,
dead letters by reason) summed over the replicas; :func:`rates` turns consecutive samples into
per-minute rates (a counter that went down, a replica restart, counts from zero), and :func:`chart`
draws them. Labels are escaped here: the markup goes into the page as is.
"""

from __future__ import annotations

import html
import itertools
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Series = Mapping[str, Sequence[tuple[float, float]]]  # name -> [(time, value), ...]
COLOURS = ("#2f6f4f", "#b5452f", "#3d5a98", "#a2780c", "#6b4c8a", "#3a7d8c", "#8c3a5a", "#55606e")


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # seconds (monotonic or epoch: only differences matter)
    totals: Mapping[str, float]


class History:
    """The last ``capacity`` samples of one family of counters (e.g. events by outcome)."""

    def __init__(self, capacity: int = 360) -> None:
        self._samples: deque[Sample] = deque(maxlen=capacity)

    def add(self, at: float, totals: Mapping[str, float]) -> None:
        self._samples.append(Sample(at, dict(totals)))

    def __len__(self) -> int:
        return len(self._samples)

    def rates(self) -> dict[str, list[tuple[float, float]]]:
        return rates(self._samples)


def rates(samples: Iterable[Sample]) -> dict[str, list[tuple[float, float]]]:
    """Per-minute rate of every counter between consecutive samples, at the later sample's time."""
    ordered = list(samples)
    names = sorted({name for s in ordered for name in s.totals})
    result: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for before, after in itertools.pairwise(ordered):
        seconds = after.at - before.at
        if seconds <= 0:
            continue
        for name in names:
            now, then = after.totals.get(name, 0.0), before.totals.get(name, 0.0)
            grown = now - then if now >= then else now  # a reset counts from zero
            result[name].append((after.at, grown * 60.0 / seconds))
    return result


def chart(series: Series, *, title: str, width: int = 560, height: int = 160) -> str:
    """An SVG line chart of ``series`` with a legend; an empty chart says that it has no data yet."""
    pad_left, pad_right, pad_top, pad_bottom = 44, 8, 22, 18
    points = [p for values in series.values() for p in values]
    label = html.escape(title)
    parts = [
        f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{pad_left}" y="14" class="chart-title">{label}</text>',
    ]
    if len(points) < 2:
        parts.append(f'<text x="{pad_left}" y="{height // 2}" class="chart-empty">no data yet</text></svg>')
        return "".join(parts)
    t0, t1 = min(t for t, _ in points), max(t for t, _ in points)
    top = max(1.0, *(v for _, v in points))
    inner_w, inner_h = width - pad_left - pad_right, height - pad_top - pad_bottom

    def xy(t: float, v: float) -> str:
        x = pad_left + (inner_w * (t - t0) / (t1 - t0) if t1 > t0 else inner_w)
        y = pad_top + inner_h * (1 - v / top)
        return f"{x:.1f},{y:.1f}"

    parts.append(
        f'<line x1="{pad_left}" y1="{pad_top + inner_h}" x2="{width - pad_right}" '
        f'y2="{pad_top + inner_h}" class="axis"/>'
    )
    parts.append(
        f'<text x="{pad_left - 4}" y="{pad_top + 4}" class="tick" text-anchor="end">{top:.3g}</text>'
    )
    parts.append(f'<text x="{pad_left - 4}" y="{pad_top + inner_h}" class="tick" text-anchor="end">0</text>')
    for i, (name, values) in enumerate(sorted(series.items())):
        colour = COLOURS[i % len(COLOURS)]
        if values:
            line = " ".join(xy(t, v) for t, v in values)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{line}"/>')
        parts.append(
            f'<text x="{width - pad_right}" y="{14 + 12 * i}" class="legend" text-anchor="end" '
            f'fill="{colour}">{html.escape(name)} {values[-1][1] if values else 0:.3g}/min</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
