"""The Grafana dashboard: generated, provisioning-ready, and every panel's PromQL parses (promtool) and
reads only metrics the service exports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from docgen import metrics_ref
from tests.deploy.conftest import DEPLOY, ROOT, run_tool, tool

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "single-send-consumer.json"
PROVISIONING = DEPLOY / "grafana" / "provisioning" / "dashboards" / "single-send-consumer.yaml"
# Prometheus' own series of a scrape target, next to what the service exports
SCRAPE_SERIES = {"up"}
# Grafana's variables, replaced by values of the right kind so promtool can parse the query
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "6h"}
# what the dashboard must show, by the title of the panel that shows it
REQUIRED_PANELS = (
    "Events by outcome",
    "Dead letters by reason",
    "Pause causes",
    "Breakers",
    "Lag per partition",
    "Oldest incomplete record per partition",
    "HubSpot request latency",
    "Throttles",
    "Rate-limiter budget",
    "HubSpot budget left (interval)",
    "HubSpot daily quota left",
    "DLQ writes",
    "Commits",
)
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool"}
_KEYWORDS |= {"offset", "inf", "nan"}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def queries() -> list[tuple[str, str]]:
    """(panel title, expr) of every query of the dashboard, the variables' queries included."""
    found = [(p["title"], t["expr"]) for p in panels() for t in p["targets"]]
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            selector = re.fullmatch(r"label_values\((.+), \w+\)", variable["definition"])
            assert selector, variable["definition"]
            found.append((f"variable {variable['name']}", selector[1]))
    return found


def as_prometheus_sees_it(expr: str) -> str:
    """``expr`` with Grafana's variables replaced: intervals by durations, the rest by a regex."""
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\w+", ".*", expr)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not a function call, a
    keyword, a label name (in ``{}`` or a grouping clause), a string or a duration."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        if match[2] is None and match[1].lower() not in _KEYWORDS:
            names.add(match[1])
    return names


def test_the_dashboard_is_generated_from_its_script() -> None:
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "tools" / "grafana_dashboard.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_panel_query_parses(tmp_path: Path) -> None:
    # promtool parses every expression of a rule file: one recording rule per query
    records = [
        {"record": f"dashboard:query_{i}", "expr": as_prometheus_sees_it(expr)}
        for i, (_, expr) in enumerate(queries())
    ]
    rule_file = tmp_path / "dashboard-queries.yaml"
    rule_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}), encoding="utf-8"
    )
    out = run_tool([tool("promtool"), "check", "rules", rule_file])
    assert f"SUCCESS: {len(records)} rules found" in out


def test_a_query_that_does_not_parse_fails_the_check(tmp_path: Path) -> None:
    rule_file = tmp_path / "broken.yaml"
    rule = {"record": "dashboard:broken", "expr": as_prometheus_sees_it(queries()[0][1]).replace(")", "", 1)}
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": [rule]}]}), encoding="utf-8")
    result = subprocess.run(
        [str(tool("promtool")), "check", "rules", str(rule_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0


@pytest.mark.parametrize(("title", "expr"), queries(), ids=[title for title, _ in queries()])
def test_every_query_reads_only_metrics_the_service_exports(title: str, expr: str) -> None:
    read = metric_names(expr)
    assert read, f"{title}: reads no metric"
    unknown = read - metrics_ref.series_names() - SCRAPE_SERIES
    assert unknown == set(), f"{title}: not exported by consumer/metrics.py: {sorted(unknown)}"


def test_the_metric_name_reader_sees_metrics_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, pod) (rate(ssc_x_seconds_bucket{pod=~"$pod"}[5m])))'
        " / on (pod) group_left max(ssc_y) or vector(0) and ssc_z offset 1h"
    )
    assert metric_names(expr) == {"ssc_x_seconds_bucket", "ssc_y", "ssc_z"}


def test_the_dashboard_shows_what_operators_watch() -> None:
    titles = {p["title"] for p in panels()}
    assert set(REQUIRED_PANELS) <= titles


def test_panels_are_well_formed() -> None:
    board = dashboard()
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    assert board["uid"]
    variables = {v["name"] for v in board["templating"]["list"]}
    assert {"datasource", "namespace", "pod"} <= variables
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        for target in panel["targets"]:
            assert 'namespace=~"$namespace", pod=~"$pod"' in target["expr"], panel["title"]


def test_the_provisioning_file_loads_the_dashboard_directory() -> None:
    config = yaml.safe_load(PROVISIONING.read_text(encoding="utf-8"))
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]
    docs = (ROOT / "docs" / "operations" / "dashboard.md").read_text(encoding="utf-8")
    assert provider["options"]["path"] in docs
