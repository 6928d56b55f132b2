"""``consumer dlq inspect`` and ``consumer dlq replay`` (the ``dlq`` group).

Both read the dead-letter topic without a consumer group and take the same filters: values of one
flag are OR-ed, different flags AND-ed. Exit statuses as in :mod:`consumer.cli.options`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from consumer.deadletters.selection import Selection

dlq_app = typer.Typer(
    rich_markup_mode=None, help="Dead letters: inspect them, replay them.", no_args_is_help=True
)

TopicOption = Annotated[
    str | None,
    typer.Option(
        "--topic",
        "-t",
        metavar="TOPIC",
        help="The DLQ topic. Default: SSC_DLQ__TOPIC, else <source topic>.dlq.",
    ),
]
ReasonOption = Annotated[
    list[str] | None,
    typer.Option(
        "--reason",
        metavar="CODE",
        help="Reason code (bad_request, schema_violation, ...) or HubSpot sendResult; repeatable.",
    ),
]
OutcomeOption = Annotated[
    list[str] | None,
    typer.Option("--outcome", metavar="CLASS", help="Outcome class, e.g. PERMANENT; repeatable."),
]
EventTypeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--event-type",
        metavar="TYPE",
        help="CloudEvents type, e.g. com.example.user.signed_up.v1; repeatable.",
    ),
]
EmailIdOption = Annotated[
    list[str] | None,
    typer.Option("--email-id", metavar="ID", help="HubSpot emailId of the route that failed; repeatable."),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="TIME",
        help="Dead-lettered at or after: ISO time (2026-03-02T12:00Z) or time ago (2h, 1d).",
    ),
]
UntilOption = Annotated[
    str | None, typer.Option("--until", metavar="TIME", help="Dead-lettered before: ISO time or time ago.")
]
PartitionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--partition",
        metavar="P[:FROM[-[TO]]]",
        help="DLQ position: partition, partition:offset or an offset range; repeatable.",
    ),
]
CorrelationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--correlation-id", metavar="ID", help="HubSpot correlationId of the failed request; repeatable."
    ),
]


@dlq_app.callback()
def dlq_root() -> None:
    """Dead letters: inspect them (read-only, no consumer group) and replay them to their source topic."""


def _selection(  # noqa: PLR0917 - the filter flags, in order
    reason: list[str] | None,
    outcome: list[str] | None,
    event_type: list[str] | None,
    email_id: list[str] | None,
    since: str | None,
    until: str | None,
    partition: list[str] | None,
    correlation_id: list[str] | None,
) -> Selection:
    from consumer.deadletters.selection import build_selection

    return build_selection(
        reasons=reason or (),
        outcomes=outcome or (),
        event_types=event_type or (),
        email_ids=email_id or (),
        since=since,
        until=until,
        positions=partition or (),
        correlation_ids=correlation_id or (),
        now=datetime.now(UTC),
    )


def _describe(selection: Selection) -> str:
    """The filters of a selection, for the audit line (``all`` when there are none)."""
    from dataclasses import asdict

    chosen = {k: v for k, v in asdict(selection).items() if v not in (None, (), frozenset())}
    return (
        ", ".join(
            f"{k}={sorted(map(str, v)) if isinstance(v, (frozenset, tuple)) else v}"
            for k, v in chosen.items()
        )
        or "all"
    )


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
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="N", help="Show at most N records (all are counted).")
    ] = 1000,
    show: Annotated[
        str | None,
        typer.Option("--show", metavar="P:O", help="Show one record: every header and the payload."),
    ] = None,
    show_pii: Annotated[
        bool,
        typer.Option(
            "--show-pii", help="Show personal data and secrets unmasked (writes an audit.pii_shown log line)."
        ),
    ] = False,
    json_output: JsonOption = False,
    ndjson: Annotated[
        bool, typer.Option("--ndjson", help="Print one JSON object per record, as read.")
    ] = False,
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
    timeout: TimeoutOption = 10.0,
    verbose: VerboseOption = False,
) -> None:
    """List dead letters, one row each, and counts by reason; reads from the beginning, joins no group.

    Exit status: 0 done, 1 the --show record does not exist, 2 bad options or Kafka unreachable.
    """
    from consumer.deadletters import display, reader
    from consumer.deadletters.format import DeadLetter
    from consumer.ops.output import Output, configure_logging

    with one_line_errors():
        configure_logging(verbose)
        out = Output(output_format(json_output, ndjson))
        selection = _selection(reason, outcome, event_type, email_id, since, until, partition, correlation_id)
        settings = settings_for(config, bootstrap)
        name = reader.dlq_topic(settings, topic)
        if show is not None:
            try:
                letter = asyncio.run(reader.find(settings.kafka, name, show, timeout_s=timeout))
            except ConsumerError as exc:
                if exc.reason != "not_found":
                    raise
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(1) from None
            display.render_letter(out, letter, show_pii)
            if show_pii:
                display.audit_pii_shown("dlq inspect", name, f"--show {show}", 1)
            return

        def stream(letter: DeadLetter) -> None:
            out.json(display.letter_json(letter, show_pii))

        streaming = out.format == "ndjson"
        collected = asyncio.run(
            reader.collect(
                settings.kafka,
                name,
                selection,
                limit=limit,
                keep=not streaming,
                on_letter=stream if streaming else None,
                timeout_s=timeout,
            )
        )
        display.render_inspect(out, collected, show_pii)
        if show_pii:
            shown = collected.tally.selected if streaming else len(collected.letters)
            display.audit_pii_shown("dlq inspect", name, _describe(selection), shown)


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
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, metavar="N", help="Replay at most the first N selected records."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be replayed; publish nothing.")
    ] = False,
    to_topic: Annotated[
        str | None,
        typer.Option(
            "--to-topic",
            metavar="TOPIC",
            help="Publish here instead of each record's original topic. Without it, only records "
            "whose original topic is a configured source topic are replayed.",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", metavar="NAME", help="Who replays, for the ssc.replay.by header. Default: the OS user."
        ),
    ] = None,
    revalidate: Annotated[
        bool,
        typer.Option(
            "--revalidate",
            help="Skip (and list) records the current schemas or routing file would still reject.",
        ),
    ] = False,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.001, metavar="N", help="At most N records per second.")
    ] = None,
    all_records: Annotated[
        bool, typer.Option("--all", help="Allow replaying every record of the DLQ when no filter is given.")
    ] = False,
    json_output: JsonOption = False,
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
    timeout: TimeoutOption = 10.0,
    verbose: VerboseOption = False,
) -> None:
    """Republish dead letters: original key, value and headers, plus ssc.replay.* provenance headers.

    The sendId is derived from the event, so a replay never sends an e-mail twice. Exit status: 0 all
    selected records replayed (or would be), 1 some were skipped, 2 bad options or Kafka unreachable.
    """
    from consumer.deadletters import reader, replay
    from consumer.ops.output import Output, configure_logging
    from consumer.route import Router
    from consumer.routing_loader import load_routing

    with one_line_errors():
        configure_logging(verbose)
        out = Output(output_format(json_output))
        selection = _selection(reason, outcome, event_type, email_id, since, until, partition, correlation_id)
        settings = settings_for(config, bootstrap)
        name = reader.dlq_topic(settings, topic)
        if by is not None and (not by.strip() or len(by) > 200 or not by.isprintable()):
            raise ConsumerError("--by: a printable name of at most 200 characters", reason="usage")
        if selection.empty and not (all_records or dry_run):
            raise ConsumerError(
                f"refusing to replay every record of {name}: add a filter, or --all", reason="usage"
            )
        revalidator = None
        if revalidate:
            router = Router.build(load_routing(settings.routing_file), settings.environment)
            revalidator = replay.Revalidator(settings.decode, router)
        collected = asyncio.run(
            reader.collect(settings.kafka, name, selection, limit=limit, timeout_s=timeout)
        )
        items = replay.plan(
            collected.letters,
            to_topic=to_topic,
            allowed=replay.source_topics(settings.kafka),
            revalidator=revalidator,
        )
        if dry_run:
            summary = replay.dry_run_summary(items, replay.new_replay_id())
        else:
            with out.progress(sum(1 for i in items if i.skip is None), "replaying") as advance:
                summary = asyncio.run(
                    replay.execute(
                        settings.kafka, items, rate=rate, timeout_s=timeout, progress=advance, by=by or ""
                    )
                )
        replay.render(out, name, items, summary)
        if summary.skipped:
            raise typer.Exit(1)
