"""The ``consumer`` command: parse, build settings, configure logging, call the service.

Each sub-command is a thin wrapper; the work lives in the modules it calls. Errors from this package
print as one line (``error: <field>: <message>``) with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

from typing import Annotated

import typer

from consumer import __version__

app = typer.Typer(
    name="consumer",
    help="Kafka domain events -> HubSpot transactional email (Single Send API).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"single-send-consumer {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Kafka domain events -> HubSpot transactional email (Single Send API)."""


def main() -> None:
    app()
