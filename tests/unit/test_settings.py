"""Settings: env with one prefix and nesting, an optional YAML file, secrets never from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.errors import ConfigError, SettingsInvalid
from consumer.samples import DEMO_ROUTING
from consumer.service import recipient_hasher
from consumer.settings import Environment, KafkaSettings, Ordering, Settings
from consumer.settings_loader import effective_settings, load_settings


def test_env_vars_with_the_prefix_and_double_underscore_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSC_ENVIRONMENT", "prod")
    monkeypatch.setenv("SSC_ROUTING_FILE", "/etc/single-send-consumer/routing.yaml")
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
    cfg.write_text(
        "environment: qa\nrouting_file: /etc/routing.yaml\nkafka:\n  topics: [a, b]\n  group_id: from-file\n"
    )
    monkeypatch.setenv("SSC_KAFKA__GROUP_ID", "from-env")
    s = load_settings(cfg)
    assert s.environment is Environment.QA
    assert s.kafka.topics == ("a", "b")
    assert s.kafka.group_id == "from-env"


def test_the_loader_returns_the_plain_value_and_a_value_built_directly_reads_no_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSC_KAFKA__GROUP_ID", "from-env")
    loaded = load_settings()
    assert type(loaded) is Settings
    assert loaded == Settings(kafka=KafkaSettings(group_id="from-env"))
    assert Settings().kafka.group_id == "single-send-consumer"
    with pytest.raises(ValueError, match="frozen"):
        loaded.environment = Environment.PROD  # type: ignore[misc]


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


# --- every problem at once, each naming its variable or file key ------------------------------------


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return path


def problems(**env: str) -> tuple[str, ...]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises(SettingsInvalid) as err:
            load_settings()
    return err.value.problems


def test_a_list_variable_that_is_not_json_names_the_variable_and_says_how_to_write_it() -> None:
    (line,) = problems(SSC_KAFKA__TOPICS="a,b")
    assert line.startswith("SSC_KAFKA__TOPICS: not valid JSON (")
    assert """'["a","b"]'""" in line


def test_a_section_variable_that_is_not_json_names_the_variable() -> None:
    (line,) = problems(SSC_KAFKA="{topics: a}")
    assert line.startswith("SSC_KAFKA: not valid JSON (")


def test_every_problem_is_reported_at_once_one_line_each() -> None:
    lines = problems(
        SSC_KAFKA__TOPICS="a,b",
        SSC_ENGINE__MAX_IN_FLIGHT="0",
        SSC_KAFKA__SESSION_TIMEOUT_MS="5",
        SSC_ENVIROMENT="prod",
    )
    assert sorted(line.split(":")[0] for line in lines) == [
        "SSC_ENGINE__MAX_IN_FLIGHT",
        "SSC_ENVIROMENT",
        "SSC_KAFKA__SESSION_TIMEOUT_MS",
        "SSC_KAFKA__TOPICS",
    ]
    assert all("\n" not in line for line in lines)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("SSC_ENVIROMENT", "SSC_ENVIRONMENT"),
        ("SSC_KAFKA_TOPICS", "SSC_KAFKA__TOPICS"),
        ("SSC_KAFKA__GROUPID", "SSC_KAFKA__GROUP_ID"),
        ("SSC_HUBSPOT__AUTH__TOKENFILE", "SSC_HUBSPOT__AUTH__TOKEN_FILE"),
        ("ssc_engine__max_inflight", "SSC_ENGINE__MAX_IN_FLIGHT"),
    ],
)
def test_an_unknown_variable_stops_the_start_with_the_closest_known_name(typo: str, meant: str) -> None:
    (line,) = problems(**{typo: "prod"})
    assert line == f"{typo.upper()}: unknown setting; did you mean {meant}?"


def test_the_local_tool_variables_and_the_config_file_variable_are_not_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSC_KAFKA_STATE_DIR", "/tmp/x")
    monkeypatch.setenv("SSC_KAFKA_HEAP", "1g")
    monkeypatch.setenv("SSC_KAFKA_PORT", "9093")
    monkeypatch.setenv("SSC_CONFIG_FILE", "/nonexistent.yaml")  # read by the CLI, not by the model
    assert load_settings().environment is Environment.DEV


def test_config_file_problems_name_the_file_and_key_and_come_with_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config_file(
        tmp_path,
        "kafka:\n  group_idd: x\n  session_timeout_ms: 5\nhubspot:\n  auth:\n    token: pat-in-file\n",
    )
    monkeypatch.setenv("SSC_ENGINE__MAX_IN_FLIGHT", "0")
    with pytest.raises(SettingsInvalid) as err:
        load_settings(cfg)
    assert sorted(err.value.problems) == sorted(
        [
            f"{cfg}: hubspot.auth.token: secrets are not read from the config file; "
            "use the environment or a *_file setting",
            f"{cfg}: kafka.group_idd: unknown setting; did you mean kafka.group_id?",
            f"{cfg}: kafka.session_timeout_ms: Input should be greater than or equal to 6000",
            "SSC_ENGINE__MAX_IN_FLIGHT: Input should be greater than or equal to 1",
        ]
    )
    assert "pat-in-file" not in str(err.value)


def test_a_config_file_that_is_not_yaml_is_one_line(tmp_path: Path) -> None:
    cfg = config_file(tmp_path, "kafka: [unclosed\n")
    with pytest.raises(SettingsInvalid) as err:
        load_settings(cfg)
    (line,) = err.value.problems
    assert line.startswith(f"{cfg}: cannot read the config file: ")


def test_an_unreadable_or_empty_secret_file_is_a_settings_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    monkeypatch.setenv("SSC_HUBSPOT__AUTH__TOKEN_FILE", str(tmp_path / "missing"))
    monkeypatch.setenv("SSC_KAFKA__SECURITY__SASL_PASSWORD_FILE", str(empty))
    monkeypatch.setenv("SSC_ENGINE__MAX_IN_FLIGHT", "0")
    with pytest.raises(SettingsInvalid) as err:
        load_settings()
    assert sorted(err.value.problems) == [
        "SSC_ENGINE__MAX_IN_FLIGHT: Input should be greater than or equal to 1",
        f"SSC_HUBSPOT__AUTH__TOKEN_FILE: cannot read the secret file {tmp_path / 'missing'}: "
        "No such file or directory",
        f"SSC_KAFKA__SECURITY__SASL_PASSWORD_FILE: the secret file {empty} is empty",
    ]


def test_a_value_is_never_echoed_in_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSC_HUBSPOT__AUTH__TOKN", "pat-typo-secret")
    monkeypatch.setenv("SSC_KAFKA__TOPICS", "pat-in-a-list")
    with pytest.raises(SettingsInvalid) as err:
        load_settings()
    assert "pat-" not in str(err.value)


# --- where each value came from -------------------------------------------------------------------


def test_the_effective_settings_name_their_source_and_redact_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config_file(tmp_path, "kafka:\n  group_id: from-file\n  client_id: from-file\n")
    monkeypatch.setenv("SSC_KAFKA__CLIENT_ID", "from-env")
    monkeypatch.setenv("SSC_HUBSPOT__AUTH__TOKEN", "pat-show-secret")
    entries = {e.name: e for e in effective_settings(cfg)}
    assert (entries["SSC_KAFKA__GROUP_ID"].value, entries["SSC_KAFKA__GROUP_ID"].source) == (
        "from-file",
        "file",
    )
    assert (entries["SSC_KAFKA__CLIENT_ID"].value, entries["SSC_KAFKA__CLIENT_ID"].source) == (
        "from-env",
        "environment",
    )
    assert (entries["SSC_ENVIRONMENT"].value, entries["SSC_ENVIRONMENT"].source) == ("dev", "default")
    assert entries["SSC_HUBSPOT__AUTH__TOKEN"].source == "environment"
    assert "pat-show-secret" not in repr(list(entries.values()))
    assert entries["SSC_KAFKA__TOPICS"].value == '["events"]'


def test_the_default_routing_file_is_the_packaged_demo_one_and_only_for_dev(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # any directory
    assert load_settings().routing_file == DEMO_ROUTING
    assert DEMO_ROUTING.is_file()
    for environment in ("qa", "prod"):
        (line,) = problems(SSC_ENVIRONMENT=environment)
        assert line == (
            f"SSC_ROUTING_FILE: required for environment {environment}: "
            "the default is the demo's routing file"
        )


@pytest.mark.parametrize("version", ["v3", "2026-03", "2026-09"])
def test_the_api_versions_hubspot_publishes_are_accepted(version: str) -> None:
    assert load_settings(hubspot={"api_version": version}).hubspot.api_version == version


@pytest.mark.parametrize("version", ["9999-99", "2025-10", "2026-04", "v4", "v1"])
def test_an_api_version_hubspot_does_not_publish_is_refused_listing_the_known_ones(
    version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSC_HUBSPOT__API_VERSION", version)
    with pytest.raises(ConfigError, match="SSC_HUBSPOT__API_VERSION") as err:
        load_settings()
    assert "v3, 2026-03, 2026-09" in str(err.value)


@pytest.mark.parametrize(
    "url", ["https://api.hubapi.com", "http://127.0.0.1:8025", "http://localhost:8025", "http://[::1]:8025"]
)
def test_https_or_loopback_http_base_urls_are_accepted(url: str) -> None:
    assert load_settings(hubspot={"base_url": url}).hubspot.base_url == url


@pytest.mark.parametrize(
    ("setting", "value"),
    [("base_url", "http://hubspot-simulator:8025"), ("base_url", "http://10.0.0.7")],
)
def test_plain_http_to_a_host_that_is_not_loopback_is_refused_unless_allowed(
    setting: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=r"SSC_HUBSPOT__BASE_URL.*ALLOW_INSECURE_HTTP"):
        load_settings(hubspot={setting: value})
    allowed = load_settings(hubspot={setting: value, "allow_insecure_http": True}).hubspot
    assert allowed.base_url == value


def test_an_absolute_http_token_url_to_a_remote_host_is_refused_unless_allowed() -> None:
    auth = {"mode": "oauth", "oauth_token_path": "http://auth.example.com/oauth/v3/token"}
    with pytest.raises(ConfigError, match="SSC_HUBSPOT__AUTH__OAUTH_TOKEN_PATH"):
        load_settings(hubspot={"auth": auth})
    assert load_settings(hubspot={"auth": auth, "allow_insecure_http": True}).hubspot.auth.oauth_token_path
    local = {**auth, "oauth_token_path": "http://127.0.0.1:9/oauth/v3/token"}
    assert load_settings(hubspot={"auth": local}).hubspot.auth.oauth_token_path.startswith("http://127")


def test_the_oauth_token_endpoint_defaults_to_v3() -> None:
    assert load_settings().hubspot.auth.oauth_token_path == "/oauth/v3/token"


def test_the_recipient_hash_key_comes_from_env_or_a_file_never_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("observability:\n  recipient_hash_key: " + "x" * 40 + "\n")
    with pytest.raises(ConfigError, match=r"observability\.recipient_hash_key"):
        load_settings(cfg)

    assert recipient_hasher(load_settings().observability) is None
    key_file = tmp_path / "recipient-key"
    key_file.write_text("f" * 64 + "\n")
    monkeypatch.setenv("SSC_OBSERVABILITY__RECIPIENT_HASH_KEY_FILE", str(key_file))
    from_file = recipient_hasher(load_settings().observability)
    monkeypatch.delenv("SSC_OBSERVABILITY__RECIPIENT_HASH_KEY_FILE")
    monkeypatch.setenv("SSC_OBSERVABILITY__RECIPIENT_HASH_KEY", "f" * 64)
    from_env = recipient_hasher(load_settings().observability)
    assert from_file is not None
    assert from_env is not None
    assert from_file("a@example.com") == from_env("a@example.com")
    assert repr(load_settings().observability.recipient_hash_key) == "SecretStr('**********')"

    monkeypatch.setenv("SSC_OBSERVABILITY__RECIPIENT_HASH_KEY", "too-short")
    with pytest.raises(ConfigError, match="SSC_OBSERVABILITY__RECIPIENT_HASH_KEY") as err:
        recipient_hasher(load_settings().observability)
    assert "too-short" not in str(err.value)
