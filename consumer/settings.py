"""Typed, frozen settings: the values every module is given (no I/O, no environment).

One section per concern (``kafka``, ``hubspot``, ``engine``, ...), each a frozen pydantic model that
validates itself; :class:`Settings` holds them all. ``environment`` (dev / qa / prod) selects the
``emailId`` column of the routing file.

Where the values come from (environment variables, the YAML config file, secret files) is the
loader's business: :mod:`consumer.settings_loader`, the only module that reads them.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from enum import StrEnum
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from consumer.samples import DEMO_ROUTING


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
    leave_group_on_stop: bool = Field(
        default=False,
        description="a static member leaves the group on every stop, not only after --until-drained",
    )
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
    oauth_token_path: str = "/oauth/v3/token"
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
    mode: Literal["discover", "fixed"] = Field(
        default="discover",
        description=(
            "without rate-limit headers: discover (start at requests_per_interval, raise the rate while"
            " HubSpot accepts, back off on pushback) or fixed (requests_per_interval is the cap)"
        ),
    )
    share_by_partitions: bool = Field(
        default=True,
        description=(
            "replicas of one group split the app's window by the partitions each owns (replaces"
            " replica_share once the assignment is known)"
        ),
    )
    discover_max_per_s: float = Field(
        default=10_000.0, gt=0, description="highest rate (requests/s) discovery may reach"
    )


KNOWN_API_VERSIONS = ("v3", "2026-03", "2026-09")
"""The Single Send path versions HubSpot publishes: ``v3`` (retired in September 2027) and the dated
versions (one each March and September since 2026-03). A version HubSpot does not serve would
answer every send with a 404, so an unknown one is refused at start."""


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, *, allow_http: bool, what: str) -> None:
    """``url`` is https, or http to a loopback host, or http anywhere when ``allow_http``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http(s) URL with a host, got {url!r}")
    if parts.scheme == "http" and not allow_http and not _is_loopback(parts.hostname):
        raise ValueError(
            f"{what} {url!r} is plain http to a host that is not loopback: the credential would cross "
            "the network unencrypted; use https, or set SSC_HUBSPOT__ALLOW_INSECURE_HTTP=true "
            "(a simulator in a private network)"
        )


class HubSpotSettings(_Section):
    base_url: str = "https://api.hubapi.com"
    api_version: str = "v3"
    auth: AuthSettings = AuthSettings()
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=15.0, gt=0)
    attempt_timeout_s: float = Field(
        default=30.0, gt=0, description="deadline of one attempt: DNS, pool wait, connect, send, whole answer"
    )
    use_env_proxy: bool = Field(
        default=True, description="route through HTTPS_PROXY / HTTP_PROXY, except NO_PROXY hosts"
    )
    allow_insecure_http: bool = Field(
        default=False, description="allow an http:// base or token URL to a host that is not loopback"
    )
    portal_id: int | None = Field(
        default=None, ge=1, description="the hub id this environment must send from (unset: no portal guard)"
    )
    portal_unknown: Literal["pause", "send"] = Field(
        default="pause", description="when HubSpot cannot tell a credential's portal: pause, or send anyway"
    )
    portal_timezone: str = Field(
        default="UTC",
        description="the portal's IANA time zone: HubSpot resets the DAILY limit at its midnight",
    )
    retry: RetrySettings = RetrySettings()
    rate_limit: RateLimitSettings = RateLimitSettings()

    @property
    def trust_env_proxy(self) -> bool:
        """Whether HTTP(S)_PROXY / NO_PROXY apply: ``use_env_proxy``, and never for a loopback base
        URL (a local simulator is not reached through a corporate proxy)."""
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        return self.use_env_proxy and not _is_loopback(host)

    @field_validator("api_version")
    @classmethod
    def _known_api_version(cls, value: str) -> str:
        if value not in KNOWN_API_VERSIONS:
            raise ValueError(
                f"unknown HubSpot API version {value!r}; known versions: {', '.join(KNOWN_API_VERSIONS)}"
            )
        return value

    @field_validator("portal_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"not an IANA time zone (such as Europe/Berlin): {value!r}") from None
        return value

    @model_validator(mode="after")
    def _urls_are_safe(self) -> HubSpotSettings:
        _check_url(self.base_url, allow_http=self.allow_insecure_http, what="SSC_HUBSPOT__BASE_URL")
        token_path = self.auth.oauth_token_path
        if "://" in token_path:
            _check_url(
                token_path, allow_http=self.allow_insecure_http, what="SSC_HUBSPOT__AUTH__OAUTH_TOKEN_PATH"
            )
        return self

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
    start_batch: int = Field(
        default=4,
        ge=1,
        description="while more records are ready than slots are free, start them once this many of the "
        "max_in_flight slots are free (the largest divisor of max_in_flight up to it; 1: as soon as one is)",
    )
    event_loop: Literal["auto", "asyncio", "uvloop"] = Field(
        default="auto",
        description="auto: uvloop when installed (the uvloop extra), else asyncio; asyncio: never uvloop",
    )
    gc_threshold: int = Field(
        default=5_000,
        ge=0,
        description="net allocations between collections of the young generation while `consumer run` runs "
        "(Python's default is 700); 0 keeps Python's garbage-collector settings",
    )
    ordering: Ordering = Ordering.KEY
    partition_window: int = Field(default=2_000, ge=1, description="uncommitted records per partition")
    commit_every: int = Field(default=500, ge=1, description="commit after this many completions")
    commit_interval_ms: int = Field(default=1_000, ge=10)
    commit_metadata_max_bytes: int = Field(
        default=4_096,
        ge=0,
        le=1_048_576,
        description="room for the done offsets above the committed position in each commit's metadata "
        "(at most the broker's offset.metadata.max.bytes; 0: commit none)",
    )
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
    host: str = Field(
        default="127.0.0.1",
        description="loopback by default (a laptop, the demo); the image and the Kubernetes base set "
        "0.0.0.0 so probes and Prometheus reach the pod",
    )
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    recipient_hash_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of the recipient ids in logs (at least 32 characters, the same on every "
        "replica); unset: log lines carry no recipient id",
    )
    recipient_hash_key_file: Path | None = Field(default=None, description="file holding that key")


class Settings(_Section):
    """All settings of the service: built by :func:`consumer.settings_loader.load_settings` (the
    CLI: environment, config file, secret files) or directly (tests, tools)."""

    environment: Environment = Environment.DEV
    routing_file: Path = Field(default=DEMO_ROUTING, validate_default=True)
    kafka: KafkaSettings = KafkaSettings()
    dlq: DeadLetterSettings = DeadLetterSettings()
    hubspot: HubSpotSettings = HubSpotSettings()
    decode: DecodeSettings = DecodeSettings()
    engine: EngineSettings = EngineSettings()
    observability: ObservabilitySettings = ObservabilitySettings()

    @field_validator("routing_file")
    @classmethod
    def _demo_routing_only_in_dev(cls, value: Path, info: ValidationInfo) -> Path:
        environment = info.data.get("environment", Environment.DEV)
        if value == DEMO_ROUTING and environment is not Environment.DEV:
            raise ValueError(
                f"required for environment {environment.value}: the default is the demo's routing file"
            )
        return value

    @model_validator(mode="after")
    def _revoke_wait_below_rebalance_timeout(self) -> Settings:
        rebalance_ms = self.kafka.rebalance_timeout_ms or self.kafka.session_timeout_ms
        if self.engine.revoke_wait_s * 1000 >= rebalance_ms:
            raise ValueError(
                f"engine.revoke_wait_s ({self.engine.revoke_wait_s}) must stay below the rebalance timeout "
                f"({rebalance_ms} ms), or a slow revocation drops the member from the group"
            )
        return self
