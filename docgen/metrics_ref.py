"""The metrics reference (``docs/operations/metrics.md``), generated from the Prometheus registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docgen import sources
from docgen.markdown import GENERATED_NOTE, cell, table

_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
    "info": ("_info",),
}


@dataclass(frozen=True, slots=True)
class Metric:
    name: str  # the family name: ssc_events (a counter is exposed as ssc_events_total)
    type: str
    labels: tuple[str, ...]
    help: str

    @property
    def series(self) -> tuple[str, ...]:
        """The names a query uses: ``ssc_events_total``; ``ssc_event_duration_seconds_bucket`` etc."""
        suffixes = _SUFFIXES.get(self.type)
        return tuple(self.name + s for s in suffixes) if suffixes else (self.name,)

    @property
    def shown(self) -> str:
        """The name the reference lists: a counter's ``_total`` or an info's ``_info`` series, else the
        family name."""
        return self.name + _SUFFIXES[self.type][0] if self.type in ("counter", "info") else self.name


def metrics(registry: Any = None) -> list[Metric]:
    """Every metric family of the registry, in registration order. Labels are the metric's declared
    label names; for collectors without declared names (process, platform, info) those of its samples."""
    registry = registry or sources.METRICS_REGISTRY
    declared = {
        getattr(c, "_name", None): tuple(getattr(c, "_labelnames", ()))
        for c in list(registry._collector_to_names)
    }
    found = []
    for m in registry.collect():
        sampled = tuple(dict.fromkeys(k for s in m.samples for k in s.labels if k not in ("le", "quantile")))
        found.append(Metric(m.name, m.type, declared.get(m.name) or sampled, m.documentation))
    return found


def series_names() -> set[str]:
    """Every name a dashboard or alert can query, plus the family names."""
    return {n for m in metrics() for n in (m.name, *m.series)}


def render() -> str:
    rows = [
        [
            f"`{m.shown}`",
            m.type,
            ", ".join(f"`{label}`" for label in m.labels) or "—",
            cell(m.help),
        ]
        for m in metrics()
    ]
    out = [
        "# Metrics reference",
        "",
        GENERATED_NOTE.format(command="python -m docgen"),
        "",
        "Every metric the service exports on `/metrics` (Prometheus text format), from its registry. "
        "Histograms are exposed as `<name>_bucket`, `<name>_sum` and `<name>_count`. Label values are "
        "stable codes only, never addresses, tokens or event ids; what they are and how to use the "
        "metrics: [Observability](observability.md). The `process_*` and `python_*` metrics are "
        "prometheus_client's process, platform and garbage-collector collectors.",
        "",
        table(["metric", "type", "labels", "meaning"], rows),
    ]
    return "\n".join(out) + "\n"
