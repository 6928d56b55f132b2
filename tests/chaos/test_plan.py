"""The fault plan is reproducible from the seed, holds exactly the profile's faults, inside the
publishing period and in order; group chaos toggles members at the profile's spacing."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.chaos.plan import FIRST_FAULT_S, FaultKind, plan
from tests.chaos.profiles import PROFILES, customise


@pytest.mark.parametrize("name", ["ci", "soak", "failover"])
def test_the_plan_holds_the_profiles_faults_in_order_inside_the_publishing_period(name: str) -> None:
    profile = PROFILES[name]
    faults = plan(profile, 42)
    kinds = Counter(f.kind for f in faults)
    assert kinds[FaultKind.CONSUMER_KILL] == profile.kills
    assert kinds[FaultKind.CONSUMER_TERM] == profile.terms
    assert kinds[FaultKind.CONSUMER_STOP] == profile.stops
    assert kinds[FaultKind.BROKER_RESTART] == profile.broker_restarts
    assert kinds[FaultKind.OUTAGE_503] == len(profile.outages_503_s)
    assert kinds[FaultKind.AUTH_401] == len(profile.auth_401_s)
    assert kinds[FaultKind.LEADER_KILL] == profile.leader_kills
    assert kinds[FaultKind.COORDINATOR_KILL] == profile.coordinator_kills
    times = [f.at_s for f in faults]
    assert times == sorted(times)
    assert times[0] >= FIRST_FAULT_S
    assert times[-1] <= profile.produce_s


@given(seed=st.integers(0, 10**9))
def test_the_same_seed_gives_the_same_plan(seed: int) -> None:
    assert plan(PROFILES["soak"], seed) == plan(PROFILES["soak"], seed)


def test_broker_restarts_alternate_sigkill_and_sigterm() -> None:
    restarts = [f for f in plan(PROFILES["soak"], 7) if f.kind is FaultKind.BROKER_RESTART]
    assert sorted(f.signal for f in restarts) == ["SIGKILL", "SIGKILL", "SIGTERM"]


def test_group_chaos_toggles_members_every_two_to_ten_seconds_for_five_minutes() -> None:
    profile = PROFILES["group"]
    toggles = plan(profile, 3)
    gaps = [b.at_s - a.at_s for a, b in itertools.pairwise(toggles)]
    assert all(f.kind is FaultKind.TOGGLE for f in toggles)
    assert all(2.0 <= g <= 10.0 for g in gaps)
    assert toggles[-1].at_s - toggles[0].at_s >= profile.toggle_for_s - 10.0
    assert {f.slot for f in toggles} == set(range(profile.members))


def test_a_diagnostic_override_changes_only_the_named_fields_and_refuses_unknown_ones() -> None:
    ci = PROFILES["ci"]
    quiet = customise(ci, {"rate_429": "0", "outages_503_s": "10,5", "kills": "2"})
    assert (quiet.rate_429, quiet.outages_503_s, quiet.kills) == (0.0, (10.0, 5.0), 2)
    assert (
        dataclasses.replace(quiet, rate_429=ci.rate_429, outages_503_s=ci.outages_503_s, kills=ci.kills) == ci
    )
    assert customise(ci, {"outages_503_s": ""}).outages_503_s == ()
    with pytest.raises(ValueError, match="not a profile field"):
        customise(ci, {"tuning": "x"})
