"""sendId: deterministic, unambiguous, independent of everything but (source, id, route)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st

from consumer.decode import decode, validate
from consumer.records import Record
from consumer.route import Router, send_id
from consumer.routing_loader import load_routing
from consumer.settings import DecodeSettings, Environment
from schemas.samples import examples

ROOT = Path(__file__).resolve().parents[2]
HEX64 = re.compile(r"^[0-9a-f]{64}$")
parts = st.text(max_size=40)


def test_the_documented_formula_is_pinned() -> None:
    # sha256(b"16:/identity/signup,9:demo-0001,7:welcome,"): changing the formula would make every
    # replayed or redelivered event a new e-mail, so a change must be deliberate.
    assert send_id("/identity/signup", "demo-0001", "welcome") == (
        "d2c16e5f68dde3ed5aab59563c102252338dbf0f759dcaf10ddcbdbf8c6eebd0"
    )


def test_lengths_count_utf8_bytes() -> None:
    assert send_id("/ü", "é", "r") == "00dd37fe8cb68ef2d1680daba94faf2fde7aec1091b3d6c459a82d6187bb8115"


@given(source=parts, event_id=parts, route=parts)
def test_the_same_event_and_route_always_give_the_same_64_hex_send_id(
    source: str, event_id: str, route: str
) -> None:
    first = send_id(source, event_id, route)
    assert HEX64.match(first)
    assert send_id(source, event_id, route) == first


@given(a=st.tuples(parts, parts, parts), b=st.tuples(parts, parts, parts))
def test_different_triples_give_different_send_ids(a: tuple[str, str, str], b: tuple[str, str, str]) -> None:
    assume(a != b)
    assert send_id(*a) != send_id(*b)


@given(x=parts, y=parts, z=parts, route=parts)
def test_moving_characters_between_fields_changes_the_send_id(x: str, y: str, z: str, route: str) -> None:
    # ("a", "bc") and ("ab", "c") concatenate identically; the encoding must still tell them apart.
    assume(y)
    assert send_id(x, y + z, route) != send_id(x + y, z, route)
    assert send_id(x, z, y + route) != send_id(x, z + y, route)


def test_lone_surrogates_do_not_raise() -> None:
    assert HEX64.match(send_id("\ud800", "id", "route"))


def test_planning_the_same_record_again_reuses_the_send_ids_whatever_the_offset_or_clock() -> None:
    router = Router.build(load_routing(ROOT / "consumer/samples/routing.yaml"), Environment.DEV)
    for example in (e for e in examples() if e.valid):
        raw = example.read_bytes()
        first = validate(decode(Record("events", 0, 1, None, raw), DecodeSettings()))
        again = validate(decode(Record("events", 3, 99_999, b"k", raw, timestamp_ms=1), DecodeSettings()))
        now = first.envelope.time or datetime(2026, 3, 2, tzinfo=UTC)
        ids = [job.send_id for job in router.plan(first, now)]
        assert ids == [job.send_id for job in router.plan(again, now + timedelta(seconds=30))]
        assert ids == [
            send_id(first.envelope.source, first.envelope.id, job.route) for job in router.plan(first, now)
        ]
        assert len(set(ids)) == len(ids), "two routes of one event share a sendId"
