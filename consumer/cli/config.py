"""``consumer config show``: the settings this deployment runs with, and where each came from."""

from __future__ import annotations

from typing import Annotated

import typer

from consumer.cli.options import ServiceConfigOption, one_line_errors

config_app = typer.Typer(
    rich_markup_mode=None, help="The settings this deployment runs with.", no_args_is_help=True
)


@config_app.callback()
def config_root() -> None:
    """The settings this deployment runs with (environment, config file, defaults)."""


@config_app.command("show")
def config_show(
    config: ServiceConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Print every effective setting, secrets redacted, and where it came from.

    Sources: environment (an SSC_* variable), file (--config / SSC_CONFIG_FILE) or default. Invalid
    settings print one line per problem, exit status 2.
    """
    from consumer.ops.output import Output
    from consumer.settings_loader import effective_settings

    with one_line_errors():
        entries = effective_settings(config)
    out = Output("json" if as_json else "human")
    if not out.human:
        out.json([{"name": e.name, "key": e.key, "value": e.value, "source": e.source} for e in entries])
        return
    out.table(["setting", "value", "from"], [[e.name, e.value, e.source] for e in entries])
