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
        index[model.EVENT_TYPE] = model
    return MappingProxyType(index)


CATALOG: Mapping[str, type[EventData]] = _index(_MODELS)
"""Every known event type and its data model (read-only)."""


def model_for(event_type: str) -> type[EventData] | None:
    """The data model of ``event_type``, or ``None`` when the type is not in the catalog."""
    return CATALOG.get(event_type)
