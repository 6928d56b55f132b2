"""Prometheus metrics of the service, in one registry (exposed on ``/metrics``).

Label values are stable codes only (outcome class, reason, HTTP status, sendResult, topic,
partition): never addresses, tokens, event ids or free text.

Names follow Prometheus' naming guide: the ``ssc_`` prefix, base units as a suffix (``_seconds``;
counted things in the plural: ``_records``, ``_requests``, ``_partitions``), ``_total`` on counters,
and 0/1 state gauges named for the state (``ssc_paused``, ``ssc_breaker_open``). The registry also
carries prometheus_client's process, platform and garbage-collector collectors and
``ssc_build_info``. A renamed metric keeps its Python name here, so callers do not change; the old
and new exposed names are listed in docs/deploying/upgrading.md.
"""

from __future__ import annotations

import platform
from importlib import metadata

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from consumer import __version__

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

BUILD_INFO = Info(
    "ssc_build",
    "Version of the service and of the runtime and clients it runs on (value always 1)",
    registry=REGISTRY,
)
BUILD_INFO.info(
    {
        "version": __version__,
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "aiokafka_version": metadata.version("aiokafka"),
        "aiohttp_version": metadata.version("aiohttp"),
    }
)

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
    "ssc_hubspot_request_duration_seconds",
    "Duration of one Single Send HTTP attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
EVENT_LATENCY = Histogram(
    "ssc_event_duration_seconds",
    "From record fetch to done (sent, terminal or dead-lettered)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
RETRIES = Counter("ssc_hubspot_retries_total", "Retries scheduled, by reason", ["reason"], registry=REGISTRY)
IN_FLIGHT = Gauge(
    "ssc_hubspot_requests_in_flight", "Single Send requests started and not finished", registry=REGISTRY
)
LIMITER_WAIT = Histogram(
    "ssc_rate_limiter_wait_seconds",
    "Time a send waited for the per-credential rate limiter",
    buckets=(0, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30),
    registry=REGISTRY,
)
LIMITER_TOKENS = Gauge(
    "ssc_rate_limiter_budget_requests",
    "Requests the limiter allows per interval (after adaptation)",
    registry=REGISTRY,
)
LIMITER_REMAINING = Gauge(
    "ssc_hubspot_ratelimit_remaining_requests",
    "Requests HubSpot says are left in the window: last X-HubSpot-RateLimit-Remaining (interval) or "
    "-Daily-Remaining (daily) seen",
    ["window"],
    registry=REGISTRY,
)
THROTTLED = Counter("ssc_hubspot_throttled_total", "THROTTLE-class answers", ["policy"], registry=REGISTRY)
AUTH_REFRESHES = Counter(
    "ssc_auth_refreshes_total",
    "Credential refreshes (OAuth refresh, token file re-read)",
    ["result"],
    registry=REGISTRY,
)
DLQ_WRITES = Counter(
    "ssc_dlq_writes_total", "Records written to the dead-letter topic", ["reason"], registry=REGISTRY
)
PAUSED = Gauge("ssc_paused", "1 while the whole pipeline is paused, by cause", ["cause"], registry=REGISTRY)
BREAKER_OPEN = Gauge("ssc_breaker_open", "1 while a breaker is open", ["breaker"], registry=REGISTRY)
COMMITS = Counter("ssc_commits_total", "Offset commits, by result", ["result"], registry=REGISTRY)
SKIPPED = Counter(
    "ssc_records_skipped_total",
    "Records an earlier owner had finished (named in the commit metadata), marked done without a request",
    registry=REGISTRY,
)
LAG = Gauge(
    "ssc_partition_lag_records",
    "High watermark minus committed position",
    ["topic", "partition"],
    registry=REGISTRY,
)
UNCOMMITTED = Gauge(
    "ssc_partition_uncommitted_records",
    "Records fetched but not yet committed",
    ["topic", "partition"],
    registry=REGISTRY,
)
OLDEST_INCOMPLETE_AGE = Gauge(
    "ssc_partition_oldest_incomplete_age_seconds",
    "Age of the oldest record not yet done, per partition (0 when none is pending)",
    ["topic", "partition"],
    registry=REGISTRY,
)
ASSIGNED = Gauge("ssc_assigned_partitions", "Partitions assigned to this member", registry=REGISTRY)
DLQ_UNWRITABLE_TOTAL = Counter(
    "ssc_dlq_unwritable_total",
    "Dead-letter writes the broker refused in a way no retry fixes (the pipeline pauses), by error",
    ["error"],
    registry=REGISTRY,
)
DLQ_TRUNCATED = Counter(
    "ssc_dlq_truncated_total",
    "Dead letters written with a prefix of the original value (or none), because the whole did not fit",
    registry=REGISTRY,
)
