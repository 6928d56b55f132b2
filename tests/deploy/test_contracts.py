"""The event contracts install alone: their own wheel (schemas/pyproject.toml), built and installed into
a fresh virtual environment with nothing but their declared dependencies, then imported, used to
validate the shipped examples and to build an event, with no Kafka client, HTTP client or CLI there.

Offline: the contracts' wheel is built with the dev environment's hatchling, and each dependency's
wheel is repacked from the distribution installed in the dev environment; pip installs with
``--no-index`` from those wheels only, so a dependency the contracts do not declare is missing there.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import json
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import ROOT

CONTRACTS = ROOT / "schemas"
NAME = "single-send-event-contracts"
ABSENT = ("aiokafka", "aiohttp", "typer", "consumer", "pydantic_settings", "structlog")

# Run inside the fresh environment, outside the checkout.
USE_THE_CONTRACTS = """
import importlib.util, json, sys
from datetime import UTC, datetime

from pydantic import ValidationError

import schemas
from schemas.catalog import model_for
from schemas.envelope import build
from schemas.samples import examples, expand_time_placeholders
from schemas.users import UserSignedUpV1

now = datetime.now(UTC)
verdicts = {}
for example in examples():
    event = json.loads(expand_time_placeholders(example.path.read_text(encoding="utf-8"), now))
    model = model_for(event["type"])
    try:
        model.model_validate_json(json.dumps(event["data"]), strict=True)
        verdicts[f"{example.event_type}/{example.name}"] = True
    except ValidationError:
        verdicts[f"{example.event_type}/{example.name}"] = False
message = build(UserSignedUpV1(user_id="usr_51Kq9", email="jane.doe@example.com"), source="/identity/signup")
print(json.dumps({
    "package": schemas.__file__,
    "verdicts": verdicts,
    "key": message.structured().key.decode(),
    "type": json.loads(message.structured().value)["type"],
    "absent": [name for name in sys.argv[1:] if importlib.util.find_spec(name) is None],
}))
"""


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def requires(metadata: str, extras: frozenset[str]) -> list[Requirement]:
    """The requirements of a distribution's METADATA that apply with these extras, here."""
    found = []
    for line in Parser().parsestr(metadata).get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in extras | {""}):
            found.append(requirement)
    return found


def closure(roots: list[Requirement]) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions that ``roots`` need, with their own requirements, transitively."""
    found: dict[str, importlib.metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = list(roots)
    while pending:
        requirement = pending.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        found[name] = dist = importlib.metadata.distribution(name)
        pending += requires(dist.read_text("METADATA") or "", extras)
    return found


def repack(dist: importlib.metadata.Distribution, directory: Path) -> Path:
    """A wheel of an installed distribution: its files under site-packages, with a RECORD of its own."""
    site = Path(str(dist.locate_file("")))
    (info,) = {site / f.parts[0] for f in dist.files or () if f.name == "METADATA" and len(f.parts) == 2}
    tag = Parser().parsestr(dist.read_text("WHEEL") or "")["Tag"]
    name = f"{canonicalize_name(dist.metadata['Name']).replace('-', '_')}-{dist.version}"
    skipped = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    files = [
        site / f
        for f in dist.files or ()
        if not str(f).startswith("..") and "__pycache__" not in f.parts and f.name not in skipped
    ]
    wheel = directory / f"{name}-{tag}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            data = path.read_bytes()
            arcname = path.relative_to(site).as_posix()
            archive.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            writer.writerow([arcname, f"sha256={digest}", len(data)])
        writer.writerow([f"{info.name}/RECORD", "", ""])
        archive.writestr(f"{info.name}/RECORD", record.getvalue())
    return wheel


@pytest.fixture(scope="module")
def contracts_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("contracts-wheels")
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--wheel-dir",
        wheels,
        CONTRACTS,
        cwd=ROOT,
    )
    (wheel,) = wheels.glob("single_send_event_contracts-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(contracts_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the contracts and the dependencies they declare, nothing else."""
    with zipfile.ZipFile(contracts_wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        declared = requires(archive.read(metadata).decode(), frozenset())
    for dist in closure(declared).values():
        repack(dist, contracts_wheel.parent)
    venv = tmp_path_factory.mktemp("contracts-venv") / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=venv.parent)
    run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-index",
        "--no-cache-dir",
        "--find-links",
        contracts_wheel.parent,
        NAME,
        cwd=venv.parent,
    )
    return venv


def test_the_contracts_wheel_holds_every_file_of_the_package(contracts_wheel: Path) -> None:
    tracked = run("git", "ls-files", "schemas", cwd=ROOT).stdout.split()
    with zipfile.ZipFile(contracts_wheel) as archive:
        shipped = {n for n in archive.namelist() if n.startswith("schemas/")}
    assert shipped == set(tracked) - {"schemas/pyproject.toml"}


def test_the_contracts_declare_only_pydantic_and_orjson(contracts_wheel: Path) -> None:
    with zipfile.ZipFile(contracts_wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        declared = requires(archive.read(metadata).decode(), frozenset())
    assert sorted(canonicalize_name(r.name) for r in declared) == ["orjson", "pydantic"]


@pytest.mark.slow
def test_the_contracts_install_alone_and_validate_events(installed: Path) -> None:
    listed = run(installed / "bin" / "python", "-m", "pip", "list", "--format=json", cwd=installed).stdout
    names = {canonicalize_name(p["name"]) for p in json.loads(listed)}
    assert NAME in names
    assert names.isdisjoint(
        {"aiokafka", "aiohttp", "typer", "rich", "pydantic-settings", "single-send-consumer"}
    )

    result = json.loads(
        run(installed / "bin" / "python", "-c", USE_THE_CONTRACTS, *ABSENT, cwd=installed).stdout
    )

    assert Path(result["package"]).is_relative_to(installed)  # the installed wheel, not the checkout
    assert result["absent"] == list(ABSENT)
    assert len(result["verdicts"]) >= 7
    assert result["verdicts"] == {
        name: name.split("/")[1].startswith("valid-") for name in result["verdicts"]
    }
    assert (result["key"], result["type"]) == ("usr_51Kq9", "com.example.user.signed_up.v1")
