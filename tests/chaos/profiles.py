"""The runs of the reliability suite and the consumer settings they use (docs/development/).

A :class:`Profile` fixes sizes and fault counts; the seed fixes everything random (events, poison
positions, fault times and kinds). :class:`Tuning` is the consumer configuration every run uses: tuned
for fast recovery (short session timeout, frequent commits, short probe interval) — the invariants'
bounds are derived from it, never loosened to make a run pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace


@dataclass(frozen=True, slots=True)
class Tuning:
    """Consumer settings of every member (``SSC_*``); the bounds below are computed from them."""

    max_in_flight: int = 64
    commit_every: int = 500
    commit_interval_ms: int = 200
    session_timeout_ms: int = 6_000
    heartbeat_interval_ms: int = 1_000
    rebalance_timeout_ms: int = 15_000
    revoke_wait_s: float = 4.0
    drain_deadline_s: float = 20.0
    transient_failures_to_open: int = 20
    probe_interval_s: float = 0.5
    max_probe_interval_s: float = 2.0
    read_timeout_s: float = 2.0
    initial_backoff_s: float = 0.05
    max_backoff_s: float = 0.5
    retry_budget_s: float = 10.0
    no_retry_after_pause_s: float = 0.05

    def env(self) -> dict[str, str]:
        return {
            "SSC_ENGINE__MAX_IN_FLIGHT": str(self.max_in_flight),
            "SSC_ENGINE__COMMIT_EVERY": str(self.commit_every),
            "SSC_ENGINE__COMMIT_INTERVAL_MS": str(self.commit_interval_ms),
            "SSC_ENGINE__REVOKE_WAIT_S": str(self.revoke_wait_s),
            "SSC_ENGINE__DRAIN_DEADLINE_S": str(self.drain_deadline_s),
            "SSC_ENGINE__TRANSIENT_FAILURES_TO_OPEN": str(self.transient_failures_to_open),
            "SSC_ENGINE__PROBE_INTERVAL_S": str(self.probe_interval_s),
            "SSC_ENGINE__MAX_PROBE_INTERVAL_S": str(self.max_probe_interval_s),
            "SSC_KAFKA__SESSION_TIMEOUT_MS": str(self.session_timeout_ms),
            "SSC_KAFKA__HEARTBEAT_INTERVAL_MS": str(self.heartbeat_interval_ms),
            "SSC_KAFKA__REBALANCE_TIMEOUT_MS": str(self.rebalance_timeout_ms),
            "SSC_HUBSPOT__CONNECT_TIMEOUT_S": "2",
            "SSC_HUBSPOT__READ_TIMEOUT_S": str(self.read_timeout_s),
            "SSC_HUBSPOT__RETRY__INITIAL_BACKOFF_S": str(self.initial_backoff_s),
            "SSC_HUBSPOT__RETRY__MAX_BACKOFF_S": str(self.max_backoff_s),
            "SSC_HUBSPOT__RETRY__BUDGET_S": str(self.retry_budget_s),
            # the simulator's budget (runner.RATE_BUDGET per 10 s): the limiter is never the bottleneck
            "SSC_HUBSPOT__RATE_LIMIT__REQUESTS_PER_INTERVAL": "1000000",
            "SSC_HUBSPOT__RATE_LIMIT__INTERVAL_MS": "10000",
            # injected 429s carry no Retry-After; HubSpot's ten-secondly 429 is short-lived
            "SSC_HUBSPOT__RATE_LIMIT__NO_RETRY_AFTER_PAUSE_S": str(self.no_retry_after_pause_s),
        }


@dataclass(frozen=True, slots=True)
class Bounds:
    """The pass bounds of the invariants (docs/results/reliability.md), derived from :class:`Tuning`."""

    kill_recovery_s: float  # I9: session timeout + 10 s
    broker_recovery_s: float = 30.0  # I9: broker back
    window_recovery_s: float = 15.0  # after a 503/401 window ends (probe cap + catch-up)
    stuck_s: float = 90.0  # I10
    stop_s: float = 25.0  # I11
    partition_progress_s: float = 60.0  # group chaos: every partition within 60 s of the last toggle
    rss_growth_mb: float = 40.0  # I12: peak after warm-up minus RSS at the end of warm-up
    warmup_s: float = 10.0  # I12: imports, first fetch, connection pools


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    events: int
    poison: int  # half malformed, half rejected with 400 by the simulator
    terminal: int  # recipients the simulator answers PREVIOUSLY_BOUNCED (done, no email, no DLQ)
    partitions: int
    members: int  # consumer processes
    nodes: int  # Kafka nodes
    produce_s: float  # events are published at a steady rate over this long
    kills: int = 0  # consumer SIGKILLs
    terms: int = 0  # consumer SIGTERMs mid-stream (clean stop, restart: I11)
    stops: int = 0  # consumer SIGSTOPs (then SIGCONT)
    broker_restarts: int = 0  # single node: SIGKILL or SIGTERM, start again on the same data
    outages_503_s: tuple[float, ...] = ()  # simulator 503 windows (with Retry-After)
    auth_401_s: tuple[float, ...] = ()  # simulator 401 windows
    rate_429: float = 0.0
    error_500: float = 0.0
    hang_rate: float = 0.0  # accept-then-hang
    hang_s: float = 3.0
    leader_kills: int = 0  # 3 nodes: SIGKILL the leader of partition 0
    coordinator_kills: int = 0  # 3 nodes: SIGKILL the group coordinator
    toggle_every_s: tuple[float, float] | None = None  # group chaos: members toggled at this spacing
    toggle_for_s: float = 0.0
    latency_ms: float = 3.0
    latency_jitter_ms: float = 7.0
    timeout_s: float = 330.0  # whole run, including broker start and checks
    drain_timeout_s: float = 120.0
    tuning: Tuning = field(default_factory=Tuning)

    @property
    def bounds(self) -> Bounds:
        return Bounds(kill_recovery_s=self.tuning.session_timeout_ms / 1000 + 10.0)

    @property
    def disruptive_faults(self) -> int:
        """Faults after which redelivery is allowed (I7): every fault but a clean SIGTERM and windows."""
        return self.kills + self.stops + self.broker_restarts + self.leader_kills + self.coordinator_kills


PROFILES: dict[str, Profile] = {
    # CI-sized (.ci/run via tests/chaos/test_chaos_ci.py, <= 6 min including broker start)
    "ci": Profile(
        name="ci",
        events=20_000,
        poison=100,
        terminal=100,
        partitions=6,
        members=1,
        nodes=1,
        produce_s=150.0,
        kills=5,
        terms=1,
        broker_restarts=1,
        outages_503_s=(20.0,),
        rate_429=0.10,
        hang_rate=0.01,
        timeout_s=340.0,
    ),
    "soak": Profile(
        name="soak",
        events=100_000,
        poison=500,
        terminal=500,
        partitions=6,
        members=1,
        nodes=1,
        produce_s=900.0,
        kills=20,
        terms=3,
        stops=5,
        broker_restarts=3,
        outages_503_s=(20.0, 20.0, 20.0),
        auth_401_s=(20.0,),
        rate_429=0.10,
        error_500=0.02,
        hang_rate=0.01,
        timeout_s=1_500.0,
        drain_timeout_s=300.0,
    ),
    "group": Profile(
        name="group",
        events=50_000,
        poison=250,
        terminal=250,
        partitions=12,
        members=3,
        nodes=1,
        produce_s=300.0,
        toggle_every_s=(2.0, 10.0),
        toggle_for_s=300.0,
        timeout_s=800.0,
        drain_timeout_s=240.0,
    ),
    "failover": Profile(
        name="failover",
        events=30_000,
        poison=100,
        terminal=100,
        partitions=6,
        members=1,
        nodes=3,
        produce_s=300.0,
        leader_kills=5,
        coordinator_kills=2,
        timeout_s=900.0,
        drain_timeout_s=240.0,
    ),
}


def customise(profile: Profile, overrides: dict[str, str]) -> Profile:
    """``profile`` with fields replaced from text (``--set rate_429=0``, ``--set outages_503_s=20,20``);
    for diagnosis only: the report of such a run records the overrides."""
    known = {f.name for f in fields(Profile)} - {"name", "tuning"}
    changes: dict[str, object] = {}
    for key, text in overrides.items():
        if key not in known:
            raise ValueError(f"--set {key}: not a profile field ({', '.join(sorted(known))})")
        current = getattr(profile, key)
        if isinstance(current, tuple) or current is None:
            parsed = tuple(float(x) for x in text.split(",") if x.strip())
            changes[key] = parsed if parsed or current is not None else None
        else:
            changes[key] = type(current)(text)
    return replace(profile, **changes)  # type: ignore[arg-type]
