"""The table of the demo routing file (a generated block of ``docs/events/routing.md``)."""

from __future__ import annotations

from datetime import timedelta

import yaml

from docgen import sources
from docgen.markdown import cell, table


def _age(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _sends(event_type: str) -> str:
    """What the model's docstring says the type sends (``Sends: the order confirmation.``)."""
    doc = " ".join((sources.CATALOG[event_type].__doc__ or "").split())
    sends = doc.split("Sends:", 1)[1].strip() if "Sends:" in doc else ""
    return sends[:1].upper() + sends[1:]


def render() -> str:
    config = sources.RoutingConfig.model_validate(
        yaml.safe_load(sources.DEMO_ROUTING.read_text(encoding="utf-8"))
    )
    rows = [
        [
            f"`{r.name}`",
            f"[`{r.event_type}`](catalog.md#{r.event_type.replace('.', '-')})",
            " / ".join(str(r.email_id.get(env.value, "—")) for env in sources.Environment),
            _age(r.max_age),
            cell(r.description or _sends(r.event_type)),
        ]
        for r in config.routes
    ]
    return table(["route", "event type", "email_id dev / qa / prod", "max_age", "sends"], rows)
