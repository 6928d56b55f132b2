"""``consumer check``: is this deployment usable? A report of named checks, each OK or FAIL with a reason.

In order: settings; the routing file for the environment; Kafka reachable; every source topic exists;
the consumer group's committed offsets can be read; every DLQ topic exists (or the broker creates
topics on first write); the idempotent ``acks="all"`` producer the DLQ writer uses initialises; the
HubSpot credential is present (token / token file / OAuth secrets), an OAuth refresh works, and an
authenticated, side-effect-free call succeeds. The Kafka and HubSpot checks run concurrently, each
with its own deadline, so the whole report is fast enough for a Kubernetes start-up probe.

Nothing is written: no record is produced, no group is joined (committed offsets are fetched with
OffsetFetch, which needs no membership), no offset is committed, no topic is created (the DLQ check
reads the broker's ``auto.create.topics.enable`` instead), no e-mail is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition as KafkaTP
from aiokafka.errors import KafkaError

from consumer.deadletters.producer import AUTO_CREATE, broker_configs, build_admin
from consumer.errors import ConsumerError, SettingsInvalid
from consumer.hubspot.auth import OAuthAuth, build_auth
from consumer.hubspot.client import HubSpotClient
from consumer.ops import connect
from consumer.ops.output import Output, plural
from consumer.outcome import OutcomeClass
from consumer.ports import AuthProvider
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.scrubbing import scrub
from consumer.settings import AuthMode, KafkaSettings, Settings

SETTINGS = "settings"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True, slots=True)
class CheckReport:
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def settings_invalid(self) -> bool:
        return any(c.name == SETTINGS and not c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.to_json() for c in self.checks]}


class _Checks:
    """Runs checks with a deadline each; a failure becomes a one-line reason without secrets."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.results: list[CheckResult] = []

    async def run(self, name: str, check: Callable[[], Awaitable[str]]) -> bool:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout_s):
                detail, ok = await check(), True
        except SettingsInvalid as exc:  # every problem on its own line, each naming its variable
            seconds = time.monotonic() - started
            self.results.extend(CheckResult(name, False, p, seconds) for p in exc.problems)
            return False
        except ConsumerError as exc:
            detail, ok = str(exc), False
        except TimeoutError:
            detail, ok = f"no answer within {self.timeout_s:g} s", False
        except (KafkaError, OSError) as exc:
            detail, ok = connect.describe_kafka_error(exc), False
        except Exception as exc:  # a report beats a traceback, even for a surprise: name it and go on
            detail, ok = scrub(f"unexpected {type(exc).__name__}: {exc}"), False
        # ConsumerError messages name settings, never secret values (errors.py); library text is scrubbed
        self.results.append(CheckResult(name, ok, detail, time.monotonic() - started))
        return ok


async def run_checks(load: Callable[[], Settings], *, timeout_s: float = 10.0) -> CheckReport:
    """Run every check; ``load`` builds the settings (its ConfigError is the first failed check)."""
    first = _Checks(timeout_s)
    holder: list[Settings] = []

    async def settings_check() -> str:
        settings = load()
        holder.append(settings)
        k, h = settings.kafka, settings.hubspot
        topics = k.topic_pattern or ", ".join(k.topics)
        return (
            f"environment {settings.environment.value}; topics {topics}; group {k.group_id}; "
            f"HubSpot {h.base_url} ({h.api_version}, auth {h.auth.mode.value})"
        )

    if not await first.run(SETTINGS, settings_check):
        return CheckReport(tuple(first.results))
    settings = holder[0]

    async def routing_check() -> str:
        router = Router.build(load_routing(settings.routing_file), settings.environment)
        ids = ", ".join(str(i) for i in sorted(router.email_ids))
        env = settings.environment.value
        return f"{settings.routing_file}: {len(router.routes)} routes for {env} (emailIds {ids})"

    await first.run("routing", routing_check)
    kafka, hubspot = _Checks(timeout_s), _Checks(timeout_s)
    await asyncio.gather(_kafka_checks(kafka, settings), _hubspot_checks(hubspot, settings))
    return CheckReport(tuple(first.results + kafka.results + hubspot.results))


# --- Kafka ------------------------------------------------------------------------------------------


async def _kafka_checks(checks: _Checks, settings: Settings) -> None:
    k = settings.kafka
    clients: list[Any] = []
    visible: dict[str, frozenset[int]] = {}
    try:

        async def reach() -> str:
            clients.append(connect.group_prober(k))  # ConfigError (SASL secret) fails this check
            with connect.kafka_errors(k.bootstrap_servers, "connecting"):
                await clients[0].start()
                visible.update(await connect.topic_partitions(clients[0]))
            return f"reachable at {k.bootstrap_servers} ({plural(len(visible), 'topic')} visible)"

        if not await checks.run("kafka", reach):
            return
        consumer = clients[0]
        sources = _source_topics(k, visible)
        if k.topic_pattern:
            await checks.run("topic pattern", functools.partial(_matched, k.topic_pattern, sources))
        for topic in sources:
            await checks.run(f"topic {topic}", functools.partial(_topic, visible, topic))
        readable = {t: visible[t] for t in sources if visible.get(t)}
        if readable:
            group_check = functools.partial(_group_offsets, consumer, readable, k.auto_offset_reset)
            await checks.run(f"group {k.group_id}", group_check)
        for dlq in sorted({settings.dlq.topic_for(t) for t in sources}):
            await checks.run(f"dlq {dlq}", functools.partial(_dlq_topic, visible, k, dlq))
        await checks.run("dlq producer", functools.partial(_producer_init, k))
    finally:
        for client in clients:
            await connect.close(client)


def _source_topics(k: KafkaSettings, visible: Mapping[str, frozenset[int]]) -> list[str]:
    if not k.topic_pattern:
        return list(k.topics)
    pattern = re.compile(k.topic_pattern)
    return sorted(t for t in visible if pattern.fullmatch(t))


async def _matched(pattern: str, matched: list[str]) -> str:
    if not matched:
        raise ConsumerError(f"no topic matches {pattern!r}", reason="no_topic")
    return f"{plural(len(matched), 'topic')} match {pattern!r}"


async def _topic(visible: Mapping[str, frozenset[int]], topic: str) -> str:
    found = visible.get(topic)
    if not found:
        raise ConsumerError("does not exist", reason="no_topic")
    return f"exists ({plural(len(found), 'partition')})"


async def _group_offsets(consumer: Any, partitions: Mapping[str, frozenset[int]], reset: str) -> str:
    """Lag of the group; a partition it never committed starts where ``auto_offset_reset`` says."""
    tps = [KafkaTP(t, p) for t, ps in sorted(partitions.items()) for p in sorted(ps)]
    committed = {tp: await consumer.committed(tp) for tp in tps}
    ends = await consumer.end_offsets(tps)
    starts = await consumer.beginning_offsets(tps)
    done = {tp: off for tp, off in committed.items() if off is not None}
    lag = sum(max(0, ends[tp] - off) for tp, off in done.items())
    fresh = [tp for tp in tps if tp not in done]
    backlog = sum(ends[tp] - starts[tp] for tp in fresh) if reset == "earliest" else 0
    detail = f"committed offsets readable without joining: {len(done)}/{len(tps)} partitions committed"
    if not fresh:
        return f"{detail}, lag {lag}"
    where = (
        f"{plural(len(fresh), 'partition')} without a commit start at the {reset} offset (auto_offset_reset)"
    )
    if reset != "earliest":
        where += f"; the {sum(ends[tp] - starts[tp] for tp in fresh)} records there now are never read"
    return f"{detail}, lag {lag + backlog}: {where}"


async def _dlq_topic(visible: Mapping[str, frozenset[int]], k: KafkaSettings, topic: str) -> str:
    found = visible.get(topic)
    if found:
        return f"exists ({plural(len(found), 'partition')})"
    if await _broker_auto_creates(k):
        return f"does not exist yet; the broker creates it on the first dead letter ({AUTO_CREATE}=true)"
    raise ConsumerError(
        f"does not exist and the broker does not create topics ({AUTO_CREATE}=false): create it"
    )


async def _broker_auto_creates(k: KafkaSettings) -> bool:
    admin = build_admin(k, "check")
    try:
        await admin.start()
        value = (await broker_configs(admin, (AUTO_CREATE,))).get(AUTO_CREATE)
        if value is None:
            raise ConsumerError(f"the broker did not report {AUTO_CREATE}")
        return str(value).lower() == "true"
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def _producer_init(k: KafkaSettings) -> str:
    producer = connect.producer(k)
    try:
        with connect.kafka_errors(k.bootstrap_servers, "initialising the idempotent producer"):
            await producer.start()  # InitProducerId: the idempotent producer needs its producer id
        return "idempotent producer initialised (acks=all): dead letters can be written"
    finally:
        await connect.close(producer)


# --- HubSpot ----------------------------------------------------------------------------------------


async def _hubspot_checks(checks: _Checks, settings: Settings) -> None:
    h = settings.hubspot
    providers: list[AuthProvider] = []

    async def credential() -> str:
        providers.append(build_auth(h.auth, base_url=h.base_url, trust_env=h.trust_env_proxy))
        a = h.auth
        if a.mode is AuthMode.TOKEN:
            return "token from " + (f"file {a.token_file}" if a.token_file else "SSC_HUBSPOT__AUTH__TOKEN")
        if a.mode is AuthMode.HAPIKEY:
            return "legacy hapikey present (HubSpot sunset API keys in 2022: migrate to a private-app token)"
        return f"OAuth client {a.oauth_client_id} with a refresh token"

    if not await checks.run("hubspot credential", credential):
        return
    auth = providers[0]
    if isinstance(auth, OAuthAuth):

        async def refresh() -> str:
            await auth.refresh()
            return "refresh token exchanged for an access token"

        if not await checks.run("hubspot oauth refresh", refresh):
            return

    if h.portal_id is not None:

        async def portal() -> str:
            headers: dict[str, str] = {}
            params: dict[str, str] = {}
            async with HubSpotClient(h, max_in_flight=1, auth=auth) as client:
                await auth.apply(headers, params)
                refused = await client.guard(headers, params)
            if refused is not None:
                raise ConsumerError(f"{refused.label}: {refused.detail}")
            return f"the credential belongs to portal {h.portal_id}, this environment's"

        if not await checks.run("hubspot portal", portal):
            return

    async def call() -> str:
        async with HubSpotClient(h, max_in_flight=1, auth=auth) as client:
            outcome = await client.check()
        if outcome.cls is OutcomeClass.SENT:
            return f"{h.base_url}: {outcome.detail}"
        if outcome.http_status is None:
            raise ConsumerError(f"cannot reach {h.base_url}: {outcome.label}: {outcome.detail}")
        raise ConsumerError(f"HTTP {outcome.http_status}, {outcome.label}: {outcome.detail}")

    await checks.run("hubspot api", call)


def render_report(out: Output, report: CheckReport) -> None:
    if not out.human:
        out.json(report.to_json())
        return
    out.table(
        ["check", "result", "detail"], [[c.name, "OK" if c.ok else "FAIL", c.detail] for c in report.checks]
    )
    out.line()
    failed = sum(1 for c in report.checks if not c.ok)
    out.line("usable" if report.ok else f"NOT usable: {failed} check(s) failed", style="bold")
