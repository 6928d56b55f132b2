"""The portal guard's decision (pure): the expected portal with the scope sends, anything else pauses."""

from __future__ import annotations

import orjson
import pytest

from consumer.hubspot.portal import PortalIdentity, judge, parse_identity, parse_token_info
from consumer.outcome import OutcomeClass, Reason


def test_the_expected_portal_with_the_scope_may_send() -> None:
    assert judge(101, PortalIdentity(101, ("oauth", "transactional-email"))) is None
    assert judge(101, PortalIdentity(101, None)) is None  # scopes not said: the send itself will tell


def test_another_portal_pauses_naming_both_ids() -> None:
    outcome = judge(101, PortalIdentity(202, ("transactional-email",)))
    assert outcome is not None
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.WRONG_PORTAL)
    assert "202" in outcome.detail
    assert "101" in outcome.detail


def test_a_credential_without_the_transactional_email_scope_pauses_as_forbidden() -> None:
    outcome = judge(101, PortalIdentity(101, ("crm.objects.contacts.read",)))
    assert outcome is not None
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.FORBIDDEN)


def test_an_unknown_portal_pauses_unless_configured_to_send() -> None:
    paused = judge(101, PortalIdentity())
    assert paused is not None
    assert paused.reason is Reason.WRONG_PORTAL
    assert "SSC_HUBSPOT__PORTAL_UNKNOWN" in paused.detail
    assert judge(101, PortalIdentity(), unknown="send") is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"hub_id": 7, "scopes": ["a", "b"]}, PortalIdentity(7, ("a", "b"))),
        ({"hubId": 7, "appId": 1, "scopes": ["a"]}, PortalIdentity(7, ("a",))),
        ({"hub_id": "7", "scope": "a b"}, PortalIdentity(7, ("a", "b"))),
        ({"hub_id": True}, PortalIdentity()),
        ({}, PortalIdentity()),
    ],
)
def test_identities_are_read_from_either_spelling(data: dict[str, object], expected: PortalIdentity) -> None:
    assert parse_identity(data) == expected


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", orjson.dumps({"message": "x"})])
def test_a_token_info_answer_that_says_nothing_is_unknown(body: bytes) -> None:
    assert parse_token_info(body) == PortalIdentity()
