"""The demo's summary as rich tables: outcomes, dead letters, e-mails, committed offsets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from consumer_demo.demo import DemoSummary


def print_demo_summary(s: DemoSummary, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"\n[bold]single-send-consumer demo[/] — Kafka {s.bootstrap}, topic [cyan]{s.topic}[/]")
    console.print(f"published {s.published} events; drained in {s.seconds}s\n")

    outcomes = Table(title="Outcomes per event", min_width=44)
    outcomes.add_column("outcome")
    outcomes.add_column("events", justify="right")
    for name, n in sorted(s.outcomes.items()):
        outcomes.add_row(name, str(n))
    console.print(outcomes)

    dlq = Table(title=f"Dead letters in {s.topic}.dlq", min_width=44)
    dlq.add_column("reason")
    dlq.add_column("records", justify="right")
    for reason, n in sorted(s.dead_letters.items()):
        dlq.add_row(reason, str(n))
    console.print(dlq)

    emails = Table(title="Emails accepted by the HubSpot simulator", min_width=44)
    for col in ("to (masked)", "emailId", "sendId"):
        emails.add_column(col)
    for e in s.emails:
        emails.add_row(str(e["to"]), str(e["emailId"]), str(e["sendId"]))
    console.print(emails)

    commits = Table(title="Committed offsets (next to read)", min_width=44)
    commits.add_column("partition")
    commits.add_column("offset", justify="right")
    for tp, off in sorted(s.committed.items()):
        commits.add_row(tp, str(off))
    console.print(commits)

    bin_dir = ".venv/bin/" if s.started_kafka else ""  # the demo starts Kafka only from a checkout
    look = (
        f"  {bin_dir}consumer dlq inspect --bootstrap {s.bootstrap} --topic {s.topic}.dlq\n"
        "or in the web console (then open http://127.0.0.1:8090/dead-letters):\n"
        f"  {bin_dir}consumer console --bootstrap {s.bootstrap} --topic {s.topic}.dlq --allow-replay\n"
    )
    if s.started_kafka:
        advice = f"\nKafka is still running, so you can look at the dead letters:\n{look}"
        advice += "Stop it with:\n  deploy/local/dev kafka stop\n"
    else:  # a Kafka given with --bootstrap is not the demo's to stop
        advice = f"\nLook at the dead letters with:\n{look}"
    console.print(advice, soft_wrap=True, markup=False)
