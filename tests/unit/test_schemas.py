"""The catalog, its exported JSON Schema files and the example payloads stay in agreement."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from typer.testing import CliRunner

import schemas
from consumer.cli.app import app
from consumer.decode import decode, validate
from consumer.errors import InputError
from consumer.outcome import Reason
from consumer.records import Record
from consumer.settings import DecodeSettings
from schemas import export
from schemas.catalog import CATALOG, EVENT_TYPE_PATTERN, model_for
from schemas.samples import Example, examples, expand_time_placeholders
from schemas.users import UserSignedUpV1

SCHEMAS_DIR = Path(schemas.__file__).resolve().parent
CE_JSON = (("content-type", b"application/cloudevents+json"),)


def _validator(event_type: str) -> Draft202012Validator:
    schema = json.loads((export.DEFAULT_DIR / export.file_name(event_type)).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _consumer_verdict(example: Example) -> Reason | None:
    record = Record("events", 0, 0, None, example.read_bytes(), CE_JSON)
    try:
        validate(decode(record, DecodeSettings()))
    except InputError as exc:
        return exc.code
    return None


def test_schemas_imports_nothing_from_consumer() -> None:
    for path in SCHEMAS_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "consumer" or n.startswith("consumer.") for n in names), path
    # A producer installs the contracts without the consumer's runtime: no Kafka, HTTP or CLI library.
    modules = " ".join(f"schemas.{path.stem}" for path in sorted(SCHEMAS_DIR.glob("*.py")))
    probe = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules.split()!r}]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'consumer', 'aiokafka', 'aiohttp', 'typer'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_catalog_has_the_seven_versioned_event_types() -> None:
    assert len(CATALOG) == 7
    for event_type, model in CATALOG.items():
        assert EVENT_TYPE_PATTERN.match(event_type)
        assert event_type == model.EVENT_TYPE
        assert model_for(event_type) is model
        assert model.model_config.get("frozen") is True
        assert model.model_config.get("extra") == "forbid"
    assert model_for("com.example.user.signed_up.v2") is None


def test_model_reprs_hide_values() -> None:
    instance = UserSignedUpV1.model_validate({"user_id": "usr_1", "email": "jane.doe@example.com"})
    assert "jane" not in repr(instance)
    assert "email=***" in repr(instance)


def test_committed_json_schemas_match_the_models() -> None:
    assert export.drift() == [], "run `consumer schemas export` and commit schemas/jsonschema/"


def test_drift_reports_missing_changed_and_unknown_files(tmp_path: Path) -> None:
    export.export(tmp_path)
    assert export.drift(tmp_path) == []
    first, second = sorted(tmp_path.glob("*.json"))[:2]
    first.unlink()
    second.write_text("{}\n", encoding="utf-8")
    (tmp_path / "com.example.gone.v1.json").write_text("{}\n", encoding="utf-8")
    problems = export.drift(tmp_path)
    assert f"{first.name}: missing" in problems
    assert f"{second.name}: differs from the model" in problems
    assert "com.example.gone.v1.json: no such event type in the catalog" in problems


def test_every_event_type_has_valid_and_invalid_examples() -> None:
    for event_type in CATALOG:
        found = examples(event_type)
        assert any(e.valid for e in found), event_type
        assert any(not e.valid for e in found), event_type
    assert {e.event_type for e in examples()} == set(CATALOG)


@pytest.mark.parametrize("example", examples(), ids=lambda e: f"{e.event_type}/{e.name}")
def test_examples_get_the_same_verdict_from_the_json_schema_and_the_consumer(example: Example) -> None:
    body: Any = json.loads(example.read_bytes())
    schema_errors = [e.message for e in _validator(example.event_type).iter_errors(body)]
    verdict = _consumer_verdict(example)
    if example.valid:
        assert schema_errors == []
        assert verdict is None
        assert body["type"] == example.event_type
    else:
        assert schema_errors, "the JSON Schema accepts an invalid example"
        assert verdict in (Reason.SCHEMA_VIOLATION, Reason.CONTROL_CHARACTERS)


def test_the_json_schema_refuses_a_wrong_type_and_control_characters_in_attributes() -> None:
    example = next(e for e in examples(UserSignedUpV1.EVENT_TYPE) if e.valid)
    body = json.loads(example.read_bytes())
    validator = _validator(UserSignedUpV1.EVENT_TYPE)
    assert not validator.is_valid({**body, "type": "com.example.order.shipped.v1"})
    assert not validator.is_valid({**body, "id": "a\r\nb"})
    assert not validator.is_valid({**body, "Bad-Name": "x"})
    assert validator.is_valid({**body, "traceparent": "00-ab-cd-01"})


def test_schemas_export_writes_the_committed_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schemas", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(export.file_name(t) for t in CATALOG)
    for path in tmp_path.iterdir():
        assert path.read_text(encoding="utf-8") == (export.DEFAULT_DIR / path.name).read_text(
            encoding="utf-8"
        )


def test_schemas_export_check_fails_on_drift_and_passes_when_current(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["schemas", "export", "--check", str(tmp_path)]).exit_code == 1
    runner.invoke(app, ["schemas", "export", str(tmp_path)])
    assert runner.invoke(app, ["schemas", "export", "--check", str(tmp_path)]).exit_code == 0


def test_time_placeholders_expand_relative_to_now() -> None:
    now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    text = '{"time": "{{now-2h}}", "a": "{{now}}", "b": "{{now+30m}}", "c": "{{now-1d}}", "d": "{{later}}"}'
    expanded = json.loads(expand_time_placeholders(text, now))
    assert expanded == {
        "time": "2026-03-02T10:00:00.000Z",
        "a": "2026-03-02T12:00:00.000Z",
        "b": "2026-03-02T12:30:00.000Z",
        "c": "2026-03-01T12:00:00.000Z",
        "d": "{{later}}",
    }
