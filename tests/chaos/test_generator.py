"""The generator's manifest tells the truth: poison is rejected, valid events route to the sendId it
names, everything is reproducible from the seed, and the canaries are where they must be."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.decode import decode, validate
from consumer.errors import InputError
from consumer.records import Record
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.settings import DecodeSettings, Environment
from tests.chaos.generator import MALFORMED_KINDS, Canaries, Event, Kind, generate
from tests.chaos.stage import ROUTING
from tests.chaos.traffic import HEADERS

ROUTER = Router.build(load_routing(ROUTING), Environment.DEV)


def record(e: Event) -> Record:
    return Record("t", 0, e.index, e.key, e.value, tuple(HEADERS))


def test_the_same_seed_gives_the_same_events_and_another_seed_other_ones() -> None:
    a, b, c = (
        generate(3, 300, poison=30, terminal=10),
        generate(3, 300, poison=30, terminal=10),
        generate(4, 300, poison=30, terminal=10),
    )
    assert [(e.kind, e.key, e.value) for e in a] == [(e.kind, e.key, e.value) for e in b]
    assert [e.value for e in a] != [e.value for e in c]


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    count=st.integers(1, 400),
    poison=st.integers(0, 60),
    terminal=st.integers(0, 60),
)
def test_the_manifest_has_exactly_the_asked_counts_and_unique_values(
    seed: int, count: int, poison: int, terminal: int
) -> None:
    if poison + terminal > count:
        with pytest.raises(ValueError, match="exceed"):
            generate(seed, count, poison=poison, terminal=terminal)
        return
    events = generate(seed, count, poison=poison, terminal=terminal)
    kinds = [e.kind for e in events]
    assert kinds.count(Kind.POISON_MALFORMED) + kinds.count(Kind.POISON_400) == poison
    assert kinds.count(Kind.POISON_MALFORMED) - kinds.count(Kind.POISON_400) in (0, 1)  # half and half
    assert kinds.count(Kind.TERMINAL) == terminal
    assert len({e.value for e in events}) == count
    assert len({e.send_id for e in events if e.send_id}) == sum(k.requested for k in kinds)


def test_every_malformed_kind_is_rejected_by_the_consumers_decoder() -> None:
    events = generate(11, 2_000, poison=2 * 4 * MALFORMED_KINDS, terminal=0)
    malformed = [e for e in events if e.kind is Kind.POISON_MALFORMED]
    assert {e.index % MALFORMED_KINDS for e in malformed} == set(range(MALFORMED_KINDS))
    for e in malformed:
        with pytest.raises(InputError):
            validate(decode(record(e), DecodeSettings()))


def test_requested_events_route_to_the_send_id_and_recipient_of_the_manifest() -> None:
    events = generate(12, 200, poison=20, terminal=10)
    now = datetime.now(UTC)
    for e in (e for e in events if e.kind.requested):
        jobs = ROUTER.plan(validate(decode(record(e), DecodeSettings())), now)
        assert [job.send_id for job in jobs] == [e.send_id]
        assert jobs[0].request.message.to == e.address
        has_last_name = "lastname" in (jobs[0].request.contact_properties or {})
        assert has_last_name is (e.kind is not Kind.POISON_400)  # the simulator's 400 needs it missing


def test_every_address_carries_the_canary_marker_and_the_canaries_are_distinct() -> None:
    canaries = Canaries.for_seed(13)
    events = generate(13, 100, poison=10, terminal=10)
    assert all(canaries.marker in (e.address or "") for e in events)
    assert len(set(canaries.needles().values())) == 3
    assert Canaries.for_seed(13) == canaries
    assert Canaries.for_seed(14).token != canaries.token
