"""The repository is self-contained: no file cites a document that is not in it (the team's design
notes live outside the product), and every ``docs/…`` page a file names exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Documents that are not part of the repository, and ways of citing them. A path inside the
# repository (docs/results/reliability.md) is fine; the bare names and section signs are not.
OUTSIDE = re.compile(
    r"(?<![\w/.-])(?:design|reliability|hubspot-api|style)\.md\b"
    r"|\.\./shared\b"
    r"|\bshared/(?:design|reliability|hubspot-api|style)\b"
    r"|\bdesign\b\W{0,3}§"
    r"|\.md\W{0,3}§"
)
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w/.-]*[\w/]")


def repository_files() -> list[Path]:
    """Tracked files plus new ones not ignored (so a file fails before it is committed)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def texts() -> dict[str, str]:
    found = {}
    for path in repository_files():
        try:
            found[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
    return found


def citations(text: str) -> list[str]:
    return [m.group(0) for m in OUTSIDE.finditer(text)]


def test_no_file_cites_a_document_outside_the_repository() -> None:
    me = Path(__file__).relative_to(ROOT).as_posix()
    cited = {name: found for name, text in texts().items() if name != me and (found := citations(text))}
    assert cited == {}


def test_the_check_recognises_each_way_of_citing_an_outside_document() -> None:
    cited = [
        "outcome class of design.md §4",
        "must never flood the DLQ (design §3.4)",
        "the invariants of `reliability.md` (I1-I13)",
        "see ../shared/hubspot-api.md",
        "pure core, style.md §1",
    ]
    fine = ["docs/results/reliability.md", "a design decision", "bench/engine.py", "the style of the docs"]
    assert [bool(citations(t)) for t in cited] == [True] * len(cited)
    assert [citations(t) for t in fine] == [[]] * len(fine)


def test_every_docs_page_a_file_names_exists() -> None:
    missing = set()
    for name, text in texts().items():
        for path in DOCS_PATH.findall(text):
            if not (ROOT / path).exists():
                missing.add(f"{name}: {path}")
    assert missing == set()
