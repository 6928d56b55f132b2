"""The portal guard (pure): which HubSpot portal a credential belongs to, and whether it may send.

Each environment names the portal (hub id) it must send from (``SSC_HUBSPOT__PORTAL_ID``). The client
learns the portal of every credential it is about to use — OAuth: the token answer's ``hub_id``;
a private-app token or service key: HubSpot's access-token information endpoint — and
:func:`judge` decides: the expected portal with the ``transactional-email`` scope may send; another
portal is a PAUSE with cause ``wrong_portal`` (a DEV token mounted in PROD sends nothing); a
credential without the scope is a PAUSE ``forbidden``. When HubSpot cannot tell the portal (the
information endpoint does not know the credential, as may be the case for service keys — unverified),
``SSC_HUBSPOT__PORTAL_UNKNOWN`` decides: ``pause`` (default) or ``send``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from consumer.outcome import Outcome, OutcomeClass, Reason

TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
TRANSACTIONAL_EMAIL_SCOPE = "transactional-email"


@dataclass(frozen=True, slots=True)
class PortalIdentity:
    """What HubSpot says about a credential: its portal and scopes (``None``: not said)."""

    hub_id: int | None = None
    scopes: tuple[str, ...] | None = None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_identity(data: dict[str, Any]) -> PortalIdentity:
    """``hub_id``/``hubId`` and ``scopes`` (a list, or a space-separated ``scope`` string)."""
    hub_id = _int(data.get("hub_id", data.get("hubId")))
    raw = data.get("scopes", data.get("scope"))
    scopes: tuple[str, ...] | None = None
    if isinstance(raw, list):
        scopes = tuple(v for v in raw if isinstance(v, str))
    elif isinstance(raw, str):
        scopes = tuple(raw.split())
    return PortalIdentity(hub_id, scopes)


def parse_token_info(body: bytes) -> PortalIdentity:
    """The access-token information answer (lenient: anything else says nothing)."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    return parse_identity(data) if isinstance(data, dict) else PortalIdentity()


def judge(
    expected: int, identity: PortalIdentity, *, unknown: Literal["pause", "send"] = "pause"
) -> Outcome | None:
    """``None`` when the credential may send for portal ``expected``; else the PAUSE outcome."""
    if identity.hub_id is None:
        if unknown == "send":
            return None
        return Outcome(
            OutcomeClass.PAUSE,
            Reason.WRONG_PORTAL,
            f"HubSpot did not say which portal this credential belongs to (expected {expected}); "
            "set SSC_HUBSPOT__PORTAL_UNKNOWN=send to send anyway",
        )
    if identity.hub_id != expected:
        return Outcome(
            OutcomeClass.PAUSE,
            Reason.WRONG_PORTAL,
            f"the credential belongs to portal {identity.hub_id}, "
            f"this environment sends from portal {expected}",
        )
    if identity.scopes is not None and TRANSACTIONAL_EMAIL_SCOPE not in identity.scopes:
        return Outcome(
            OutcomeClass.PAUSE,
            Reason.FORBIDDEN,
            f"the credential of portal {expected} lacks the {TRANSACTIONAL_EMAIL_SCOPE} scope",
        )
    return None
