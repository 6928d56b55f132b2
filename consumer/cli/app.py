"""The ``consumer`` command: the Typer app, every command group registered in help order, ``main``.

Each command lives in its own module of this package (``run``, ``config``, ``schemas``, ``demo``,
``publish``, ``dlq``, ``check``, ``group``, ``hubspot``, ``console``; the simulator's beside the
simulator, loaded on look-up) and is a thin wrapper: parse, build settings, call, render. Errors from
this package print as one line each (``error: <field>: <message>``; invalid settings list every
problem) with exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from consumer import __version__
from consumer.cli.check import check_command
from consumer.cli.config import config_app
from consumer.cli.console import console_command
from consumer.cli.demo import demo
from consumer.cli.dlq import dlq_app
from consumer.cli.group import group_app
from consumer.cli.hubspot import hubspot_app
from consumer.cli.publish import publish_command
from consumer.cli.run import run
from consumer.cli.schemas import schemas_app
from consumer.deferred import DeferringGroup, deferred
from consumer.errors import ConsumerError

app = typer.Typer(
    name="consumer",
    help="Kafka domain events -> HubSpot transactional email (Single Send API).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help is plain text: rich markup would turn "ID:SECRET:TOKEN" into an emoji and "[x]" into style.
    rich_markup_mode=None,
    cls=DeferringGroup,
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


app.command()(run)
app.add_typer(config_app, name="config")
app.add_typer(schemas_app, name="schemas")


# A developer tool outside the runtime package: its flags and help live beside it, and its module is
# imported only when this command is looked up (run or --help), never by the other commands.
@app.command("simulator", cls=deferred("hubspot_simulator.cli:simulator"))
def simulator() -> None:
    """Placeholder: replaced by hubspot_simulator.cli.simulator when looked up."""


app.command("console")(console_command)
app.command()(demo)
app.command("publish")(publish_command)
app.add_typer(dlq_app, name="dlq")
app.command("check")(check_command)
app.add_typer(group_app, name="group")
app.add_typer(hubspot_app, name="hubspot")


def main() -> None:
    """Console entry point: one line per error (usage errors included), no tracebacks."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: an unknown option, a missing file, ...
        message = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        if "\n" in message:  # a command group called without a command answers with its help
            print(message, file=sys.stderr)
        else:
            hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
            print(f"error: {message}{hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except ConsumerError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
