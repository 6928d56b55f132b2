"""``consumer publish``: validate CloudEvents from a JSON / NDJSON file and publish them."""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from consumer.cli.options import (
    BootstrapOption,
    ConfigOption,
    JsonOption,
    TimeoutOption,
    VerboseOption,
    one_line_errors,
    output_format,
    settings_for,
)
from consumer.errors import ConsumerError


class PublishMode(StrEnum):
    STRUCTURED = "structured"
    BINARY = "binary"


def publish_command(  # noqa: PLR0917 - one parameter per CLI flag
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="JSON or NDJSON file of CloudEvents; - reads stdin.")
    ],
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic", "-t", metavar="TOPIC", help="Target topic. Default: the first of SSC_KAFKA__TOPICS."
        ),
    ] = None,
    mode: Annotated[
        PublishMode,
        typer.Option(
            help="CloudEvents Kafka binding: structured (the event as JSON value) or binary (ce_* headers)."
        ),
    ] = PublishMode.STRUCTURED,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            metavar="FIELD",
            help="Field path of the record key (data.user_id). Default: partitionkey, else subject, else id.",
        ),
    ] = None,
    fill_id: Annotated[
        bool,
        typer.Option(
            "--fill-id",
            help="Give events without an id the id derived from their business fact (as the builder does).",
        ),
    ] = False,
    fill_time: Annotated[
        bool, typer.Option("--fill-time", help="Give events without a time the current time.")
    ] = False,
    expand_time: Annotated[
        bool,
        typer.Option(
            "--expand-time/--no-expand-time", help="Replace {{now}}, {{now-2h}}, {{now+1d}} placeholders."
        ),
    ] = True,
    allow_invalid: Annotated[
        bool,
        typer.Option("--allow-invalid", help="Publish events the consumer will reject (to test the DLQ)."),
    ] = False,
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
    timeout: TimeoutOption = 10.0,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Validate CloudEvents against schemas/ and publish them (idempotent producer, acks=all).

    One invalid event stops the run before anything is sent, naming its line and field. Exit status:
    0 published, 2 invalid input or Kafka unreachable.
    """
    from consumer.ops import publish
    from consumer.ops.output import Output, configure_logging
    from consumer.ops.publish_input import Options, prepare_records

    with one_line_errors():
        configure_logging(verbose)
        out = Output(output_format(json_output))
        settings = settings_for(config, bootstrap)
        data = _read_input(source)
        options = Options(mode.value, key, fill_id, fill_time, settings.decode)
        records = prepare_records(data, options, allow_invalid=allow_invalid, expand_time=expand_time)
        if not (topic or settings.kafka.topics):
            raise ConsumerError("no topic: pass --topic or set SSC_KAFKA__TOPICS", reason="usage")
        target = topic or settings.kafka.topics[0]
        with out.progress(len(records), f"publishing to {target}") as advance:
            summary = asyncio.run(
                publish.publish(
                    settings.kafka, target, records, mode=options.mode, progress=advance, timeout_s=timeout
                )
            )
        publish.render_summary(out, summary)


def _read_input(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ConsumerError(f"cannot read {source}: {exc.strerror or exc}", reason="bad_input") from exc
