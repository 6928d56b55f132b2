"""What is published: JSON / NDJSON text or built events -> validated Kafka records (pure: no I/O).

Everything enters through :func:`prepare_records`. Text input comes in these forms, detected from the
text itself:

* a stream of JSON values: one object, NDJSON (one per line), or pretty-printed objects one after
  another; a value that does not parse is reported on its line and reading resumes at the next line;
* a JSON array of objects (the whole input): each element is reported on the line where it starts.

Each event is encoded as it will be published (CloudEvents Kafka binding 1.0, structured or binary
mode) and then run through :func:`consumer.decode.decode` and :func:`consumer.decode.validate`, the
code the consumer runs, so "valid here" means "the consumer accepts it". Problems name the line (or
the built event's position, type and id) and the attribute or field, never a value (values can be
addresses).

Time placeholders (``{{now}}``, ``{{now-2h}}``, see :mod:`schemas.samples`) are expanded before
parsing unless the caller says not to: they never occur in real events, and the sample files need them.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from consumer.decode import decode, validate
from consumer.errors import ConsumerError, InputError
from consumer.records import Record
from consumer.settings import DecodeSettings
from schemas.catalog import model_for
from schemas.envelope import (
    Envelope,
    EnvelopeError,
    encode_binary,
    encode_structured,
    event_id,
    record_key,
    structured_headers,
)
from schemas.samples import expand_time_placeholders, format_time

Mode = Literal["structured", "binary"]
MODES: tuple[Mode, ...] = ("structured", "binary")
_KEY_PATH = re.compile(r"^[A-Za-z0-9_]{1,64}(?:\.[A-Za-z0-9_]{1,64}){0,7}$")
_decoder = json.JSONDecoder()


class InvalidEvents(ConsumerError):
    """Some events would be rejected by the consumer; nothing was published."""

    def __init__(self, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}; nothing was published", reason="invalid_events")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """One event of the input: ``value`` parsed, or ``problem`` saying why it did not parse. Problems
    are named by ``where`` (by default the input line)."""

    line: int
    value: Any = field(repr=False)
    raw: bytes = field(repr=False)
    problem: str | None = None
    where: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to publish. ``problem`` is ``None`` when the consumer would accept it."""

    line: int
    key: bytes | None = field(repr=False)
    value: bytes | None = field(repr=False)
    headers: tuple[tuple[str, bytes], ...] = field(repr=False)
    problem: str | None = None
    event_type: str | None = None

    @property
    def size(self) -> int:
        """Bytes on the wire before compression: key, value and headers."""
        headers = sum(len(k) + len(v) for k, v in self.headers)
        return len(self.key or b"") + len(self.value or b"") + headers


@dataclass(frozen=True, slots=True)
class Options:
    """How ``publish`` turns events into records (the command's flags)."""

    mode: Mode = "structured"
    key_field: str | None = None  # None: subject, else id
    fill_id: bool = False
    fill_time: bool = False
    decode: DecodeSettings = field(default_factory=DecodeSettings)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConsumerError(f"--mode: structured or binary, not {self.mode!r}", reason="usage")
        if self.key_field is not None and not _KEY_PATH.match(self.key_field):
            raise ConsumerError(
                "--key: a field path like subject or data.user_id (letters, digits, _ and dots)",
                reason="usage",
            )


# --- reading ----------------------------------------------------------------------------------------


def read_events(data: bytes, *, now: datetime, expand_time: bool = True) -> list[SourceEvent]:
    """Split the input into JSON values with their line numbers (see the module docstring)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConsumerError(f"line {line}: input is not valid UTF-8", reason="bad_input") from exc
    if expand_time:
        text = expand_time_placeholders(text, now)
    starts = [m.end() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect.bisect_right(starts, pos) + 1

    first = _skip_space(text, 0)
    if first < len(text) and text[first] == "[":
        return list(_array(text, first, line_of))
    return list(_stream(text, line_of))


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _parse(text: str, pos: int, line: int) -> tuple[SourceEvent | None, int]:
    """The JSON value at ``pos`` (orjson's verdict: no NaN, no huge integers) and where it ends."""
    try:
        _, end = _decoder.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        return None, exc.pos
    raw = text[pos:end].encode()
    try:
        return SourceEvent(line, orjson.loads(raw), raw), end
    except orjson.JSONDecodeError:
        return SourceEvent(line, None, raw, "not valid JSON (NaN, Infinity or an integer too large)"), end


def _stream(text: str, line_of: Callable[[int], int]) -> Iterator[SourceEvent]:
    pos = _skip_space(text, 0)
    while pos < len(text):
        line = line_of(pos)
        item, end = _parse(text, pos, line)
        if item is None:
            eol = text.find("\n", pos)
            eol = len(text) if eol < 0 else eol
            yield SourceEvent(
                line, None, text[pos:eol].encode(), f"not valid JSON ({_where(text, pos, end, line_of)})"
            )
            end = eol
        else:
            yield item
        pos = _skip_space(text, end)


def _where(text: str, start: int, error: int, line_of: Callable[[int], int]) -> str:
    """Where the value starting at ``start`` stops parsing. A value cut short (a truncated line) only
    fails at the first character after it, maybe on a later line: it is reported where its text ends."""
    line = line_of(start)
    cut_short = error > start and not text[text.rfind("\n", 0, error) + 1 : error].strip()
    at = len(text[:error].rstrip()) if cut_short else error
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    if cut_short:
        end = "the line" if line_of(at) == line else f"line {line_of(at)}"
        return f"incomplete at the end of {end}, column {column}"
    return f"at column {column}" if line_of(at) == line else f"at line {line_of(at)}, column {column}"


def _array(text: str, pos: int, line_of: Callable[[int], int]) -> Iterator[SourceEvent]:
    def fail(at: int) -> ConsumerError:
        return ConsumerError(f"line {line_of(at)}: not valid JSON (a broken array)", reason="bad_input")

    pos = _skip_space(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        pos += 1
    else:
        while True:
            item, end = _parse(text, pos, line_of(pos))
            if item is None:
                raise fail(end)
            yield item
            pos = _skip_space(text, end)
            if pos < len(text) and text[pos] == ",":
                pos = _skip_space(text, pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                pos += 1
                break
            raise fail(pos)
    if _skip_space(text, pos) != len(text):
        raise fail(pos)


# --- encoding ---------------------------------------------------------------------------------------


def prepare_records(
    source: bytes | Iterable[Envelope],
    options: Options,
    *,
    allow_invalid: bool = False,
    expand_time: bool = True,
) -> list[Outgoing]:
    """Every event of ``source`` filled, keyed, encoded and validated: the one way into :func:`publish`.

    ``source`` is JSON / NDJSON text (``consumer publish``, the demo: problems name the input line) or
    events built by :mod:`schemas.envelope` (a service: problems name the event's position, type and
    id). Raises :class:`InvalidEvents`, listing every problem, unless ``allow_invalid``; and
    :class:`ConsumerError` when there are no events.
    """
    now = datetime.now(UTC)
    if isinstance(source, bytes):
        items = read_events(source, now=now, expand_time=expand_time)
    else:
        items = [
            SourceEvent(n, event.to_dict(), b"", where=f"event {n} ({event.type}, id {event.id})")
            for n, event in enumerate(source, start=1)
        ]
    records = [prepare(item, options, now=now) for item in items]
    problems = [r.problem for r in records if r.problem is not None]
    if problems and not allow_invalid:
        raise InvalidEvents(problems)
    if not records:
        raise ConsumerError("the input holds no events", reason="bad_input")
    return records


def prepare(item: SourceEvent, options: Options, *, now: datetime) -> Outgoing:
    """Fill, key, encode and validate one event; a problem is recorded (prefixed by ``item.where``, by
    default the input line), never raised."""
    where = item.where or f"line {item.line}"
    if item.problem is not None:
        return Outgoing(item.line, None, item.raw, structured_headers(), f"{where}: {item.problem}")
    if not isinstance(item.value, dict):
        return Outgoing(
            item.line, None, item.raw, structured_headers(), f"{where}: an event must be an object"
        )
    event = dict(item.value)
    id_problem = None
    if options.fill_id and not event.get("id"):
        derived, id_problem = derived_id(event)
        if derived is not None:
            event["id"] = derived
        elif id_problem is None:  # the data is invalid: say how, as validation would
            invalid = _check(Record("", 0, 0, None, *encode_structured({**event, "id": "-"})), options.decode)
            id_problem = f"--fill-id: no id derived from invalid data ({invalid})"
    if options.fill_time and not event.get("time"):
        event["time"] = format_time(now)
    key, key_problem = event_key(event, options.key_field)
    value, headers = encode_binary(event) if options.mode == "binary" else encode_structured(event)
    event_type = event.get("type") if isinstance(event.get("type"), str) else None
    problem = _check(Record("", 0, 0, key, value, headers), options.decode)
    if options.mode == "binary" and problem is None:
        # Header text loses JSON types (an integer extension out of range reads as a string): the
        # event must also be valid in the structured form, where the consumer sees the types.
        problem = _check(Record("", 0, 0, key, *encode_structured(event)), options.decode)
    problem = id_problem or problem or key_problem
    return Outgoing(item.line, key, value, headers, f"{where}: {problem}" if problem else None, event_type)


def derived_id(event: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``--fill-id``: the id of the fact the event states (:func:`schemas.envelope.event_id`), as the
    envelope builder derives it, so the same input published twice keeps its ids; or a problem.
    ``(None, None)`` when the data is invalid (validation says how)."""
    event_type = event.get("type")
    model = model_for(event_type) if isinstance(event_type, str) else None
    if model is None:
        return None, "--fill-id: no id derived: the event type is not in the catalog"
    try:
        data = model.model_validate_json(orjson.dumps(event.get("data")), strict=True)
    except (ValueError, TypeError):
        return None, None
    try:
        return event_id(data), None
    except EnvelopeError as exc:
        return None, f"--fill-id: {exc}"


def event_key(event: Mapping[str, Any], key_field: str | None) -> tuple[bytes | None, str | None]:
    """The record key: ``key_field`` (a dotted path), or the builder's rule (``partitionkey``, else
    ``subject``, else ``id``: :func:`schemas.envelope.record_key`); and a problem."""
    if key_field is not None:
        found = _lookup(event, key_field)
        if isinstance(found, str | int) and not isinstance(found, bool) and str(found):
            return str(found).encode(), None
        fallback, _ = event_key(event, None)
        return fallback, f"key field {key_field} is missing or not a string/integer"
    return record_key(event), None


def _lookup(event: Mapping[str, Any], path: str) -> Any:
    node: Any = event
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _check(record: Record, settings: DecodeSettings) -> str | None:
    try:
        validate(decode(record, settings))
    except InputError as exc:
        return f"{exc.code.value}: {exc}"
    return None
