"""The catalog: CloudEvents ``type`` → the pydantic model of its ``data``.

A type string carries its version (``com.example.user.signed_up.v1``). A breaking change to a
payload is a new type (``.v2``) with a new model, registered beside the old one until no producer
sends the old one; the routing file routes each version explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from schemas.billing import InvoicePaidV1, SubscriptionPaymentFailedV1
from schemas.orders import OrderConfirmedV1, OrderShippedV1
from schemas.paths import Kind, classify
from schemas.types import EventData
from schemas.users import EmailVerificationRequestedV1, PasswordResetRequestedV1, UserSignedUpV1

EVENT_TYPE_PATTERN = re.compile(r"^[a-z0-9]+(\.[a-z0-9_]+)+\.v[1-9][0-9]*$")

_MODELS: tuple[type[EventData], ...] = (
    UserSignedUpV1,
    EmailVerificationRequestedV1,
    PasswordResetRequestedV1,
    OrderConfirmedV1,
    OrderShippedV1,
    InvoicePaidV1,
    SubscriptionPaymentFailedV1,
)


def _index(models: tuple[type[EventData], ...]) -> Mapping[str, type[EventData]]:
    index: dict[str, type[EventData]] = {}
    for model in models:
        if not EVENT_TYPE_PATTERN.match(model.EVENT_TYPE):
            raise ValueError(f"{model.__name__}.EVENT_TYPE is not a versioned reverse-DNS type")
        if model.EVENT_TYPE in index:
            raise ValueError(f"{model.EVENT_TYPE} is registered twice")
        _check_identity(model)
        index[model.EVENT_TYPE] = model
    return MappingProxyType(index)


def _check_identity(model: type[EventData]) -> None:
    """``KEY_FIELD`` names a required identifier field; ``IDENTITY_FIELDS`` name identifier or integer
    fields (their text is what the event id is derived from, so it must be unambiguous)."""
    fields = model.model_fields
    key = getattr(model, "KEY_FIELD", None)
    if (
        key not in fields
        or not fields[key].is_required()
        or classify(fields[key].annotation)[0] is not Kind.TEXT
    ):
        raise ValueError(f"{model.__name__}.KEY_FIELD must name a required text field")
    identity = getattr(model, "IDENTITY_FIELDS", ())
    if not identity or any(
        name not in fields or classify(fields[name].annotation)[0] not in (Kind.TEXT, Kind.INT)
        for name in identity
    ):
        raise ValueError(f"{model.__name__}.IDENTITY_FIELDS must name text or integer fields")


CATALOG: Mapping[str, type[EventData]] = _index(_MODELS)
"""Every known event type and its data model (read-only)."""


def model_for(event_type: str) -> type[EventData] | None:
    """The data model of ``event_type``, or ``None`` when the type is not in the catalog."""
    return CATALOG.get(event_type)
