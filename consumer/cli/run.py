"""``consumer run``: the service itself, until SIGTERM (or drained, with ``--until-drained``).

Once logging is configured, any error that ends the run is one ``service.failed`` log line (JSON by
default, scrubbed) and exit code 2 for this package's errors, 1 for anything else.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from consumer.cli.options import ServiceConfigOption
from consumer.errors import ConsumerError


def run(
    config: ServiceConfigOption = None,
    until_drained: Annotated[
        bool,
        typer.Option(
            "--until-drained",
            help="Stop (exit 0) once every assigned partition is committed up to its end (batch/backfill).",
        ),
    ] = False,
) -> None:
    """Run the consumer: Kafka -> HubSpot Single Send, commit after confirm (SIGTERM drains and exits 0)."""
    import os

    from consumer import eventloop, logs, tracing
    from consumer.routing_loader import load_router
    from consumer.service import Service
    from consumer.settings_loader import load_settings

    settings = load_settings(config)
    logs.configure(settings.observability.log_level, settings.observability.log_format)
    traces = tracing.configure(os.environ, settings.kafka.group_id)

    async def main() -> None:
        service = Service(settings, load_router(settings), traces)
        uninstall = service.install_signal_handlers(asyncio.get_running_loop())
        try:
            await service.run(until_drained=until_drained)
        finally:
            uninstall()

    try:
        eventloop.run(main(), settings.engine.event_loop, settings.engine.gc_threshold)
    except Exception as exc:  # the last line of defence: one scrubbed JSON line, never a traceback
        logs.get_logger("consumer.service").critical(
            "service.failed", error=type(exc).__name__, detail=str(exc)
        )
        raise typer.Exit(2 if isinstance(exc, ConsumerError) else 1) from None
