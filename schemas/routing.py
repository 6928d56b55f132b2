"""The routing file: which transactional e-mails each event type sends, per environment.

A route maps one event type to one HubSpot transactional e-mail. Several routes may share an event
type (the customer's e-mail and an internal notification). Everything a route reads from the event
is a *field path* (``data.customer.email``, or an envelope attribute such as ``id``/``time``),
checked against the catalog model when the file is loaded; ``{const: ...}`` supplies a constant.

    routes:
      - name: welcome                        # unique; part of the sendId: never rename a live route
        event_type: com.example.user.signed_up.v1
        email_id: {dev: 1001, qa: 2001, prod: 3001}
        to: data.email
        from: {const: "Example <hello@example.com>"}
        contact_properties: {firstname: data.first_name}
        custom_properties: {plan: data.plan, product: {const: Example}}
        max_age: 1h                          # older events are dead-lettered as `expired`

Validation here is environment-independent; the consumer additionally refuses to start when a route
has no ``email_id`` for its environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

from schemas.catalog import CATALOG, model_for
from schemas.paths import SCALAR_KINDS, FieldPath, Kind, PathError, fits_custom_property, resolve_path
from schemas.types import NoControlCharacters

EnvironmentName = Literal["dev", "qa", "prod"]
RouteName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]
EmailId = Annotated[StrictInt, Ge(1), Le(2**63 - 1)]  # HubSpot emailId is int64
ContactPropertyName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
CustomPropertyName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")]
ConstText = Annotated[StrictStr, StringConstraints(max_length=1000), NoControlCharacters()]

_DURATION = re.compile(r"^(?:(\d{1,5})d)?(?:(\d{1,6})h)?(?:(\d{1,7})m)?(?:(\d{1,9})s)?$")
_MAX_AGE_LIMIT = timedelta(days=365)


def _parse_duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        # YAML reads 1:30 as the integer 90; a bare number is ambiguous either way.
        raise ValueError("write a duration such as 30m, 1h, 2d, 1h30m or ISO 8601 (PT1H)")  # noqa: TRY004 - pydantic reports ValueError
    match = _DURATION.match(value.strip())
    if match and any(match.groups()):
        days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return value  # ISO 8601 durations are parsed by pydantic


def _bounded_duration(value: timedelta) -> timedelta:
    if not timedelta(0) < value <= _MAX_AGE_LIMIT:
        raise ValueError("max_age must be positive and at most 365 days")
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration), AfterValidator(_bounded_duration)]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Value(_Config):
    """Where a mapped value comes from: an event field ``path`` or a constant ``const``.

    In the file a plain string is a path (``to: data.email``); a constant is ``{const: ...}``.
    """

    path: str | None = None
    const: ConstText | StrictBool | StrictInt | FiniteFloat | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_string_is_a_path(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> Value:
        if (self.path is None) == (self.const is None):
            raise ValueError("give either a field path or {const: ...}")
        return self

    def __str__(self) -> str:
        return self.path if self.path is not None else f"{{const: {self.const!r}}}"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


class Route(_Config):
    """One event type → one transactional e-mail (per environment ``email_id``)."""

    name: RouteName
    event_type: Annotated[str, StringConstraints(max_length=256)]
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    email_id: dict[EnvironmentName, EmailId] = Field(min_length=1)
    to: Value
    from_: Value | None = Field(default=None, alias="from")
    reply_to: tuple[Value, ...] = Field(default=(), max_length=10)
    cc: tuple[Value, ...] = Field(default=(), max_length=10)
    bcc: tuple[Value, ...] = Field(default=(), max_length=10)
    contact_properties: dict[ContactPropertyName, Value] = Field(default_factory=dict, max_length=100)
    custom_properties: dict[CustomPropertyName, Value] = Field(default_factory=dict, max_length=100)
    max_age: Duration | None = None

    _single_as_list = field_validator("reply_to", "cc", "bcc", mode="before")(_as_list)

    @model_validator(mode="after")
    def _check_against_catalog(self) -> Route:
        model = model_for(self.event_type)
        if model is None:
            raise ValueError(
                f"event_type '{self.event_type}' is not in the catalog (known: {', '.join(CATALOG)})"
            )
        problems: list[str] = []

        def check(
            slot: str, value: Value, kind_ok: Callable[[FieldPath], str | None], const_ok: _ConstCheck
        ) -> None:
            if value.const is not None:
                problem = const_ok(value.const)
            else:
                try:
                    problem = kind_ok(resolve_path(model, value.path or ""))
                except PathError as exc:
                    problem = str(exc)
            if problem:
                problems.append(f"{slot}: {problem}")

        check("to", self.to, _address_path, _bare_address)
        if self.from_ is not None:
            check("from", self.from_, _address_path, _display_address)
        for slot in ("reply_to", "cc", "bcc"):
            for index, value in enumerate(getattr(self, slot)):
                check(f"{slot}[{index}]", value, _address_path, _bare_address)
        for name, value in self.contact_properties.items():
            check(f"contact_properties.{name}", value, _contact_path, _any_const)
        for name, value in self.custom_properties.items():
            check(f"custom_properties.{name}", value, _custom_path, _any_const)
        if problems:
            raise ValueError("; ".join(problems))
        return self


_ConstCheck = Callable[[str | bool | int | float], str | None]


def _address_path(path: FieldPath) -> str | None:
    if path.kind is Kind.EMAIL:
        return None
    return f"'{path.text}' is {path.kind.value}, not an e-mail address field"


def _contact_path(path: FieldPath) -> str | None:
    if path.kind in SCALAR_KINDS:
        return None
    return f"'{path.text}' is {path.kind.value}; contactProperties take single values (strings)"


def _custom_path(path: FieldPath) -> str | None:
    if path.kind in SCALAR_KINDS:
        return None
    if path.kind is Kind.MODEL and path.model is not None and fits_custom_property(path.model):
        return None
    return f"'{path.text}' is (or contains) an {path.kind.value}; HubSpot customProperties refuse arrays"


def _any_const(value: str | bool | int | float) -> str | None:
    return None


def _address(value: str | bool | int | float, *, display_name: bool) -> str | None:
    if not isinstance(value, str):
        return "an address constant must be a string"
    try:
        validate_email(value)
    except PydanticCustomError as exc:
        return f"{value!r} is not a valid e-mail address ({exc.message()})"
    if not display_name and "<" in value:
        return f"{value!r}: give a bare address here (a display name is allowed in 'from' only)"
    return None


def _bare_address(value: str | bool | int | float) -> str | None:
    return _address(value, display_name=False)


def _display_address(value: str | bool | int | float) -> str | None:
    return _address(value, display_name=True)


class RoutingConfig(_Config):
    """The whole routing file. Route names are unique (they are part of every ``sendId``)."""

    version: Literal[1] = 1
    routes: tuple[Route, ...] = Field(max_length=1000)

    @model_validator(mode="after")
    def _unique_names(self) -> RoutingConfig:
        # Checked here rather than with min_length, which would repeat every route error as "too short".
        if not self.routes:
            raise ValueError("the routing file has no routes")
        seen: dict[str, int] = {}
        for index, route in enumerate(self.routes):
            if route.name in seen:
                raise ValueError(
                    f"duplicate route name '{route.name}' (routes[{seen[route.name]}] and routes[{index}])"
                )
            seen[route.name] = index
        return self

    def missing_email_ids(self, environment: str) -> list[str]:
        """Names of routes without an ``email_id`` for ``environment`` (must be empty to start)."""
        return [route.name for route in self.routes if environment not in route.email_id]
