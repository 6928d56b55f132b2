#!/usr/bin/env python3
"""Write components/prometheus-operator/prometheusrule.yaml from deploy/prometheus/alerts.yaml.

The rule file is the one source (promtool checks and unit-tests it); the Prometheus Operator wants the
same groups wrapped in a PrometheusRule. tests/deploy/ fails when the two drift; run

    .venv/bin/python deploy/tools/prometheusrule.py

after editing the alerts. ``--check`` only reports drift (exit 1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent.parent
RULES = DEPLOY / "prometheus" / "alerts.yaml"
TARGET = DEPLOY / "kubernetes" / "components" / "prometheus-operator" / "prometheusrule.yaml"
HEADER = "# Generated from deploy/prometheus/alerts.yaml by deploy/tools/prometheusrule.py: do not edit.\n"


def render(rules: dict[str, Any]) -> str:
    """The PrometheusRule manifest (YAML text) carrying ``rules['groups']`` unchanged."""
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "single-send-consumer",
            "labels": {
                "app.kubernetes.io/name": "single-send-consumer",
                "app.kubernetes.io/part-of": "single-send-consumer",
            },
        },
        "spec": {"groups": rules["groups"]},
    }
    return HEADER + yaml.safe_dump(resource, sort_keys=False, width=120, allow_unicode=True)


def main(argv: list[str]) -> int:
    text = render(yaml.safe_load(RULES.read_text(encoding="utf-8")))
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run deploy/tools/prometheusrule.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
