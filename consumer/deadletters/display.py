"""How dead letters are shown: JSON objects, table rows, one letter in full, the audit of an unmasked look.

Personal data and secrets in keys, header values and payloads are masked (:mod:`consumer.masking`: the
fields the event schema marks, the query string of every URL, addresses, phone numbers and
secret-looking values anywhere) unless the operator asks for them with ``--show-pii``, which writes an
``audit.pii_shown`` log line (:func:`audit_pii_shown`).
"""

from __future__ import annotations

import base64
import getpass
import os
import socket
from typing import Any

import orjson

from consumer.deadletters.format import DeadLetter
from consumer.deadletters.reader import Collected
from consumer.logs import get_logger
from consumer.masking import mask_event, mask_untrusted
from consumer.ops.output import Output

log = get_logger("consumer.ops.dlq")

COLUMNS = ("time", "dlq", "reason", "event type", "event id", "source", "attempts", "http / sendResult")


def _text(raw: bytes | None, show_pii: bool) -> str | None:
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace")
    return text if show_pii else mask_untrusted(text)


def _safe(text: str | None, show_pii: bool) -> str | None:
    return text if text is None or show_pii else mask_untrusted(text)


def payload(raw: bytes | None, show_pii: bool, event_type: str | None = None) -> dict[str, Any]:
    """The value for JSON output: ``{"value": <json>}``, else ``{"value_text": ...}`` or
    ``{"value_base64": ...}`` (binary values are shown only with ``show_pii``)."""
    if raw is None:
        return {"value": None}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        encoded = base64.b64encode(raw).decode()
        return {
            "value_base64": encoded if show_pii else f"<{len(raw)} bytes, not UTF-8: --show-pii shows them>"
        }
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"value_text": text if show_pii else mask_untrusted(text)}
    return {"value": value if show_pii else mask_event(value, event_type)}


def letter_json(letter: DeadLetter, show_pii: bool, *, full: bool = True) -> dict[str, Any]:
    record = letter.record
    data: dict[str, Any] = {
        "dlq": {"topic": record.topic, "partition": record.partition, "offset": record.offset},
        "time": letter.timestamp.isoformat(),
        "reason": letter.reason,
        "outcome": letter.outcome,
        "http_status": letter.http_status,
        "send_result": letter.send_result,
        "correlation_id": letter.correlation_id,
        "event_type": _safe(letter.event_type, show_pii),
        "event_id": _safe(letter.event_id, show_pii),
        "route": letter.route,
        "send_id": letter.send_id,
        "email_id": letter.email_id,
        "attempts": letter.attempts,
        "source": {
            "topic": letter.source_topic,
            "partition": letter.source_partition,
            "offset": letter.source_offset,
        },
        "message": _safe(letter.message, show_pii),
    }
    if full:
        data["key"] = _text(record.key, show_pii)
        data["headers"] = [[name, _text(value, show_pii)] for name, value in record.headers]
        data.update(payload(record.value, show_pii, letter.event_type))
    return data


def letter_row(letter: DeadLetter, show_pii: bool) -> list[object]:
    status = " / ".join(str(v) for v in (letter.http_status, letter.send_result) if v is not None)
    return [
        letter.timestamp.strftime("%Y-%m-%d %H:%M:%SZ"),
        letter.position,
        letter.label,
        _safe(letter.event_type, show_pii) or "?",
        _safe(letter.event_id, show_pii) or "?",
        letter.source,
        letter.attempts if letter.attempts is not None else "",
        status,
    ]


def render_summary(out: Output, collected: Collected) -> None:
    tally = collected.tally
    out.line(f"{tally.selected} of {tally.read} records in {collected.topic} selected", style="bold")
    if collected.truncated:
        out.line(f"  (showing the first {len(collected.letters)}; raise --limit to see more)")
    for reason, count in tally.by_reason.items():
        out.line(f"  {count:>6}  {reason}")


def render_inspect(out: Output, collected: Collected, show_pii: bool) -> None:
    if out.format == "json":
        out.json(
            {
                "topic": collected.topic,
                "records": [letter_json(letter, show_pii) for letter in collected.letters],
                "truncated": collected.truncated,
                "summary": collected.tally.to_json(),
            }
        )
        return
    if out.format == "ndjson":
        return  # streamed record by record while reading
    if collected.letters:
        out.table(COLUMNS, [letter_row(letter, show_pii) for letter in collected.letters])
        out.line()
    render_summary(out, collected)
    if collected.letters:
        out.note("--show PARTITION:OFFSET (the dlq column) prints one record with its headers and payload")


def render_letter(out: Output, letter: DeadLetter, show_pii: bool) -> None:
    """``--show``: every field, every header, the payload (pretty-printed when it is JSON)."""
    if not out.human:
        out.json(letter_json(letter, show_pii))
        return
    facts = letter_json(letter, show_pii, full=False)
    items = [
        (name, "-" if value is None else value)
        for name, value in facts.items()
        if name not in ("dlq", "source")
    ]
    out.pairs(
        [("dlq", f"{letter.record.topic} {letter.position}"), ("source", letter.source), *items],
        title=f"dead letter {letter.position}",
    )
    out.pairs([("key", _text(letter.record.key, show_pii))], title="key")
    out.pairs([(name, _text(value, show_pii)) for name, value in letter.record.headers], title="headers")
    out.line("payload", style="bold")
    shown = payload(letter.record.value, show_pii, letter.event_type)
    if "value" in shown:
        out.line(orjson.dumps(shown["value"], option=orjson.OPT_INDENT_2).decode())
    else:
        out.line(str(next(iter(shown.values()))))
    if not show_pii:
        out.note("personal data and secrets are masked; --show-pii shows them (and is audit-logged)")


def operator() -> str:
    """The OS user running the command (``uid:N`` when the uid has no passwd entry, as in some
    containers): who is named in audit lines and replay provenance."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def audit_pii_shown(command: str, topic: str, what: str, records: int) -> None:
    """The audit line of an unmasked display: who (OS user, host), what (command, topic, selection,
    record count), when (the log line's timestamp). Logged at WARNING so it is never filtered out."""
    log.warning(
        "audit.pii_shown",
        user=operator(),
        host=socket.gethostname(),
        command=command,
        topic=topic,
        selection=what,
        records=records,
    )
