"""What the commands share: the common options, one-line errors, settings, the output format.

Every command parses its flags, builds settings, calls the module doing the work, renders, and sets
the exit status: 0 success; 1 the command ran but the answer is negative (a check failed, records were
skipped, a record was not found); 2 bad input or options, invalid settings, Kafka unreachable. Errors
print as one line on stderr (``error: ...``), never as a traceback. Modules are imported inside the
commands: ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consumer.errors import ConsumerError

if TYPE_CHECKING:
    from consumer.ops.output import Format
    from consumer.settings import Settings

_MAX_PROBLEMS_SHOWN = 20

CONFIG_HELP = "YAML settings file (secrets are refused there; use env vars or *_file settings)."
# ``run`` and ``config show`` show ``--config`` without a metavar; the operator commands name it FILE.
ServiceConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="SSC_CONFIG_FILE", exists=True, dir_okay=False, help=CONFIG_HELP),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="SSC_CONFIG_FILE",
        exists=True,
        dir_okay=False,
        metavar="FILE",
        help=CONFIG_HELP,
    ),
]
BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        metavar="HOST:PORT[,...]",
        help="Kafka bootstrap servers; overrides SSC_KAFKA__BOOTSTRAP_SERVERS (other Kafka settings apply).",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", min=0.1, metavar="SECONDS", help="How long to wait for Kafka (connect, metadata)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of human output.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Also log the Kafka client's own messages to stderr.")
]


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """This package's errors as ``error: ...`` on stderr and exit status 2 (invalid events listed first)."""
    from consumer.ops.publish_input import InvalidEvents

    try:
        yield
    except InvalidEvents as exc:
        for problem in exc.problems[:_MAX_PROBLEMS_SHOWN]:
            typer.echo(f"invalid: {problem}", err=True)
        hidden = len(exc.problems) - _MAX_PROBLEMS_SHOWN
        if hidden > 0:
            typer.echo(f"invalid: ... and {hidden} more", err=True)
        typer.echo(
            f"error: {len(exc.problems)} invalid event(s); nothing was published "
            "(--allow-invalid publishes them anyway)",
            err=True,
        )
        raise typer.Exit(2) from None
    except ConsumerError as exc:
        for line in str(exc).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def settings_for(config: Path | None, bootstrap: str | None) -> Settings:
    """Settings from env and ``--config``, with ``--bootstrap`` applied."""
    from consumer.ops.connect import with_bootstrap
    from consumer.settings_loader import load_settings

    return with_bootstrap(load_settings(config), bootstrap)


def output_format(json_output: bool, ndjson: bool = False) -> Format:
    if json_output and ndjson:
        raise ConsumerError("--json and --ndjson exclude each other", reason="usage")
    return "json" if json_output else "ndjson" if ndjson else "human"
