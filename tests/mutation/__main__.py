"""``python -m tests.mutation [MODULE ...] [--show] [--max-children N] [--max-examples N]
[--changed-since REF]``.

Runs mutmut on each module (default: the whole core) in a fresh copy of the repository's tracked
files, prints the score table and the survivors (``--show``: with their diffs), and exits 1 when a
module is below its target. ``--changed-since REF`` keeps only the core modules changed since REF
(what CI checks). Needs the dev install (mutmut).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.mutation.score import CORE, Score, cap_examples, equivalents, parse_results, score, table

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def tracked_copy(target: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def configure(work: Path, module: str, max_examples: int) -> None:
    tests, _ = CORE[module]
    for test in tests:
        path = work / test
        path.write_text(cap_examples(path.read_text(encoding="utf-8"), max_examples), encoding="utf-8")
    config = f"""
[tool.mutmut]
source_paths = ["consumer"]
only_mutate = ["{module}"]
pytest_add_cli_args_test_selection = {list(tests)!r}
pytest_add_cli_args = ["-q", "-x", "-p", "no:cacheprovider"]
also_copy = ["schemas", "deploy", "docgen", "bench"]
""".replace("'", '"')
    with (work / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(config)


def run_module(module: str, max_children: int, show: bool, max_examples: int) -> Score:
    with tempfile.TemporaryDirectory(prefix="ssc-mutate-") as tmp:
        work = Path(tmp)
        tracked_copy(work)
        configure(work, module, max_examples)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        mutmut = str(BIN / "mutmut")
        subprocess.run(
            [mutmut, "run", "--max-children", str(max_children)],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        listing = subprocess.run(
            [mutmut, "results", "--all", "true"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = score(module, parse_results(listing), equivalents())
        if show:
            for name in result.survivors:
                diff = subprocess.run(
                    [mutmut, "show", name], cwd=work, env=env, capture_output=True, text=True, check=False
                ).stdout
                print(diff)
        return result


def changed_modules(ref: str) -> list[str]:
    """The core modules that differ from ``ref``; all of them when ``ref`` is not in this clone."""
    known = subprocess.run(["git", "cat-file", "-e", f"{ref}^{{commit}}"], cwd=ROOT, check=False)
    if known.returncode != 0:
        print(f"mutation: {ref} is not in this clone: checking every module")
        return list(CORE)
    names = subprocess.run(
        ["git", "diff", "--name-only", ref, "--"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [m for m in CORE if m in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"default: {', '.join(CORE)}")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--max-examples",
        type=int,
        default=200,
        help="cap of each property test's examples in the mutated copy (default 200)",
    )
    parser.add_argument("--changed-since", metavar="REF", help="only the core modules changed since REF")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the scores as JSON")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="the ratchet (CI): only the modules FILE lists that changed since its commit; each must keep "
        "its recorded score or reach its target",
    )
    args = parser.parse_args(argv)
    modules = args.modules or list(CORE)
    floors: dict[str, float] = {}
    if args.baseline:
        recorded = json.loads(args.baseline.read_text(encoding="utf-8"))
        floors = {m: float(v) for m, v in recorded["modules"].items()}
        args.changed_since = recorded["commit"]
        modules = [m for m in modules if m in floors]
    unknown = [m for m in modules if m not in CORE]
    if unknown:
        parser.error(f"not a core module: {', '.join(unknown)} (one of {', '.join(CORE)})")
    if args.changed_since:
        changed = set(changed_modules(args.changed_since))
        modules = [m for m in modules if m in changed]
        if not modules:
            print(f"mutation: no core module changed since {args.changed_since}")
            return 0
    scores = []
    for module in modules:
        scores.append(run_module(module, args.max_children, args.show, args.max_examples))
        print(table(scores[-1:]).splitlines()[1], flush=True)
    print(table(scores))
    if args.json:
        args.json.write_text(json.dumps([s.to_json() for s in scores], indent=2) + "\n", encoding="utf-8")
    for s in scores:
        for name in s.survivors:
            print(f"survived: {name}")
    failed = [s.module for s in scores if not (s.passed or s.ratio >= floors.get(s.module, 2.0))]
    for module in failed:
        print(f"mutation: {module} is below its target and its recorded score")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
