"""The AsyncAPI document: generated from the catalog, committed, valid for the official AsyncAPI parser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from typer.testing import CliRunner

from consumer.cli.app import app
from consumer.decode import decode, validate
from consumer.records import Record
from consumer.settings import DecodeSettings
from schemas import asyncapi
from schemas.catalog import CATALOG
from schemas.export import event_schema

ROOT = Path(__file__).resolve().parents[2]
VALIDATE = ROOT / "deploy" / "tools" / "asyncapi" / "validate.cjs"
INSTALL_HINT = (
    "run deploy/tools/install.sh (it installs the AsyncAPI parser with npm ci; `deploy/local/dev test` does)"
)
# Information, not a problem: AsyncAPI 3.1 exists; the document is written for 3.0 on purpose.
ACCEPTED = {"asyncapi-latest-version"}


def parser_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    installed = base / "single-send-consumer" / "tools" / "asyncapi-parser"
    if not (installed / ".complete").is_file():
        pytest.fail(f"the AsyncAPI parser is not installed at {installed}: {INSTALL_HINT}", pytrace=False)
    return installed


def official_parser(path: Path) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not on PATH: {INSTALL_HINT}", pytrace=False)
    out = subprocess.run(
        [node, str(VALIDATE), str(parser_dir()), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_the_committed_document_matches_the_models() -> None:
    assert asyncapi.drift() == [], "run `consumer schemas asyncapi` and commit schemas/asyncapi.json"


def test_the_official_parser_accepts_the_document_without_errors_or_warnings() -> None:
    result = official_parser(asyncapi.DEFAULT_PATH)

    assert result["parsed"] is True
    problems = [d for d in result["diagnostics"] if d["code"] not in ACCEPTED]
    assert problems == []
    assert result["version"] == "3.0.0"
    assert result["channels"] == ["{topic}"]
    expected = sorted(
        f"{model.__name__}.{mode}" for model in CATALOG.values() for mode in ("structured", "binary")
    )
    assert sorted(result["messages"]) == expected


def test_the_official_parser_reports_a_broken_document(tmp_path: Path) -> None:
    document = asyncapi.document()
    document["channels"]["events"]["messages"]["UserSignedUpV1.binary"]["payload"] = {
        "$ref": "#/components/schemas/NoSuchModel"
    }
    broken = tmp_path / "asyncapi.json"
    broken.write_text(json.dumps(document), encoding="utf-8")

    result = official_parser(broken)

    assert result["parsed"] is False
    assert [d["code"] for d in result["diagnostics"] if d["severity"] == 0] == ["invalid-ref"]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # References point into the document's components: resolve them against a root that holds them.
    return Draft202012Validator(
        {**schema, "components": document["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def test_every_message_example_matches_its_schemas_and_the_consumer_decodes_it() -> None:
    document = asyncapi.document()
    messages = document["channels"]["events"]["messages"]
    for name, message in messages.items():
        (example,) = message["examples"]
        _validator(document, message["payload"]).validate(example["payload"])
        _validator(document, message["headers"]).validate(example["headers"])
        value = json.dumps(example["payload"]).encode()
        headers = tuple((k, v.encode()) for k, v in example["headers"].items())
        event = validate(decode(Record("events", 0, 0, None, value, headers), DecodeSettings()))
        assert event.envelope.type == message["name"], name
        assert event.envelope.mode == name.rsplit(".", 1)[1]


def test_payload_schemas_are_the_exported_json_schemas() -> None:
    schemas = asyncapi.document()["components"]["schemas"]
    for event_type, model in CATALOG.items():
        exported = json.loads(
            json.dumps(event_schema(event_type)).replace("#/$defs/", "#/components/schemas/")
        )
        for name, schema in exported.pop("$defs").items():
            assert schemas[name] == schema, (event_type, name)
        for key in ("$schema", "$id"):
            del exported[key]
        assert schemas[f"{model.__name__}Event"] == exported


def test_schemas_asyncapi_writes_and_checks_the_document(tmp_path: Path) -> None:
    target = tmp_path / "asyncapi.json"
    runner = CliRunner()
    assert runner.invoke(app, ["schemas", "asyncapi", str(target), "--check"]).exit_code == 1
    written = runner.invoke(app, ["schemas", "asyncapi", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == asyncapi.DEFAULT_PATH.read_text(encoding="utf-8")
    assert runner.invoke(app, ["schemas", "asyncapi", str(target), "--check"]).exit_code == 0
    target.write_text("{}\n", encoding="utf-8")
    stale = runner.invoke(app, ["schemas", "asyncapi", str(target), "--check"])
    assert stale.exit_code == 1
    assert f"drift: {target}: differs from the models" in stale.output
