"""Service lifecycle: build every part from settings, run, stop in order.

Start-up validates everything that can be validated before the first message (routing file against
the catalog and the active environment, credentials present) and refuses to start otherwise.
An unreachable broker is not such an error: the service waits for it (``kafka.waiting`` log lines,
backoff doubling from 1 s to 30 s) with ``/healthz`` 200 and ``/readyz`` 503, and a SIGTERM meanwhile
ends the wait at once.
Shutdown order (SIGTERM / SIGINT): stop intake -> drain in-flight sends until the deadline ->
cancel the rest -> commit what finished -> leave the group -> close the producer, the HTTP session
and the health server. A second SIGINT exits at once (the uncommitted records are redelivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from consumer import membership
from consumer.breaker import MassDeadLetterBreaker
from consumer.deadletters.producer import DeadLetterProducer, build_admin
from consumer.deadletters.writer import DeadLetterWriter
from consumer.errors import ConfigError
from consumer.hubspot import ratesharing
from consumer.hubspot.auth import build_auth
from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.ratelimit import RateLimiter
from consumer.kafka import (
    PRODUCER_MAX_REQUEST_SIZE,
    VotingAssignor,
    build_consumer,
    build_producer,
    ownership,
)
from consumer.logs import get_logger
from consumer.observability import Health, HttpServer, stalled
from consumer.pause import PauseController
from consumer.pipeline import Pipeline
from consumer.redact import RecipientHasher
from consumer.route import Router
from consumer.scrubbing import register_secret
from consumer.settings import KafkaSettings, ObservabilitySettings, Settings
from consumer.tracing import NO_TRACING, Tracing
from consumer.worker import Counts, Worker

log = get_logger("consumer.service")

CONNECT_RETRY_S = 1.0
CONNECT_RETRY_MAX_S = 30.0


def recipient_hasher(settings: ObservabilitySettings) -> RecipientHasher | None:
    """The keyed recipient ids of the log lines, from ``recipient_hash_key[_file]`` (None: unset)."""
    field = "SSC_OBSERVABILITY__RECIPIENT_HASH_KEY"
    key = settings.recipient_hash_key.get_secret_value().strip() if settings.recipient_hash_key else ""
    if settings.recipient_hash_key_file is not None:
        field += "_FILE"
        try:
            key = settings.recipient_hash_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read secret file ({type(exc).__name__})", field=field) from exc
        if not key:
            raise ConfigError("secret file is empty", field=field)
    if not key:
        return None
    register_secret(key)
    try:
        return RecipientHasher(key.encode())
    except ValueError as exc:
        raise ConfigError(str(exc), field=field) from None


@dataclass(frozen=True, slots=True)
class RunResult:
    counts: Counts
    seconds: float


class Service:
    """One consumer-group member: Kafka consumer, pipeline, HubSpot client, DLQ producer, HTTP server."""

    def __init__(self, settings: Settings, router: Router, tracing: Tracing = NO_TRACING) -> None:
        """``router``: built by the caller (:func:`consumer.routing_loader.load_router`)."""
        self.settings = settings
        self.tracing = tracing
        self.router = router
        self.recipient_id = recipient_hasher(settings.observability)
        self.stop_event = asyncio.Event()
        self.http: HttpServer | None = None
        self.worker: Worker | None = None
        self.controller: PauseController | None = None
        self.waiting_for: str | None = None  # what start-up waits for ("kafka"), while it does

    def health(self) -> Health:
        w, c = self.worker, self.controller
        alive = not stalled(w.last_tick) if w is not None else not self.stop_event.is_set()  # starting
        paused = c is not None and c.paused
        ready = alive and w is not None and w.joined and not paused and not self.stop_event.is_set()
        detail: dict[str, object] = {
            "assigned": len(w.assigned) if w else 0,
            "in_flight": w.in_flight if w else 0,
            "paused": sorted(c.causes) if c else [],
            "stopping": self.stop_event.is_set(),
        }
        if self.waiting_for is not None:
            detail["waiting_for"] = self.waiting_for
        return Health(alive=alive, ready=ready, detail=detail)

    async def run(self, *, until_drained: bool = False) -> RunResult:
        s = self.settings
        started = time.monotonic()
        limiter = RateLimiter(s.hubspot.rate_limit)
        auth = build_auth(s.hubspot.auth, base_url=s.hubspot.base_url, trust_env=s.hubspot.trust_env_proxy)
        self.http = HttpServer(self.health, s.observability.host, s.observability.port)
        await self.http.start()
        log.info(
            "service.starting",
            environment=s.environment.value,
            topics=list(s.kafka.topics),
            pattern=s.kafka.topic_pattern,
            group=s.kafka.group_id,
            routes=len(self.router.routes),
            http_port=self.http.port,
            api_version=s.hubspot.api_version,
            event_loop=type(asyncio.get_running_loop()).__module__.partition(".")[0],  # uvloop | asyncio
        )
        try:
            clients = await self._connect_kafka()
        except BaseException:
            await self._stop_endpoints()
            raise
        if clients is None:  # asked to stop while the broker was unreachable
            await self._stop_endpoints()
            log.info("service.stopped", fetched=0, done=0, seconds=round(time.monotonic() - started, 2))
            return RunResult(Counts(), time.monotonic() - started)
        producer, admin = clients
        # sharing by partitions, the members agree on one group rate at every rebalance
        voting = VotingAssignor(limiter.vote, ratesharing.agree, limiter.adopt, ratesharing.seat)
        consumer = build_consumer(
            s.kafka, assignor=voting if s.hubspot.rate_limit.share_by_partitions else None
        )
        try:
            controller = PauseController(
                gate=limiter,
                transient_threshold=s.engine.transient_failures_to_open,
                probe_interval_s=s.engine.probe_interval_s,
                max_probe_interval_s=s.engine.max_probe_interval_s,
                before_probe=auth.refresh,
                on_change=self._pipeline_paused,
            )
            self.controller = controller
            async with HubSpotClient(
                s.hubspot,
                max_in_flight=s.engine.max_in_flight,
                auth=auth,
                limiter=limiter,
                observer=controller.observe,
                trace_configs=self.tracing.http_trace_configs(),
            ) as client:
                pipeline = Pipeline(
                    decode_settings=s.decode,
                    router=self.router,
                    sender=client,
                    dead_letters=self.tracing.dead_letters(
                        DeadLetterWriter(
                            DeadLetterProducer(producer, admin, max_request_size=PRODUCER_MAX_REQUEST_SIZE),
                            s.dlq,
                            blocker=controller,
                        ),
                        s.dlq.topic_for,
                    ),
                    controller=controller,
                    mass_breaker=MassDeadLetterBreaker(
                        window=s.engine.mass_dlq_window,
                        ratio=s.engine.mass_dlq_ratio,
                        consecutive_limit=s.engine.mass_dlq_consecutive,
                        min_events=s.engine.mass_dlq_min_events,
                    ),
                    group_id=s.kafka.group_id,
                    tracing=self.tracing,
                    recipient_id=self.recipient_id,
                )
                # the limiter's part follows a new assignment at once, not at the next poll: an old
                # owner that kept its former part beside the new members would overrun the window
                worker = Worker(
                    consumer,
                    pipeline,
                    s.engine,
                    on_assigned=lambda: limiter.share_by_partitions(*ownership(consumer)),
                )
                self.worker = worker
                _subscribe(consumer, s.kafka, worker)
                await consumer.start()
                watcher = asyncio.create_task(self._watch_drained(worker)) if until_drained else None
                sharing = asyncio.create_task(_share_by_partitions(lambda: ownership(consumer), limiter))
                try:
                    counts = await worker.run(self.stop_event)
                finally:
                    sharing.cancel()
                    if watcher is not None:
                        watcher.cancel()
                    await controller.close()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()  # a dynamic member leaves the group here
            await membership.leave_after_stop(s.kafka, finished=until_drained)
            with contextlib.suppress(Exception):
                await producer.stop()
            with contextlib.suppress(Exception):
                await admin.close()
            await self._stop_endpoints()
        elapsed = time.monotonic() - started
        log.info(
            "service.stopped",
            fetched=counts.fetched,
            done=counts.done,
            cancelled=counts.cancelled,
            skipped=counts.skipped,
            outcomes=counts.by_outcome,
            commits=counts.commits,
            commit_failures=counts.commit_failures,
            committed=counts.committed,
            seconds=round(elapsed, 2),
        )
        return RunResult(counts, elapsed)

    async def _stop_endpoints(self) -> None:
        if self.http is not None:
            await self.http.stop()
        await asyncio.to_thread(self.tracing.shutdown)  # exports what is buffered; may block

    async def _connect_kafka(self) -> tuple[AIOKafkaProducer, AIOKafkaAdminClient] | None:
        """Start the DLQ producer and the admin client, which proves the broker is reachable. While it is
        not, try again with capped backoff; None when a stop is asked meanwhile (at once, even during an
        attempt). Errors other than an unreachable broker are raised."""
        k = self.settings.kafka
        delay, attempt = CONNECT_RETRY_S, 0
        while True:
            attempt += 1
            producer, admin = build_producer(k), build_admin(k)
            starting = asyncio.create_task(self._start_clients(producer, admin))
            stopping = asyncio.create_task(self.stop_event.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if starting.done() and not starting.cancelled() and starting.exception() is None:
                self.waiting_for = None
                return producer, admin
            starting.cancel()
            [error] = await asyncio.gather(starting, return_exceptions=True)
            await _close_quietly(producer, admin)
            if self.stop_event.is_set():
                return None
            if error is not None and not _unreachable(error):
                raise error
            self.waiting_for = "kafka"
            log.warning(
                "kafka.waiting",
                waiting_for="kafka broker",
                bootstrap_servers=k.bootstrap_servers,
                attempt=attempt,
                error=type(error).__name__,
                detail=str(error),
                retry_in_s=delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), delay)
                return None
            delay = min(delay * 2, CONNECT_RETRY_MAX_S)

    @staticmethod
    async def _start_clients(producer: AIOKafkaProducer, admin: AIOKafkaAdminClient) -> None:
        await admin.start()
        await producer.start()

    def _pipeline_paused(self, paused: bool) -> None:
        if self.worker is not None:
            self.worker.set_paused(paused)

    async def _watch_drained(self, worker: Worker, poll_s: float = 0.25, settle: int = 4) -> None:
        """Stop once every assigned partition stayed committed to its end for ``settle`` polls."""
        quiet = 0
        while not self.stop_event.is_set():
            await asyncio.sleep(poll_s)
            quiet = quiet + 1 if worker.is_drained() else 0
            if quiet >= settle:
                log.info("service.drained")
                self.stop_event.set()

    def install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """SIGTERM/SIGINT stop gracefully; a second SIGINT exits at once. Returns an uninstaller."""

        def graceful(sig: signal.Signals) -> None:
            if self.stop_event.is_set() and sig is signal.SIGINT:
                log.warning("service.forced_exit")
                os._exit(130)
            log.info("service.signal", signal=sig.name)
            self.stop_event.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, graceful, sig)

        def uninstall() -> None:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

        return uninstall


def _unreachable(error: BaseException) -> bool:
    """True for the errors of a broker that is not (yet) reachable: worth waiting for (a socket error,
    a timeout, or an aiokafka error that aiokafka marks retriable)."""
    return isinstance(error, (OSError, TimeoutError)) or (isinstance(error, KafkaError) and error.retriable)


async def _close_quietly(producer: AIOKafkaProducer, admin: AIOKafkaAdminClient) -> None:
    with contextlib.suppress(Exception):
        await producer.stop()
    with contextlib.suppress(Exception):
        await admin.close()


def _subscribe(consumer: AIOKafkaConsumer, kafka: KafkaSettings, worker: Worker) -> None:
    if kafka.topic_pattern:
        consumer.subscribe(pattern=kafka.topic_pattern, listener=worker)
    else:
        consumer.subscribe(topics=list(kafka.topics), listener=worker)


async def _share_by_partitions(
    owned: Callable[[], tuple[int, int]], limiter: RateLimiter, poll_s: float = 0.25
) -> None:
    """Tell the limiter which part of the group's partitions this replica owns, as it changes."""
    while True:
        limiter.share_by_partitions(*owned())
        await asyncio.sleep(poll_s)
