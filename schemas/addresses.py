"""The e-mail address type: pydantic's ``EmailStr`` answers, with a fast path for plain addresses.

``EmailStr`` runs every address through ``email-validator`` (Unicode normalisation, IDNA, RFC 5322
parsing): about 35 µs, the largest single cost of validating an event. Nearly every real address is
plain — a lower-case dot-atom local part, a lower-case host name ending in a letter — and for those
``email-validator``'s answer is the address itself. :func:`plain_address` recognises exactly that
form and leaves every other input (upper case, Unicode, quoted local parts, display names, special-use
domains, anything over the length limit) to ``email-validator``, so the answers, the normalised values
and the error messages are ``EmailStr``'s. ``tests/unit/test_schema_addresses.py`` checks the two
agree on generated and hand-picked addresses.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import email_validator
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic.networks import validate_email
from pydantic_core import CoreSchema, core_schema

_ATOM = r"[a-z0-9_+-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN = re.compile(
    rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z])?)"
)
_ADDRESS_MAX = 254  # email-validator's limit on the whole address


def plain_address(value: str) -> bool:
    """True when ``value`` is a plain address that ``email-validator`` accepts unchanged.

    False means "not known here", not "invalid": the caller asks ``email-validator``.
    """
    match = _PLAIN.fullmatch(value)
    if match is None or len(value) > _ADDRESS_MAX:
        return False
    domain = match["domain"]  # at most 252 characters, so within email-validator's 253
    if "--" in domain:  # R-LDH labels ("ab--c") and Punycode ("xn--") are email-validator's to judge
        return False
    # Read at call time: email-validator documents this list as a module-level setting.
    return not any(
        domain == name or domain.endswith("." + name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
    )


def _validate(value: str) -> str:
    if plain_address(value):
        return value
    return validate_email(value)[1]


class _Address:
    """pydantic annotation: a validated, normalised address; JSON Schema ``format: email``."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(_validate, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        result = handler(schema)
        result.update(type="string", format="email")
        return result


if TYPE_CHECKING:
    Address = str
else:
    Address = _Address
