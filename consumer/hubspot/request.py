"""The Single Send request body, exactly HubSpot's ``PublicSingleSendRequestEgg``.

Built by :mod:`consumer.route` (pure) and sent unchanged by the client, retries included: the
serialised bytes are computed once, so every attempt carries an identical body and ``sendId``.
The client sends :attr:`SingleSendRequest.complete_body` (optional collections present, empty), the
one form that satisfies both the ``v3`` and the dated (``2026-03``) specs.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from consumer.redact import mask_email


class SingleSendMessage(BaseModel):
    """``PublicSingleSendEmail``: ``to`` is required; ``from``, ``sendId`` and the lists are optional."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    to: str
    from_: str | None = Field(default=None, alias="from")
    send_id: str | None = Field(default=None, alias="sendId")
    reply_to: tuple[str, ...] | None = Field(default=None, alias="replyTo")
    cc: tuple[str, ...] | None = None
    bcc: tuple[str, ...] | None = None

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Addresses are masked in reprs, so logging a request never leaks a recipient."""
        for name, value in super().__repr_args__():
            if name == "to" and isinstance(value, str):
                yield name, mask_email(value)
            elif name in ("reply_to", "cc", "bcc") and value is not None:
                yield name, tuple(mask_email(v) for v in value)
            else:
                yield name, value


class SingleSendRequest(BaseModel):
    """``PublicSingleSendRequestEgg``: ``emailId`` (int64) and ``message`` are required."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    email_id: int = Field(alias="emailId", ge=1, le=2**63 - 1)
    message: SingleSendMessage
    contact_properties: dict[str, str] | None = Field(default=None, alias="contactProperties")
    custom_properties: dict[str, Any] | None = Field(default=None, alias="customProperties")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Property values (names, links) are personal data: reprs show the keys only."""
        for name, value in super().__repr_args__():
            if name in ("contact_properties", "custom_properties") and value is not None:
                yield name, sorted(value)
            else:
                yield name, value

    def to_wire(self) -> dict[str, Any]:
        """The JSON object HubSpot expects (camelCase, absent fields omitted)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    @cached_property
    def body(self) -> bytes:
        """The serialised body, computed once and reused for every attempt."""
        return orjson.dumps(self.to_wire())

    def to_wire_complete(self) -> dict[str, Any]:
        """:meth:`to_wire` with every optional collection present (empty when unset).

        The dated API versions' spec (``2026-03``) marks ``message.cc``/``bcc``/``replyTo`` and both
        property maps as required; empty values mean the same as absent ones in ``v3``.
        """
        wire = self.to_wire()
        message = wire["message"]
        for key in ("replyTo", "cc", "bcc"):
            message.setdefault(key, [])
        wire.setdefault("contactProperties", {})
        wire.setdefault("customProperties", {})
        return wire

    @cached_property
    def complete_body(self) -> bytes:
        """The serialised :meth:`to_wire_complete`, computed once; this is what the client sends.

        It conforms to both the ``v3`` and the dated specs, so one wire form serves every version.
        """
        return orjson.dumps(self.to_wire_complete())

    @property
    def send_id(self) -> str | None:
        return self.message.send_id
