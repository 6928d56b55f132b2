"""Secrets and recipient addresses never reach log output."""

from __future__ import annotations

import io
import logging

import orjson

from consumer import logs
from consumer.hubspot.request import SingleSendMessage, SingleSendRequest
from consumer.redact import hash_email, mask_email, register_secret, scrub


def test_addresses_are_masked_but_keep_their_domain() -> None:
    assert mask_email("jane.doe@example.com") == "j***@example.com"
    assert scrub("to: jane.doe+x@mail.example.co.uk, cc bob@example.org") == (
        "to: j***@mail.example.co.uk, cc b***@example.org"
    )


def test_token_shaped_values_and_registered_secrets_are_removed() -> None:
    register_secret("canary-secret-value-42")
    raw = "Authorization: Bearer abc.def.ghi hapikey=xyz123&x=1 refresh_token=r-1 canary-secret-value-42"
    text = scrub(raw)
    assert "abc.def.ghi" not in text
    assert "xyz123" not in text
    assert "r-1" not in text
    assert "canary-secret-value-42" not in text


def test_recipient_hash_is_stable_and_case_insensitive() -> None:
    assert hash_email("Jane@Example.com") == hash_email("jane@example.com ")
    assert len(hash_email("a@b.c")) == 12


def test_json_log_lines_are_scrubbed_including_stdlib_loggers() -> None:
    register_secret("pat-canary-0000-1111-2222")
    out = io.StringIO()
    logs.configure("DEBUG", "json", stream=out)
    logs.get_logger("t").info("send.failed", detail="token pat-canary-0000-1111-2222 for jane@example.com")
    logging.getLogger("aiohttp.client").warning("posting for jane@example.com with pat-canary-0000-1111-2222")
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["event"] == "send.failed"
    assert lines[0]["level"] == "info"
    text = out.getvalue()
    assert "pat-canary-0000-1111-2222" not in text
    assert "jane@example.com" not in text
    assert "j***@example.com" in text


def test_aiokafka_loggers_stay_at_info_even_when_debug_is_requested() -> None:
    logs.configure("DEBUG", "json", stream=io.StringIO())
    assert logging.getLogger("aiokafka").getEffectiveLevel() == logging.INFO


def test_a_request_repr_masks_recipients_and_hides_property_values() -> None:
    req = SingleSendRequest(
        emailId=1,
        message=SingleSendMessage(to="jane@example.com", cc=("bob@example.org",)),
        contactProperties={"firstname": "Jane"},
    )
    text = repr(req)
    assert "jane@example.com" not in text
    assert "bob@example.org" not in text
    assert "Jane'" not in text
    assert "j***@example.com" in text
    assert "firstname" in text


def test_prose_about_passwords_is_left_alone_but_key_value_secrets_are_not() -> None:
    assert scrub("SSC_KAFKA__SECURITY__SASL_PASSWORD: a SASL password is required") == (
        "SSC_KAFKA__SECURITY__SASL_PASSWORD: a SASL password is required"
    )
    assert scrub('{"password": "hunter2x"} password=abc123 access_token: tok-1') == (
        '{"password": "***"} password=*** access_token: ***'
    )
