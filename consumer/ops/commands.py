"""The operator commands: ``publish``, ``dlq inspect``, ``dlq replay``, ``check`` (registered in cli.py).

Each command parses its flags, builds settings, calls :mod:`consumer.ops`, renders, and sets the exit
status: 0 success; 1 the command ran but the answer is negative (a check failed, records were
skipped, a record was not found); 2 bad input or options, invalid settings, Kafka unreachable. Errors
print as one line on stderr (``error: ...``), never as a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consumer.errors import ConsumerError

if TYPE_CHECKING:  # the commands import their modules lazily: `consumer --help` stays fast
    from consumer.ops.deadletters import Selection
    from consumer.ops.render import Format, Output
    from consumer.ops.replay import ReplayItem, ReplaySummary
    from consumer.settings import Settings

_MAX_PROBLEMS_SHOWN = 20

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="SSC_CONFIG_FILE", exists=True, dir_okay=False,
        help="YAML settings file (secrets are refused there; use env vars or *_file settings).",
    ),
]  # fmt: skip
BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap", help="Kafka bootstrap servers host:port[,...]; overrides SSC_KAFKA__BOOTSTRAP_SERVERS."
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", min=0.1, help="Seconds to wait for Kafka (connect, metadata) or a check."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of human output.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Also log Kafka client messages to stderr.")
]

# DLQ filters, shared by inspect and replay (values of one flag OR-ed, different flags AND-ed)
TopicOption = Annotated[
    str | None,
    typer.Option(
        "--topic", "-t", help="The DLQ topic. Default: SSC_DLQ__TOPIC, else <the source topic>.dlq."
    ),
]
ReasonOption = Annotated[
    list[str] | None,
    typer.Option("--reason", help="Reason code (bad_request, schema_violation, ...) or HubSpot sendResult."),
]
OutcomeOption = Annotated[list[str] | None, typer.Option("--outcome", help="Outcome class, e.g. PERMANENT.")]
EventTypeOption = Annotated[
    list[str] | None,
    typer.Option("--event-type", help="CloudEvents type, e.g. com.example.user.signed_up.v1."),
]
EmailIdOption = Annotated[
    list[str] | None, typer.Option("--email-id", help="HubSpot emailId of the failed route.")
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", help="Dead-lettered at or after: ISO time (2026-03-02T12:00Z) or a duration ago (2h, 1d)."
    ),
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Dead-lettered before: ISO time or a duration ago.")
]
PartitionOption = Annotated[
    list[str] | None,
    typer.Option("--partition", help="DLQ position: PARTITION, PARTITION:OFFSET or PARTITION:FROM-[TO]."),
]
CorrelationOption = Annotated[
    list[str] | None, typer.Option("--correlation-id", help="HubSpot correlationId of the failed request.")
]
LimitOption = Annotated[
    int | None, typer.Option("--limit", min=1, help="Keep at most this many selected records.")
]


class PublishMode(StrEnum):
    STRUCTURED = "structured"
    BINARY = "binary"


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    from consumer.ops.events import InvalidEvents

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
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _settings(config: Path | None, bootstrap: str | None) -> Settings:
    from consumer.ops.connect import with_bootstrap
    from consumer.settings import load_settings

    return with_bootstrap(load_settings(config), bootstrap)


def _format(json_output: bool, ndjson: bool = False) -> Format:
    if json_output and ndjson:
        raise ConsumerError("--json and --ndjson exclude each other", reason="usage")
    return "json" if json_output else "ndjson" if ndjson else "human"


# -------------------------------------------------------------------------------------------- publish


def publish_command(  # noqa: PLR0917 - one parameter per CLI flag
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="JSON or NDJSON file of CloudEvents; - reads stdin.")
    ],
    topic: Annotated[
        str | None,
        typer.Option("--topic", "-t", help="Target topic. Default: the first of SSC_KAFKA__TOPICS."),
    ] = None,
    mode: Annotated[
        PublishMode,
        typer.Option(
            help="CloudEvents Kafka binding: structured (event JSON as the value) or binary (ce_* headers)."
        ),
    ] = PublishMode.STRUCTURED,
    key: Annotated[
        str | None,
        typer.Option(
            "--key", help="Field path of the record key (subject, data.user_id). Default: subject, else id."
        ),
    ] = None,
    fill_id: Annotated[
        bool, typer.Option("--fill-id", help="Give events without an id a random UUID.")
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
    """Validate events against schemas/ and publish them (idempotent producer, acks=all).

    One invalid event stops the run before anything is sent, naming its line and field. Exit status:
    0 published, 2 invalid input or Kafka unreachable.
    """
    from consumer.ops import publish
    from consumer.ops.events import Options
    from consumer.ops.render import Output, configure_logging

    with _one_line_errors():
        configure_logging(verbose)
        out = Output(_format(json_output))
        settings = _settings(config, bootstrap)
        data = _read_input(source)
        options = Options(mode.value, key, fill_id, fill_time, settings.decode)
        records = publish.prepare_input(data, options, allow_invalid=allow_invalid, expand_time=expand_time)
        target = topic or settings.kafka.topics[0]
        with out.progress(len(records), f"publishing to {target}") as advance:
            summary = asyncio.run(
                publish.publish_records(
                    settings.kafka, target, records, mode=options.mode, progress=advance, timeout_s=timeout
                )
            )
        if not out.human:
            out.json(summary.to_json())
            return
        parts = ", ".join(f"{p}: {n}" for p, n in sorted(summary.partitions.items()))
        out.pairs(
            [("partitions", parts), ("bytes", summary.bytes), ("invalid", summary.invalid),
             ("seconds", f"{summary.seconds:.2f}")],
            title=f"published {summary.published} events to {summary.topic} ({summary.mode} mode)",
        )  # fmt: skip
        if summary.invalid:
            out.note(f"note: {summary.invalid} of them are invalid; the consumer will dead-letter them")


def _read_input(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ConsumerError(f"cannot read {source}: {exc.strerror or exc}", reason="bad_input") from exc


# ------------------------------------------------------------------------------------------------ dlq

dlq_app = typer.Typer(help="Dead letters: inspect them, replay them.", no_args_is_help=True)


@dlq_app.callback()
def dlq_root() -> None:
    """Dead letters: inspect them (read-only, no group) and replay them to their source topic."""


def _selection(  # noqa: PLR0917 - the filter flags, in order
    reason: list[str] | None, outcome: list[str] | None, event_type: list[str] | None,
    email_id: list[str] | None, since: str | None, until: str | None, partition: list[str] | None,
    correlation_id: list[str] | None,
) -> Selection:  # fmt: skip
    from consumer.ops.deadletters import build_selection

    return build_selection(
        reasons=reason or (), outcomes=outcome or (), event_types=event_type or (), email_ids=email_id or (),
        since=since, until=until, positions=partition or (), correlation_ids=correlation_id or (),
        now=datetime.now(UTC),
    )  # fmt: skip


@dlq_app.command("inspect")
def dlq_inspect(  # noqa: PLR0917 - one parameter per CLI flag
    topic: TopicOption = None,
    reason: ReasonOption = None,
    outcome: OutcomeOption = None,
    event_type: EventTypeOption = None,
    email_id: EmailIdOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    partition: PartitionOption = None,
    correlation_id: CorrelationOption = None,
    limit: LimitOption = 1000,
    show: Annotated[
        str | None,
        typer.Option("--show", help="Show one record (PARTITION:OFFSET): every header and the payload."),
    ] = None,
    show_pii: Annotated[bool, typer.Option("--show-pii", help="Show recipient addresses unmasked.")] = False,
    json_output: JsonOption = False,
    ndjson: Annotated[
        bool, typer.Option("--ndjson", help="Print one JSON object per record, as read.")
    ] = False,
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
    timeout: TimeoutOption = 10.0,
    verbose: VerboseOption = False,
) -> None:
    """List dead letters (one row each) and counts by reason; reads from the beginning, joins no group.

    Exit status: 0 done, 1 the --show record does not exist, 2 bad options or Kafka unreachable.
    """
    from consumer.ops import dlq
    from consumer.ops.deadletters import DeadLetter
    from consumer.ops.render import Output, configure_logging

    with _one_line_errors():
        configure_logging(verbose)
        out = Output(_format(json_output, ndjson))
        selection = _selection(reason, outcome, event_type, email_id, since, until, partition, correlation_id)
        settings = _settings(config, bootstrap)
        name = dlq.dlq_topic(settings, topic)
        if show is not None:
            try:
                letter = asyncio.run(dlq.find(settings.kafka, name, show, timeout_s=timeout))
            except ConsumerError as exc:
                if exc.reason != "not_found":
                    raise
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(1) from None
            dlq.render_letter(out, letter, show_pii)
            return

        def stream(letter: DeadLetter) -> None:
            out.json(dlq.letter_json(letter, show_pii))

        collected = asyncio.run(
            dlq.collect(
                settings.kafka, name, selection, limit=limit, keep=out.format != "ndjson",
                on_letter=stream if out.format == "ndjson" else None, timeout_s=timeout,
            )
        )  # fmt: skip
        dlq.render_inspect(out, collected, show_pii)


@dlq_app.command("replay")
def dlq_replay(  # noqa: PLR0917 - one parameter per CLI flag
    topic: TopicOption = None,
    reason: ReasonOption = None,
    outcome: OutcomeOption = None,
    event_type: EventTypeOption = None,
    email_id: EmailIdOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    partition: PartitionOption = None,
    correlation_id: CorrelationOption = None,
    limit: LimitOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be replayed; publish nothing.")
    ] = False,
    to_topic: Annotated[
        str | None, typer.Option("--to-topic", help="Publish here instead of each record's original topic.")
    ] = None,
    revalidate: Annotated[
        bool,
        typer.Option(
            "--revalidate", help="Skip (and list) records the current schemas or routing file still reject."
        ),
    ] = False,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.001, help="At most this many records per second.")
    ] = None,
    all_records: Annotated[
        bool, typer.Option("--all", help="Allow replaying every record of the DLQ (no filter given).")
    ] = False,
    json_output: JsonOption = False,
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
    timeout: TimeoutOption = 10.0,
    verbose: VerboseOption = False,
) -> None:
    """Republish selected dead letters (original key, value, headers + ssc.replay.* provenance).

    The sendId is derived from the event, so a replay never sends an e-mail twice. Exit status: 0 all
    selected records replayed (or would be), 1 some were skipped, 2 bad options or Kafka unreachable.
    """
    from consumer.ops import dlq, replay
    from consumer.ops.render import Output, configure_logging
    from consumer.route import Router, load_routing

    with _one_line_errors():
        configure_logging(verbose)
        out = Output(_format(json_output))
        selection = _selection(reason, outcome, event_type, email_id, since, until, partition, correlation_id)
        settings = _settings(config, bootstrap)
        name = dlq.dlq_topic(settings, topic)
        if selection.empty and not (all_records or dry_run):
            raise ConsumerError(
                f"refusing to replay every record of {name}: add a filter, or --all", reason="usage"
            )
        revalidator = None
        if revalidate:
            router = Router.build(load_routing(settings.routing_file), settings.environment)
            revalidator = replay.Revalidator(settings.decode, router)
        collected = asyncio.run(dlq.collect(settings.kafka, name, selection, limit=limit, timeout_s=timeout))
        items = replay.plan(collected.letters, to_topic=to_topic, revalidator=revalidator)
        if dry_run:
            summary = replay.dry_run_summary(items, replay.new_replay_id())
        else:
            with out.progress(sum(1 for i in items if i.skip is None), "replaying") as advance:
                summary = asyncio.run(
                    replay.execute(settings.kafka, items, rate=rate, timeout_s=timeout, progress=advance)
                )
        _render_replay(out, name, items, summary)
        if summary.skipped:
            raise typer.Exit(1)


def _render_replay(out: Output, name: str, items: list[ReplayItem], summary: ReplaySummary) -> None:
    from consumer.ops import dlq

    if not out.human:
        data = summary.to_json()
        data["dlq_topic"] = name
        data["records"] = [
            {**dlq.letter_json(i.letter, False, full=False), "target": i.target, "skip": i.skip}
            for i in items
        ]
        out.json(data)
        return
    if items:
        rows = [
            [i.letter.position, i.letter.label, i.letter.event_type or "?", i.letter.event_id or "?",
             f"skip: {i.skip}" if i.skip else f"-> {i.target}"]
            for i in items
        ]  # fmt: skip
        out.table(["dlq", "reason", "event type", "event id", "replay"], rows)
        out.line()
    verb = "would replay" if summary.dry_run else "replayed"
    targets = ", ".join(f"{t}: {n}" for t, n in sorted(summary.by_topic.items())) or "-"
    count = sum(summary.by_topic.values()) if summary.dry_run else summary.replayed
    out.pairs(
        [("selected", summary.selected), (verb, count), ("skipped", len(summary.skipped)),
         ("to", targets), ("replay id", summary.replay_id)],
        title=f"{'dry run: ' if summary.dry_run else ''}{verb} {count} of {summary.selected} from {name}",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- check


def check_command(
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds each check may take.")] = 10.0,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check settings, routing, Kafka (topics, group, DLQ) and the HubSpot credential; writes nothing.

    Prints one line per check. Exit status: 0 when everything is usable (a Kubernetes start-up
    probe), 1 when a check failed.
    """
    from consumer.ops import check as checks
    from consumer.ops.render import Output, configure_logging

    configure_logging(verbose)
    out = Output(_format(json_output))
    report = asyncio.run(checks.run_checks(lambda: _settings(config, bootstrap), timeout_s=timeout))
    if not out.human:
        out.json(report.to_json())
    else:
        rows = [[c.name, "OK" if c.ok else "FAIL", c.detail] for c in report.checks]
        out.table(["check", "result", "detail"], rows)
        failed = sum(1 for c in report.checks if not c.ok)
        out.line()
        out.line("usable" if report.ok else f"NOT usable: {failed} check(s) failed", style="bold")
    if not report.ok:
        raise typer.Exit(1)
