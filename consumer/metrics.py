"""Prometheus metrics of the service, in one registry (exposed on ``/metrics``).

Label values are stable codes only (outcome class, reason, HTTP status, sendResult, topic,
partition): never addresses, tokens, event ids or free text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "ssc_events_total",
    "Records finished, by outcome class and reason",
    ["outcome", "reason"],
    registry=REGISTRY,
)
SENDS = Counter(
    "ssc_hubspot_requests_total",
    "HubSpot Single Send HTTP attempts, by HTTP status (or 'error') and sendResult (or 'none')",
    ["status", "send_result"],
    registry=REGISTRY,
)
SEND_LATENCY = Histogram(
    "ssc_hubspot_request_seconds",
    "Latency of one Single Send HTTP attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
EVENT_LATENCY = Histogram(
    "ssc_event_seconds",
    "From record fetch to done (sent, terminal or dead-lettered)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
RETRIES = Counter("ssc_hubspot_retries_total", "Retries scheduled, by reason", ["reason"], registry=REGISTRY)
IN_FLIGHT = Gauge("ssc_in_flight_sends", "Single Send requests in flight", registry=REGISTRY)
LIMITER_WAIT = Histogram(
    "ssc_rate_limiter_wait_seconds",
    "Time a send waited for the per-credential rate limiter",
    buckets=(0, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30),
    registry=REGISTRY,
)
LIMITER_TOKENS = Gauge(
    "ssc_rate_limiter_budget",
    "Requests the limiter allows per interval (after adaptation)",
    registry=REGISTRY,
)
LIMITER_REMAINING = Gauge(
    "ssc_hubspot_ratelimit_remaining",
    "Last X-HubSpot-RateLimit-Remaining / -Daily-Remaining seen",
    ["window"],
    registry=REGISTRY,
)
THROTTLED = Counter("ssc_hubspot_throttled_total", "THROTTLE-class answers", ["policy"], registry=REGISTRY)
AUTH_REFRESHES = Counter(
    "ssc_auth_refreshes_total", "Credential refreshes (OAuth refresh, token file re-read)", ["result"],
    registry=REGISTRY,
)  # fmt: skip
DLQ_WRITES = Counter(
    "ssc_dlq_writes_total", "Records written to the dead-letter topic", ["reason"], registry=REGISTRY
)
PAUSED = Gauge("ssc_paused", "1 while the whole pipeline is paused, by cause", ["cause"], registry=REGISTRY)
BREAKER_OPEN = Gauge("ssc_breaker_open", "1 while a breaker is open", ["breaker"], registry=REGISTRY)
COMMITS = Counter("ssc_commits_total", "Offset commits, by result", ["result"], registry=REGISTRY)
LAG = Gauge(
    "ssc_partition_lag", "High watermark minus committed position", ["topic", "partition"], registry=REGISTRY
)
UNCOMMITTED = Gauge(
    "ssc_partition_uncommitted",
    "Records fetched but not yet committed",
    ["topic", "partition"],
    registry=REGISTRY,
)
OLDEST_INCOMPLETE_AGE = Gauge(
    "ssc_oldest_incomplete_seconds",
    "Age of the oldest record not yet done, per partition",
    ["topic", "partition"],
    registry=REGISTRY,
)
ASSIGNED = Gauge("ssc_assigned_partitions", "Partitions assigned to this member", registry=REGISTRY)
