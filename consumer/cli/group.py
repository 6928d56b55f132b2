"""``consumer group leave``: remove stopped static members from the consumer group."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from consumer.cli.options import BootstrapOption, ConfigOption, one_line_errors, settings_for

group_app = typer.Typer(rich_markup_mode=None, help="The consumer group's members.", no_args_is_help=True)


@group_app.command("leave")
def group_leave_command(
    instance_ids: Annotated[
        list[str],
        typer.Argument(
            metavar="INSTANCE_ID...", help="group.instance.id of each stopped member (the pod name)."
        ),
    ],
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """Remove stopped static members from the consumer group, so their partitions move now.

    A static member (SSC_KAFKA__GROUP_INSTANCE_ID) keeps its partitions until the session timeout
    after it stops. After a scale-in, name the pods that are gone: the group rebalances at once.
    Never name a running member: it is fenced and rejoins. Exit status: 0 removed (or not a member),
    2 Kafka unreachable or the broker refused.
    """
    from consumer.membership import leave_group
    from consumer.ops.output import configure_logging

    with one_line_errors():
        configure_logging(verbose=False)
        settings = settings_for(config, bootstrap)
        for instance in instance_ids:
            removed = asyncio.run(leave_group(settings.kafka, instance))
            result = "removed from" if removed else "not a member of"
            typer.echo(f"{instance}: {result} group {settings.kafka.group_id}")
