"""Order lifecycle events published by the shop."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from schemas.sensitivity import PERSONAL
from schemas.types import (
    Contract,
    CountryCode,
    Customer,
    EventData,
    HttpsUrl,
    Identifier,
    Line,
    Money,
    Name,
    Quantity,
    Text,
    Timestamp,
)


class OrderLine(Contract):
    sku: Identifier
    name: Line
    quantity: Quantity
    unit_price: Money


class Address(Contract):
    name: Name
    line1: Annotated[Line, PERSONAL]
    line2: Annotated[Line | None, PERSONAL] = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,11}$"), PERSONAL]
    city: Annotated[Line, PERSONAL]
    country: CountryCode


class Carrier(StrEnum):
    DHL = "dhl"
    DPD = "dpd"
    UPS = "ups"
    FEDEX = "fedex"
    USPS = "usps"
    POST = "post"
    OTHER = "other"


class OrderConfirmedV1(EventData):
    """An order was placed and paid. Sends: the order confirmation."""

    EVENT_TYPE: ClassVar[str] = "com.example.order.confirmed.v1"
    KEY_FIELD: ClassVar[str] = "order_id"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("order_id",)

    order_id: Identifier
    order_number: Line
    customer: Customer
    lines: tuple[OrderLine, ...] = Field(min_length=1, max_length=100)
    total: Money
    shipping_address: Annotated[Address, PERSONAL]
    placed_at: Timestamp
    gift_message: Annotated[Text | None, PERSONAL] = None  # printed in the confirmation; may span lines


class OrderShippedV1(EventData):
    """A parcel left the warehouse. Sends: the shipping notice with the tracking link."""

    EVENT_TYPE: ClassVar[str] = "com.example.order.shipped.v1"
    KEY_FIELD: ClassVar[str] = "order_id"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = (
        "order_id",
        "tracking_number",
    )

    order_id: Identifier
    order_number: Line
    customer: Customer
    carrier: Carrier
    tracking_number: Annotated[Identifier, PERSONAL]  # with the carrier: the delivery address
    tracking_url: Annotated[HttpsUrl | None, PERSONAL] = None
    estimated_delivery: date | None = None
    shipped_at: Timestamp
