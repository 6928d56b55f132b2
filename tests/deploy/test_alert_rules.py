"""The Prometheus alert rules: valid for promtool, unit-tested, and written against real metrics."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from markdown.extensions.toc import slugify
from prometheus_client import generate_latest

from consumer import pause
from consumer.metrics import REGISTRY
from consumer.outcome import Reason
from tests.deploy.conftest import DEPLOY, ROOT, load_script, run_tool, tool

prometheusrule = load_script("prometheusrule")

RULES = DEPLOY / "prometheus" / "alerts.yaml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yaml"
ISSUE_ALERTS = {  # what the alerting must cover, by the alert that covers it
    "paused (config error)": "SingleSendConsumerPaused",
    "breaker open": "SingleSendConsumerTransientBreakerOpen",
    "mass-DLQ breaker open": "SingleSendConsumerMassDeadLetterBreakerOpen",
    "dead letters the broker refuses": "SingleSendConsumerDeadLetterUnwritable",
    "DLQ rate": "SingleSendConsumerDeadLetterRateHigh",
    "lag growing": "SingleSendConsumerLagGrowing",
    "oldest incomplete offset age": "SingleSendConsumerOldestIncompleteTooOld",
    "daily quota near exhaustion": "SingleSendConsumerDailyQuotaNearExhaustion",
    "scrape target vanished": "SingleSendConsumerTargetMissing",
    "failing commits": "SingleSendConsumerCommitsFailing",
}


def rules() -> list[dict[str, object]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules() -> None:
    out = run_tool([tool("promtool"), "check", "rules", RULES])
    assert f"SUCCESS: {len(rules())} rules found" in out


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    out = run_tool([tool("promtool"), "test", "rules", RULE_TESTS])
    assert "SUCCESS" in out


def test_rule_unit_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    # The paused alert made blind (it now excludes every cause): its unit test must fail.
    broken = RULES.read_text(encoding="utf-8").replace(
        'cause!~"transient_breaker|mass_dlq_breaker|dlq_unwritable"', 'cause!~".+"'
    )
    assert broken != RULES.read_text(encoding="utf-8")
    (tmp_path / RULES.name).write_text(broken, encoding="utf-8")
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = subprocess.run(
        [str(tool("promtool")), "test", "rules", str(tmp_path / RULE_TESTS.name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SingleSendConsumerPaused" in result.stdout + result.stderr


def test_every_alert_the_issue_asks_for_exists_and_is_unit_tested() -> None:
    names = {str(rule["alert"]) for rule in rules()}
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text(encoding="utf-8")))
    assert set(ISSUE_ALERTS.values()) <= names
    assert names <= tested


def _exposed_metric_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def test_rules_use_only_metrics_the_service_exposes() -> None:
    exposed = _exposed_metric_names()
    used = {name for rule in rules() for name in re.findall(r"\bssc_[a-z_]+\b", str(rule["expr"]))}
    assert used, "the rules read the service's metrics"
    assert used <= exposed, f"not exposed by consumer/metrics.py: {sorted(used - exposed)}"


def test_label_values_in_the_rules_are_ones_the_code_sets() -> None:
    exprs = " ".join(str(rule["expr"]) for rule in rules())
    # Breaker and cause names come from the pause controller; its pause causes are Reason values.
    assert {pause.TRANSIENT, pause.MASS_DLQ} <= {r.value for r in Reason}
    for breaker in re.findall(r'breaker="(\w+)"', exprs):
        assert breaker in {pause.TRANSIENT, pause.MASS_DLQ}
    own_alerts = {pause.TRANSIENT, pause.MASS_DLQ, pause.DLQ_UNWRITABLE}  # causes with an alert of their own
    for cause in re.findall(r'cause!~"([\w|]+)"', exprs):
        assert set(cause.split("|")) == own_alerts
    for cause in re.findall(r'cause="(\w+)"', exprs):
        assert cause in own_alerts
    ratelimit = (ROOT / "consumer" / "hubspot" / "ratelimit.py").read_text(encoding="utf-8")
    for window in re.findall(r'window="(\w+)"', exprs):
        assert f'LIMITER_REMAINING.labels(window="{window}")' in ratelimit


def test_unit_tests_only_feed_causes_the_code_can_report() -> None:
    causes = set(re.findall(r'cause="(\w+)"', RULE_TESTS.read_text(encoding="utf-8")))
    assert causes <= {r.value for r in Reason}


def test_prometheus_operator_rule_is_generated_from_the_rule_file() -> None:
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "tools" / "prometheusrule.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    generated = yaml.safe_load(
        (DEPLOY / "kubernetes" / "components" / "prometheus-operator" / "prometheusrule.yaml").read_text()
    )
    assert generated["spec"]["groups"] == yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]


# ------------------------------------------------------------------------------------ runbooks


def runbooks() -> dict[str, str]:
    """Alert name -> its runbook_url annotation."""
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r["annotations"]["runbook_url"] for g in data["groups"] for r in g["rules"]}


def test_every_alert_links_its_own_section_of_the_published_docs() -> None:
    base = prometheusrule.docs_url()
    assert re.match(r"^https://[^/]+/", base)
    for alert, url in runbooks().items():
        assert url == f"{base}operations/alerts/#{alert.lower()}"


def test_every_runbook_anchor_is_a_section_of_the_alerts_page() -> None:
    # MkDocs' toc extension makes a heading's anchor with this slugify; the page's ## headings
    page = (ROOT / "docs" / "operations" / "alerts.md").read_text(encoding="utf-8")
    anchors = {slugify(heading, "-") for heading in re.findall(r"^## (.+)$", page, re.M)}
    for alert, url in runbooks().items():
        assert url.partition("#")[2] in anchors, f"{alert}: no section for {url}"


def test_the_docs_url_is_configured_once_and_rewrites_every_runbook() -> None:
    outputs = prometheusrule.outputs("https://wiki.internal.example/ssc")
    for path, text in outputs.items():
        urls = re.findall(r"runbook_url: \"?([^\"\n]+)", text)
        assert len(urls) >= len(runbooks()), path
        assert all(u.startswith("https://wiki.internal.example/ssc/operations/alerts/#") for u in urls)


def test_promtool_lints_the_service_metrics_clean() -> None:
    # promtool's linter: counters end in _total, base units, no type in the name, help text
    exposition = generate_latest(REGISTRY).decode()
    command = [str(tool("promtool")), "check", "metrics"]
    result = subprocess.run(
        command, input=exposition, capture_output=True, text=True, timeout=60, check=False
    )
    problems = [line for line in (result.stdout + result.stderr).splitlines() if "ssc_" in line]
    assert problems == []
