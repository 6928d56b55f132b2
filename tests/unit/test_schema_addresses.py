"""The address type answers exactly as pydantic's ``EmailStr``; its fast path only skips the work."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError

from schemas.addresses import plain_address
from schemas.types import Email, NoControlCharacters


class Ours(BaseModel):
    model_config = ConfigDict(strict=True)
    email: Email


class Pydantics(BaseModel):
    model_config = ConfigDict(strict=True)
    email: Annotated[EmailStr, NoControlCharacters()]


def verdict(model: type[BaseModel], value: str) -> tuple[str, Any]:
    try:
        return "valid", model.model_validate({"email": value}).model_dump()["email"]
    except ValidationError as error:
        return "invalid", [(e["type"], e["msg"]) for e in error.errors(include_url=False)]


# The characters addresses are made of, upper case and the odd non-ASCII one included, so that both
# paths and every boundary between them are reached.
_ADDRESS_CHARACTERS = st.sampled_from([*"abcxyz019._+-@ABZ!%'é", "xn--", "--", "\u212a", " ", "<", ">"])
_LABEL = st.text(alphabet=st.sampled_from(list("abz09-")), min_size=1, max_size=8)
_PLAIN_LOOKING = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join([*labels, tld])}",
    st.text(alphabet=st.sampled_from(list("abz09._+-")), min_size=1, max_size=70),
    st.lists(_LABEL, min_size=1, max_size=3),
    st.sampled_from(["com", "io", "c", "test", "local", "arpa", "co1", "org-", "x-y"]),
)

PICKED = [
    "user1@example.com",
    "jane.doe+orders@mail.example.co",
    "a@b.c",
    "a@b.test",  # special-use domains are refused
    "a@sub.localhost",
    "a@localhost.com",
    "a@invalid",
    "postmaster@example.com",
    "Postmaster@example.com",  # a case-insensitive mailbox name is lower-cased
    "User@Example.COM",  # the domain is lower-cased
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@ex--ample.com",  # R-LDH label
    "a@xn--bcher-kva.com",  # Punycode
    "a@bücher.com",
    "a@example.123",
    "a@1example.com",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a@" + ".".join(["b" * 60] * 4) + ".abcdefgh",  # 254 characters, the longest address
    "a@" + ".".join(["b" * 60] * 4) + ".abcdefghi",  # 255
    "Jane <jane@example.com>",  # a display name is dropped
    " jane@example.com ",
    '"quoted"@example.com',
    "a@[127.0.0.1]",
    "a@example.com\r\n",
    "",
]


@pytest.mark.parametrize("value", PICKED)
def test_a_picked_address_gets_email_str_s_answer(value: str) -> None:
    assert verdict(Ours, value) == verdict(Pydantics, value)


@settings(max_examples=600)
@given(st.one_of(_PLAIN_LOOKING, st.lists(_ADDRESS_CHARACTERS, max_size=24).map("".join)))
@example("user1@example.com")
def test_any_address_gets_email_str_s_answer(value: str) -> None:
    assert verdict(Ours, value) == verdict(Pydantics, value)


@settings(max_examples=600)
@given(_PLAIN_LOOKING)
def test_the_fast_path_takes_only_addresses_email_validator_keeps_unchanged(value: str) -> None:
    if plain_address(value):
        assert verdict(Pydantics, value) == ("valid", value)


def test_the_fast_path_takes_the_common_addresses() -> None:
    assert plain_address("user1@example.com")
    assert plain_address("jane.doe+orders@mail.example.co")
    assert not plain_address("User@Example.COM")  # lower-casing is email-validator's job
    assert not plain_address("a@b.test")
