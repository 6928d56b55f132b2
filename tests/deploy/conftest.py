"""Fixtures of the deploy checks: the offline tools, rendered overlays, and settings from env vars.

The tools are installed by ``deploy/tools/install.sh`` (``.ci/run`` calls it) into a cache outside the
repository; a missing tool fails the test with a message naming that script, it never skips.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from consumer.settings import Settings
from consumer.settings_loader import ENV_PREFIX, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUSTOMIZE_DIR = DEPLOY / "kubernetes"
OVERLAYS = ("dev", "qa", "prod")
INSTALL_HINT = "run deploy/tools/install.sh (it installs the deploy-validation tools; .ci/run does)"


def tool_versions() -> dict[str, str]:
    """``deploy/tools/versions.env`` as a dict (the pinned tool versions)."""
    versions: dict[str, str] = {}
    for line in (DEPLOY / "tools" / "versions.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip().strip('"')
    return versions


def tools_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "single-send-consumer" / "tools"


_TOOL_VERSION_KEYS = {
    "kustomize": "KUSTOMIZE_VERSION",
    "kubeconform": "KUBECONFORM_VERSION",
    "promtool": "PROMETHEUS_VERSION",
    "compose-spec": "COMPOSE_GO_VERSION",
}


def tool(name: str) -> Path:
    """The pinned build of tool ``name``; fails (never skips) when it is not installed."""
    version = tool_versions()[_TOOL_VERSION_KEYS[name]]
    path = tools_dir() / f"{name}-{version}" / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{name} {version} is not installed at {path}: {INSTALL_HINT}", pytrace=False)
    return path


def load_script(name: str) -> ModuleType:
    """The script ``deploy/tools/<name>.py`` as a module (the tools are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, DEPLOY / "tools" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def schema_dir() -> Path:
    path = tools_dir() / f"k8s-schemas-{tool_versions()['KUBERNETES_VALIDATE_VERSION']}"
    if not (path / ".complete").exists():
        pytest.fail(f"the Kubernetes JSON schemas are not installed at {path}: {INSTALL_HINT}", pytrace=False)
    return path


def run_tool(args: list[str | Path], *, cwd: Path | None = None, stdin: str | None = None) -> str:
    """Run a tool; a non-zero exit fails the test with its output."""
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{Path(str(args[0])).name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


Doc = dict[str, Any]


def kustomize_build(directory: Path) -> list[Doc]:
    out = run_tool([tool("kustomize"), "build", directory])
    return [doc for doc in yaml.safe_load_all(out) if doc]


def variant(tmp: Path, overlay: str, components: list[str]) -> Path:
    """A kustomization in ``tmp`` that adds optional ``components`` to ``overlay`` (relative paths only)."""
    rel = Path(os.path.relpath(KUSTOMIZE_DIR, tmp))
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [str(rel / "overlays" / overlay)],
                "components": [str(rel / "components" / c) for c in components],
            }
        ),
        encoding="utf-8",
    )
    return tmp


@dataclass(frozen=True, slots=True)
class Rendered:
    """One rendered overlay (or overlay + components) and accessors for what the checks need."""

    name: str
    docs: list[Doc]

    def of_kind(self, kind: str) -> list[Doc]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name_prefix: str = "") -> Doc:
        found = [d for d in self.of_kind(kind) if d["metadata"]["name"].startswith(name_prefix)]
        assert len(found) == 1, f"{self.name}: expected one {kind} {name_prefix!r}, found {len(found)}"
        return found[0]

    @property
    def workload(self) -> Doc:
        return self.one("StatefulSet", "single-send-consumer")

    @property
    def container(self) -> Doc:
        containers = self.workload["spec"]["template"]["spec"]["containers"]
        return next(c for c in containers if c["name"] == "consumer")

    def configmap(self, name: str) -> Doc:
        return next(d for d in self.of_kind("ConfigMap") if d["metadata"]["name"] == name)

    def env(self, pod_name: str = "single-send-consumer-0") -> dict[str, str]:
        """The consumer container's environment as the kubelet builds it (envFrom, then env)."""
        env: dict[str, str] = {}
        for source in self.container.get("envFrom", []):
            env.update(self.configmap(source["configMapRef"]["name"]).get("data", {}))
        for item in self.container.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            elif item.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
                env[item["name"]] = pod_name
            else:
                raise AssertionError(f"{self.name}: unsupported env source for {item['name']}")
        return env


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    """Every overlay, rendered once per session."""
    return {o: Rendered(o, kustomize_build(KUSTOMIZE_DIR / "overlays" / o)) for o in OVERLAYS}


# ----------------------------------------------------------------------------------------- settings


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def is_setting(name: str) -> bool:
    """True when env var ``name`` addresses a field of :class:`Settings` (``SSC_A__B`` -> ``a.b``).

    pydantic-settings silently ignores unknown top-level ``SSC_*`` variables, so a typo in a manifest
    would otherwise go unnoticed.
    """
    if not name.startswith(ENV_PREFIX):
        return False
    model: type[BaseModel] | None = Settings
    for part in name[len(ENV_PREFIX) :].lower().split("__"):
        if model is None or part not in model.model_fields:
            return False
        model = _model_of(model.model_fields[part].annotation)
    return model is None  # a leaf, not a whole section


@pytest.fixture
def settings_from_env(monkeypatch: pytest.MonkeyPatch) -> typing.Callable[[Mapping[str, str]], Settings]:
    """``build(env)``: the :class:`Settings` the service would build from exactly these variables
    (the secret files they name are mounted in the container, not here)."""

    def build(env: Mapping[str, str]) -> Settings:
        for name in list(os.environ):
            if name.startswith(ENV_PREFIX):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return load_settings(None, check_secret_files=False)

    return build
