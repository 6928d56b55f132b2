"""Reading the documentation site for its tests: pages, fenced code blocks, command lines in them."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
ALERT_RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
# Alerts the docs may describe before deploy/prometheus/alerts.yaml has their rules (none today).
PLANNED_ALERTS: set[str] = set()
GENERATED = {"configuration/reference.md", "operations/cli.md", "operations/metrics.md", "events/catalog.md"}

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def alert_names() -> list[str]:
    """The alerts of the Prometheus rule file."""
    rules = yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))
    return [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]


def pages() -> dict[str, str]:
    """Every Markdown page of the site (path under docs/ → text)."""
    return {p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md"))}


def site_text() -> str:
    """All pages and the README, concatenated."""
    return "\n".join([*pages().values(), README.read_text(encoding="utf-8")])


def written_text() -> str:
    """The hand-written pages and the README (not the generated references)."""
    texts = [t for name, t in pages().items() if name not in GENERATED]
    return "\n".join([*texts, README.read_text(encoding="utf-8")])


@dataclass(frozen=True, slots=True)
class Block:
    page: str
    lang: str
    title: str | None
    body: str


def blocks() -> Iterator[Block]:
    """Every fenced code block of the site and the README, indentation removed."""
    sources = {**pages(), "README.md": README.read_text(encoding="utf-8")}
    for name, text in sources.items():
        for m in _FENCE.finditer(text):
            indent = len(m["indent"])
            body = "\n".join(line[indent:] for line in m["body"].splitlines())
            title = re.search(r'title="([^"]+)"', m["attrs"])
            yield Block(name, m["lang"], title[1] if title else None, body)


def titled(title: str) -> list[Block]:
    return [b for b in blocks() if b.title == title]


def command_lines() -> Iterator[tuple[str, list[str]]]:
    """(page, argv) of every simple command in the site's shell blocks and inline code spans:
    ``$ `` prompts in console blocks, every line of bash/sh blocks (continuations joined), and inline
    spans of the written pages that start with ``consumer``. Pipelines and lists are split; leading
    ``VAR=value`` assignments are dropped."""
    for block in blocks():
        if block.lang not in ("bash", "sh", "console"):
            continue
        text = block.body.replace("\\\n", " ")
        for line in text.splitlines():
            if block.lang == "console" and not line.startswith("$ "):
                continue
            command = line[2:] if block.lang == "console" else line
            yield from ((block.page, argv) for argv in _simple_commands(command))
    written = {name: t for name, t in pages().items() if name not in GENERATED}
    for name, text in {**written, "README.md": README.read_text(encoding="utf-8")}.items():
        for span in _INLINE.findall(_FENCE.sub("", text)):
            if span.startswith("consumer "):
                yield from ((name, argv) for argv in _simple_commands(span))


def _simple_commands(line: str) -> Iterator[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    current: list[str] = []
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote in prose, not a command line
        return
    for token in [*tokens, ";"]:
        if token and set(token) <= set("|&;"):
            while current and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", current[0]):
                current.pop(0)
            if current:
                yield current
            current = []
        else:
            current.append(token)
