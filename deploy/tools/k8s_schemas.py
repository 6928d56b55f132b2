#!/usr/bin/env python3
"""Write offline Kubernetes JSON schemas for kubeconform, from the ``kubernetes-validate`` wheel (PyPI).

kubeconform's default schema location is a GitHub URL that CI cannot reach. The ``kubernetes-validate``
wheel (a maintained validator on PyPI) ships the same OpenAPI-derived JSON schemas, one directory per
Kubernetes version (``v1.35.0-local-strict/deployment-apps-v1.json`` ...), but their ``$ref``s point at
a shared ``/api/_definitions.json``. kubeconform compiles each schema on its own, so this script makes
every top-level kind's schema *standalone*: the definitions it needs (transitively) are copied into its
own ``$defs`` and the references rewritten to ``#/$defs/...``. The file names stay kubeconform's
(``{kind}-{group}-{version}.json``), so ``-schema-location`` is a plain path template:

    DIR/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/
        {{ .ResourceKind }}{{ .KindSuffix }}.json                (one line)

    k8s_schemas.py WHEEL OUT_DIR 1.33.0 1.37.0     # writes OUT_DIR/v1.33.0-standalone-strict/... etc.

Standard library only (runs before any virtual environment exists).
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

PREFIX = "kubernetes_validate/kubernetes-json-schema/"
EXTERNAL_REF = re.compile(r"^/api/_definitions\.json#/\$defs/(.+)$")
LOCAL_REF = re.compile(r"^#/\$defs/(.+)$")


def _rewrite(node: Any, needed: set[str]) -> Any:
    """Copy ``node`` with every definitions reference made local; collect the names referenced."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                match = EXTERNAL_REF.match(value) or LOCAL_REF.match(value)
                if match is None:
                    raise ValueError(f"unexpected $ref {value!r}")
                needed.add(match.group(1))
                out[key] = f"#/$defs/{match.group(1)}"
            else:
                out[key] = _rewrite(value, needed)
        return out
    if isinstance(node, list):
        return [_rewrite(item, needed) for item in node]
    return node


def standalone(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the transitive closure of the definitions it references embedded."""
    needed: set[str] = set()
    root: dict[str, Any] = _rewrite({k: v for k, v in schema.items() if k != "$id"}, needed)
    embedded: dict[str, Any] = {}
    pending = sorted(needed)
    while pending:
        name = pending.pop()
        if name in embedded:
            continue
        found: set[str] = set()
        embedded[name] = _rewrite(definitions[name], found)
        pending.extend(sorted(found - embedded.keys()))
    if embedded:
        root["$defs"] = dict(sorted(embedded.items()))
    return root


def convert(wheel: Path, out: Path, version: str) -> int:
    """Write the standalone strict schemas of Kubernetes ``version``; returns how many files."""
    source = f"{PREFIX}v{version}-local-strict/"
    target = out / f"v{version}-standalone-strict"
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith(source) and n.endswith(".json")]
        if not names:
            raise SystemExit(f"k8s_schemas.py: {wheel.name} has no schemas for Kubernetes {version}")
        definitions = json.loads(archive.read(source + "_definitions.json"))["$defs"]
        partial = target.with_name(target.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        count = 0
        for name in names:
            schema = json.loads(archive.read(name))
            if "x-kubernetes-group-version-kind" not in schema:
                continue  # kubeconform looks up top-level kinds only
            result = standalone(schema, definitions)
            (partial / name.rsplit("/", 1)[1]).write_text(json.dumps(result, separators=(",", ":")))
            count += 1
    if target.exists():
        for old in target.iterdir():
            old.unlink()
        target.rmdir()
    partial.rename(target)
    return count


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    wheel, out, versions = Path(argv[0]), Path(argv[1]), argv[2:]
    for version in versions:
        count = convert(wheel, out, version)
        print(f"k8s_schemas.py: Kubernetes {version}: {count} standalone schemas -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
