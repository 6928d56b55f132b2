"""Which fields hold personal data or secrets: one annotation, carried into the JSON Schema.

A field is marked by adding :data:`PERSONAL` or :data:`SECRET` to its type::

    first_name: Annotated[Name | None, PERSONAL] = None
    reset_url: Annotated[HttpsUrl, SECRET]

The marker writes ``"x-sensitive": "personal"`` (or ``"secret"``) into the field's node of the
exported JSON Schema, so every tool that reads the schema files — the consumer's dead-letter
commands, a producer team's own tooling — knows what to mask without importing these models.
Marking a nested model's field marks it wherever the model is used; marking a field whose type is a
model marks everything inside it.

- ``personal``: identifies or describes a person (addresses, names, free text, parcel tracking).
- ``secret``: grants access by itself (password-reset, verification and payment links).

:data:`LOOKS_PERSONAL` is the name heuristic a test runs over the catalog (a field whose name
matches must be marked, or listed as a reviewed exception) and the dead-letter masking uses for
properties no schema describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

SCHEMA_KEY = "x-sensitive"
"""The JSON Schema keyword the marker writes (an extension keyword: validators ignore it)."""

LOOKS_PERSONAL = re.compile(
    r"(?i)(^|_)(e?mail|name|phone|mobile|fax|address|street|line[12]|postal|zip|city|birth|"
    r"url|link|token|secret|password|message|note|comment|iban|card|payment_method|ip|device|"
    r"tracking|requested_from|ssn|tax)(_|$)"
)
"""Field names that suggest personal data or a secret."""


class Sensitivity(StrEnum):
    PERSONAL = "personal"
    SECRET = "secret"


@dataclass(frozen=True, slots=True)
class Sensitive:
    """Annotation: the field holds personal data or a secret (see the module docstring)."""

    kind: Sensitivity

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        result = handler(schema)
        result[SCHEMA_KEY] = self.kind.value
        return result


PERSONAL = Sensitive(Sensitivity.PERSONAL)
SECRET = Sensitive(Sensitivity.SECRET)


def marked(node: Any) -> Sensitivity | None:
    """The sensitivity a JSON Schema node declares, or ``None``."""
    value = node.get(SCHEMA_KEY) if isinstance(node, dict) else None
    return Sensitivity(value) if value in {s.value for s in Sensitivity} else None
