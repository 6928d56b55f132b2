"""The generated pages and the one command that writes or checks them all.

``python -m docgen`` rewrites every generated page (and the generated blocks of the results pages)
from the code; ``python -m docgen --check`` writes nothing and lists what differs (exit 1), which is
what the drift test and CI run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from docgen import catalog_ref, cli_ref, metrics_ref, results, routing_ref, settings_ref

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

WHOLE_PAGES: dict[str, Callable[[], str]] = {
    "configuration/reference.md": settings_ref.render,
    "operations/cli.md": cli_ref.render,
    "operations/metrics.md": metrics_ref.render,
    "events/catalog.md": catalog_ref.render,
}
"""Pages generated as a whole (path under docs/ → renderer)."""

BLOCKS: dict[tuple[str, str], Callable[[], str]] = {
    ("events/routing.md", "demo-routes"): routing_ref.render,
}
"""Generated blocks of written pages ((path under docs/, block name) → renderer); the results pages'
blocks, rendered from their data files, are in :mod:`docgen.results`."""


def expected(docs: Path = DOCS) -> dict[Path, str]:
    """Every generated file's content as the code produces it now."""
    pages = {docs / name: render() for name, render in WHOLE_PAGES.items()}
    for (name, block), render in BLOCKS.items():
        path = docs / name
        pages[path] = results.replace_block(path.read_text(encoding="utf-8"), block, render())
    for page in results.PAGES:
        path = docs / page.page
        pages[path] = page.refresh(path.read_text(encoding="utf-8"), docs)
    return pages


def drift(docs: Path = DOCS) -> list[str]:
    """One line per generated file that differs from what the code produces."""
    return [
        f"{path.relative_to(docs.parent)}: differs from the code (run `python -m docgen`)"
        for path, text in expected(docs).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def write(docs: Path = DOCS) -> list[Path]:
    """Rewrite every generated file that changed; return those written."""
    written = []
    for path, text in expected(docs).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
