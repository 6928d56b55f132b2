"""The HubSpot Single Send client: one aiohttp session, auth, the shared rate limiter, retries.

:meth:`HubSpotClient.send` returns the FINAL :class:`~consumer.outcome.Outcome` of one request and
never raises for HubSpot answers or transport failures (only ``CancelledError`` propagates). What
follows each answer is decided by the pure :class:`consumer.hubspot.retry.RetryPolicy`; the client
carries the decisions out (sleeps, credential refresh, limiter, metrics, logs):

* every attempt acquires the limiter, POSTs the same bytes (same ``sendId``), and is classified by
  :func:`consumer.hubspot.taxonomy.classify`; ``observer(outcome, started_at)`` sees every attempt's
  outcome and when it started (the pause controller releases a pause only on answers to attempts
  that started after it);
* RETRY → capped exponential backoff with full jitter, at least ``Retry-After``, until the time budget
  (``retry.budget_s``, counted from the first RETRY-class answer, so time spent waiting for the rate
  limiter does not count) would be exceeded → ``Outcome(RETRY, RETRIES_EXHAUSTED)``;
* THROTTLE → :meth:`RateLimiter.throttle` (every sender of the credential waits), then retry; rate
  limiting is flow control, so it spends no retry budget and never ends a send;
* 401 → ``auth.refresh()`` once (token file re-read / OAuth refresh); if the credential changed the
  request is retried once, a second 401 is returned as PAUSE;
* PAUSE (401, 403, 404, portal-level sendResults, 429 DAILY, 477) → returned at once with
  ``retry_after_s``; DAILY and 477 also put a timed hold on the limiter;
* SENT, TERMINAL, PERMANENT → returned at once. TERMINAL and PERMANENT are never retried.

A ``Retry-After`` binds every later attempt of the same ``sendId``, whichever call makes it: the
retry, a probe sent while that retry sleeps, a send of the request after a pause.

``probe=True`` (the pause controller's half-open check) makes exactly one attempt that passes the
limiter's holds: a failing probe returns its outcome instead of retrying. The retry after a
credential refresh also passes the holds — it *is* the check that the new credential works.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from zoneinfo import ZoneInfo

import aiohttp
import aiohttp.helpers
from prometheus_client import Counter
from yarl import URL

from consumer import __version__, metrics
from consumer.errors import SendError
from consumer.hubspot.auth import OAuthAuth, build_auth
from consumer.hubspot.portal import TOKEN_INFO_PATH, PortalIdentity, judge, parse_token_info
from consumer.hubspot.ratelimit import RateLimiter
from consumer.hubspot.request import SingleSendRequest
from consumer.hubspot.responses import header, parse_error, without_query
from consumer.hubspot.retry import Action, Decision, RetryPolicy, SendState
from consumer.hubspot.taxonomy import SEND_RESULT_CLASSES, classify, classify_transport
from consumer.logs import get_logger
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.ports import AuthProvider
from consumer.scrubbing import register_secret, scrub
from consumer.settings import HubSpotSettings

log = get_logger(__name__)

STATUS_PATH = "/marketing/v3/email/send-statuses/"
CHECK_STATUS_ID = "ssc-credential-check"
_TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


@functools.cache
def _send_counter(status: int, send_result: str) -> Counter:
    """The metric child of one (status, sendResult) pair: label lookups cost more than the increment.
    The key space is bounded (HTTP statuses x the known sendResults + "unknown" + "none")."""
    return metrics.SENDS.labels(status=str(status), send_result=send_result)


def env_proxy(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY`` / ``HTTP_PROXY`` name for ``url`` (its credentials, from the
    variable or ``~/.netrc``, kept in the proxy URL), or ``None`` to connect directly (no proxy for
    the scheme, or the host is in ``NO_PROXY``). The proxy's password is registered as a secret, so
    logs never show it. Reads the environment and a file: call it off the event loop."""
    try:
        proxy, auth = aiohttp.helpers.get_env_proxy_for_url(URL(url))
    except LookupError:
        return None
    if auth is not None:
        register_secret(auth.password)
        proxy = proxy.with_user(auth.login).with_password(auth.password)
    return str(proxy)


def seconds_to_midnight(zone: str = "UTC", now: datetime | None = None) -> float:
    """Seconds until the next midnight in ``zone``. HubSpot resets DAILY at midnight in the portal's
    time zone, which the API does not tell us: ``SSC_HUBSPOT__PORTAL_TIMEZONE`` does (a probe that
    comes too early just pauses again)."""
    tz = ZoneInfo(zone)
    local = (now or datetime.now(UTC)).astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return (midnight.astimezone(UTC) - local.astimezone(UTC)).total_seconds()


class HubSpotClient:
    """Sends :class:`SingleSendRequest` s to HubSpot (or the simulator). Use as an async context manager."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        max_in_flight: int,
        auth: AuthProvider | None = None,
        limiter: RateLimiter | None = None,
        observer: Callable[[Outcome, float], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        self.settings = settings
        self._trace_configs = list(trace_configs)
        self._max_in_flight = max_in_flight
        self._session: aiohttp.ClientSession | None = None
        self._sleep = sleep
        self._clock = clock
        self._observer = observer
        self.retry_policy = RetryPolicy(settings.retry, (rng or random.Random()).uniform)
        # sha256 of a credential -> the portal guard's verdict about it (None: may send)
        self._portal_verdicts: dict[str, Outcome | None] = {}
        self.portal: PortalIdentity | None = None  # what HubSpot said about the last credential checked
        # sendId -> the earliest clock time of its next attempt: a Retry-After binds every later
        # attempt of that request (a retry, a probe sent while the retry sleeps, a send after a pause)
        self._not_before: dict[str, float] = {}
        # URL -> its proxy from the environment (None: direct), read once per URL and client
        self._proxies: dict[str, str | None] = {}
        self.limiter = limiter or RateLimiter(
            settings.rate_limit, sleep=sleep, clock=clock, max_pause_s=settings.retry.max_retry_after_s
        )
        self.auth: AuthProvider = auth or build_auth(
            settings.auth,
            base_url=settings.base_url,
            session_factory=lambda: self._session,
            clock=clock,
            trust_env=settings.trust_env_proxy,
            proxy_for=self.proxy_for,
        )
        base = settings.base_url.rstrip("/")
        self.send_url = base + settings.send_path
        self.status_url = base + STATUS_PATH

    def __repr__(self) -> str:
        return f"HubSpotClient(url={self.send_url!r}, auth={self.auth!r}, limiter={self.limiter!r})"

    async def __aenter__(self) -> HubSpotClient:
        connector = aiohttp.TCPConnector(limit=self._max_in_flight, limit_per_host=self._max_in_flight)
        # ``total`` bounds the whole attempt (DNS, the wait for a pooled connection, connect, TLS, the
        # request and the complete answer), so a server that trickles bytes cannot hold a send forever.
        timeout = aiohttp.ClientTimeout(
            total=self.settings.attempt_timeout_s,
            sock_connect=self.settings.connect_timeout_s,
            sock_read=self.settings.read_timeout_s,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={"User-Agent": f"single-send-consumer/{__version__}", "Accept": "application/json"},
            raise_for_status=False,
            trace_configs=self._trace_configs or None,
            # HubSpot's API takes no cookies; a jar would be searched at every request and grow with
            # whatever a load balancer in front of it sets
            cookie_jar=aiohttp.DummyCookieJar(),
            # The proxy comes from proxy_for (the environment read once per URL), not from aiohttp's
            # trust_env, which reads it (and ~/.netrc) in a worker thread at every request.
            trust_env=False,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def proxy_for(self, url: str) -> str | None:
        """The proxy of ``url`` (:func:`env_proxy`) when ``SSC_HUBSPOT__USE_ENV_PROXY`` applies, else
        ``None``; the environment is read once per URL, off the event loop."""
        if url not in self._proxies:
            use = self.settings.trust_env_proxy
            self._proxies[url] = await asyncio.to_thread(env_proxy, url) if use else None
        return self._proxies[url]

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("HubSpotClient is not open: use `async with HubSpotClient(...)`")
        return self._session

    # -- one attempt ------------------------------------------------------------------------------------
    async def _attempt(self, url: str, body: bytes | None, *, probe: bool) -> tuple[Outcome, float]:
        """One request; returns its outcome and the clock time it was sent at."""
        sent_at = await self.limiter.acquire(probe=probe)
        headers: dict[str, str] = {}
        params: dict[str, str] = {}
        try:
            await self.auth.apply(headers, params)
        except SendError as exc:  # AuthError → PAUSE; token endpoint down → RETRY (never an HTTP 401)
            return exc.outcome, sent_at
        if self.settings.portal_id is not None and (refused := await self.guard(headers, params)):
            return refused, sent_at
        proxy = await self.proxy_for(url)
        started = time.perf_counter()
        try:
            # Redirects are never followed: a 302 would turn the POST into a GET, and an answer from
            # wherever it leads is not HubSpot's. The taxonomy pauses on any 3xx.
            if body is None:
                request = self.session.get(
                    url, headers=headers, params=params, allow_redirects=False, proxy=proxy
                )
            else:
                headers["Content-Type"] = "application/json"
                request = self.session.post(
                    url, data=body, headers=headers, params=params, allow_redirects=False, proxy=proxy
                )
            async with request as resp:
                raw = await resp.read()
                status, resp_headers = resp.status, resp.headers
        except asyncio.CancelledError:
            raise
        except _TRANSPORT_ERRORS as exc:
            metrics.SENDS.labels(status="error", send_result="none").inc()
            return classify_transport(exc), sent_at
        finally:
            metrics.SEND_LATENCY.observe(time.perf_counter() - started)
        self.limiter.observe(resp_headers, sent_at=sent_at)
        if 300 <= status < 400:
            location = without_query(header(resp_headers, "location"))
            log.warning("hubspot.redirect_refused", http_status=status, location=location, url=url)
        if body is None:
            return self._classify_check(status, raw, resp_headers), sent_at
        outcome = classify(status, raw, resp_headers, scrub=scrub)
        result = outcome.send_result
        label = "none" if result is None else (result if result in SEND_RESULT_CLASSES else "unknown")
        _send_counter(status, label).inc()
        return outcome, sent_at

    # -- the portal guard ---------------------------------------------------------------------------------
    async def guard(self, headers: Mapping[str, str], params: Mapping[str, str]) -> Outcome | None:
        """``None`` when the credential in ``headers``/``params`` belongs to ``SSC_HUBSPOT__PORTAL_ID``
        (learnt once per credential: after a rotation or an OAuth refresh it is learnt again), else
        the PAUSE outcome (:func:`consumer.hubspot.portal.judge`). Nothing is sent before it passes."""
        expected = self.settings.portal_id
        if expected is None:
            return None
        credential = headers.get("Authorization") or params.get("hapikey") or ""
        key = hashlib.sha256(credential.encode()).hexdigest()
        if key in self._portal_verdicts:
            return self._portal_verdicts[key]
        if isinstance(self.auth, OAuthAuth):
            identity = PortalIdentity(self.auth.hub_id, self.auth.scopes)
        else:
            learnt = await self._token_info(credential)
            if isinstance(learnt, Outcome):
                return learnt  # HubSpot could not be asked: decide on the next attempt
            identity = learnt
        verdict = judge(expected, identity, unknown=self.settings.portal_unknown)
        self._portal_verdicts[key] = verdict
        self.portal = identity
        if verdict is None:
            log.info("hubspot.portal_verified", hub_id=identity.hub_id)
        else:
            log.error(
                "hubspot.portal_refused",
                expected=expected,
                hub_id=identity.hub_id,
                reason=verdict.reason.value,
            )
        return verdict

    async def _token_info(self, credential: str) -> PortalIdentity | Outcome:
        """HubSpot's access-token information for a bearer token (a hapikey has none)."""
        if not credential.lower().startswith("bearer "):
            return PortalIdentity()
        token = credential[7:].strip()
        url = self.settings.base_url.rstrip("/") + TOKEN_INFO_PATH
        try:
            proxy = await self.proxy_for(url)
            request = self.session.post(url, json={"tokenKey": token}, allow_redirects=False, proxy=proxy)
            async with request as resp:
                status, raw, resp_headers = resp.status, await resp.read(), resp.headers
        except asyncio.CancelledError:
            raise
        except _TRANSPORT_ERRORS as exc:
            return classify_transport(exc)
        if status == 200:
            return parse_token_info(raw)
        if status in (401, 403) or status >= 500 or 300 <= status < 400 or status == 429:
            return classify(status, raw, resp_headers, scrub=scrub)
        return PortalIdentity()  # HubSpot does not know this kind of credential here

    # -- public ---------------------------------------------------------------------------------------------
    async def send(self, request: SingleSendRequest, *, probe: bool = False) -> Outcome:
        """The final outcome of ``request`` (see the module docstring); never raises but CancelledError.
        What follows each answer is decided by :class:`~consumer.hubspot.retry.RetryPolicy`."""
        # One wire form for every API version: the dated specs require the optional collections
        # (empty is fine), and the bytes are computed once, so every attempt is identical.
        body, send_id = request.complete_body, request.send_id
        state = SendState.start(probe=probe)
        while True:
            outcome = await self._answer(send_id, body, passes_hold=state.passes_hold)
            step = self.retry_policy.decide(state, outcome, self._clock())
            state, result = step.state, step.outcome
            match step.action:
                case Action.RETRY | Action.THROTTLED:
                    await self._back_off(step, send_id)
                case Action.REAUTHENTICATE:
                    try:
                        changed = await self.auth.refresh()
                    except SendError as exc:
                        return dataclasses.replace(exc.outcome, attempts=state.attempts)
                    if not changed:
                        return result
                    log.info("send.reauthenticated", send_id=send_id, attempt=state.attempts)
                case Action.GIVE_UP:
                    log.warning(
                        "send.retries_exhausted",
                        send_id=send_id,
                        attempts=state.attempts,
                        reason=outcome.reason.value,
                        http_status=outcome.http_status,
                    )
                    return result
                case Action.FINISH:
                    return self._finish(result, send_id)
                case Action.RETURN:
                    return result

    async def _answer(self, send_id: str | None, body: bytes, *, passes_hold: bool) -> Outcome:
        """One attempt of a send, once its ``Retry-After`` allows, reported to the observer; a
        THROTTLE answer slows the limiter for every sender of the credential."""
        await self._wait_retry_after(send_id)
        outcome, sent_at = await self._attempt(self.send_url, body, probe=passes_hold)
        self._note_retry_after(send_id, outcome)
        if self._observer is not None:
            self._observer(outcome, sent_at)
        if outcome.cls is OutcomeClass.THROTTLE:
            policy = "THROTTLED" if outcome.send_result else "TEN_SECONDLY_ROLLING"
            metrics.THROTTLED.labels(policy=policy).inc()
            refused = outcome.http_status == 429  # HubSpot counted a THROTTLED 200, not a 429
            self.limiter.throttle(outcome.retry_after_s, sent_at=sent_at if refused else None)
        return outcome

    async def _back_off(self, step: Decision, send_id: str | None) -> None:
        outcome, attempt, delay = step.outcome, step.state.attempts, step.delay_s
        if step.action is Action.THROTTLED:
            log.info(
                "send.throttled",
                send_id=send_id,
                attempt=attempt,
                delay_s=round(delay, 3),
                retry_after_s=outcome.retry_after_s,
            )
        else:
            metrics.RETRIES.labels(reason=outcome.reason.value).inc()
            log.info(
                "send.retry_scheduled",
                send_id=send_id,
                attempt=attempt,
                delay_s=round(delay, 3),
                reason=outcome.reason.value,
                http_status=outcome.http_status,
                correlation_id=outcome.correlation_id,
            )
        if delay > 0:
            await self._sleep(delay)

    async def _wait_retry_after(self, send_id: str | None) -> None:
        at = self._not_before.get(send_id) if send_id is not None else None
        if at is not None and (delay := at - self._clock()) > 0:
            await self._sleep(delay)

    def _note_retry_after(self, send_id: str | None, outcome: Outcome) -> None:
        if send_id is None or not outcome.retry_after_s:
            return
        now = self._clock()
        for expired in [sid for sid, at in self._not_before.items() if at <= now]:
            del self._not_before[expired]  # the map holds only requests still told to wait
        wait = min(outcome.retry_after_s, self.settings.retry.max_retry_after_s)
        self._not_before[send_id] = max(self._not_before.get(send_id, 0.0), now + wait)

    def _finish(self, outcome: Outcome, send_id: str | None) -> Outcome:
        if outcome.send_result == "PORTAL_OVER_LIMIT":
            self.limiter.throttle(None)  # the email layer's own limit pushes back like THROTTLED
        if outcome.cls is OutcomeClass.PAUSE and outcome.reason in (Reason.DAILY_LIMIT, Reason.MIGRATING):
            wait = outcome.retry_after_s
            if wait is None and outcome.reason is Reason.DAILY_LIMIT:
                wait = seconds_to_midnight(self.settings.portal_timezone)
                outcome = dataclasses.replace(outcome, retry_after_s=wait)
            if wait is not None:
                self.limiter.hold_for(outcome.reason.value, wait)
        if outcome.cls is not OutcomeClass.SENT:
            log.info(
                "send.finished",
                send_id=send_id,
                outcome=outcome.cls.value,
                reason=outcome.label,
                http_status=outcome.http_status,
                attempts=outcome.attempts,
                correlation_id=outcome.correlation_id,
            )
        return outcome

    def _classify_check(self, status: int, raw: bytes, headers: Mapping[str, str]) -> Outcome:
        if status in (200, 404):
            return Outcome(
                OutcomeClass.SENT,
                Reason.SENT,
                f"credential accepted (send-statuses answered {status})",
                http_status=status,
                correlation_id=parse_error(raw, headers).correlation_id,
            )
        return classify(status, raw, headers, scrub=scrub)

    async def check(self) -> Outcome:
        """An authenticated, side-effect-free call (for ``consumer check`` and probes).

        ``GET /marketing/v3/email/send-statuses/<an id that does not exist>``: a 404 (or 200) proves
        the credential is accepted and nothing is sent; 401/403 → PAUSE. A 401 triggers one refresh.
        """
        url = self.status_url + CHECK_STATUS_ID
        outcome, _ = await self._attempt(url, None, probe=True)
        if outcome.cls is OutcomeClass.PAUSE and outcome.http_status == 401:
            try:
                changed = await self.auth.refresh()
            except SendError as exc:
                return exc.outcome
            if changed:
                outcome, _ = await self._attempt(url, None, probe=True)
        log.info(
            "hubspot.checked", outcome=outcome.cls.value, reason=outcome.label, status=outcome.http_status
        )
        return outcome


__all__ = ["HubSpotClient", "env_proxy", "seconds_to_midnight"]
