"""W3C trace context is carried from the record into log lines, and only when well-formed."""

from __future__ import annotations

from consumer.pipeline import traceparent
from consumer.records import Record

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def rec(*headers: tuple[str, bytes]) -> Record:
    return Record(topic="t", partition=0, offset=0, key=None, value=b"{}", headers=headers)


def test_the_cloudevents_extension_wins_over_the_plain_header() -> None:
    other = "00-" + "1" * 32 + "-" + "2" * 16 + "-00"
    assert traceparent(rec(("traceparent", other.encode())), {"traceparent": TP}) == TP


def test_a_plain_kafka_traceparent_header_is_used_without_the_extension() -> None:
    assert traceparent(rec(("traceparent", TP.encode())), {}) == TP


def test_malformed_values_are_dropped() -> None:
    assert traceparent(rec(("traceparent", b"00-abc\nINJECTED")), {}) is None
    assert traceparent(rec(), {"traceparent": "not-a-trace"}) is None
    assert traceparent(rec(), {}) is None
