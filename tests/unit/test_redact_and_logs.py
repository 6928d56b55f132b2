"""Secrets and recipient addresses never reach log output."""

from __future__ import annotations

import hashlib
import io
import logging

import orjson
import pytest

from consumer import logs
from consumer.hubspot.request import SingleSendMessage, SingleSendRequest
from consumer.redact import RecipientHasher, Scrubber, mask_email
from consumer.scrubbing import register_secret, scrub


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


def test_a_scrubber_removes_only_the_secrets_registered_with_it() -> None:
    mine, other = Scrubber(), Scrubber()
    mine.register("canary-only-mine-77")
    register_secret("canary-process-88")
    assert mine("a canary-only-mine-77 b") == "a *** b"
    assert other("a canary-only-mine-77 b") == "a canary-only-mine-77 b"
    assert mine("c canary-process-88") == "c canary-process-88", "no process-wide state"
    assert scrub("c canary-process-88 canary-only-mine-77") == "c *** canary-only-mine-77"
    assert "canary" not in repr(mine)


KEY = b"k" * 32


def test_recipient_ids_are_stable_case_insensitive_and_the_same_for_every_replica_with_the_key() -> None:
    replica_a, replica_b = RecipientHasher(KEY), RecipientHasher(bytes(KEY))
    assert replica_a("Jane@Example.com") == replica_b("jane@example.com ")
    key_id, digest = replica_a("a@b.c").split(":")
    assert (len(key_id), len(digest)) == (4, 16)


def test_recipient_ids_are_keyed_so_a_dictionary_of_addresses_does_not_reverse_them() -> None:
    address = "jane.doe@example.com"
    unkeyed = hashlib.sha256(address.encode()).hexdigest()
    keyed = RecipientHasher(KEY)(address)
    assert keyed.split(":")[1] not in unkeyed
    other = RecipientHasher(b"o" * 32)(address)
    assert other.split(":")[1] != keyed.split(":")[1]
    assert other.split(":")[0] != keyed.split(":")[0], "the key id tells a rotated key apart"
    assert "k" * 32 not in repr(RecipientHasher(KEY))


def test_a_short_recipient_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        RecipientHasher(b"short")


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
