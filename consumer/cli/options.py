"""The ``publish`` and ``check`` commands, and what every operator command shares (registered in cli.py).

Each command parses its flags, builds settings, calls :mod:`consumer.ops`, renders, and sets the exit
status: 0 success; 1 the command ran but the answer is negative (a check failed, records were
skipped, a record was not found); 2 bad input or options, invalid settings, Kafka unreachable. Errors
print as one line on stderr (``error: ...``), never as a traceback. The ``dlq`` commands live in
:mod:`consumer.cli.dlq`. Modules are imported inside the commands: ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consumer.errors import ConsumerError

if TYPE_CHECKING:
    from consumer.ops.output import Format
    from consumer.settings import Settings

_MAX_PROBLEMS_SHOWN = 20

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="SSC_CONFIG_FILE",
        exists=True,
        dir_okay=False,
        metavar="FILE",
        help="YAML settings file (secrets are refused there; use env vars or *_file settings).",
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


# -------------------------------------------------------------------------------------------- publish


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
    from consumer.ops.publish_input import Options

    with one_line_errors():
        configure_logging(verbose)
        out = Output(output_format(json_output))
        settings = settings_for(config, bootstrap)
        data = _read_input(source)
        options = Options(mode.value, key, fill_id, fill_time, settings.decode)
        records = publish.prepare_input(data, options, allow_invalid=allow_invalid, expand_time=expand_time)
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


# ---------------------------------------------------------------------------------------------- check


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


# ---------------------------------------------------------------------------------------------- group


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
