#!/usr/bin/env python3
"""Write deploy/grafana/dashboards/single-send-consumer.json, the service's Grafana dashboard.

The dashboard is generated so its panels stay short to read and consistent (one datasource variable,
the same namespace/pod filters, units on every panel); tests/deploy/ checks that every query parses
(promtool) and reads only metrics the service exports, and fails when the JSON drifts. Run

    .venv/bin/python deploy/tools/grafana_dashboard.py

after editing the panels. ``--check`` only reports drift (exit 1).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEPLOY = Path(__file__).resolve().parent.parent
TARGET = DEPLOY / "grafana" / "dashboards" / "single-send-consumer.json"
UID = "single-send-consumer"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# every query is scoped by the dashboard's variables
SEL = 'namespace=~"$namespace", pod=~"$pod"'
RATE = "$__rate_interval"
WIDTH = 24


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # timeseries | state-timeline | stat | bargauge
    width: int = 12
    height: int = 8
    options: dict[str, Any] = field(default_factory=dict)


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def quantiles(metric: str) -> tuple[Query, ...]:
    """p50, p95 and p99 of histogram ``metric``."""
    return tuple(
        q(
            f"histogram_quantile({p}, sum by (le) (rate({metric}_bucket{{{SEL}}}[{RATE}])))",
            f"p{int(p * 100)}",
        )
        for p in (0.5, 0.95, 0.99)
    )


def _legend(by: str) -> str:
    return " ".join("{{" + label.strip() + "}}" for label in by.split(","))


def per_second(metric: str, by: str) -> tuple[Query, ...]:
    """Counter ``metric`` per second, summed by the labels ``by``."""
    return (q(f"sum by ({by}) (rate({metric}{{{SEL}}}[{RATE}]))", _legend(by)),)


def per_partition(metric: str) -> tuple[Query, ...]:
    return (q(f"max by (topic, partition) ({metric}{{{SEL}}})", "{{topic}}[{{partition}}]"),)


def per_pod(metric: str) -> tuple[Query, ...]:
    return (q(f"sum by (pod) ({metric}{{{SEL}}})", "{{pod}}"),)


def remaining(window: str) -> tuple[Query, ...]:
    return (q(f'min(ssc_hubspot_ratelimit_remaining_requests{{window="{window}", {SEL}}})', "remaining"),)


def stat(title: str, description: str, query: Query, unit: str = "short", **options: Any) -> Panel:
    return Panel(title, description, (query,), unit, "stat", 6, 4, options)


YES_NO = [{"type": "value", "options": {"0": {"text": "no"}, "1": {"text": "yes"}}}]

# (row title, its panels): Panel(title, description, queries, unit, kind)
ROWS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    (
        "Overview",
        (
            stat(
                "Pods up",
                "Consumer targets Prometheus scrapes successfully (`up` of the job single-send-consumer).",
                q(f'sum(up{{job="single-send-consumer", {SEL}}})'),
            ),
            stat(
                "Paused",
                "1 while the pipeline of any pod is paused (nothing is sent or dead-lettered).",
                q(f"max(ssc_paused{{{SEL}}}) or vector(0)"),
                mappings=YES_NO,
            ),
            stat(
                "Events finished / s",
                "Records finished per second, all outcomes.",
                q(f"sum(rate(ssc_events_total{{{SEL}}}[{RATE}]))"),
                "ops",
            ),
            stat(
                "Versions",
                "Running pods by service version (ssc_build_info).",
                q(
                    f"count by (version, python_version) (ssc_build_info{{{SEL}}})",
                    "{{version}} ({{python_version}})",
                ),
            ),
        ),
    ),
    (
        "Outcomes and dead letters",
        (
            Panel(
                "Events by outcome",
                "Records finished per second by outcome class (SENT, TERMINAL, PERMANENT).",
                per_second("ssc_events_total", "outcome"),
                "ops",
            ),
            Panel(
                "Dead letters by reason",
                "Records written to the dead-letter topic in the dashboard's time range, by reason code.",
                (
                    q(
                        f"sort_desc(sum by (reason) (increase(ssc_dlq_writes_total{{{SEL}}}[$__range])))",
                        "{{reason}}",
                    ),
                ),
                kind="bargauge",
                options={"displayMode": "basic", "orientation": "horizontal"},
            ),
            Panel(
                "DLQ writes",
                "Dead-letter writes acknowledged per second, by reason.",
                per_second("ssc_dlq_writes_total", "reason"),
                "ops",
            ),
            Panel(
                "Retries by reason",
                "Retries of a HubSpot request scheduled per second, by reason.",
                per_second("ssc_hubspot_retries_total", "reason"),
                "ops",
            ),
        ),
    ),
    (
        "Pauses and breakers",
        (
            Panel(
                "Pause causes",
                "1 while the pipeline is paused by a cause (a config error, the daily quota, a breaker).",
                (q(f"max by (cause) (ssc_paused{{{SEL}}})", "{{cause}}"),),
                kind="state-timeline",
            ),
            Panel(
                "Breakers",
                "1 while a breaker is open (transient failures, a burst of permanent failures).",
                (q(f"max by (breaker) (ssc_breaker_open{{{SEL}}})", "{{breaker}}"),),
                kind="state-timeline",
            ),
        ),
    ),
    (
        "Kafka",
        (
            Panel(
                "Lag per partition",
                "High watermark minus committed position, per source partition.",
                per_partition("ssc_partition_lag_records"),
            ),
            Panel(
                "Oldest incomplete record per partition",
                "Age of the oldest record not yet done: its partition cannot commit past it.",
                per_partition("ssc_partition_oldest_incomplete_age_seconds"),
                "s",
            ),
            Panel(
                "Uncommitted records per partition",
                "Records fetched but not yet committed, per partition.",
                per_partition("ssc_partition_uncommitted_records"),
            ),
            Panel(
                "Commits",
                "Offset commits per second by result; failures with no success mean the position is stuck.",
                per_second("ssc_commits_total", "result"),
                "ops",
            ),
            Panel(
                "Assigned partitions",
                "Partitions assigned to each consumer-group member.",
                per_pod("ssc_assigned_partitions"),
            ),
            Panel(
                "Event duration (fetch to done)",
                "From record fetch to done (sent, terminal or dead-lettered).",
                quantiles("ssc_event_duration_seconds"),
                "s",
            ),
        ),
    ),
    (
        "HubSpot",
        (
            Panel(
                "HubSpot request latency",
                "Duration of one Single Send HTTP attempt.",
                quantiles("ssc_hubspot_request_duration_seconds"),
                "s",
            ),
            Panel(
                "HubSpot requests by status",
                "Single Send HTTP attempts per second by HTTP status and sendResult.",
                per_second("ssc_hubspot_requests_total", "status, send_result"),
                "reqps",
            ),
            Panel(
                "Throttles",
                "THROTTLE-class answers per second: a 429 of the rolling window or a THROTTLED sendResult.",
                per_second("ssc_hubspot_throttled_total", "policy"),
                "reqps",
            ),
            Panel(
                "Rate-limiter budget",
                "Requests each pod's limiter allows per HubSpot interval (after adapting to other senders).",
                per_pod("ssc_rate_limiter_budget_requests"),
            ),
            Panel(
                "Rate-limiter wait",
                "How long sends waited for the rate limiter: high means HubSpot's budget is the limit.",
                quantiles("ssc_rate_limiter_wait_seconds"),
                "s",
            ),
            Panel(
                "HubSpot budget left (interval)",
                "Requests left in HubSpot's rolling window at its last answer (RateLimit-Remaining).",
                remaining("interval"),
            ),
            Panel(
                "HubSpot daily quota left",
                "Requests left today for the portal (RateLimit-Daily-Remaining), when HubSpot sends it.",
                remaining("daily"),
            ),
            Panel(
                "Requests in flight",
                "Single Send requests started and not finished, per pod.",
                per_pod("ssc_hubspot_requests_in_flight"),
            ),
            Panel(
                "Credential refreshes",
                "OAuth refreshes and token-file re-reads per second, by result.",
                per_second("ssc_auth_refreshes_total", "result"),
                "ops",
            ),
        ),
    ),
    (
        "Process",
        (
            Panel(
                "CPU",
                "CPU time used per second (1 = one core), per pod.",
                (q(f"sum by (pod) (rate(process_cpu_seconds_total{{{SEL}}}[{RATE}]))", "{{pod}}"),),
                "percentunit",
            ),
            Panel(
                "Resident memory",
                "Resident set size, per pod.",
                per_pod("process_resident_memory_bytes"),
                "bytes",
            ),
        ),
    ),
)


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-variable"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit}
    if "mappings" in panel.options:
        defaults["mappings"] = panel.options["mappings"]
    options = {k: v for k, v in panel.options.items() if k != "mappings"}
    if panel.kind == "timeseries":
        options = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": [
            {"datasource": DATASOURCE, "expr": query.expr, "legendFormat": query.legend, "refId": chr(65 + i)}
            for i, query in enumerate(panel.queries)
        ],
    }


def dashboard() -> dict[str, Any]:
    """The dashboard model Grafana provisions (schema version 39, Grafana 10.4 and later)."""
    panels: list[dict[str, Any]] = []
    y = 0
    for title, row in ROWS:
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": WIDTH, "x": 0, "y": y},
                "panels": [],
            }
        )
        y += 1
        x = 0
        line_height = 0
        for panel in row:
            if x + panel.width > WIDTH:
                x, y, line_height = 0, y + line_height, 0
            panels.append(_panel(panel, len(panels) + 1, x, y))
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return {
        "uid": UID,
        "title": "single-send-consumer",
        "description": "Kafka events to HubSpot transactional email: outcomes, dead letters, pauses, lag, "
        "HubSpot latency and budget. Generated by deploy/tools/grafana_dashboard.py.",
        "tags": ["single-send-consumer", "kafka", "hubspot"],
        "timezone": "",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": []},
        "links": [],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "refresh": 1,
                    "current": {},
                },
                _variable("namespace", "Namespace", "label_values(ssc_build_info, namespace)"),
                _variable("pod", "Pod", 'label_values(ssc_build_info{namespace=~"$namespace"}, pod)'),
            ]
        },
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run deploy/tools/grafana_dashboard.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
