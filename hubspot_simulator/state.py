"""What the simulator remembers: accepted emails (the ledger), counters, credentials, rate windows.

One instance per running simulator, mutated only from its event loop. ``GET /_simulator/sends`` and
``/stats`` are views of it; ``POST /_simulator/reset`` clears it (credentials go back to the start-up
set). With a ledger path, every accepted email is also appended as one JSON line.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import IO, Any

import orjson

from hubspot_simulator.config import Faults, SimulatorConfig

# version 4 (bits 76-79 = 0100) and RFC 4122 variant (bits 62-63 = 10)
_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_SET = (0x4 << 76) | (0x2 << 62)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class SendRecord:
    """One accepted email. ``attempts`` counts every request that carried its ``sendId``."""

    send_id: str | None
    email_id: int
    to: str
    contact_properties: dict[str, Any]
    custom_properties: dict[str, Any]
    status_id: str
    requested_at: str
    accepted_at: float  # loop time, for the send-status delay
    attempts: int = 1
    api_path: str = ""
    digest: bytes = b""  # of the request body: a repeat with another body is IDEMPOTENT_FAIL (opt-in)

    def to_json(self) -> dict[str, Any]:
        return {
            "sendId": self.send_id,
            "emailId": self.email_id,
            "to": self.to,
            "contactProperties": self.contact_properties,
            "customProperties": self.custom_properties,
            "attempts": self.attempts,
            "firstAcceptedAt": self.requested_at,
            "statusId": self.status_id,
            "path": self.api_path,
        }


@dataclass(slots=True)
class AccessToken:
    client_id: str
    expires_at: float


@dataclass(slots=True)
class RateWindow:
    """HubSpot-style rolling window per credential (rejected requests are not counted)."""

    times: deque[float] = field(default_factory=deque)
    day_count: int = 0
    day: str = ""  # the portal's date day_count belongs to: the DAILY budget resets at its midnight

    def count_today(self, zone: tzinfo = UTC) -> int:
        today = datetime.now(zone).date().isoformat()
        if today != self.day:
            self.day, self.day_count = today, 0
        return self.day_count

    def remaining(self, now: float, limit: int, interval_s: float) -> int:
        edge = now - interval_s
        while self.times and self.times[0] <= edge:
            self.times.popleft()
        return limit - len(self.times)


class SimState:
    """Mutable state of one simulator run."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.faults: Faults = config.faults.copy()
        self._ledger: IO[bytes] | None = None
        # (path, raw body) of every send request when a test sets it to a list (conformance tests)
        self.captured: list[tuple[str, bytes]] | None = None
        if config.ledger is not None:
            config.ledger.parent.mkdir(parents=True, exist_ok=True)
            self._ledger = config.ledger.open("ab")  # closed by close()
        self.reset(faults=False)

    def reset(self, *, faults: bool = True) -> None:
        """Forget every send, counter, issued OAuth token and rate window; restore start-up credentials."""
        cfg = self.config
        self.sends: dict[str, SendRecord] = {}
        self.by_status_id: dict[str, SendRecord] = {}
        self.by_status: Counter[str] = Counter()
        self.by_outcome: Counter[str] = Counter()
        self.requests = 0
        self.duplicates_prevented = 0
        self.hangs = 0
        self.oauth_refreshes = 0
        self.tokens: set[str] = set(cfg.tokens)
        self.tokens_without_scope: set[str] = set(cfg.tokens_without_scope)
        # published transactional emails: emailId -> required property names (empty: any emailId)
        self.templates: dict[int, tuple[str, ...]] = {t.email_id: t.required for t in cfg.templates}
        self.refresh_tokens: dict[str, str] = {c.refresh_token: c.client_id for c in cfg.oauth_clients}
        self.oauth_clients = {c.client_id: c.client_secret for c in cfg.oauth_clients}
        # authorization codes of the consent page, single use: code -> (client id, redirect URI)
        self.auth_codes: dict[str, tuple[str, str]] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.rate_windows: dict[str, RateWindow] = {}
        self.open_auth = cfg.open_auth
        if faults:
            self.faults = cfg.faults.copy()

    def new_id(self) -> str:
        """A version-4 UUID from the seeded generator (deterministic with ``--seed``)."""
        bits = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def count(self, status: int, outcome: str) -> None:
        self.by_status[str(status)] += 1
        self.by_outcome[outcome] += 1

    def accept(self, record: SendRecord) -> None:
        key = record.send_id if record.send_id is not None else f"status:{record.status_id}"
        self.sends[key] = record
        self.by_status_id[record.status_id] = record
        if self._ledger is not None:
            line = record.to_json()
            line["acceptedAt"] = line.pop("firstAcceptedAt")
            self._ledger.write(orjson.dumps(line) + b"\n")
            self._ledger.flush()

    def sends_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.sends.values()]

    def stats_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "accepted": len(self.sends),
            "duplicates_prevented": self.duplicates_prevented,
            "hangs": self.hangs,
            "oauth_refreshes": self.oauth_refreshes,
            "by_status": dict(self.by_status),
            "by_outcome": dict(self.by_outcome),
        }

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
