"""Where the consumer's CPU goes: py-spy's collapsed stacks summarised three ways (pure, no I/O).

py-spy ``record --format raw`` writes one line per distinct stack, ``frame;frame;...;leaf count``, each
frame ``function (file:line)``, idle samples left out. Only samples taken inside the event loop count,
so imports and start-up are excluded: a stack with asyncio's ``run_forever`` or ``Runner.run`` on it,
or one that starts at a callback or coroutine (uvloop runs its loop in C, so py-spy shows the task's
frames alone); a stack that imports a module never counts.

* ``self_pct``: the leaf function (line numbers dropped) — the hottest Python functions;
* ``total_pct``: inclusive share of every function of the ``consumer`` package, and of a few library
  entry points, i.e. "everything done below this call";
* ``by_stage``: each sample attributed to the innermost ``consumer`` function on its stack (the
  engine's own stage that caused the work), or to ``<library>`` when no ``consumer`` frame is on it
  (event-loop callbacks such as aiohttp's protocol or aiokafka's fetcher).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

_LINE = re.compile(r":\d+\)$")
_FILE = re.compile(r"\((.*?)(?::\d+)?\)$")
_TRUNK = (
    "runpy",
    "typer/",
    "consumer/cli/",
    "consumer/__main__.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
)
_LOOP = ("run_forever", "Runner.run (asyncio/runners.py")
_ROOT = ("_run_module_as_main", "<module>")
_ENTRY = ("aiohttp/client.py", "aiokafka/", "structlog/", "prometheus_client/", "pydantic/main.py")


def _function(frame: str) -> str:
    return _LINE.sub(")", frame)


def _file(frame: str) -> str:
    m = _FILE.search(frame)
    return m.group(1) if m else ""


def _library(path: str) -> str:
    if path.startswith("<frozen") or "/" not in path:
        return path
    return path.split("/", 1)[0]


def _in_loop(stack: str) -> bool:
    if "_find_and_load" in stack:
        return False
    return any(mark in stack for mark in _LOOP) or not stack.startswith(_ROOT)


def summarise(collapsed: str, top: int = 15) -> dict[str, Any]:
    """The three views of the module docstring, as ``[(name, percent)]`` lists, plus the sample count."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    stage: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit() or not _in_loop(stack):
            continue
        count = int(n)
        frames = stack.split(";")
        samples += count
        own[_function(frames[-1])] += count
        seen = set()
        for frame in frames:
            path = _file(frame)
            if path.startswith(_TRUNK):
                continue
            if path.startswith("consumer/") or path.startswith(_ENTRY):
                seen.add(_function(frame))
        for name in seen:
            total[name] += count
        ours = [f for f in frames if _file(f).startswith("consumer/") and not _file(f).startswith(_TRUNK)]
        stage[_function(ours[-1]) if ours else f"<{_library(_file(frames[-1]))}>"] += count

    def pct(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / samples, 1)) for k, v in counter.most_common(top)] if samples else []

    return {"samples": samples, "self_pct": pct(own), "total_pct": pct(total), "by_stage": pct(stage)}
