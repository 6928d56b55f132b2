"""Logging, configured in one place: structured events, JSON by default, scrubbed on the way out.

Every event is namespaced (``send.retry_scheduled``, ``dlq.written``) and carries bound context:
the record's (topic, partition, offset, event id and type, traceparent; :func:`bind_record`) and
any structlog context variables. All standard-library loggers (aiokafka,
aiohttp) are routed through the same processors, so their messages are scrubbed too; aiokafka's
loggers are held at INFO or above because DEBUG prints SASL exchanges and record bytes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any, TextIO

import orjson
import structlog

from consumer.scrubbing import scrub

_NOISY = ("aiokafka", "kafka", "aiohttp.access")
_RECORD: ContextVar[dict[str, Any] | None] = ContextVar("ssc_record_log_context", default=None)


def bind_record(**fields: Any) -> dict[str, Any]:
    """Make ``fields`` the log context of the record the current task processes, replacing the
    previous record's; every line logged in this context carries them (a line's own keys win). The
    returned dict is that context: the caller adds what it learns later (event id, trace) to it.
    One variable set per record, so the success path pays for no log line it does not write."""
    bound = dict(fields)
    _RECORD.set(bound)
    return bound


def _merge_record(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    bound = _RECORD.get()
    if bound:
        for key, value in bound.items():
            event_dict.setdefault(key, value)
    return event_dict


def _scrub_values(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = scrub(value)
        elif isinstance(value, BaseException):
            event_dict[key] = scrub(repr(value))
    return event_dict


def _orjson_dumps(obj: Any, default: Any) -> str:
    return orjson.dumps(obj, default=default).decode()


def configure(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library; safe to call more than once."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _merge_record,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _scrub_values,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        # The level filter runs first, so a dropped line skips the other processors. Loggers are not
        # cached: structlog's capture_logs (tests) only sees loggers that are not.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level)))


def quiet_kafka_client() -> None:
    """Only critical aiokafka messages (for one-shot CLI commands, where start-up retries are noise)."""
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
