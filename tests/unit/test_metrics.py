"""The service's metrics as Prometheus scrapes them: build info, process and platform collectors, and
names as Prometheus' naming guide asks (the rules are stated in consumer/metrics.py)."""

from __future__ import annotations

import platform
import re
from importlib import metadata

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from consumer import __version__
from consumer.metrics import REGISTRY
from consumer.observability import Health, HttpServer
from tests.unit.docs_site import DOCS

# what a gauge or histogram of the service ends with: a base unit, or what it counts in the plural
_UNIT = re.compile(r"_(seconds|bytes|records|requests|partitions)(_in_flight)?$")
_STATES = {"ssc_paused", "ssc_breaker_open"}  # 0/1 gauges named for the state they report
_NON_BASE_UNITS = re.compile(
    r"_(milliseconds|ms|microseconds|minutes|hours|kilobytes|megabytes|percent)(_|$)"
)


async def _scrape() -> list[Sample]:
    server = HttpServer(lambda: Health(alive=True, ready=True, detail={}), "127.0.0.1", 0)
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{server.port}/metrics") as resp,
        ):
            assert resp.status == 200
            text = await resp.text()
    finally:
        await server.stop()
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


async def test_build_info_names_the_version_and_runtime() -> None:
    samples = [s for s in await _scrape() if s.name == "ssc_build_info"]
    assert len(samples) == 1
    assert samples[0].value == 1
    assert samples[0].labels == {
        "version": __version__,
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "aiokafka_version": metadata.version("aiokafka"),
        "aiohttp_version": metadata.version("aiohttp"),
    }


async def test_process_and_platform_metrics_are_exported() -> None:
    names = {s.name for s in await _scrape()}
    assert {
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "python_info",
        "python_gc_collections_total",
    } <= names


def test_metric_names_follow_the_naming_guide() -> None:
    families = [f for f in REGISTRY.collect() if f.name.startswith("ssc_")]
    assert families
    for family in families:
        name = family.name
        assert not _NON_BASE_UNITS.search(name), f"{name}: use base units (seconds, bytes, ratios)"
        if family.type in ("gauge", "histogram"):
            assert _UNIT.search(name) or name in _STATES, f"{name}: name its unit or what it counts"


def test_the_rename_table_lists_only_names_that_are_gone_and_names_that_exist() -> None:
    page = (DOCS / "deploying" / "upgrading.md").read_text(encoding="utf-8")
    renames = re.findall(r"^\| `(ssc_\w+)` \| `(ssc_\w+)` \|$", page, re.M)
    assert len(renames) >= 8
    exported = {f.name for f in REGISTRY.collect()}
    for old, new in renames:
        assert old not in exported
        assert new in exported
