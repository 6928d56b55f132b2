"""``consumer demo``: local Kafka, the HubSpot simulator and sample events, drained; a summary printed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer


def _existing_file(help_text: str) -> Any:
    return typer.Option(exists=True, dir_okay=False, help=help_text)


def demo(  # noqa: PLR0917 - one parameter per CLI flag
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Use this Kafka instead of starting the local Apache Kafka of deploy/local/."),
    ] = None,
    kafka_port: Annotated[int, typer.Option(help="Port of the local Kafka the demo starts.")] = 9092,
    events: Annotated[
        Path | None,
        _existing_file("NDJSON sample events to publish. Default: the samples shipped with the package."),
    ] = None,
    routing: Annotated[
        Path | None,
        _existing_file(
            "Routing file (its dev email ids are used). Default: the one shipped with the package."
        ),
    ] = None,
    topic: Annotated[
        str, typer.Option(help="Topic the samples are published to (DLQ: <topic>.dlq).")
    ] = "demo.events",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Local Kafka + HubSpot simulator + sample events: run the consumer until drained, print a summary."""
    import dataclasses
    import json

    from consumer import logs
    from consumer.samples import DEMO_ROUTING, SAMPLE_EVENTS
    from consumer_demo.demo import run_demo
    from consumer_demo.summary import print_demo_summary

    logs.configure("ERROR", "console")
    logs.quiet_kafka_client()  # its start-up chatter (coordinator not yet available) is not news here
    summary = asyncio.run(
        run_demo(
            bootstrap=bootstrap,
            kafka_port=kafka_port,
            topic=topic,
            events=events or SAMPLE_EVENTS,
            routing=routing or DEMO_ROUTING,
        )
    )
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(summary), indent=2))
    else:
        print_demo_summary(summary)
