"""Field types shared by every event model: bounded, control-character-free, addresses validated.

Every string that can reach an e-mail header, a HubSpot property or a log line is bounded in length
and refuses control characters. A refusal is reported as the pydantic error type
:data:`CONTROL_CHARACTERS_ERROR`, so consumers can tell "hostile bytes" from "wrong shape":

- single-line strings (ids, names, addresses, URLs): no C0/C1 controls, no DEL, no U+2028/U+2029;
- multi-line free text: TAB and LF allowed, everything else above refused (CR and NUL included).

The same rule is written into the exported JSON Schema as a ``pattern``, so producers validating
against the schema files get the same answer as the consumer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    HttpUrl,
    StringConstraints,
    UrlConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from schemas.addresses import Address
from schemas.sensitivity import PERSONAL

CONTROL_CHARACTERS_ERROR = "control_characters"
"""The pydantic error type raised for a control character where it does not belong."""

SINGLE_LINE_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MULTI_LINE_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# ECMA-262 / JSON Schema spelling of the two rules above.
_SINGLE_LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"
_MULTI_LINE_PATTERN = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$"


@dataclass(frozen=True, slots=True)
class NoControlCharacters:
    """Annotation: refuse control characters *before* any other check (URL parsers silently drop
    TAB/LF, e-mail parsers accept display names), and publish the rule as a JSON Schema pattern."""

    multiline: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        forbidden = MULTI_LINE_CONTROLS if self.multiline else SINGLE_LINE_CONTROLS

        def check(value: Any) -> Any:
            if isinstance(value, str) and forbidden.search(value):
                raise PydanticCustomError(CONTROL_CHARACTERS_ERROR, "control characters are not allowed here")
            return value

        return core_schema.no_info_before_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        result = handler(schema)
        # An identifier's own pattern already excludes controls; JSON Schema allows one pattern per node.
        result.setdefault("pattern", _MULTI_LINE_PATTERN if self.multiline else _SINGLE_LINE_PATTERN)
        return result


def _require_timezone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("timezone_aware", "a timestamp needs a UTC offset (RFC 3339)")
    return value


Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
    NoControlCharacters(),
]
"""An opaque id from the producer's domain (user, order, invoice): ASCII, no spaces, ≤ 64 chars."""

Line = Annotated[str, StringConstraints(min_length=1, max_length=200), NoControlCharacters()]
"""Single-line human text (order number, product name, carrier service)."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=100), NoControlCharacters(), PERSONAL]
"""A person's given or family name (personal data)."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000), NoControlCharacters(multiline=True)]
"""Free text that may span lines (TAB and LF allowed; CR, NUL and other controls refused)."""

Email = Annotated[Address, NoControlCharacters(), PERSONAL]
"""A recipient address, validated (syntax only, no DNS) and normalised like pydantic's ``EmailStr``
(personal data)."""

HttpsUrl = Annotated[HttpUrl, UrlConstraints(allowed_schemes=["https"]), NoControlCharacters()]
"""An https link that ends up in an e-mail (verification, reset, tracking, invoice)."""

Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
"""BCP 47 language (``en``) or language-region (``de-CH``)."""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2."""

Timestamp = Annotated[datetime, AfterValidator(_require_timezone)]
"""RFC 3339 date-time with a UTC offset."""

Quantity = Annotated[int, Ge(1), Le(10_000)]


class Plan(StrEnum):
    FREE = "free"
    STARTER = "starter"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class _Hidden:
    __slots__ = ()

    def __repr__(self) -> str:
        return "***"


_HIDDEN = _Hidden()


class Contract(BaseModel):
    """Base of every event payload and nested object: frozen, unknown properties refused.

    The repr names the fields but never shows values (they include addresses).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    def __repr_args__(self) -> Any:
        for name in type(self).model_fields:
            yield name, _HIDDEN


class EventData(Contract):
    """The ``data`` of one CloudEvents type; ``EVENT_TYPE`` is the ``type`` attribute it answers to.

    ``KEY_FIELD`` names the field holding the business entity the event is about (user, order,
    invoice, subscription): it becomes the ``subject``, the ``partitionkey`` and so the Kafka key.
    ``IDENTITY_FIELDS`` name the fields that, with the type, identify the business fact: the event
    id is derived from them (:func:`schemas.envelope.event_id`), so a re-published fact keeps its id.
    """

    EVENT_TYPE: ClassVar[str]
    KEY_FIELD: ClassVar[str]
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]]


class Money(Contract):
    """An amount in a currency; at most 2 decimals, so it renders exactly ("49.90")."""

    amount: Decimal = Field(ge=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(description="ISO 4217 code")


class Customer(Contract):
    """The person an order or a bill belongs to."""

    customer_id: Identifier
    email: Email
    first_name: Name | None = None
    last_name: Name | None = None
    locale: Locale = "en"
    billing_email: Email | None = None  # accounts payable, copied on receipts when present
