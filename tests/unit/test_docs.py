"""The documentation site is complete and true: generated pages match the code; every setting,
command, flag, metric, alert and reason code is documented; no page names one that does not exist."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from consumer.settings import Settings
from consumer.settings_loader import ENV_PREFIX
from consumer.settings_report import TOOL_VARIABLES, known_variables
from docgen import cli_ref, metrics_ref, pages, settings_ref, sources
from docgen.settings_text import TEXT
from tests.unit.docs_site import (
    DOCS,
    PLANNED_ALERTS,
    README,
    ROOT,
    alert_names,
    command_lines,
    site_text,
    written_text,
)
from tests.unit.docs_site import pages as site_pages

# Misspelt variables the configuration page shows being refused.
REFUSED_EXAMPLES = {"SSC_ENVIROMENT", "SSC_KAFKA_TOPICS"}


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------- generated pages


def test_the_generated_pages_match_the_code() -> None:
    assert pages.drift() == [], "run `python -m docgen` and commit the pages"


def test_the_drift_check_reports_an_edited_generated_page(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    reference = docs / "configuration" / "reference.md"
    reference.write_text(reference.read_text(encoding="utf-8").replace("SSC_ENGINE__MAX_IN_FLIGHT", "X"))
    assert pages.drift(docs) == [
        "docs/configuration/reference.md: differs from the code (run `python -m docgen`)"
    ]
    assert pages.write(docs) == [reference]
    assert pages.drift(docs) == []


# --------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize("setting", settings_ref.all_settings(), ids=lambda s: s.env)
def test_every_setting_is_in_the_reference_with_its_meaning(setting: settings_ref.Setting) -> None:
    assert setting.description, f"{setting.env}: add its meaning to docgen/settings_text.py"
    row = next(
        line
        for line in page("configuration/reference.md").splitlines()
        if line.startswith(f"| `{setting.env}` |")
    )
    assert setting.default in row
    assert ("**secret**" in row) is setting.secret


def test_secrets_are_marked_in_the_reference() -> None:
    secrets = {s.env for s in settings_ref.all_settings() if s.secret}
    assert secrets == {
        "SSC_KAFKA__SECURITY__SASL_PASSWORD",
        "SSC_HUBSPOT__AUTH__TOKEN",
        "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET",
        "SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN",
        "SSC_HUBSPOT__AUTH__HAPIKEY",
        "SSC_OBSERVABILITY__RECIPIENT_HASH_KEY",
    }


def test_the_settings_texts_name_only_real_settings() -> None:
    real = {s.env for s in settings_ref.all_settings()} | {sources.CONFIG_FILE_ENV}
    assert set(TEXT) - real == set()


def test_every_variable_the_docs_name_is_a_setting() -> None:
    real = {s.env for s in settings_ref.all_settings()} | {sources.CONFIG_FILE_ENV} | TOOL_VARIABLES
    named = set(re.findall(r"\bSSC_[A-Z0-9_]*[A-Z0-9]\b(?![*_])", site_text()))
    assert named - real == REFUSED_EXAMPLES
    for typo in REFUSED_EXAMPLES:  # and the service refuses them
        assert known_variables(Settings, ENV_PREFIX).get(typo) is None


# --------------------------------------------------------------------------------- CLI commands


@pytest.mark.parametrize("command", list(cli_ref.commands()), ids=lambda c: c.path)
def test_every_command_and_flag_is_in_the_cli_reference(command: cli_ref.Command) -> None:
    reference = page("operations/cli.md")
    section = reference.split(f"## `{command.path}` ")[1].split("\n## ")[0]
    for flag in command.flags():
        assert re.search(rf"`[^`]*{re.escape(flag)}\b[^`]*`", section), f"{command.path} {flag}"


@pytest.mark.parametrize(
    "command", [c.path for c in cli_ref.commands() if not c.is_group], ids=lambda p: p.replace(" ", "-")
)
def test_every_command_is_explained_on_a_written_page(command: str) -> None:
    assert command in written_text()


def test_every_consumer_command_line_in_the_docs_exists_with_its_flags() -> None:
    bad = []
    for where, argv in _command_lines("consumer"):
        path, rest = "consumer", argv[1:]
        while rest and cli_ref.find(f"{path} {rest[0]}") is not None:
            path, rest = f"{path} {rest[0]}", rest[1:]
        command = cli_ref.find(path)
        assert command is not None
        known = {*command.flags(), "--help"}
        flags = [t for t in rest if t.startswith("-") and t != "-"]
        bad += [f"{where}: {' '.join(argv)}: {t}" for t in flags if t.split("=")[0] not in known]
        if command.is_group and rest and not rest[0].startswith("-"):
            bad.append(f"{where}: {' '.join(argv)}: no such command")
    assert bad == []


def test_every_dev_script_command_in_the_docs_exists() -> None:
    script = (ROOT / "deploy" / "local" / "dev").read_text(encoding="utf-8")
    known = set(re.findall(r"^  ([a-z]+)\)", script, re.M))
    used = {argv[1] for _, argv in _command_lines("deploy/local/dev") if len(argv) > 1}
    assert used
    assert used <= known


def _command_lines(program: str) -> list[tuple[str, list[str]]]:
    return [(w, a) for w, a in command_lines() if a[0] == program or a[0].endswith(f"/bin/{program}")]


# --------------------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("metric", metrics_ref.metrics(), ids=lambda m: m.name)
def test_every_exported_metric_is_in_the_metrics_reference(metric: metrics_ref.Metric) -> None:
    row = next(
        line
        for line in page("operations/metrics.md").splitlines()
        if line.startswith(f"| `{metric.shown}` |")
    )
    assert all(f"`{label}`" in row for label in metric.labels)


def test_every_metric_the_docs_name_is_exported() -> None:
    named = set(re.findall(r"\bssc_[a-z0-9_]+\b", site_text()))
    # the upgrade page's table of renamed metrics names the old names on purpose
    renamed = set(re.findall(r"^\| `(ssc_\w+)` \| `ssc_\w+` \|$", page("deploying/upgrading.md"), re.M))
    assert named - metrics_ref.series_names() - renamed == set()


# ---------------------------------------------------------------------------------------- alerts


@pytest.mark.parametrize("alert", alert_names())
def test_every_alert_has_its_section_in_the_alerts_page(alert: str) -> None:
    assert f"\n## {alert}\n" in page("operations/alerts.md")


def test_the_alerts_page_has_a_section_only_for_real_alerts() -> None:
    sections = set(re.findall(r"^## (\S+)$", page("operations/alerts.md"), re.M))
    assert sections - set(alert_names()) - PLANNED_ALERTS == set()
    assert (
        set(re.findall(r"\bSingleSendConsumer[A-Za-z]+", site_text())) <= set(alert_names()) | PLANNED_ALERTS
    )


def _alert_section(alert: str) -> str:
    return page("operations/alerts.md").split(f"\n## {alert}\n", 1)[1].split("\n## ", 1)[0]


def test_the_mass_dlq_alert_lists_only_causes_the_breaker_counts() -> None:
    # The pipeline counts HubSpot refusals and missing routes; schema violations never trip it.
    section = " ".join(_alert_section("SingleSendConsumerMassDeadLetterBreakerOpen").split())
    causes = section.split("Typical causes:", 1)[1].split(".", 1)[0]
    assert "schema" not in causes
    assert "schema violations and expired events never count" in section


def test_the_overview_says_an_unpublished_template_is_dead_lettered_not_paused_at_once() -> None:
    for text in (README.read_text(encoding="utf-8"), page("index.md")):
        intro = " ".join(text.split("\n\n", 2)[1].split())
        (clause,) = [c for c in intro.replace(";", ".").split(". ") if "unpublished template" in c]
        assert "is dead-lettered" in clause
        assert "pause" not in clause


# ---------------------------------------------------------------------------------- reason codes


@pytest.mark.parametrize("reason", list(sources.Reason), ids=str)
def test_every_reason_code_is_explained(reason: sources.Reason) -> None:
    assert re.search(rf"^\| `{reason.value}` \|", page("concepts/reason-codes.md"), re.M)


# ------------------------------------------------------------------------------------------ site


def test_every_repository_path_the_docs_name_exists() -> None:
    # consumer/outcome.py, consumer/samples/routing.yaml, tests/chaos/; not bench/results/engine-<UTC>.json
    path = re.compile(
        r"(?<![\w/.-])((?:consumer|schemas|deploy|tests|bench|docgen|\.ci)/[\w./-]*[\w/])(?![\w./-]*[<*{])"
    )
    named = set(path.findall(site_text()))
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert [name for name in site_pages() if name not in nav] == []


def test_the_threat_model_names_only_tests_that_exist_and_security_md_points_to_it() -> None:
    text = page("security/threat-model.md")
    for section in (
        "## Assets",
        "## Actors",
        "## Trust boundaries",
        "## Mitigations",
        "## Retention and erasure",
    ):
        assert section in text
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", text)
    assert len(named) >= 15
    missing = [
        f"{path}::{test}"
        for path, test in named
        if not (ROOT / path).is_file()
        or not re.search(rf"^(async )?def {test}\(", (ROOT / path).read_text(encoding="utf-8"), re.M)
    ]
    assert missing == []
    assert "docs/security/threat-model.md" in (ROOT / "SECURITY.md").read_text(encoding="utf-8")
