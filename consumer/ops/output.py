"""Output of the operator commands: human (rich tables, progress bars) by default, JSON for machines.

Results go to stdout, progress and diagnostics to stderr, so ``consumer dlq inspect --json | jq``
works. Text from records (event ids, types, header values) is never interpreted as rich markup. The
progress bar shows only when stderr is a terminal and the output is human.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, TextIO, cast

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from consumer import logs

Format = Literal["human", "json", "ndjson"]
_PIPE_WIDTH = 1000  # tables written to a pipe or a file are not squeezed (nor padded) to 80 columns


def plural(count: int, noun: str) -> str:
    """``1 partition``, ``3 partitions``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class _CurrentStderr(io.TextIOBase):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it per invocation)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(verbose: bool) -> None:
    """Warnings of this package to stderr; aiokafka's own chatter only with ``--verbose`` (our one-line
    error already says what went wrong)."""
    logs.configure("INFO" if verbose else "WARNING", "console", stream=cast(TextIO, _CurrentStderr()))
    if not verbose:
        logs.quiet_kafka_client()


class Output:
    """Where and how a command writes its result."""

    def __init__(self, fmt: Format = "human") -> None:
        self.format = fmt
        self.out = Console(
            file=sys.stdout, width=None if sys.stdout.isatty() else _PIPE_WIDTH, highlight=False
        )
        self.err = Console(file=sys.stderr, highlight=False)

    @property
    def human(self) -> bool:
        return self.format == "human"

    def json(self, obj: Any) -> None:
        """One JSON document (``--json``) or one line of NDJSON (``--ndjson``) on stdout."""
        option = orjson.OPT_INDENT_2 if self.format == "json" else 0
        sys.stdout.write(orjson.dumps(obj, option=option | orjson.OPT_NON_STR_KEYS).decode() + "\n")
        sys.stdout.flush()

    def line(self, text: str = "", *, style: str | None = None) -> None:
        self.out.print(Text(text, style=style or ""), soft_wrap=True)

    def note(self, text: str) -> None:
        """A diagnostic line on stderr (not part of the result)."""
        self.err.print(Text(text), soft_wrap=True)

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None
    ) -> None:
        table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        for name in columns:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
        self.out.print(table)

    def pairs(self, items: Sequence[tuple[str, object]], *, title: str | None = None) -> None:
        """``name: value`` lines, names aligned (a summary)."""
        if title:
            self.line(title, style="bold")
        width = max((len(name) for name, _ in items), default=0)
        for name, value in items:
            self.line(f"  {name.ljust(width)}  {value}")

    @contextlib.contextmanager
    def progress(self, total: int, description: str) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr; yields ``advance(n)``. Invisible unless stderr is a terminal."""
        enabled = self.human and sys.stderr.isatty() and total > 0
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.err,
            disable=not enabled,
            transient=True,
        )
        with bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)
