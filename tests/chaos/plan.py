"""The fault timeline of a run, drawn from its seed (pure).

Discrete faults (kills, stops, broker restarts, simulator windows, node kills) are spread over the
publishing period: the period is cut into one slot per fault and each fault lands at a random point of
its slot, in a seeded random order. The driver runs them one after another and waits for the
consumer to recover from each before the next (bounded), so every recovery time belongs to exactly
one fault. Group chaos instead toggles members every ``toggle_every_s`` seconds (random in the range).
Constant background faults (429s, 500s, accept-then-hang) are simulator settings, not plan entries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from tests.chaos.profiles import Profile

FIRST_FAULT_S = 8.0  # let the member join and the pipeline warm up first


class FaultKind(StrEnum):
    CONSUMER_KILL = "consumer_sigkill"
    CONSUMER_TERM = "consumer_sigterm"
    CONSUMER_STOP = "consumer_sigstop"
    BROKER_RESTART = "broker_restart"
    OUTAGE_503 = "sim_503_window"
    AUTH_401 = "sim_401_window"
    LEADER_KILL = "leader_p0_sigkill"
    COORDINATOR_KILL = "coordinator_sigkill"
    TOGGLE = "member_toggle"

    @property
    def disruptive(self) -> bool:
        """Faults after which redelivered (already accepted) sends are allowed (I7)."""
        return self in (
            FaultKind.CONSUMER_KILL,
            FaultKind.CONSUMER_STOP,
            FaultKind.BROKER_RESTART,
            FaultKind.LEADER_KILL,
            FaultKind.COORDINATOR_KILL,
            FaultKind.TOGGLE,
        )

    @property
    def window(self) -> bool:
        return self in (FaultKind.OUTAGE_503, FaultKind.AUTH_401)


@dataclass(frozen=True, slots=True)
class Fault:
    """One planned fault. ``param`` is kind-specific: window or pause length, broker down time."""

    at_s: float
    kind: FaultKind
    param: float = 0.0
    signal: str = ""  # broker restart / toggle: SIGKILL or SIGTERM
    slot: int = 0  # group chaos: which member

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"at_s": round(self.at_s, 2), "kind": self.kind.value}
        if self.param:
            out["param"] = round(self.param, 2)
        if self.signal:
            out["signal"] = self.signal
        if self.kind is FaultKind.TOGGLE:
            out["slot"] = self.slot
        return out


def plan(profile: Profile, seed: int) -> list[Fault]:
    """The seeded fault timeline of ``profile`` (times in seconds after publishing starts)."""
    rng = random.Random(f"plan-{seed}")
    if profile.toggle_every_s is not None:
        return _toggles(profile, rng)
    kinds: list[tuple[FaultKind, float, str]] = []
    kinds += [(FaultKind.CONSUMER_KILL, 0.0, "SIGKILL")] * profile.kills
    kinds += [(FaultKind.CONSUMER_TERM, 0.0, "SIGTERM")] * profile.terms
    kinds += [(FaultKind.CONSUMER_STOP, rng.uniform(2.0, 12.0), "SIGSTOP") for _ in range(profile.stops)]
    kinds += [
        (FaultKind.BROKER_RESTART, rng.uniform(2.0, 8.0), "SIGKILL" if n % 2 == 0 else "SIGTERM")
        for n in range(profile.broker_restarts)
    ]
    kinds += [(FaultKind.OUTAGE_503, s, "") for s in profile.outages_503_s]
    kinds += [(FaultKind.AUTH_401, s, "") for s in profile.auth_401_s]
    kinds += [(FaultKind.LEADER_KILL, rng.uniform(3.0, 8.0), "SIGKILL") for _ in range(profile.leader_kills)]
    kinds += [
        (FaultKind.COORDINATOR_KILL, rng.uniform(3.0, 8.0), "SIGKILL")
        for _ in range(profile.coordinator_kills)
    ]
    rng.shuffle(kinds)
    if not kinds:
        return []
    end = profile.produce_s * 0.85
    slot = (end - FIRST_FAULT_S) / len(kinds)
    faults = []
    for n, (kind, param, sig) in enumerate(kinds):
        start = FIRST_FAULT_S + n * slot
        faults.append(Fault(start + rng.uniform(0, slot * 0.5), kind, param, sig))
    return faults


def _toggles(profile: Profile, rng: random.Random) -> list[Fault]:
    assert profile.toggle_every_s is not None
    low, high = profile.toggle_every_s
    faults: list[Fault] = []
    t = FIRST_FAULT_S
    while t < FIRST_FAULT_S + profile.toggle_for_s and len(faults) < 10_000:
        sig = "SIGKILL" if rng.random() < 0.3 else "SIGTERM"
        faults.append(Fault(t, FaultKind.TOGGLE, 0.0, sig, rng.randrange(profile.members)))
        t += rng.uniform(low, high)
    return faults
