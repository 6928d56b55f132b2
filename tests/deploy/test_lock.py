"""The hashed lock files: every dependency pyproject.toml names is pinned there, at a version its range
allows, with hashes; the runtime set and the dev set agree; and every install path uses them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.conftest import DEPLOY, ROOT

LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# The interpreter the locks are resolved for (`uv pip compile --python-version 3.11`).
TARGET = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux"}


def pins(lock: Path) -> dict[str, list[tuple[Version, int]]]:
    """``{name: [(version, number of hashes), ...]}`` of the entries that apply to the target
    interpreter; a universal lock may pin one package twice under exclusive markers."""
    found: dict[str, list[tuple[Version, int]]] = {}
    entry: tuple[str, Version] | None = None
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name, version, marker = match.groups()
            applies = marker is None or Marker(marker).evaluate(TARGET)
            entry = (canonicalize_name(name), Version(version)) if applies else None
            if entry:
                found.setdefault(entry[0], []).append((entry[1], 0))
        elif entry and HASH.search(line):
            version, hashes = found[entry[0]][-1]
            found[entry[0]][-1] = (version, hashes + 1)
    return found


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return [Requirement(r) for r in requirements]


@pytest.mark.parametrize(("lock", "extras"), [("runtime.txt", ("uvloop",)), ("dev.txt", ("dev", "uvloop"))])
def test_every_declared_dependency_is_pinned_within_its_range_with_hashes(
    lock: str, extras: tuple[str, ...]
) -> None:
    locked = pins(LOCKS / lock)
    for requirement in declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in requirements/{lock}: run deploy/local/dev lock"
        for version, hashes in locked[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements/{lock} pins {name}=={version}, outside {requirement.specifier}"
            )
            assert hashes >= 1, f"{name} has no hash in requirements/{lock}"


def test_every_pin_of_every_lock_has_a_hash() -> None:
    for lock in sorted(LOCKS.glob("*.txt")):
        for name, entries in pins(lock).items():
            assert all(hashes for _, hashes in entries), f"{lock.name}: {name}"


def test_runtime_and_dev_locks_agree_on_every_shared_package() -> None:
    runtime, dev = pins(LOCKS / "runtime.txt"), pins(LOCKS / "dev.txt")
    assert runtime
    for name, entries in runtime.items():
        assert name in dev, name
        assert {v for v, _ in entries} == {v for v, _ in dev[name]}, name


def test_every_install_path_uses_a_lock_with_hashes() -> None:
    dev = (DEPLOY / "local" / "dev").read_text(encoding="utf-8")
    assert '--require-hashes \\\n      -r "$ROOT/requirements/dev.txt"' in dev
    assert re.search(r'--no-deps -e "\$ROOT"', dev)
    wheels = (DEPLOY / "image" / "build-wheels.sh").read_text(encoding="utf-8")
    assert '--require-hashes --wheel-dir "$out" \\\n  -r "$src/requirements/runtime.txt"' in wheels
    assert "--no-deps" in wheels
    sbom = (DEPLOY / "image" / "sbom.sh").read_text(encoding="utf-8")
    assert '--require-hashes -r "$lock"' in sbom
