"""Start-up configuration of the HubSpot simulator, usable from Python and from the CLI.

:class:`SimulatorConfig` is frozen; the run-time-changeable part is :class:`Faults` (a mutable copy
lives in the running state, ``POST /_simulator/faults`` changes it and ``reset`` restores the start
values). The ``parse_*`` helpers turn CLI strings into these values and raise ``ValueError`` with a
message naming the flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from consumer.settings import KNOWN_API_VERSIONS

DEFAULT_ERROR_STATUSES = (500, 502, 503, 504)
DATED_API_VERSIONS = tuple(v for v in KNOWN_API_VERSIONS if v != "v3")
"""The dated Single Send versions HubSpot publishes (the ``v3`` path is served beside them)."""
WINDOW_STATUSES = (401, 503, 477)


@dataclass(frozen=True, slots=True)
class Template:
    """A published transactional email: ``emailId`` and the property names it requires."""

    email_id: int
    required: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecipientRule:
    """Recipients matching ``pattern`` (fnmatch, case-insensitive) get ``send_result`` (no email)."""

    pattern: str
    send_result: str


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """An installed OAuth app: its credentials and the refresh token it was given at install."""

    client_id: str
    client_secret: str
    refresh_token: str


@dataclass(slots=True)
class Window:
    """A timed fault: every API request answers ``status`` (with ``Retry-After``) until ``until``."""

    status: int
    until: float
    retry_after_s: float | None = None


@dataclass(slots=True)
class Faults:
    """Fault injection; all probabilities are per request in [0, 1]."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0  # uniform extra in [0, jitter]
    error_rate: float = 0.0  # probability of a 5xx before anything is recorded
    error_statuses: tuple[int, ...] = DEFAULT_ERROR_STATUSES
    error_retry_after_s: float | None = None
    rate_429: float = 0.0  # probability of a ten-secondly 429 (independent of the rate limiter)
    retry_after_429_s: float | None = None  # Retry-After on injected 429s (None: header absent)
    hang_rate: float = 0.0  # accept-then-hang: record the email, answer after hang_s
    hang_s: float = 30.0
    windows: list[Window] = field(default_factory=list)

    def copy(self) -> Faults:
        return Faults(**{f.name: getattr(self, f.name) for f in fields(self) if f.name != "windows"})

    def update(self, changes: dict[str, Any], now: float) -> None:
        """Apply a JSON change set (``POST /_simulator/faults``); ``ValueError`` names a bad key."""
        for key, value in changes.items():
            if key == "window":
                self.add_window(value, now)
            elif key == "clear_windows":
                if value:
                    self.windows.clear()
            elif key == "error_statuses":
                statuses = tuple(int(s) for s in value)
                if not statuses or any(not 500 <= s < 600 for s in statuses):
                    raise ValueError("error_statuses: 5xx codes only")
                self.error_statuses = statuses
            elif key in ("error_retry_after_s", "retry_after_429_s"):
                setattr(self, key, None if value is None else _non_negative(key, value))
            elif key in ("error_rate", "rate_429", "hang_rate"):
                number = _non_negative(key, value)
                if number > 1:
                    raise ValueError(f"{key}: a probability in [0, 1]")
                setattr(self, key, number)
            elif key in ("latency_ms", "latency_jitter_ms", "hang_s"):
                setattr(self, key, _non_negative(key, value))
            else:
                raise ValueError(f"unknown fault setting: {key}")

    def add_window(self, spec: Any, now: float) -> Window:
        if not isinstance(spec, dict):
            raise TypeError("window: an object {status, seconds, retry_after}")
        status = int(spec.get("status", 0))
        if status not in WINDOW_STATUSES:
            raise ValueError(f"window.status: one of {WINDOW_STATUSES}")
        seconds = _non_negative("window.seconds", spec.get("seconds", 0))
        retry_after = spec.get("retry_after")
        window = Window(status, now + seconds, None if retry_after is None else float(retry_after))
        self.windows.append(window)
        return window

    def active_window(self, now: float) -> Window | None:
        if not self.windows:
            return None
        self.windows[:] = [w for w in self.windows if w.until > now]
        return self.windows[0] if self.windows else None

    def to_json(self, now: float) -> dict[str, Any]:
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "windows"}
        data["error_statuses"] = list(self.error_statuses)
        data["windows"] = [
            {"status": w.status, "seconds_left": round(w.until - now, 3), "retry_after": w.retry_after_s}
            for w in self.windows
            if w.until > now
        ]
        return data


def _non_negative(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: a number") from None
    if not number >= 0 or number == float("inf"):
        raise ValueError(f"{key}: must be >= 0")
    return number


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything the simulator is started with. With no tokens and no OAuth clients, any credential
    is accepted ("open" mode, for demos); with no templates, any ``emailId`` is accepted."""

    tokens: tuple[str, ...] = ()
    tokens_without_scope: tuple[str, ...] = ()
    templates: tuple[Template, ...] = ()
    rules: tuple[RecipientRule, ...] = ()
    oauth_clients: tuple[OAuthClient, ...] = ()
    access_token_ttl_s: float = 1800.0
    rotate_refresh_tokens: bool = False
    rate_limit: int | None = None  # requests per interval per credential; None: unlimited
    rate_interval_ms: int = 10_000
    rate_limit_retry_after_s: float | None = None  # Retry-After on the limiter's 429 (unverified)
    # hide the limit: no X-HubSpot-RateLimit-* headers, refuse with "429" or a 200 "THROTTLED" result
    rate_limit_hidden: str | None = None
    daily_limit: int | None = None
    daily_retry_after_s: float | None = None  # Retry-After on DAILY 429s; None: until the portal's midnight
    daily_retry_after: bool = True  # False: DAILY 429s carry no Retry-After (HubSpot's is unverified)
    portal_timezone: str = "UTC"  # the DAILY budget resets at midnight in this IANA time zone
    portal_id: int = 62_515_001  # the hub id of every credential but those in token_portals
    token_portals: tuple[tuple[str, int], ...] = ()  # (token, hub id): a token of another portal
    api_versions: tuple[str, ...] = DATED_API_VERSIONS  # dated path versions served
    unknown_version_body: bool = True  # an unknown version: 404 with HubSpot's JSON body, else empty
    allow_hapikey: bool = False  # ?hapikey= is refused (401) unless set: HubSpot sunset API keys
    idempotent_fail: bool = False  # a sendId repeated with a different body: IDEMPOTENT_FAIL
    complete_after_ms: float = 0.0  # send-statuses says COMPLETE this long after acceptance
    missing_properties_status: int = 200  # 200: sendResult MISSING_TEMPLATE_PROPERTIES; 400: error
    strict_dated_required: bool = False  # dated paths require every field their spec marks required
    faults: Faults = field(default_factory=Faults)
    ledger: Path | None = None
    seed: int | None = None

    @property
    def open_auth(self) -> bool:
        return not (self.tokens or self.tokens_without_scope or self.oauth_clients)


def parse_template(text: str) -> Template:
    """``EMAIL_ID`` or ``EMAIL_ID:prop,prop`` (required property names)."""
    head, _, props = text.partition(":")
    try:
        email_id = int(head)
    except ValueError:
        raise ValueError(f"--template: EMAIL_ID[:prop,prop], got {text!r}") from None
    return Template(email_id, tuple(p.strip() for p in props.split(",") if p.strip()))


def parse_rule(text: str) -> RecipientRule:
    """``PATTERN=SEND_RESULT`` (e.g. ``*@bounce.test=PREVIOUSLY_BOUNCED``)."""
    pattern, sep, result = text.rpartition("=")
    if not sep or not pattern or not re.fullmatch(r"[A-Z_]+", result):
        raise ValueError(f"--result: PATTERN=SEND_RESULT, got {text!r}")
    return RecipientRule(pattern, result)


def parse_oauth_client(text: str) -> OAuthClient:
    """``CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN``."""
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise ValueError("--oauth-client: CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN")
    return OAuthClient(*parts)


_RATE = re.compile(r"^(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(ms|s)?$")


HIDDEN_REFUSALS = ("429", "THROTTLED")


def parse_hidden_limit(text: str | None) -> str | None:
    """``429`` or ``throttled`` (any case): how a hidden rate limit refuses."""
    if text is None:
        return None
    if text.upper() not in HIDDEN_REFUSALS:
        raise ValueError(f"--hidden-limit: 429 or throttled, got {text!r}")
    return text.upper()


def parse_rate_limit(text: str) -> tuple[int, int]:
    """``N/INTERVAL`` with INTERVAL in s (default) or ms: ``100/10s``, ``50/1``, ``190/10000ms``."""
    match = _RATE.match(text.strip())
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"--rate-limit: N/INTERVAL like 100/10s, got {text!r}")
    amount, unit = float(match.group(2)), match.group(3) or "s"
    interval_ms = int(amount if unit == "ms" else amount * 1000)
    if interval_ms < 1:
        raise ValueError("--rate-limit: interval must be positive")
    return int(match.group(1)), interval_ms


def parse_token_portal(text: str) -> tuple[str, int]:
    """``TOKEN=HUB_ID``: an accepted token that belongs to another portal."""
    token, sep, hub = text.rpartition("=")
    if not sep or not token or not hub.isdigit():
        raise ValueError(f"--token-portal: TOKEN=HUB_ID, got {text!r}")
    return token, int(hub)
