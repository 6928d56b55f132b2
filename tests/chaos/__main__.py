"""``python -m tests.chaos run --profile ci|soak|group|failover [--seed N] [--out DIR]`` and
``python -m tests.chaos replay <failing-seed-file>``: one chaos run, its summary, exit 1 on failure.
``python -m tests.chaos docs <report.json>...`` records runs on docs/results/reliability.md.

Reports go to ``--out`` (default ``$CHAOS_DIR/<profile>-<seed>``, ``CHAOS_DIR`` defaulting to
``/tmp/ssc-chaos``); failing seeds are kept in ``$CHAOS_DIR/failing-seeds/``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from pathlib import Path

from docgen.results import record_chaos
from tests.chaos.cluster import stop_cluster
from tests.chaos.procs import cleanup
from tests.chaos.profiles import PROFILES, customise
from tests.chaos.report import DEFAULT_BASE, load_seed
from tests.chaos.runner import main_run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="one chaos run of a profile")
    run.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    run.add_argument("--seed", type=int, default=None, help="default: a random seed (printed)")
    run.add_argument("--out", type=Path, default=None, help="artifacts and report.json go here")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a profile field for a diagnostic run (recorded in the report)",
    )
    replay = sub.add_parser("replay", help="run a kept failing seed again")
    replay.add_argument("seed_file", type=Path)
    replay.add_argument("--out", type=Path, default=None)
    clean = sub.add_parser("cleanup", help="kill what a crashed run left behind (members, simulator, Kafka)")
    clean.add_argument("out", type=Path)
    docs = sub.add_parser(
        "docs", help="add runs (report.json or summary.json) to the reliability results page"
    )
    docs.add_argument("reports", type=Path, nargs="+")
    args = ap.parse_args(argv)
    if args.cmd == "docs":
        page = record_chaos([json.loads(path.read_text(encoding="utf-8")) for path in args.reports])
        print(f"recorded {len(args.reports)} run(s) in {page}")
        return 0
    # the harness's own Kafka clients: a broker restart is the point of the run, not news
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if args.cmd == "cleanup":
        killed = cleanup(args.out)
        stop_cluster(args.out / "kafka")
        print(f"killed {killed} processes, stopped Kafka in {args.out / 'kafka'}")
        return 0
    if args.cmd == "replay":
        profile_name, seed, overrides = load_seed(args.seed_file)
    else:
        profile_name = args.profile
        seed = args.seed if args.seed is not None else random.randrange(1, 1_000_000)
        overrides = dict(item.split("=", 1) for item in args.set)
    try:
        profile = customise(PROFILES[profile_name], overrides)
    except ValueError as exc:
        ap.error(str(exc))
    out = args.out or DEFAULT_BASE / f"{profile_name}-{seed}"
    print(f"chaos {profile_name} seed={seed} {overrides or ''} -> {out}", flush=True)
    code = main_run(profile, seed, out, overrides)
    if code == 0:
        print(f"record it on the results page: python -m tests.chaos docs {out / 'report.json'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
