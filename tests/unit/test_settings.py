"""Settings: env with one prefix and nesting, an optional YAML file, secrets never from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.errors import ConfigError
from consumer.settings import Environment, Ordering, load_settings


def test_env_vars_with_the_prefix_and_double_underscore_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSC_ENVIRONMENT", "prod")
    monkeypatch.setenv("SSC_KAFKA__BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("SSC_ENGINE__ORDERING", "partition")
    monkeypatch.setenv("SSC_HUBSPOT__AUTH__TOKEN", "pat-xyz")
    s = load_settings()
    assert s.environment is Environment.PROD
    assert s.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert s.engine.ordering is Ordering.PARTITION
    assert s.hubspot.auth.token is not None
    assert "pat-xyz" not in repr(s)


def test_the_config_file_is_read_and_env_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("environment: qa\nkafka:\n  topics: [a, b]\n  group_id: from-file\n")
    monkeypatch.setenv("SSC_KAFKA__GROUP_ID", "from-env")
    s = load_settings(cfg)
    assert s.environment is Environment.QA
    assert s.kafka.topics == ("a", "b")
    assert s.kafka.group_id == "from-env"


def test_a_secret_in_the_config_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hubspot:\n  auth:\n    token: pat-in-file\n")
    with pytest.raises(ConfigError, match=r"hubspot\.auth\.token") as err:
        load_settings(cfg)
    assert "pat-in-file" not in str(err.value)


def test_an_invalid_value_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSC_ENGINE__MAX_IN_FLIGHT", "0")
    with pytest.raises(ConfigError, match="SSC_ENGINE__MAX_IN_FLIGHT"):
        load_settings()


def test_the_send_path_follows_the_api_version() -> None:
    assert load_settings().hubspot.send_path == "/marketing/v3/transactional/single-email/send"
    dated = load_settings(hubspot={"api_version": "2026-03"}).hubspot
    assert dated.send_path == "/marketing/transactional/2026-03/single-email/send"


def test_the_revoke_wait_must_stay_below_the_rebalance_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSC_KAFKA__SESSION_TIMEOUT_MS", "10000")
    monkeypatch.setenv("SSC_ENGINE__REVOKE_WAIT_S", "12")
    with pytest.raises(ConfigError, match="rebalance timeout"):
        load_settings()
