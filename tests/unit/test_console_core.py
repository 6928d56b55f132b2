"""The console's pure parts: reading a replica's metrics, rates and charts, and the access guard."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from pydantic import SecretStr

from consumer.console.guard import Credentials, Guard, load_credentials
from consumer.console.history import Sample, chart, rates
from consumer.console.status import parse
from consumer.errors import ConsumerError
from consumer.loopback import is_loopback


def exposition() -> str:
    """A replica's /metrics with the names the service exports (built with the same library)."""
    registry = CollectorRegistry()
    events = Counter("ssc_events_total", "", ["outcome", "reason"], registry=registry)
    events.labels("SENT", "sent").inc(7)
    events.labels("PERMANENT", "bad_request").inc(2)
    events.labels("PERMANENT", "schema_violation").inc(1)
    Counter("ssc_dlq_writes_total", "", ["reason"], registry=registry).labels("bad_request").inc(2)
    lag = Gauge("ssc_partition_lag_records", "", ["topic", "partition"], registry=registry)
    lag.labels("orders", "10").set(5)
    lag.labels("orders", "2").set(3)
    Gauge("ssc_partition_uncommitted_records", "", ["topic", "partition"], registry=registry).labels(
        "orders", "2"
    ).set(4)
    Gauge(
        "ssc_partition_oldest_incomplete_age_seconds", "", ["topic", "partition"], registry=registry
    ).labels("new", "0").set(1.5)
    Gauge("ssc_hubspot_requests_in_flight", "", registry=registry).set(6)
    Gauge("ssc_breaker_open", "", ["breaker"], registry=registry).labels("mass_dlq_breaker").set(1)
    Gauge("ssc_rate_limiter_budget_requests", "", registry=registry).set(100)
    return generate_latest(registry).decode()


def test_status_reads_outcomes_partitions_budget_and_breakers() -> None:
    status = parse("http://r1:8080", {"ready": False, "paused": ["mass_dlq_breaker"]}, exposition())

    assert status.events_by_outcome == {"PERMANENT": 3.0, "SENT": 7.0}
    assert status.dlq_writes == {"bad_request": 2.0}
    assert [
        (p.topic, p.partition, p.lag, p.uncommitted, p.oldest_incomplete_s) for p in status.partitions
    ] == [
        ("new", 0, None, 0.0, 1.5),
        ("orders", 2, 3.0, 4.0, 0.0),
        ("orders", 10, 5.0, 0.0, 0.0),
    ]
    assert status.lag == 8.0
    assert (status.in_flight, status.budget, status.breakers) == (6.0, 100.0, ("mass_dlq_breaker",))
    assert (status.ready, status.paused) == (False, ("mass_dlq_breaker",))


def test_rates_are_per_minute_and_a_counter_reset_counts_from_zero() -> None:
    samples = [Sample(0, {"SENT": 10}), Sample(30, {"SENT": 40}), Sample(60, {"SENT": 5, "PERMANENT": 1})]

    assert rates(samples) == {"PERMANENT": [(30, 0.0), (60, 2.0)], "SENT": [(30, 60.0), (60, 10.0)]}


def test_a_chart_escapes_its_labels_and_says_when_it_has_no_data() -> None:
    drawn = chart({"<script>x</script>": [(0, 1.0), (10, 3.0)]}, title="a & b")

    assert "<script>" not in drawn
    assert "&lt;script&gt;x&lt;/script&gt; 3/min" in drawn
    assert "a &amp; b" in drawn
    assert "no data yet" in chart({}, title="t")


def test_basic_auth_must_match_exactly() -> None:
    guard = Guard(Credentials("ops", SecretStr("correct horse battery")))
    good = "Basic " + base64.b64encode(b"ops:correct horse battery").decode()

    assert guard.authorized(good)
    assert not guard.authorized(good.replace("Basic", "Bearer"))
    assert not guard.authorized("Basic " + base64.b64encode(b"ops:correct horse").decode())
    assert not guard.authorized("Basic !!!")
    assert not guard.authorized(None)
    assert Guard(None).authorized(None)


def test_csrf_and_confirmation_are_bound_to_this_process_and_these_positions() -> None:
    guard, other = Guard(None, b"a" * 32), Guard(None, b"b" * 32)

    assert guard.same_origin_post(guard.csrf_token, "http://127.0.0.1:8090", "127.0.0.1:8090")
    assert guard.same_origin_post(guard.csrf_token, None, "127.0.0.1:8090")
    assert not guard.same_origin_post(guard.csrf_token, "http://evil.example", "127.0.0.1:8090")
    assert not guard.same_origin_post(other.csrf_token, None, "127.0.0.1:8090")
    assert not guard.same_origin_post(None, None, "127.0.0.1:8090")
    mac = guard.confirmation(["0:1", "0:2"])
    assert guard.confirmed(["0:1", "0:2"], mac)
    assert not guard.confirmed(["0:1", "0:2", "0:3"], mac)
    assert not other.confirmed(["0:1", "0:2"], mac)
    assert not guard.confirmed([], guard.confirmation([]))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104 - the all-interfaces address is what is tested
        ("10.0.0.5", False),
        ("console.internal", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_auth_file_holds_one_user_password_line(tmp_path: Path) -> None:
    path = tmp_path / "auth"
    path.write_text("ops:correct horse battery\n")
    assert load_credentials(path) == Credentials("ops", SecretStr("correct horse battery"))
    path.write_text("ops:short")
    with pytest.raises(ConsumerError, match="at least 12 characters") as err:
        load_credentials(path)
    assert "short" not in str(err.value)
    with pytest.raises(ConsumerError, match="No such file"):
        load_credentials(tmp_path / "missing")
