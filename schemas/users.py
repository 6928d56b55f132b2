"""Account lifecycle events published by the identity service."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from schemas.sensitivity import PERSONAL, SECRET
from schemas.types import Email, EventData, HttpsUrl, Identifier, Line, Locale, Name, Plan, Timestamp


class UserSignedUpV1(EventData):
    """A user created an account. Sends: the welcome e-mail."""

    EVENT_TYPE: ClassVar[str] = "com.example.user.signed_up.v1"
    KEY_FIELD: ClassVar[str] = "user_id"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("user_id",)

    user_id: Identifier
    email: Email
    first_name: Name | None = None
    last_name: Name | None = None
    locale: Locale = "en"
    plan: Plan = Plan.FREE
    referral_code: Identifier | None = None


class EmailVerificationRequestedV1(EventData):
    """A user must confirm an address (new account or changed address). Sends: the verification link."""

    EVENT_TYPE: ClassVar[str] = "com.example.user.email_verification_requested.v1"
    KEY_FIELD: ClassVar[str] = "user_id"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("request_id",)

    request_id: Identifier | None = Field(
        default=None, description="This request's own id; the event id is derived from it."
    )
    user_id: Identifier
    email: Email
    first_name: Name | None = None
    locale: Locale = "en"
    verification_url: Annotated[HttpsUrl, SECRET]
    expires_at: Timestamp


class PasswordResetRequestedV1(EventData):
    """Someone asked to reset a password. Sends: the reset link (useless when late: route max_age)."""

    EVENT_TYPE: ClassVar[str] = "com.example.user.password_reset_requested.v1"
    KEY_FIELD: ClassVar[str] = "user_id"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("request_id",)

    request_id: Identifier | None = Field(
        default=None, description="This request's own id; the event id is derived from it."
    )
    user_id: Identifier
    email: Email
    first_name: Name | None = None
    locale: Locale = "en"
    reset_url: Annotated[HttpsUrl, SECRET]
    expires_at: Timestamp
    requested_from: Annotated[Line | None, PERSONAL] = (
        None  # e.g. "Firefox on macOS, Zurich": shown in the security notice
    )
