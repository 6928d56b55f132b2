"""Billing events published by the payments service."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from annotated_types import Ge, Le
from pydantic import Field

from schemas.sensitivity import PERSONAL, SECRET
from schemas.types import Customer, EventData, HttpsUrl, Identifier, Line, Money, Plan, Timestamp


class InvoicePaidV1(EventData):
    """An invoice was paid. Sends: the receipt (and, for large amounts, a note to finance)."""

    EVENT_TYPE: ClassVar[str] = "com.example.billing.invoice_paid.v1"
    KEY_FIELD: ClassVar[str] = "invoice_id"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("invoice_id",)

    invoice_id: Identifier
    invoice_number: Line
    customer: Customer
    amount: Money
    paid_at: Timestamp
    invoice_url: Annotated[HttpsUrl, SECRET]
    payment_method: Annotated[Line | None, PERSONAL] = None  # e.g. "Visa ending in 4242"


class PaymentFailureReason(StrEnum):
    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    CARD_EXPIRED = "card_expired"
    AUTHENTICATION_REQUIRED = "authentication_required"
    PROCESSING_ERROR = "processing_error"


class SubscriptionPaymentFailedV1(EventData):
    """A renewal charge failed. Sends: the dunning e-mail to the customer and a note to billing."""

    EVENT_TYPE: ClassVar[str] = "com.example.billing.subscription_payment_failed.v1"
    KEY_FIELD: ClassVar[str] = "subscription_id"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("invoice_id", "attempt")

    invoice_id: Identifier | None = Field(
        default=None, description="The renewal invoice charged; with attempt, the event id derives from it."
    )
    subscription_id: Identifier
    customer: Customer
    plan: Plan
    amount: Money
    failure_reason: PaymentFailureReason
    attempt: Annotated[int, Ge(1), Le(20)]
    next_retry_at: Timestamp | None = None
    update_payment_url: Annotated[HttpsUrl, SECRET]
