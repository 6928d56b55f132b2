"""The CI-sized chaos run (docs/development/reliability-suite.md): 20 000 events, 5 consumer
SIGKILLs, a SIGTERM, 1 broker restart, 20 s of 503, 10 % 429s, 1 % accept-then-hang — every
invariant I1-I13 must hold.

The run is a separate process (``python -m tests.chaos run --profile ci``) with its own broker, so
it neither disturbs nor depends on the session broker. ``CHAOS_SEED`` fixes the seed; otherwise a
random one is drawn and printed, and a failing one is kept under ``$CHAOS_DIR/failing-seeds`` for
``python -m tests.chaos replay``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chaos.cluster import stop_cluster
from tests.chaos.procs import ROOT, cleanup

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
BUDGET_S = 360  # the CI budget of the run, broker start included


@pytest.mark.timeout(BUDGET_S + 30)
def test_the_ci_sized_chaos_run_holds_every_invariant(tmp_path: Path) -> None:
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1, 1_000_000))
    out = tmp_path / f"ci-{seed}"
    cmd = [
        sys.executable,
        "-m",
        "tests.chaos",
        "run",
        "--profile",
        "ci",
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=BUDGET_S)
    finally:
        if proc.poll() is None:  # over budget: let the runner stop its children, then make sure
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            cleanup(out)
            stop_cluster(out / "kafka")
    text = output.decode(errors="replace")
    report_file = out / "report.json"
    assert report_file.exists(), f"seed {seed}: no report\n{text[-3000:]}"
    report = json.loads(report_file.read_text())
    failed = {k: v for k, v in report["invariants"].items() if not v["pass"]}
    assert report["passed"], f"seed {seed} failed {sorted(failed)} {report['notes']}\n{text[-3000:]}"
    assert failed == {}
    assert report["wall_s"] <= BUDGET_S
