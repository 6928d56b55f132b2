#!/usr/bin/env python3
"""Write the alerts' runbook URLs and the PrometheusRule from deploy/prometheus/alerts.yaml.

The rule file is the one source (promtool checks and unit-tests it). This script

1. sets every alert's ``runbook_url`` annotation, in ``alerts.yaml`` and in the expected alerts of
   ``alerts.test.yaml``, to ``<docs_url>operations/alerts/#<alert name in lower case>``: the alert's
   own section of the published docs. ``<docs_url>`` is the docs site's address, configured once as
   ``extra.docs_url`` in mkdocs.yml (``--docs-url URL`` overrides it, e.g. for an internal mirror);
2. writes components/prometheus-operator/prometheusrule.yaml, the same groups wrapped in a
   PrometheusRule for the Prometheus Operator.

tests/deploy/ fails when any of them drift; run

    .venv/bin/python deploy/tools/prometheusrule.py

after editing the alerts. ``--check`` only reports drift (exit 1).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent.parent
ROOT = DEPLOY.parent
MKDOCS = ROOT / "mkdocs.yml"
RULES = DEPLOY / "prometheus" / "alerts.yaml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yaml"
TARGET = DEPLOY / "kubernetes" / "components" / "prometheus-operator" / "prometheusrule.yaml"
ALERTS_PAGE = "operations/alerts/"
HEADER = "# Generated from deploy/prometheus/alerts.yaml by deploy/tools/prometheusrule.py: do not edit.\n"

# the line that names the alert a runbook_url belongs to: a rule's `- alert:`, a test's `alertname:`
_OWNER = re.compile(r"^\s*(?:- )?(?:alert|alertname):\s*(\w+)\s*$")
_RUNBOOK = re.compile(r"^(\s*)runbook_url:.*$")


def docs_url() -> str:
    """The published docs site's base URL (``extra.docs_url`` of mkdocs.yml), ending in ``/``."""
    # mkdocs.yml may carry !!python/name tags in other sections: read only the key, not the document
    found = re.search(r"^\s+docs_url:\s*(\S+)\s*$", MKDOCS.read_text(encoding="utf-8"), re.M)
    if found is None:
        raise SystemExit(f"{MKDOCS}: extra.docs_url is not set")
    return found[1].strip("\"'").rstrip("/") + "/"


def runbook_url(base: str, alert: str) -> str:
    """The alert's section of the alerts page (MkDocs makes the heading's anchor the lower-cased name)."""
    return f"{base.rstrip('/')}/{ALERTS_PAGE}#{alert.lower()}"


def with_runbook_urls(text: str, base: str) -> str:
    """``text`` with every ``runbook_url:`` line set for the alert it belongs to (the last alert named
    above it), comments and layout kept."""
    out: list[str] = []
    owner: str | None = None
    for line in text.splitlines(keepends=True):
        if named := _OWNER.match(line):
            owner = named[1]
        runbook = _RUNBOOK.match(line)
        if runbook is None:
            out.append(line)
        elif owner is None:
            raise SystemExit(f"runbook_url before any alert name: {line.strip()}")
        else:
            out.append(f'{runbook[1]}runbook_url: "{runbook_url(base, owner)}"\n')
    return "".join(out)


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


def outputs(base: str) -> dict[Path, str]:
    """Every file this script writes, with the text it should hold."""
    rules = with_runbook_urls(RULES.read_text(encoding="utf-8"), base)
    return {
        RULES: rules,
        RULE_TESTS: with_runbook_urls(RULE_TESTS.read_text(encoding="utf-8"), base),
        TARGET: render(yaml.safe_load(rules)),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift (exit 1)")
    parser.add_argument(
        "--docs-url", help="base URL of the docs site (default: extra.docs_url of mkdocs.yml)"
    )
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs(args.docs_url or docs_url()).items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"out of date: {names}; run deploy/tools/prometheusrule.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
