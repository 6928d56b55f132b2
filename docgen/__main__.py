"""``python -m docgen [--check]``: regenerate the generated documentation pages, or check them (CI)."""

from __future__ import annotations

import argparse
import sys

from docgen import pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m docgen", description=__doc__)
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 when a page differs")
    args = ap.parse_args(argv)
    if args.check:
        problems = pages.drift()
        for problem in problems:
            print(f"drift: {problem}", file=sys.stderr)
        print("docs: generated pages up to date" if not problems else f"{len(problems)} page(s) differ")
        return 1 if problems else 0
    written = pages.write()
    for path in written:
        print(f"wrote {path.relative_to(pages.ROOT)}")
    print(f"{len(written)} page(s) rewritten, {len(pages.expected()) - len(written)} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
