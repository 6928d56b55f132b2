"""The documentation's examples work: the settings file loads, the routing file builds a router for
every environment, the NDJSON events are accepted, the sendId example hashes as written, the error
line is the one the service prints, and the site builds offline with --strict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from docgen import sources
from tests.unit.docs_site import DOCS, PLANNED_ALERTS, ROOT, alert_names, titled


def only_block(title: str) -> str:
    found = titled(title)
    assert len(found) == 1, f'expected one code block titled "{title}", found {len(found)}'
    return found[0].body


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(sources.ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
def test_the_settings_file_example_loads_as_settings(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(only_block("settings.yaml"), encoding="utf-8")
    settings = sources.load_settings(path)
    assert settings.environment == sources.Environment.PROD
    assert settings.kafka.topics == ("prod.user.events", "prod.order.events")
    assert settings.hubspot.rate_limit.replica_share == 0.33
    assert settings.engine.max_in_flight == 16


@pytest.mark.usefixtures("clean_env")
def test_the_documented_settings_error_is_what_an_invalid_value_prints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = (DOCS / "configuration" / "index.md").read_text(encoding="utf-8")
    documented = re.search(r"^error: (SSC_ENGINE__MAX_IN_FLIGHT: .*)$", page, re.M)
    assert documented is not None
    monkeypatch.setenv("SSC_ENGINE__MAX_IN_FLIGHT", "0")
    with pytest.raises(sources.ConfigError) as raised:
        sources.load_settings()
    assert str(raised.value) == documented[1]


@pytest.mark.parametrize("environment", list(sources.Environment), ids=str)
def test_the_routing_example_builds_a_router_for_every_environment(environment: sources.Environment) -> None:
    config = sources.RoutingConfig.model_validate(yaml.safe_load(only_block("routing.yaml")))
    router = sources.Router.build(config, environment)
    assert len(router.email_ids) == 1


def test_the_ndjson_example_is_accepted_by_the_consumer() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    events = sources.read_events(only_block("events.ndjson").encode(), now=now)
    prepared = [sources.prepare_events(e, sources.PublishOptions(), now=now) for e in events]
    assert len(prepared) == 2
    assert [p.problem for p in prepared] == [None, None]


def test_the_send_id_example_hashes_as_written() -> None:
    page = (DOCS / "events" / "routing.md").read_text(encoding="utf-8")
    example = re.search(r"`16:/identity/signup,9:demo-0001,7:welcome,` →\s*`([0-9a-f]{64})`", page)
    assert example is not None
    assert sources.send_id("/identity/signup", "demo-0001", "welcome") == example[1]


@pytest.mark.slow
def test_the_site_builds_strict_and_offline(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    remote = re.compile(r"""<(?:script|link|img)[^>]+(?:src|href)=["']https?://""")
    fetched = [p.name for p in site.rglob("*.html") if remote.search(p.read_text(encoding="utf-8"))]
    assert fetched == [], "pages load something from the network"
    assert not any("fonts.googleapis" in p.read_text(encoding="utf-8") for p in site.rglob("*.css"))
    # each alert's runbook_url is <base>/operations/alerts/#<alert name in lower case>
    alerts = (site / "operations" / "alerts" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<h2 id="([^"]+)"', alerts))
    names = {*alert_names(), *PLANNED_ALERTS}
    assert {name.lower() for name in names} <= anchors
