"""The console's aiohttp application: server-rendered pages, no script, one background sampler.

Pages (all GET, read-only):

- ``/`` — every replica: ready or paused and why, open breakers, partitions with lag, uncommitted
  records and the oldest incomplete one, sends in flight, the HubSpot budget, and charts of outcomes
  and dead letters per minute since the console started;
- ``/dead-letters`` — the DLQ topics, filtered by reason, event type, DLQ partition and time, with counts;
- ``/dead-letters/{topic}/{partition}/{offset}`` — one dead letter in full, personal data masked.

``POST /replay`` (only with ``--allow-replay``) runs the same plan and publish as ``consumer dlq
replay``: a dry run first, then a confirmation that republishes exactly the records the dry run listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from consumer.console.guard import HEADERS, Guard
from consumer.console.history import History, chart
from consumer.console.status import ReplicaStatus, scrape
from consumer.deadletters import display, reader, replay
from consumer.deadletters.replay import ReplayItem
from consumer.deadletters.selection import Selection, build_selection, parse_position
from consumer.errors import ConsumerError, KafkaUnavailable
from consumer.logs import get_logger
from consumer.route import Router
from consumer.settings import Settings

log = get_logger("consumer.console")

FILTERS = ("reason", "event_type", "partition", "since", "until")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    settings: Settings
    replicas: tuple[str, ...]
    dlq_topics: tuple[str, ...]
    router: Router | None = None  # for replay --revalidate; None: no revalidation offered
    allow_replay: bool = False
    scrape_interval_s: float = 5.0
    refresh_s: int | None = 10  # the status page reloads itself this often (None: never)
    kafka_timeout_s: float = 10.0
    page_limit: int = 200


class Sampler:
    """Reads every replica every ``interval`` and keeps the totals the charts draw."""

    def __init__(self, replicas: Sequence[str], interval_s: float) -> None:
        self.replicas = tuple(replicas)
        self.interval_s = interval_s
        self.latest: list[ReplicaStatus] = []
        self.outcomes = History()
        self.dead_letters = History()
        self._session: aiohttp.ClientSession | None = None

    async def sample(self) -> list[ReplicaStatus]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        found = await asyncio.gather(*(scrape(self._session, url) for url in self.replicas))
        now = time.monotonic()
        outcomes: dict[str, float] = {}
        dead: dict[str, float] = {}
        for status in found:
            for name, value in status.events_by_outcome.items():
                outcomes[name] = outcomes.get(name, 0.0) + value
            for reason, value in status.dlq_writes.items():
                dead[reason] = dead.get(reason, 0.0) + value
        self.outcomes.add(now, outcomes)
        self.dead_letters.add(now, dead)
        self.latest = list(found)
        return self.latest

    async def run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self.interval_s)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("consumer.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = lambda v: f"{v:,.0f}" if isinstance(v, int | float) else v
    env.filters["when"] = lambda iso: (
        datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    )
    return env


def _filters(query: Any) -> dict[str, list[str]]:
    return {name: [v for v in query.getall(name, []) if v.strip()] for name in FILTERS}


def _selection(filters: dict[str, list[str]]) -> Selection:
    since, until = filters["since"], filters["until"]
    return build_selection(
        reasons=filters["reason"],
        event_types=filters["event_type"],
        positions=filters["partition"],
        since=since[0] if since else None,
        until=until[0] if until else None,
        now=datetime.now(UTC),
    )


class Console:
    """The request handlers; one instance per application."""

    def __init__(self, config: ConsoleConfig, guard: Guard) -> None:
        self.config = config
        self.guard = guard
        self.sampler = Sampler(config.replicas, config.scrape_interval_s)
        self.templates = _templates()

    def page(self, name: str, status: int = 200, **context: Any) -> web.Response:
        body = self.templates.get_template(name).render(
            csrf=self.guard.csrf_token,
            allow_replay=self.config.allow_replay,
            topics=self.config.dlq_topics,
            **context,
        )
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    def topic(self, name: str | None) -> str:
        chosen = name or self.config.dlq_topics[0]
        if chosen not in self.config.dlq_topics:
            raise web.HTTPNotFound(text="not a DLQ topic of this console")
        return chosen

    async def status(self, _: web.Request) -> web.Response:
        replicas = self.sampler.latest or await self.sampler.sample()
        charts = {
            "outcomes": Markup(chart(self.sampler.outcomes.rates(), title="events finished per minute")),  # noqa: S704 - chart() escapes its labels
            "dead_letters": Markup(chart(self.sampler.dead_letters.rates(), title="dead letters per minute")),  # noqa: S704
        }
        return self.page("status.html", replicas=replicas, charts=charts, refresh=self.config.refresh_s)

    async def letters(self, request: web.Request) -> web.Response:
        topic = self.topic(request.query.get("topic"))
        filters = _filters(request.query)
        try:
            selection = _selection(filters)
            collected = await reader.collect(
                self.config.settings.kafka,
                topic,
                selection,
                limit=self.config.page_limit,
                timeout_s=self.config.kafka_timeout_s,
            )
        except ConsumerError as exc:
            status = 503 if isinstance(exc, KafkaUnavailable) else 400
            return self.page("letters.html", status, topic=topic, filters=filters, error=str(exc), rows=[])
        rows = [display.letter_json(letter, False, full=False) for letter in collected.letters]
        return self.page(
            "letters.html",
            topic=topic,
            filters=filters,
            rows=rows,
            tally=collected.tally,
            truncated=collected.truncated,
            error=None,
        )

    async def letter(self, request: web.Request) -> web.Response:
        topic = self.topic(request.match_info["topic"])
        position = f"{request.match_info['partition']}:{request.match_info['offset']}"
        try:
            found = await reader.find(
                self.config.settings.kafka, topic, position, timeout_s=self.config.kafka_timeout_s
            )
        except ConsumerError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        data = display.letter_json(found, False)
        payload = data.pop("value", data.pop("value_text", data.pop("value_base64", None)))
        shown = (
            payload
            if isinstance(payload, str)
            else orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode()
        )
        return self.page("letter.html", topic=topic, letter=data, payload=shown)

    async def replay(self, request: web.Request) -> web.Response:
        if not self.config.allow_replay:
            raise web.HTTPForbidden(text="replay is not enabled on this console (--allow-replay)")
        form = await request.post()
        if not self.guard.same_origin_post(
            _text(form.get("csrf")), request.headers.get("Origin"), request.headers.get("Host")
        ):
            raise web.HTTPForbidden(text="missing or wrong form token: reload the page")
        topic = self.topic(_text(form.get("topic")))
        revalidate = _text(form.get("revalidate")) == "on" and self.config.router is not None
        if _text(form.get("action")) == "confirm":
            return await self._confirm(topic, [str(p) for p in form.getall("position", [])], form, revalidate)
        filters = _filters(form)
        try:
            items = await self._plan(topic, _selection(filters), revalidate)
        except ConsumerError as exc:
            return self.page("letters.html", 400, topic=topic, filters=filters, error=str(exc), rows=[])
        positions = [i.letter.position for i in items if i.skip is None]
        summary = replay.dry_run_summary(items, replay.new_replay_id())
        return self.page(
            "replay.html",
            topic=topic,
            items=items,
            summary=summary,
            positions=positions,
            confirmation=self.guard.confirmation(positions),
            revalidate=revalidate,
            done=False,
        )

    async def _plan(self, topic: str, selection: Selection, revalidate: bool) -> list[ReplayItem]:
        collected = await reader.collect(
            self.config.settings.kafka, topic, selection, timeout_s=self.config.kafka_timeout_s
        )
        revalidator = None
        if revalidate and self.config.router is not None:
            revalidator = replay.Revalidator(self.config.settings.decode, self.config.router)
        return replay.plan(
            collected.letters,
            to_topic=None,
            allowed=replay.source_topics(self.config.settings.kafka),
            revalidator=revalidator,
        )

    async def _confirm(self, topic: str, positions: list[str], form: Any, revalidate: bool) -> web.Response:
        if not self.guard.confirmed(positions, _text(form.get("confirmation"))):
            raise web.HTTPForbidden(text="the confirmation does not match the dry run: run it again")
        ranges = tuple(parse_position(p) for p in positions)
        items = await self._plan(topic, Selection(positions=ranges), revalidate)
        credentials = self.guard.credentials
        by = f"console:{credentials.user if credentials else display.operator()}"
        summary = await replay.execute(
            self.config.settings.kafka, items, rate=None, timeout_s=self.config.kafka_timeout_s, by=by
        )
        log.info(
            "console.replayed",
            dlq_topic=topic,
            by=by,
            replay_id=summary.replay_id,
            replayed=summary.replayed,
            skipped=len(summary.skipped),
        )
        return self.page(
            "replay.html",
            topic=topic,
            items=items,
            summary=summary,
            positions=[],
            confirmation="",
            revalidate=revalidate,
            done=True,
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def create_app(config: ConsoleConfig, guard: Guard) -> web.Application:
    console = Console(config, guard)

    @web.middleware
    async def protect(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not guard.authorized(request.headers.get("Authorization")):
            response: web.StreamResponse = web.Response(
                status=401,
                text="authentication required",
                headers={"WWW-Authenticate": 'Basic realm="single-send-consumer console", charset="UTF-8"'},
            )
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = web.Response(status=exc.status, text=exc.text or exc.reason)
        response.headers.update(HEADERS)
        return response

    async def sampling(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(console.sampler.run(), name="console.sampler")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await console.sampler.close()

    app = web.Application(middlewares=[protect])
    app.cleanup_ctx.append(sampling)
    app.router.add_get("/", console.status)
    app.router.add_get("/dead-letters", console.letters)
    app.router.add_get(r"/dead-letters/{topic}/{partition:\d{1,6}}/{offset:\d{1,19}}", console.letter)
    app.router.add_post("/replay", console.replay)
    app.router.add_static("/static", str(resources.files("consumer.console") / "static"))
    return app
