"""Typed, frozen settings, built once at the edge (the CLI) and passed down.

Sources, highest priority first: explicit arguments (tests), environment variables with the prefix
``SSC_`` and ``__`` for nesting (``SSC_KAFKA__BOOTSTRAP_SERVERS``), then an optional YAML config file
(``--config`` / ``SSC_CONFIG_FILE``). Secrets (HubSpot token, OAuth client secret and refresh token,
hapikey, SASL password) come from the environment or from a mounted file (``*_file``), never from the
config file or argv: a config file that sets one is refused.

``environment`` (dev / qa / prod) selects the ``emailId`` column of the routing file.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from consumer.errors import ConfigError

ENV_PREFIX = "SSC_"


class Environment(StrEnum):
    DEV = "dev"
    QA = "qa"
    PROD = "prod"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSecurity(_Section):
    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSecurity:
        if self.protocol.startswith("SASL") and (self.sasl_mechanism is None or self.sasl_username is None):
            raise ValueError("SASL protocols need sasl_mechanism and sasl_username")
        return self


class KafkaSettings(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    topics: tuple[str, ...] = ("events",)
    topic_pattern: str | None = Field(
        default=None, description="regex; when set, subscribe by pattern instead of `topics`"
    )
    group_id: str = "single-send-consumer"
    group_instance_id: str | None = Field(default=None, description="static membership (e.g. the pod name)")
    client_id: str = "single-send-consumer"
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    session_timeout_ms: int = Field(default=30_000, ge=6_000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    max_poll_interval_ms: int = Field(default=300_000, ge=10_000)
    rebalance_timeout_ms: int | None = Field(default=None, description="defaults to session_timeout_ms")
    max_poll_records: int = Field(default=500, ge=1)
    fetch_max_wait_ms: int = Field(default=250, ge=0)
    request_timeout_ms: int = Field(default=40_000, ge=1_000)
    security: KafkaSecurity = KafkaSecurity()


class DeadLetterSettings(_Section):
    topic: str | None = Field(default=None, description="fixed DLQ topic; default `<source topic><suffix>`")
    suffix: str = ".dlq"
    send_timeout_s: float = Field(default=30.0, gt=0)

    def topic_for(self, source_topic: str) -> str:
        return self.topic or f"{source_topic}{self.suffix}"


class AuthMode(StrEnum):
    TOKEN = "token"  # private-app access token or service key (Bearer)
    OAUTH = "oauth"  # OAuth 2.0 refresh-token flow
    HAPIKEY = "hapikey"  # legacy portal API key (sunset by HubSpot 2022-11-30)


class AuthSettings(_Section):
    mode: AuthMode = AuthMode.TOKEN
    token: SecretStr | None = None
    token_file: Path | None = Field(default=None, description="re-read after a 401 (rotated secrets)")
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = None
    oauth_client_secret_file: Path | None = None
    oauth_refresh_token: SecretStr | None = None
    oauth_refresh_token_file: Path | None = None
    oauth_token_path: str = "/oauth/v1/token"
    oauth_refresh_margin_s: float = Field(default=300.0, ge=0)
    hapikey: SecretStr | None = None
    hapikey_file: Path | None = None


class RetrySettings(_Section):
    initial_backoff_s: float = Field(default=0.5, gt=0)
    max_backoff_s: float = Field(default=30.0, gt=0)
    budget_s: float = Field(default=120.0, gt=0, description="give up retrying one request after this long")
    max_retry_after_s: float = Field(default=3600.0, gt=0, description="cap on a Retry-After we honour")
    jitter: bool = Field(
        default=True, description="full jitter: sleep uniform(0, capped exponential backoff)"
    )


class RateLimitSettings(_Section):
    requests_per_interval: int = Field(default=100, ge=1, description="HubSpot budget per credential")
    interval_ms: int = Field(default=10_000, ge=100)
    replica_share: float = Field(
        default=1.0, gt=0, le=1.0, description="static share of the budget this replica may use (1/replicas)"
    )
    adapt_from_headers: bool = Field(
        default=True,
        description="follow X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds (per app)",
    )
    window_guard_ratio: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="count a send against the budget this much longer than the interval (latency skew)",
    )
    no_retry_after_pause_s: float = Field(
        default=0.0,
        ge=0,
        description="full stop after a 429 without Retry-After (0: the sending rate is only capped)",
    )


class HubSpotSettings(_Section):
    base_url: str = "https://api.hubapi.com"
    api_version: str = Field(default="v3", pattern=r"^(v3|\d{4}-\d{2})$")
    auth: AuthSettings = AuthSettings()
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=15.0, gt=0)
    retry: RetrySettings = RetrySettings()
    rate_limit: RateLimitSettings = RateLimitSettings()

    @property
    def send_path(self) -> str:
        if self.api_version == "v3":
            return "/marketing/v3/transactional/single-email/send"
        return f"/marketing/transactional/{self.api_version}/single-email/send"


class DecodeSettings(_Section):
    max_bytes: int = Field(default=64 * 1024, ge=256)
    max_depth: int = Field(default=32, ge=2)


class Ordering(StrEnum):
    KEY = "key"
    PARTITION = "partition"
    UNORDERED = "unordered"


class EngineSettings(_Section):
    max_in_flight: int = Field(default=64, ge=1)
    ordering: Ordering = Ordering.KEY
    partition_window: int = Field(default=2_000, ge=1, description="uncommitted records per partition")
    commit_every: int = Field(default=500, ge=1, description="commit after this many completions")
    commit_interval_ms: int = Field(default=1_000, ge=10)
    revoke_wait_s: float = Field(default=10.0, ge=0, description="wait for in-flight sends on revoke")
    drain_deadline_s: float = Field(default=20.0, ge=0, description="SIGTERM drain deadline")
    # transient breaker: sustained RETRY-class failures pause the pipeline
    transient_failures_to_open: int = Field(default=20, ge=1)
    probe_interval_s: float = Field(default=5.0, gt=0, description="first probe delay while paused")
    max_probe_interval_s: float = Field(default=60.0, gt=0, description="probe delay doubles up to this")
    # mass-DLQ breaker: a burst of PERMANENT outcomes is a config error, not bad events
    mass_dlq_window: int = Field(default=200, ge=10)
    mass_dlq_ratio: float = Field(default=0.2, gt=0, le=1)
    mass_dlq_consecutive: int = Field(default=25, ge=1)
    mass_dlq_min_events: int = Field(default=50, ge=1)


class ObservabilitySettings(_Section):
    host: str = "0.0.0.0"  # noqa: S104 - probes and Prometheus reach the pod from outside
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"


_SECRET_KEYS = {
    ("hubspot", "auth", "token"),
    ("hubspot", "auth", "oauth_client_secret"),
    ("hubspot", "auth", "oauth_refresh_token"),
    ("hubspot", "auth", "hapikey"),
    ("kafka", "security", "sasl_password"),
}


class _YamlFileSource(PydanticBaseSettingsSource):
    """Reads the optional YAML config file; refuses secrets in it."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {self.path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {self.path} must be a mapping")
        for path in _SECRET_KEYS:
            node: Any = data
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if node is not None:
                raise ConfigError(
                    "secrets are not read from the config file; use the environment or a *_file setting",
                    field=".".join(path),
                )
        return data


class Settings(BaseSettings):
    """All settings of the service. Build with :func:`load_settings` (CLI) or directly (tests)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        case_sensitive=False,
    )
    _config_file: ClassVar[Path | None] = None

    environment: Environment = Environment.DEV
    routing_file: Path = Path("deploy/local/routing.yaml")
    kafka: KafkaSettings = KafkaSettings()
    dlq: DeadLetterSettings = DeadLetterSettings()
    hubspot: HubSpotSettings = HubSpotSettings()
    decode: DecodeSettings = DecodeSettings()
    engine: EngineSettings = EngineSettings()
    observability: ObservabilitySettings = ObservabilitySettings()

    @model_validator(mode="after")
    def _revoke_wait_below_rebalance_timeout(self) -> Settings:
        rebalance_ms = self.kafka.rebalance_timeout_ms or self.kafka.session_timeout_ms
        if self.engine.revoke_wait_s * 1000 >= rebalance_ms:
            raise ValueError(
                f"engine.revoke_wait_s ({self.engine.revoke_wait_s}) must stay below the rebalance timeout "
                f"({rebalance_ms} ms), or a slow revocation drops the member from the group"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _YamlFileSource(settings_cls, cls._config_file)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from env + optional file; a validation error becomes a ConfigError naming the field."""
    Settings._config_file = config_file
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "__".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(first["msg"], field=f"{ENV_PREFIX}{field}" if field else None) from exc
    finally:
        Settings._config_file = None
