"""Per-credential rate limiter shared by every sender of one HubSpot credential.

HubSpot counts requests per app in a rolling window (default 100 per 10 s) and reports the window in
``X-HubSpot-RateLimit-Max``, ``-Remaining`` and ``-Interval-Milliseconds``. The limiter keeps a log of
its own sends and lets a send through while

* fewer than ``budget`` of its sends fall in the last ``interval * (1 + window_guard_ratio)`` (the
  guard absorbs the skew between when we send and when HubSpot counts); a send HubSpot refused
  (429) leaves the log, as HubSpot did not count it either;
* the header-derived cap holds: after a response that HubSpot answered with ``Remaining = r``, this
  limiter may have at most ``mine + r * mine / used`` sends in the window for one interval (``mine``:
  its sends in the window at that request; ``used = Max - r``: what HubSpot counted). Because the
  headers count the whole app, this accounts for other replicas sharing the credential and splits
  what is left in proportion to use: header-driven adaptation works across replicas without a
  shared store (alone, ``mine == used`` and the cap is simply ``mine + r``). When the window moves on,
  the budget stays at that share (``mine / used``) of the maximum until answers show the others
  have gone (for at most three intervals without a new measurement). Our share counts only the sends
  HubSpot accepted. Two kinds of answer do not measure it and keep the share measured before
  without prolonging it: one from a nearly empty window (under a fifth of the maximum used: a few
  sends in flight would decide it), and one to a send made in this limiter's first interval
  (HubSpot's window still counts what others sent before we started, and a replaced pod's burst
  would pin a fresh one to a sliver of the budget; meanwhile it may claim all that is left). The
  split is proportional, not fair: a replica that was nearly idle while another was busy keeps a
  small share until the busy one slows down; use the static share below when strict fairness
  matters;
* once the group's partition ownership is known (:meth:`share_by_partitions`, with the setting of
  that name), that part of ``max`` (rounded up) replaces ``replica_share``, and the sends are paced
  at that part of the group's rate, spread evenly over the interval (``ratesharing.spacing``)
  rather than sent whenever a slot frees. Every member steers its estimate of the group's rate with
  the app-wide ``Remaining`` of each answer toward a window just under full
  (``ratesharing.steer``), so none estimates the others' use from its own, and at every rebalance
  the members agree on one estimate (:meth:`vote`, :meth:`adopt`); with the seat the group's leader
  deals at a rebalance, the pace is a whole number of sends per interval (``ratesharing.allowance``)
  and no more of them fall in any span of ``1 + PACE_SLACK`` intervals, so the group holds a fixed
  count in HubSpot's window; after each answer our window may grow by that part of what is left,
  instead of the proportional split above;
* no THROTTLE pause is running (a 429 stops every sender until ``Retry-After``);
* no hold is active (the engine's breakers and pause gate; DAILY / 477 pauses are timed holds).
  A probe (the engine's half-open check) passes holds but not THROTTLE pauses.

``budget = floor(max * replica_share)``: ``replica_share`` (1/replicas) is the static alternative
when headers are absent or adaptation is off.

Without rate-limit headers (none seen for three intervals, or adaptation off) the ``mode`` decides:
``fixed`` keeps the rolling budget above as a hard cap; ``discover`` (default) paces sends at the
rate :mod:`consumer.hubspot.ratepolicy` discovers from HubSpot's answers, starting at the budget's
rate: every answer to a send that waited for the pace raises it, every pushback (:meth:`throttle`)
sets it just under the rate HubSpot accepted over the last interval. The caps :meth:`throttle`
sets apply in both modes. Waiting uses the injected ``sleep``/``clock``, so tests never sleep for
real.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from consumer import metrics
from consumer.hubspot import ratepolicy, ratesharing
from consumer.hubspot.responses import header
from consumer.logs import get_logger
from consumer.settings import RateLimitSettings

log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
# how long rate-limit headers, once seen, keep discovery off (they may be missing on some answers)
_HEADERS_TTL_INTERVALS = 3
# the pace lets a send that comes this late after its slot take the slots it missed (a small burst)
_PACE_CREDIT_S = 0.05


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = header(headers, name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


class RateLimiter:
    """One per credential; see the module docstring for the rules. Not thread-safe (one event loop)."""

    def __init__(
        self,
        settings: RateLimitSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        max_pause_s: float = 3600.0,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._max_pause_s = max_pause_s
        self._max = settings.requests_per_interval
        self._interval_s = settings.interval_ms / 1000
        self._log: deque[float] = deque()
        self._sharing = ratesharing.Sharing()  # our share of the app's window (see ratesharing)
        self._first_sent_at: float | None = None
        self._blocked_until = 0.0
        self._last_remaining: int | None = None  # X-HubSpot-RateLimit-Remaining of the last answer
        self._holds: set[str] = set()
        self._timed_holds: dict[str, float] = {}
        self._changed = asyncio.Event()
        self._queue = asyncio.Lock()  # FIFO: one waiter computes and sleeps at a time
        self._tuning = ratepolicy.Tuning(
            start_rate=self.budget / self._interval_s,
            max_rate=settings.discover_max_per_s,
            settle_s=self._interval_s,
        )
        self._discovery = ratepolicy.Discovery.start(self._tuning)
        self._headers_until = -math.inf  # rate-limit headers seen recently: they rule, not discovery
        self._next_send_at = -math.inf  # the pace's next slot
        self._paced_at = -math.inf  # when a send last waited for the pace
        metrics.LIMITER_TOKENS.set(self.budget)

    def __repr__(self) -> str:
        return f"RateLimiter(budget={self.budget}, interval_s={self._interval_s}, held={self.held})"

    # -- state -----------------------------------------------------------------------------------
    @property
    def budget(self) -> int:
        """Sends this replica may make per interval (after adaptation and the static share)."""
        part = self._sharing.part
        return max(1, math.floor(self._max * (self._settings.replica_share if part is None else part)))

    def share_by_partitions(self, owned: int, total: int) -> None:
        """This replica owns ``owned`` of the ``total`` partitions its group reads: with
        ``share_by_partitions`` that part of the app's window is its budget, and it paces that part
        of the group's rate (see ``ratesharing.steer``)."""
        part = owned / total if self._settings.share_by_partitions and 0 < owned <= total else None
        if (owned, total) == (self._sharing.owned, self._sharing.total):  # the part follows from them
            return
        self._sharing = dataclasses.replace(
            self._sharing, part=part, parted_at=self._clock(), owned=owned, total=total
        )
        # the pace starts over from now: slots of the former part missed while the group rebalanced
        # are not ours to catch up (every member's burst at once would overrun the window)
        self._next_send_at = max(self._next_send_at, self._clock())
        metrics.LIMITER_TOKENS.set(self.budget)
        log.info("ratelimit.shared", owned=owned, total=total, budget=self.budget)
        self._notify()

    def vote(self) -> bytes:
        """This replica's estimate of its group's rate, as it states it when the group rebalances
        (``ratesharing.vote``)."""
        return ratesharing.vote(self._sharing)

    def adopt(self, dealt: bytes | None) -> None:
        """What the group's leader handed this replica at a new generation (``ratesharing.seat``):
        its seat, and the agreed rate, which replaces this replica's estimate (nothing agreed keeps
        it)."""
        before = self._sharing
        self._sharing = ratesharing.adopt(before, dealt, now=self._clock())
        if self._sharing is not before:
            group = self._sharing.group
            log.info(
                "ratelimit.adopted",
                rate=None if group is None else round(group.rate, 2),
                seat=self._sharing.seat,
            )
        self._notify()

    @property
    def discovery(self) -> ratepolicy.Discovery | None:
        """The discovered pace while it rules (``discover`` mode, no recent rate-limit headers)."""
        return self._discovery if self._discovering(self._clock()) else None

    def _discovering(self, now: float) -> bool:
        return self._settings.mode == "discover" and now >= self._headers_until

    @property
    def interval_s(self) -> float:
        return self._interval_s

    @property
    def _window_s(self) -> float:
        return self._interval_s * (1 + self._settings.window_guard_ratio)

    @property
    def held(self) -> bool:
        """True while any hold (engine cause or timed pause) is active."""
        return bool(self._holds) or bool(self._active_timed_holds(self._clock()))

    def _active_timed_holds(self, now: float) -> dict[str, float]:
        for cause in [c for c, until in self._timed_holds.items() if until <= now]:
            del self._timed_holds[cause]
        return self._timed_holds

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _prune(self, now: float) -> None:
        edge = now - self._window_s
        while self._log and self._log[0] <= edge:
            self._log.popleft()

    def _count_at(self, when: float, window_s: float | None = None) -> int:
        """Sends of ours in the window that ends at ``when``."""
        edge = when - (self._window_s if window_s is None else window_s)
        return sum(1 for t in self._log if edge < t <= when)

    # -- engine gate -------------------------------------------------------------------------------
    def hold(self, cause: str) -> None:
        """Block :meth:`acquire` (except probes) until :meth:`release` of the same cause."""
        self._holds.add(cause)

    def hold_for(self, cause: str, seconds: float) -> None:
        """A hold that ends by itself after ``seconds`` (DAILY limit, 477 migration) or on release."""
        seconds = min(max(0.0, seconds), self._max_pause_s)
        self._timed_holds[cause] = max(self._timed_holds.get(cause, 0.0), self._clock() + seconds)
        log.warning("ratelimit.paused", cause=cause, seconds=round(seconds, 3))

    def release(self, cause: str) -> None:
        self._holds.discard(cause)
        self._timed_holds.pop(cause, None)
        self._notify()

    # -- feedback ------------------------------------------------------------------------------------
    def observe(self, headers: Mapping[str, str], *, sent_at: float | None = None) -> None:
        """Adapt from ``X-HubSpot-RateLimit-*`` headers of a response to a request sent at ``sent_at``."""
        daily_left = _int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        if daily_left is not None:
            metrics.LIMITER_REMAINING.labels(window="daily").set(daily_left)
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        self._last_remaining = remaining
        if remaining is not None:
            metrics.LIMITER_REMAINING.labels(window="interval").set(remaining)
        if self._settings.adapt_from_headers:
            self._follow_window(headers, remaining is not None)
            if remaining is not None:
                self._claim(remaining, sent_at)
        self._discovered(accepted=True)
        if not self._discovering(self._clock()):  # headers rule: the gauge shows their budget
            metrics.LIMITER_TOKENS.set(self.budget)

    def _follow_window(self, headers: Mapping[str, str], has_remaining: bool) -> None:
        """Take HubSpot's maximum and interval from an answer's headers."""
        new_max = _int_header(headers, "X-HubSpot-RateLimit-Max")
        if new_max is not None or has_remaining:
            self._headers_until = self._clock() + _HEADERS_TTL_INTERVALS * self._interval_s
        interval_ms = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if (new_max and new_max > 0 and new_max != self._max) or (
            interval_ms and interval_ms > 0 and interval_ms / 1000 != self._interval_s
        ):
            self._max = new_max if new_max and new_max > 0 else self._max
            self._interval_s = interval_ms / 1000 if interval_ms and interval_ms > 0 else self._interval_s
            metrics.LIMITER_TOKENS.set(self.budget)
            log.info("ratelimit.adapted", budget=self.budget, interval_s=self._interval_s)

    def _claim(self, remaining: int, sent_at: float | None) -> None:
        """Cap our window for one interval at our part of what HubSpot has left (see ratesharing)."""
        now = self._clock()
        when = now if sent_at is None else sent_at
        # HubSpot's window has no guard, so our share is counted over the bare interval (the log
        # holds no refused send: see throttle)
        answer = ratesharing.Answer(
            maximum=self._max,
            remaining=remaining,
            accepted=self._count_at(when, self._interval_s),
            warming=self._first_sent_at is None or when - self._first_sent_at < self._interval_s,
        )
        mine = self._count_at(when)
        self._sharing = ratesharing.answered(
            self._sharing, answer, sent_at=when, now=now, mine=mine, interval_s=self._interval_s
        )
        self._notify()

    def throttle(self, retry_after_s: float | None, *, sent_at: float | None = None) -> None:
        """A THROTTLE answer (call this after :meth:`observe` of the same response). ``sent_at`` is
        the stamp :meth:`acquire` returned for a send HubSpot refused with HTTP 429 (HubSpot did not
        count it, so it leaves the log); pass None for a throttle HubSpot counted (a 200 with
        ``sendResult`` ``THROTTLED``). Every sender of the credential waits ``Retry-After``.
        Without one, if the answer's headers say the window still has room (``Remaining`` > 0), the
        refusal was not about our rate and nothing changes for the other senders; otherwise (window
        full, or no headers) an optional short pause (``no_retry_after_pause_s``) and no new send
        until one of ours rolls off."""
        now = self._clock()
        if sent_at is not None and sent_at in self._log:
            # HubSpot did not count it: it takes no slot of ours, and counted as ours it would inflate
            # our share of the app, our claim, cause more refusals and inflate it further
            self._log.remove(sent_at)
        if retry_after_s is None and self._last_remaining is not None and self._last_remaining > 0:
            log.info("ratelimit.throttled", pause_s=0, window_full=False, remaining=self._last_remaining)
            return
        self._discovered(accepted=False)
        pause = self._settings.no_retry_after_pause_s if retry_after_s is None else retry_after_s
        pause = min(max(0.0, pause), self._max_pause_s)
        self._blocked_until = max(self._blocked_until, now + pause)
        self._prune(now)
        if retry_after_s is None:
            # HubSpot's window is full and it did not say for how long: no new send until one of
            # ours rolls off (with none of ours in the window, for one interval).
            self._sharing = ratesharing.window_full(
                self._sharing, now=now, mine=len(self._log), interval_s=self._interval_s
            )
        log.info("ratelimit.throttled", pause_s=round(pause, 3), in_window=len(self._log))
        self._notify()

    def _discovered(self, *, accepted: bool) -> None:
        """Feed one answer (accepted, or a pushback) to the discovery policy while it rules."""
        now = self._clock()
        if not self._discovering(now):
            return
        before = self._discovery
        if accepted:
            limited = now - self._paced_at <= max(1.0, 2 / before.rate)
            self._discovery = ratepolicy.accepted(before, self._tuning, now, limited=limited)
        else:
            measured = self._count_at(now, self._interval_s) / self._interval_s
            self._discovery = ratepolicy.pushback(before, self._tuning, now, measured=measured)
            if self._discovery is not before:
                log.info("ratelimit.discovered", rate=round(self._discovery.rate, 2), measured=measured)
        metrics.LIMITER_TOKENS.set(math.floor(self._discovery.rate * self._interval_s))

    # -- acquiring --------------------------------------------------------------------------------------
    def _pace_step(self, now: float) -> float:
        """The pace's time between two sends: the discovered rate's, or sharing by partitions our
        part of the group's rate spread evenly over the interval; 0 when nothing paces the sends."""
        if self._discovering(now):
            return 1 / self._discovery.rate
        return ratesharing.spacing(self._sharing, maximum=self._max, interval_s=self._interval_s)

    def _wait_time(self, now: float, probe: bool) -> float | None:
        """Seconds until a send may go (0: now); ``None``: blocked by a hold with no end."""
        if not probe:
            if self._holds:
                return None
            timed = self._active_timed_holds(now)
            if timed:
                return max(timed.values()) - now
        if self._blocked_until > now:
            return self._blocked_until - now
        self._prune(now)
        discovering = self._discovering(now)
        if self._pace_step(now) and self._next_send_at > now:
            self._paced_at = now
            return self._next_send_at - now
        limit = ratesharing.window_limit(
            self._sharing,
            now,
            budget=self.budget,
            maximum=self._max,
            mine=len(self._log),
            discovering=discovering,
            stretch=self._window_s / self._interval_s,
        )
        whole = None if discovering else ratesharing.allowance(self._sharing, self._max)
        # no more of our whole sends per interval than the pace's span holds: the log is in time
        # order, so the whole-th newest send is the one that must leave the span first
        span = self._interval_s * (1 + ratesharing.PACE_SLACK)
        if whole is not None and len(self._log) >= whole and self._log[-whole] > now - span:
            return max(0.0, self._log[-whole] + span - now)
        if len(self._log) < limit:
            return 0.0
        # a slot frees when the (len - limit + 1)-th oldest send rolls off, or when the cap ends
        waits: list[float] = []
        cap = self._sharing.cap_at(now)
        if cap is not None and limit == cap.sends:
            waits.append(cap.until - now)
        if limit > 0:
            waits.append(self._log[len(self._log) - limit] + self._window_s - now)
        return max(min(waits), 1e-3)

    async def _wait(self, limit_s: float | None) -> None:
        changed = asyncio.ensure_future(self._changed.wait())
        if limit_s is None:
            try:
                await changed
            finally:
                changed.cancel()
            return
        sleeper = asyncio.ensure_future(self._sleep(limit_s))
        try:
            await asyncio.wait({changed, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            sleeper.cancel()

    async def acquire(self, *, probe: bool = False) -> float:
        """Wait for budget (and, unless ``probe``, while held); then count one send. Returns the
        send's stamp (the clock time it was counted at)."""
        started = self._clock()
        if probe:
            while (wait := self._wait_time(self._clock(), probe=True)) and wait > 0:
                await self._wait(wait)
        else:
            async with self._queue:
                while (wait := self._wait_time(self._clock(), probe=False)) is None or wait > 0:
                    await self._wait(wait)
        now = self._clock()
        self._log.append(now)
        if step := self._pace_step(now):
            credit = _PACE_CREDIT_S if self._discovering(now) else ratesharing.PACE_CREDIT * self._window_s
            self._next_send_at = max(self._next_send_at, now - max(step, credit)) + step
        if self._first_sent_at is None:
            self._first_sent_at = now
        metrics.LIMITER_WAIT.observe(max(0.0, now - started))
        return now
