"""Deterministic events of a run and the manifest of what each one is (pure).

Every event is a ``user.signed_up`` CloudEvent (the ``welcome`` route: one Single Send request) with a
stable id derived from the seed and its index, so its ``sendId`` is known before the run. The seed
also picks which events are:

- ``terminal``: the recipient is on the simulator's bounce list (``PREVIOUSLY_BOUNCED``: done, no email);
- ``poison_400``: schema-valid but without ``last_name``; the welcome template requires ``lastname``
  and the simulator answers HTTP 400 — a PERMANENT outcome, dead-lettered after one request;
- ``poison_malformed``: bytes that never become a request (bad JSON, too deep, oversize, invalid UTF-8,
  CR/LF in an attribute, unknown type, schema violations, ...), dead-lettered by the decoder. One kind
  is larger than a dead letter may be (over 1 MiB, published zstd-compressed so the source topic
  accepts it): its dead letter can only hold a prefix of the value.

Every address carries the run's canary marker (``Canaries.marker``): the consumer may log addresses
only masked (``c***@example.com``) or hashed, so the marker must never appear in its logs, metrics
or DLQ headers. The HubSpot token and the SASL password of the run are canaries too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

import orjson

from consumer.route import send_id

SIGNUP = "com.example.user.signed_up.v1"
ROUTE = "welcome"
BOUNCE_DOMAIN = "bounce.example.com"
MALFORMED_KINDS = 13
HUGE_BYTES = 1_100_000  # above the DLQ producer's 1 MiB request limit


class Kind(StrEnum):
    VALID = "valid"
    TERMINAL = "terminal"
    POISON_400 = "poison_400"
    POISON_MALFORMED = "poison_malformed"

    @property
    def poison(self) -> bool:
        return self in (Kind.POISON_400, Kind.POISON_MALFORMED)

    @property
    def requested(self) -> bool:
        """True when the event becomes a Single Send request (it has a sendId)."""
        return self is not Kind.POISON_MALFORMED


@dataclass(frozen=True, slots=True)
class Canaries:
    """Values that must never leave the consumer: checked in logs, metrics and DLQ headers (I13)."""

    token: str
    sasl_password: str
    marker: str  # in the local part of every recipient address

    @classmethod
    def for_seed(cls, seed: int) -> Canaries:
        rng = random.Random(f"canaries-{seed}")
        return cls(
            token=f"pat-na1-cnrytok-{rng.getrandbits(128):032x}",
            sasl_password=f"cnrypw-{rng.getrandbits(96):024x}",
            marker=f"cnry{rng.getrandbits(40):010x}",
        )

    def needles(self) -> dict[str, str]:
        """name -> substring whose presence is a leak (distinctive parts, so a truncated copy counts)."""
        return {
            "token": self.token[-24:],
            "sasl_password": self.sasl_password[-16:],
            "address": self.marker,
        }


@dataclass(frozen=True, slots=True)
class Event:
    index: int
    kind: Kind
    key: bytes
    value: bytes = b""
    send_id: str | None = None  # None for malformed poison
    address: str | None = None

    def __repr__(self) -> str:  # the value holds an address: keep it out of assertion messages
        return f"Event({self.index}, {self.kind.value})"


def source_for(seed: int) -> str:
    return f"/chaos/{seed}/signup"


def event_id(index: int) -> str:
    return f"chaos-{index:07d}"


def address(canaries: Canaries, index: int, kind: Kind) -> str:
    if kind is Kind.TERMINAL:
        return f"{canaries.marker}.b{index}@{BOUNCE_DOMAIN}"
    return f"{canaries.marker}.u{index}@example.com"


def signup(
    seed: int, index: int, email: str, *, users: int, with_last_name: bool = True
) -> dict[str, object]:
    user = f"usr_{index % users:05d}"
    data: dict[str, object] = {
        "user_id": user,
        "email": email,
        "first_name": "Chaos",
        "plan": "starter",
        "locale": "en",
    }
    if with_last_name:
        data["last_name"] = f"U{index}"
    return {
        "specversion": "1.0",
        "id": event_id(index),
        "source": source_for(seed),
        "type": SIGNUP,
        "datacontenttype": "application/json",
        "subject": user,
        "data": data,
    }


def malformed(seed: int, index: int, email: str) -> bytes:
    """One of :data:`MALFORMED_KINDS` broken records; each is unique (it embeds ``index``)."""
    base = signup(seed, index, email, users=1)
    data = dict(base["data"])  # type: ignore[call-overload]
    kind = index % MALFORMED_KINDS
    tag = f"chaos-bad-{index:07d}"
    if kind == 0:
        return b'{"specversion":"1.0","id":"' + tag.encode() + b'","source":'  # truncated JSON
    if kind == 1:
        return b'{"id":"' + tag.encode() + b'","x":' + b"[" * 5_000 + b"]" * 5_000 + b"}"  # too deep
    if kind == 2:
        return orjson.dumps({**base, "data": {**data, "pad": "x" * 70_000}})  # oversize
    if kind == 3:
        return b'{"specversion":"1.0","id":"' + tag.encode() + b'\xff\xfe","source":"s","type":"t"}'
    if kind == 4:
        return orjson.dumps({**base, "id": f"{tag}\r\nX-Injected: yes"})  # CR/LF in an attribute
    if kind == 5:
        return orjson.dumps({**base, "type": "com.example.unknown.v9"})  # no such event type
    if kind == 6:
        return orjson.dumps({k: v for k, v in base.items() if k != "source"})  # missing attribute
    if kind == 7:
        return orjson.dumps({**base, "data": {**data, "email": f"not-an-address-{index}"}})  # schema
    if kind == 8:
        return orjson.dumps({**base, "specversion": "0.3"})
    if kind == 9:
        return b"\x00\x01\x02 binary garbage " + tag.encode()
    if kind == 10:
        return orjson.dumps(f"just a string {tag}")  # not an object
    if kind == 12:
        return orjson.dumps(
            {**base, "data": {**data, "pad": "x" * HUGE_BYTES}}
        )  # dead letter cannot be whole
    return orjson.dumps({**base, "data": {**data, "user_id": None}})  # schema: null where a string is due


def generate(seed: int, count: int, *, poison: int, terminal: int, users: int = 2_000) -> list[Event]:
    """``count`` events; ``poison`` of them poison (half malformed), ``terminal`` with bounced recipients."""
    if poison + terminal > count:
        raise ValueError("poison + terminal must not exceed count")
    rng = random.Random(f"events-{seed}")
    special = rng.sample(range(count), poison + terminal)
    kinds = dict.fromkeys(range(count), Kind.VALID)
    for n, index in enumerate(special):
        if n < poison:
            kinds[index] = Kind.POISON_MALFORMED if n % 2 == 0 else Kind.POISON_400
        else:
            kinds[index] = Kind.TERMINAL
    canaries = Canaries.for_seed(seed)
    source = source_for(seed)
    events: list[Event] = []
    for index in range(count):
        kind = kinds[index]
        email = address(canaries, index, kind)
        key = f"usr_{index % users:05d}".encode()
        if kind is Kind.POISON_MALFORMED:
            events.append(Event(index, kind, key, malformed(seed, index, email), None, email))
            continue
        body = signup(seed, index, email, users=users, with_last_name=kind is not Kind.POISON_400)
        sid = send_id(source, event_id(index), ROUTE)
        events.append(Event(index, kind, key, orjson.dumps(body), sid, email))
    return events
