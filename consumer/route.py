"""Routing: a validated event → the Single Send requests it causes (pure: no I/O, no ``await``).

A routing configuration (:class:`schemas.routing.RoutingConfig`, read from its file by
:mod:`consumer.routing_loader`) is compiled and checked against the catalog once, at start-up
(:meth:`Router.build`); every mistake is a :class:`ConfigError` naming the route and the field, never
a surprise at the first message. Each route is compiled into attribute getters and renderers, so
:meth:`Router.plan` does no lookups by name and no model rebuilding per event.

``sendId`` (:func:`send_id`) is ``sha256(ns(source) + ns(id) + ns(route))`` in lowercase hex, where
``ns(s) = <byte length of utf8(s)> ":" utf8(s) ","`` (a netstring, so no two different triples can
collide by concatenation). It never depends on offsets, attempts, time or randomness: retries,
redeliveries and DLQ replays of the same event through the same route carry the same ``sendId``,
and HubSpot sends at most one e-mail per ``sendId``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any

from pydantic import BaseModel, ValidationError

from consumer.decode import ValidatedEvent
from consumer.errors import ConfigError, InputError
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import Reason
from consumer.settings import Environment
from schemas.catalog import CATALOG
from schemas.paths import FieldPath, Kind, resolve_path
from schemas.routing import Route, RoutingConfig, Value

ROUTING_FIELD = "SSC_ROUTING_FILE"
"""The setting a routing mistake is reported under."""


def send_id(source: str, event_id: str, route: str) -> str:
    """The deterministic ``sendId`` of one event through one route: 64 lowercase hex characters."""
    digest = hashlib.sha256()
    for part in (source, event_id, route):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(b"%d:%s," % (len(encoded), encoded))
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class EmailJob:
    """One Single Send request for one route; ``request.message.sendId`` is always set."""

    route: str
    request: SingleSendRequest = field(repr=False)  # holds the recipient address

    @property
    def send_id(self) -> str:
        return self.request.send_id or ""

    @property
    def email_id(self) -> int:
        return self.request.email_id


Getter = Callable[[ValidatedEvent], Any]


@dataclass(frozen=True, slots=True)
class Mapped:
    """A compiled value source: ``label`` as written in the file, ``get`` yields the wire value."""

    label: str
    get: Getter


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    """A route ready to run in one environment (``consumer check`` lists these)."""

    name: str
    event_type: str
    email_id: int
    max_age: timedelta | None
    to: Mapped
    from_: Mapped | None
    reply_to: tuple[Mapped, ...]
    cc: tuple[Mapped, ...]
    bcc: tuple[Mapped, ...]
    contact_properties: tuple[tuple[str, Mapped], ...]
    custom_properties: tuple[tuple[str, Mapped], ...]

    def job(self, event: ValidatedEvent) -> EmailJob:
        """The request for ``event``; ``MAPPING_FAILED`` when a required value is absent."""
        to = self.to.get(event)
        if to is None:
            raise InputError(Reason.MAPPING_FAILED, f"route '{self.name}': to: '{self.to.label}' is empty")
        envelope = event.envelope
        message: dict[str, Any] = {"to": to, "sendId": send_id(envelope.source, envelope.id, self.name)}
        if self.from_ is not None and (sender := self.from_.get(event)) is not None:
            message["from"] = sender
        for key, sources in (("replyTo", self.reply_to), ("cc", self.cc), ("bcc", self.bcc)):
            values = [v for v in (s.get(event) for s in sources) if v is not None]
            if values:
                message[key] = values
        body: dict[str, Any] = {"emailId": self.email_id, "message": message}
        for key, pairs in (
            ("contactProperties", self.contact_properties),
            ("customProperties", self.custom_properties),
        ):
            props = {name: v for name, source in pairs if (v := source.get(event)) is not None}
            if props:
                body[key] = props
        try:
            request = SingleSendRequest.model_validate(body)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors(include_input=False)[:5])
            raise InputError(
                Reason.MAPPING_FAILED, f"route '{self.name}': request invalid at {fields}"
            ) from exc
        return EmailJob(route=self.name, request=request)


class Router:
    """Event type → compiled routes for one environment; the only source of ``emailId``s."""

    __slots__ = ("_by_type", "email_ids", "environment", "routes")

    def __init__(self, routes: tuple[CompiledRoute, ...], environment: Environment) -> None:
        self.routes = routes
        self.environment = environment
        self.email_ids: frozenset[int] = frozenset(r.email_id for r in routes)  # the allow-list
        by_type: dict[str, list[CompiledRoute]] = {}
        for route in routes:
            by_type.setdefault(route.event_type, []).append(route)
        self._by_type: Mapping[str, tuple[CompiledRoute, ...]] = {k: tuple(v) for k, v in by_type.items()}

    @classmethod
    def build(cls, config: RoutingConfig, environment: Environment) -> Router:
        """Compile ``config`` for ``environment``; ConfigError when a route has no ``email_id`` there."""
        missing = config.missing_email_ids(environment.value)
        if missing:
            names = ", ".join(f"'{name}'" for name in missing)
            raise ConfigError(
                f"no email_id for environment '{environment.value}' in route(s) {names}", field=ROUTING_FIELD
            )
        return cls(tuple(_compile(route, environment) for route in config.routes), environment)

    def allows(self, email_id: int) -> bool:
        """True when ``email_id`` is configured for this environment (nothing else may be sent)."""
        return email_id in self.email_ids

    def plan(self, event: ValidatedEvent, now: datetime) -> list[EmailJob]:
        """The requests ``event`` causes, one per matching route (never empty).

        Raises InputError: ``NO_ROUTE`` (no route for the type), ``EXPIRED`` (older than a route's
        ``max_age``; the whole event is dead-lettered, no route is sent), ``MISSING_ATTRIBUTE`` (a
        route has ``max_age`` and the event has no ``time``), ``MAPPING_FAILED`` (a required value is
        absent). ``now`` should be timezone-aware; a naive one is taken as UTC.
        """
        routes = self._by_type.get(event.envelope.type)
        if not routes:
            raise InputError(Reason.NO_ROUTE, "no route for this event type")
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        for route in routes:
            if route.max_age is None:
                continue
            if event.envelope.time is None:
                raise InputError(
                    Reason.MISSING_ATTRIBUTE,
                    f"route '{route.name}' has max_age; the event has no time attribute",
                )
            age = now - event.envelope.time
            if age > route.max_age:
                raise InputError(
                    Reason.EXPIRED,
                    f"event is {int(age.total_seconds())} s old, "
                    f"above max_age {route.max_age} of route '{route.name}'",
                )
        return [route.job(event) for route in routes]


# --- compilation ----------------------------------------------------------------------------------


def _compile(route: Route, environment: Environment) -> CompiledRoute:
    model = CATALOG[route.event_type]  # RoutingConfig validation guarantees it

    def address(value: Value) -> Mapped:
        return _mapped(value, model, None)

    return CompiledRoute(
        name=route.name,
        event_type=route.event_type,
        email_id=route.email_id[environment.value],
        max_age=route.max_age,
        to=address(route.to),
        from_=address(route.from_) if route.from_ is not None else None,
        reply_to=tuple(address(v) for v in route.reply_to),
        cc=tuple(address(v) for v in route.cc),
        bcc=tuple(address(v) for v in route.bcc),
        contact_properties=tuple(
            (k, _mapped(v, model, _CONTACT)) for k, v in route.contact_properties.items()
        ),
        custom_properties=tuple((k, _mapped(v, model, _CUSTOM)) for k, v in route.custom_properties.items()),
    )


def _mapped(
    value: Value, model: type[BaseModel], renderers: Mapping[Kind, Callable[[Any], Any]] | None
) -> Mapped:
    """Compile one value source; ``renderers`` by kind turn the field value into its wire form."""
    if value.path is None:
        kind = _CONST_KINDS[type(value.const)]
        constant = value.const if renderers is None else renderers[kind](value.const)
        return Mapped(str(value), lambda _event: constant)
    path = resolve_path(model, value.path)
    getter = _getter(path)
    if renderers is None:
        return Mapped(value.path, getter)
    render = renderers[path.kind]

    def get(event: ValidatedEvent) -> Any:
        found = getter(event)
        return None if found is None else render(found)

    return Mapped(value.path, get)


def _getter(path: FieldPath) -> Getter:
    if path.envelope:
        attribute = attrgetter(path.parts[0])
        return lambda event: attribute(event.envelope)
    if not path.parts:
        return lambda event: event.data
    if not path.optional:
        chain = attrgetter(".".join(path.parts))
        return lambda event: chain(event.data)
    parts = path.parts

    def walk(event: ValidatedEvent) -> Any:
        node: Any = event.data
        for part in parts:
            if node is None:
                return None
            node = getattr(node, part)
        return node

    return walk


def _identity(value: Any) -> Any:
    return value


def _iso(value: date) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _json_object(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_none=True)


def _bool_text(value: Any) -> str:
    return "true" if value else "false"


_CONST_KINDS: dict[type, Kind] = {str: Kind.TEXT, bool: Kind.BOOL, int: Kind.INT, float: Kind.FLOAT}

# contactProperties are string → string (HubSpot); conversions are deterministic.
_CONTACT: dict[Kind, Callable[[Any], Any]] = {
    Kind.TEXT: str,
    Kind.EMAIL: str,
    Kind.INT: str,
    Kind.FLOAT: repr,
    Kind.DECIMAL: lambda d: format(d, "f"),
    Kind.BOOL: _bool_text,
    Kind.DATETIME: _iso,
    Kind.DATE: _iso,
    Kind.URL: str,
    Kind.ENUM: lambda e: str(e.value),
}
# customProperties keep JSON types; decimals stay exact strings ("49.90"), objects are dumped as JSON.
_CUSTOM: dict[Kind, Callable[[Any], Any]] = {
    **dict.fromkeys((Kind.TEXT, Kind.EMAIL, Kind.INT, Kind.FLOAT, Kind.BOOL), _identity),
    Kind.DECIMAL: lambda d: format(d, "f"),
    Kind.DATETIME: _iso,
    Kind.DATE: _iso,
    Kind.URL: str,
    Kind.ENUM: lambda e: e.value,
    Kind.MODEL: _json_object,
}
