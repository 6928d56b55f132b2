"""Example payloads and sample-file time placeholders.

``schemas/examples/<type>/valid-*.json`` and ``invalid-*.json`` are structured CloudEvents (JSON
format) for each catalog type. Tests feed them through the JSON Schema files and the consumer: every
valid example must pass both, every invalid one must fail both. Producer teams can use them as
templates and as contract-test fixtures.

Sample files whose events must look *recent* (a password reset link expires) write their ``time``
as a placeholder: ``{{now}}``, ``{{now-2h}}``, ``{{now+5m}}`` (units s, m, h, d), expanded by
:func:`expand_time_placeholders` just before publishing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
_PLACEHOLDER = re.compile(r"\{\{now(?:([+-])(\d{1,6})([smhd]))?\}\}")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Example:
    event_type: str
    name: str  # file stem, e.g. "valid-minimal"
    path: Path

    @property
    def valid(self) -> bool:
        return self.name.startswith("valid-")

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def examples(event_type: str | None = None, directory: Path = EXAMPLES_DIR) -> list[Example]:
    """All examples (or those of ``event_type``), sorted by type then file name."""
    found: list[Example] = []
    for type_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        if event_type is not None and type_dir.name != event_type:
            continue
        found.extend(
            Example(type_dir.name, path.stem, path)
            for path in sorted(type_dir.glob("*.json"))
            if path.stem.startswith(("valid-", "invalid-"))
        )
    return found


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix and millisecond precision."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def expand_time_placeholders(text: str, now: datetime) -> str:
    """Replace ``{{now}}``, ``{{now-2h}}``, ``{{now+30m}}`` ... with RFC 3339 UTC timestamps."""

    def replace(match: re.Match[str]) -> str:
        sign, amount, unit = match.groups()
        offset = timedelta(seconds=int(amount) * _UNIT_SECONDS[unit]) if amount else timedelta(0)
        return format_time(now - offset if sign == "-" else now + offset)

    return _PLACEHOLDER.sub(replace, text)
