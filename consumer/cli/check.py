"""``consumer check``: is this deployment usable? Settings, routing, Kafka, DLQ, HubSpot; writes nothing."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from consumer.cli.options import (
    BootstrapOption,
    ConfigOption,
    JsonOption,
    VerboseOption,
    output_format,
    settings_for,
)


def check_command(
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, metavar="SECONDS", help="How long each check may take.")
    ] = 10.0,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check settings, routing, Kafka (topics, group, DLQ) and the HubSpot credential; writes nothing.

    One line per check, OK or FAIL with the reason (invalid settings: one line per problem). Exit
    status: 0 when everything is usable (use it as a Kubernetes start-up probe), 1 when a check
    failed, 2 when the settings are invalid.
    """
    from consumer.ops import check
    from consumer.ops.output import Output, configure_logging

    configure_logging(verbose)
    out = Output(output_format(json_output))
    report = asyncio.run(check.run_checks(lambda: settings_for(config, bootstrap), timeout_s=timeout))
    check.render_report(out, report)
    if not report.ok:
        raise typer.Exit(2 if report.settings_invalid else 1)
