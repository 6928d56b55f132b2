"""Personal data and secrets are marked in the event models and masked wherever a dead letter is shown."""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar

import orjson
import pytest

from consumer.deadletters.display import letter_json
from consumer.deadletters.format import DeadLetter
from consumer.masking import mask_event, mask_untrusted, mask_with_schema
from consumer.records import Record
from schemas import export
from schemas.catalog import CATALOG
from schemas.samples import examples
from schemas.sensitivity import LOOKS_PERSONAL, PERSONAL, SCHEMA_KEY, SECRET
from schemas.types import EventData, HttpsUrl, Identifier, Line, Text

ORDER = "com.example.order.confirmed.v1"
RESET = "com.example.user.password_reset_requested.v1"

# Fields whose names look personal but are not, each reviewed: (model, field) -> why.
REVIEWED: dict[tuple[str, str], str] = {
    ("OrderLine", "name"): "a product name",
}


def _order() -> dict[str, Any]:
    event = orjson.loads(next(e for e in examples(ORDER) if e.name == "valid-full").read_bytes())
    event["data"]["shipping_address"]["line2"] = "c/o Hans Muster"
    event["data"]["gift_message"] = "Happy birthday, Jane!\nLove, Hans"
    event["data"]["customer"]["phone"] = "+41 44 668 18 00"  # not in the schema: a schema_violation
    return event


def _reset() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "pr-1",
        "source": "/identity/password",
        "type": RESET,
        "data": {
            "user_id": "u_1",
            "email": "jane.doe@example.com",
            "first_name": "Jane",
            "reset_url": "https://id.example.com/reset/abc123?token=s3cr3t-reset-token",
            "expires_at": "2026-03-02T13:00:00Z",
            "requested_from": "Firefox on macOS, Zurich",
        },
    }


PERSONAL_VALUES = (
    "jane.doe@example.com",
    "Jane",
    "Doe",
    "Musterstrasse",
    "8001",
    "Zurich",
    "Hans",
    "birthday",
    "668 18 00",
    "abc123",
    "s3cr3t-reset-token",
    "Firefox",
)


def _dead_letter(event: dict[str, Any] | bytes, headers: tuple[tuple[str, bytes], ...] = ()) -> DeadLetter:
    value = event if isinstance(event, bytes) else orjson.dumps(event)
    return DeadLetter.from_record(Record("events.dlq", 0, 7, b"ord_10042", value, headers))


def _leaks(shown: object) -> list[str]:
    text = json.dumps(shown, ensure_ascii=False)
    return [value for value in PERSONAL_VALUES if value in text]


@pytest.mark.parametrize("event", [_order(), _reset()], ids=["order", "password-reset"])
def test_a_dead_letter_shows_no_personal_data_or_secret_by_default(event: dict[str, Any]) -> None:
    letter = _dead_letter(event)
    assert _leaks(letter_json(letter, show_pii=False)) == []
    assert _leaks(letter_json(letter, show_pii=True)) != []


def test_masking_keeps_what_an_operator_needs() -> None:
    event = _order()
    shown = letter_json(_dead_letter(event), show_pii=False)["value"]
    data = shown["data"]
    assert data["customer"]["email"] == "j***@example.com"
    assert data["customer"]["customer_id"] == "cus_7Hq2Lm"
    assert data["customer"]["first_name"] == "***"
    assert data["shipping_address"] == {
        "name": "***",
        "line1": "***",
        "line2": "***",
        "postal_code": "***",
        "city": "***",
        "country": "***",
    }
    assert data["lines"][0]["name"] == "Logo T-shirt, black, M"
    assert data["total"] == {"amount": "49.90", "currency": "EUR"}
    assert (shown["id"], shown["type"]) == (event["id"], ORDER)
    assert data["order_number"] == event["data"]["order_number"]
    reset = mask_event(_reset(), RESET)["data"]
    assert reset["reset_url"] == "https://id.example.com/***"
    assert reset["expires_at"] == "2026-03-02T13:00:00Z"


def test_every_url_loses_its_query_string_even_in_an_unmarked_field() -> None:
    event = _reset()
    event["dataschema"] = "https://schemas.example.com/reset.json?sig=abcdef#frag"
    assert mask_event(event, RESET)["dataschema"] == "https://schemas.example.com/reset.json?***#***"


def test_binary_mode_data_is_masked_against_the_models_schema() -> None:
    data = _reset()["data"]
    masked = mask_event(data, RESET)
    assert masked["first_name"] == "***"
    assert masked["user_id"] == "u_1"


def test_unknown_or_unparseable_events_fall_back_to_masking_what_looks_personal() -> None:
    unknown = {
        "type": "com.example.crm.lead_created.v1",
        "id": "lead-1",
        "data": {
            "contact": "Call +41 44 668 18 00 or (555) 123-4567, mail jane.doe@example.com",
            "full_name": "Jane Doe",
            "link": "https://crm.example.com/leads/42?key=s3cr3t",
            "note": "see https://crm.example.com/x/y",
            "count": 3,
            "when": "2026-03-02T12:30:00Z",
        },
    }
    masked = mask_event(unknown, "com.example.crm.lead_created.v1")
    text = json.dumps(masked)
    for value in ("668 18 00", "123-4567", "jane.doe", "Jane Doe", "leads/42", "s3cr3t", "x/y"):
        assert value not in text
    assert masked["data"]["count"] == 3
    assert masked["data"]["when"] == "2026-03-02T12:30:00Z"
    assert masked["id"] == "lead-1"
    raw = b'{"data": {"email": "jane.doe@example.com", "reset": "https://x.example/r?t=s3cr3t", phone'
    shown = letter_json(_dead_letter(raw), show_pii=False)
    assert "jane.doe" not in shown["value_text"]
    assert "s3cr3t" not in shown["value_text"]
    assert mask_untrusted("tel. 0041 44 668 18 00") == "tel. ***"


def test_headers_and_binary_values_are_masked_too() -> None:
    headers = (("ce_subject", b"jane.doe@example.com"), ("x-link", b"https://a.example/p?token=s3cr3t"))
    shown = letter_json(_dead_letter(b"\xff\xfe binary", headers), show_pii=False)
    assert _leaks(shown) == []
    assert "s3cr3t" not in json.dumps(shown)
    assert "binary" not in shown["value_base64"]


def test_an_event_type_added_later_is_masked_by_its_annotations_alone() -> None:
    class LeadCreatedV1(EventData):
        EVENT_TYPE: ClassVar[str] = "com.example.crm.lead_created.v1"

        lead_id: Identifier
        phone: Annotated[Line, PERSONAL]
        notes: Annotated[Text | None, PERSONAL] = None
        magic_link: Annotated[HttpsUrl, SECRET]

    document = LeadCreatedV1.model_json_schema()
    value = {
        "lead_id": "l1",
        "phone": "044 668 18 00",
        "notes": "calls after 6",
        "magic_link": "https://a.example/m/x",
    }
    assert mask_with_schema(value, document) == {
        "lead_id": "l1",
        "phone": "***",
        "notes": "***",
        "magic_link": "https://a.example/***",
    }


def unmarked_personal_looking_fields(document: dict[str, Any]) -> list[str]:
    """``Model.field`` of every property whose name looks personal but carries no marker."""
    defs = document.get("$defs", {})
    problems = []
    for model in defs.values():
        for field, node in model.get("properties", {}).items():
            branches = [node, *node.get("anyOf", ())]
            is_marked = any(SCHEMA_KEY in b for b in branches)
            if LOOKS_PERSONAL.search(field) and not is_marked and (model["title"], field) not in REVIEWED:
                problems.append(f"{model['title']}.{field}")
    return problems


@pytest.mark.parametrize("event_type", sorted(CATALOG))
def test_every_field_that_looks_personal_is_marked_in_the_exported_schema(event_type: str) -> None:
    committed = json.loads((export.DEFAULT_DIR / export.file_name(event_type)).read_text(encoding="utf-8"))
    assert unmarked_personal_looking_fields(committed) == []


def test_the_catalog_check_catches_an_unmarked_personal_field() -> None:
    class CarelessV1(EventData):
        EVENT_TYPE: ClassVar[str] = "com.example.crm.careless.v1"

        mobile_phone: Line
        street: Annotated[Line, PERSONAL]

    document = {"$defs": {"CarelessV1": CarelessV1.model_json_schema()}}
    assert unmarked_personal_looking_fields(document) == ["CarelessV1.mobile_phone"]


def test_the_exported_schema_files_carry_the_markers() -> None:
    committed = json.loads((export.DEFAULT_DIR / export.file_name(RESET)).read_text(encoding="utf-8"))
    properties = committed["$defs"]["PasswordResetRequestedV1"]["properties"]
    assert properties["reset_url"][SCHEMA_KEY] == "secret"
    assert properties["email"][SCHEMA_KEY] == "personal"
