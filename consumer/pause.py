"""The pause controller: the one place that decides when the whole pipeline stops and resumes.

Causes (any one holds the pipeline):

- a PAUSE-class answer (401, 403, portal-level ``sendResult``, 429 ``DAILY``, 477) — config errors
  that must never flood the DLQ (docs/concepts/how-it-works.md, "Pausing instead of dead-lettering");
- the transient breaker (sustained RETRY-class attempts: HubSpot down, network partition);
- the mass-DLQ breaker (a burst of PERMANENT outcomes);
- an unwritable dead letter (``dlq_unwritable``: the broker refuses a DLQ write in a way no retry
  fixes — too large, denied, topic missing with auto-creation off, invalid record).

While held: the rate limiter of the credential is held (no new attempt starts), the worker pauses
every assigned partition but keeps polling (the member stays in the group), ``/readyz`` reports not
ready. One task per cause *probes*: it waits (``Retry-After`` or the probe interval, doubling up to a
cap), re-reads credentials (a mounted token file), re-sends its own request — safe because the
``sendId`` makes the send idempotent — and releases the cause when HubSpot answers per event again.
Any per-event answer to an attempt that *started after* the hold also proves health and releases
PAUSE-class causes and the transient breaker. The mass-DLQ breaker and ``dlq_unwritable`` are
released by their own probe only (a DLQ write that is acknowledged, for the latter): HubSpot's health
says nothing about them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from consumer.breaker import TransientBreaker
from consumer.logs import get_logger
from consumer.metrics import BREAKER_OPEN, PAUSED
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.ports import Holdable

log = get_logger("consumer.pause")

# A cause is a Reason: the outcome's own for PAUSE-class answers, or one of the engine's decisions.
TRANSIENT = Reason.TRANSIENT_BREAKER
MASS_DLQ = Reason.MASS_DLQ_BREAKER
DLQ_UNWRITABLE = Reason.DLQ_UNWRITABLE
_OWN_PROBE_ONLY = (MASS_DLQ, DLQ_UNWRITABLE)  # causes no HubSpot answer releases
Probe = Callable[[], Awaitable[Outcome]]
_ANSWERED = (OutcomeClass.SENT, OutcomeClass.TERMINAL, OutcomeClass.PERMANENT)


@dataclass(slots=True)
class _Hold:
    outcome: Outcome
    since: float


class PauseController:
    def __init__(
        self,
        *,
        gate: Holdable,
        transient_threshold: int,
        probe_interval_s: float,
        max_probe_interval_s: float = 60.0,
        on_change: Callable[[bool], None] = lambda paused: None,
        before_probe: Callable[[], Awaitable[object]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gate = gate
        self._breaker = TransientBreaker(transient_threshold)
        self._probe_interval = probe_interval_s
        self._max_probe_interval = max(max_probe_interval_s, probe_interval_s)
        self._on_change = on_change
        self._before_probe = before_probe
        self._sleep = sleep
        self._clock = clock
        self._holds: dict[Reason, _Hold] = {}
        self._probing: set[Reason] = set()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._candidate: Probe | None = None
        self._candidates: dict[Reason, list[Probe]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.probes = 0

    # ------------------------------------------------------------------ state

    @property
    def paused(self) -> bool:
        return bool(self._holds)

    @property
    def causes(self) -> dict[Reason, Outcome]:
        return {cause: h.outcome for cause, h in self._holds.items()}

    async def wait_resumed(self) -> None:
        await self._resumed.wait()

    def _hold(self, cause: Reason, outcome: Outcome) -> None:
        if cause in self._holds:
            return
        first = not self._holds
        self._holds[cause] = _Hold(outcome, self._clock())
        self._gate.hold(cause)
        self._resumed.clear()
        PAUSED.labels(cause=cause).set(1)
        if cause in (TRANSIENT, MASS_DLQ):
            BREAKER_OPEN.labels(breaker=cause).set(1)
        log.warning(
            "pipeline.paused",
            cause=cause,
            reason=outcome.reason.value,
            http_status=outcome.http_status,
            send_result=outcome.send_result,
            retry_after_s=outcome.retry_after_s,
            detail=outcome.detail,
        )
        if first:
            self._on_change(True)

    def _release(self, cause: Reason) -> None:
        hold = self._holds.pop(cause, None)
        if hold is None:
            return
        if cause == TRANSIENT:
            self._breaker.reset()
        self._gate.release(cause)
        PAUSED.labels(cause=cause).set(0)
        if cause in (TRANSIENT, MASS_DLQ):
            BREAKER_OPEN.labels(breaker=cause).set(0)
        log.info("pipeline.resumed", cause=cause, paused_s=round(self._clock() - hold.since, 3))
        if not self._holds:
            self._resumed.set()
            self._on_change(False)

    # ------------------------------------------------------------------ inputs

    def offer_probe(self, probe: Probe) -> None:
        """Remember a request that may serve as the transient breaker's probe (the latest send)."""
        self._candidate = probe

    def observe(self, outcome: Outcome, started_at: float | None = None) -> None:
        """Called after every HubSpot attempt (synchronously, by the client)."""
        if outcome.cls is OutcomeClass.PAUSE:
            self._hold(outcome.reason, outcome)
        elif self._breaker.record(outcome.cls):
            self._hold(TRANSIENT, outcome)
            if TRANSIENT not in self._probing and self._candidate is not None:
                task = asyncio.create_task(self._probe_task(TRANSIENT, outcome, self._candidate))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        elif outcome.cls in _ANSWERED and started_at is not None:
            for cause, hold in list(self._holds.items()):
                if cause not in _OWN_PROBE_ONLY and started_at >= hold.since:
                    self._release(cause)

    async def block(self, cause: Reason, outcome: Outcome, probe: Probe) -> Outcome | None:
        """Pause for ``cause``; the first caller probes and returns its healthy outcome, the others
        wait until the pipeline resumes and get ``None`` (they re-send themselves).

        Every blocked caller offers its request as a probe candidate and the prober takes them in
        turn, so one request that is bad on its own cannot keep the pipeline paused. A prober that is
        cancelled (its partition revoked, shutdown) hands probing to a task with the remaining
        candidates, or releases the cause when none remain: no cause is held without a probe."""
        self._hold(cause, outcome)
        candidates = self._candidates.setdefault(cause, [])
        candidates.append(probe)
        prober = cause not in self._probing
        try:
            if not prober:
                await self.wait_resumed()
                return None
            return await self._probe_until_healthy(cause, outcome, probe)
        finally:
            candidates.remove(probe)
            if prober and cause in self._holds and cause not in self._probing:
                self._orphaned(cause, outcome, candidates)

    def _orphaned(self, cause: Reason, outcome: Outcome, candidates: list[Probe]) -> None:
        if not candidates:
            self._release(cause)
            return
        self._probing.add(cause)  # at once: a caller blocking meanwhile must not probe as well
        task = asyncio.create_task(self._probe_task(cause, outcome, candidates[0]))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ probing

    async def _probe_task(self, cause: Reason, outcome: Outcome, probe: Probe) -> None:
        await self._probe_until_healthy(cause, outcome, probe)

    async def _probe_until_healthy(self, cause: Reason, outcome: Outcome, probe: Probe) -> Outcome | None:
        self._probing.add(cause)
        try:
            delay = self._probe_interval
            while cause in self._holds:
                wait = max(delay, min(outcome.retry_after_s or 0.0, 24 * 3600.0))
                await self._sleep(wait)
                if cause not in self._holds:
                    break  # released meanwhile by a healthy answer
                if self._before_probe is not None and cause != DLQ_UNWRITABLE:
                    await self._before_probe()  # re-reads HubSpot credentials
                candidates = self._candidates.get(cause) or [probe]
                self.probes += 1
                chosen = candidates[self.probes % len(candidates)]
                result = await chosen()
                healthy = result.cls in (OutcomeClass.SENT, OutcomeClass.TERMINAL) or (
                    result.cls is OutcomeClass.PERMANENT and cause != MASS_DLQ
                )
                log.info("pipeline.probe", cause=cause, healthy=healthy, result=result.label)
                if healthy:
                    self._release(cause)
                    # Another blocked record's request answered: it is that record's outcome, not
                    # ours; both re-send (the answered one gets IDEMPOTENT_IGNORE).
                    return result if chosen is probe else None
                outcome = result
                delay = min(delay * 2, self._max_probe_interval)
            await self.wait_resumed()
            return None
        finally:
            self._probing.discard(cause)

    def open_mass_dlq(self, outcome: Outcome) -> None:
        self._hold(MASS_DLQ, outcome)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
