"""One error tree for the whole service.

    ConsumerError                  .reason (a Reason code or short slug)
    ├── ConfigError                settings, routing file, credentials missing: refuse to start
    │   └── SettingsInvalid        every problem of the settings at once, one line each
    ├── InputError                 one record cannot become a send request: PERMANENT, dead-letter it
    ├── SendError                  a HubSpot answer or transport failure, carrying its Outcome
    │   └── AuthError              a credential could not be obtained (OAuth refresh failed, no token)
    ├── KafkaUnavailable           the broker could not be reached or refused a request (operator tools)
    └── DeadLetterUnwritable       a dead letter no retry can write (too large, denied, no topic, invalid)

Third-party exceptions (aiohttp, aiokafka, pydantic) are mapped to these at the edge with
``raise ... from exc``. Messages never contain tokens, addresses or raw response bodies: they go into
logs and DLQ headers verbatim.
"""

from __future__ import annotations

from consumer.outcome import Outcome, OutcomeClass, Reason


class ConsumerError(Exception):
    """Base of every error this package raises on purpose. Whether to retry is decided from an
    :class:`~consumer.outcome.Outcome`'s class (``SendError.outcome``), never from the exception."""

    def __init__(self, message: str, *, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


class ConfigError(ConsumerError):
    """Settings or the routing file are unusable; the message names the field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message, reason="config")
        self.field = field


class SettingsInvalid(ConfigError):
    """The settings cannot be built: one line per problem, each naming its variable or file key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


class InputError(ConsumerError):
    """A record that can never be sent (malformed, invalid, unroutable, expired)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message, reason=reason.value)
        self.code = reason

    def outcome(self) -> Outcome:
        return Outcome(OutcomeClass.PERMANENT, self.code, str(self))


class SendError(ConsumerError):
    """HubSpot answered with something other than success, or the transport failed."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail or outcome.label, reason=outcome.reason.value)
        self.outcome = outcome


class AuthError(SendError):
    """No usable credential: pause, probe, resume when the secret is fixed."""

    def __init__(self, message: str) -> None:
        super().__init__(Outcome(OutcomeClass.PAUSE, Reason.UNAUTHORIZED, message))


class KafkaUnavailable(ConsumerError):
    """The operator tools could not reach the broker, or it refused a request."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="kafka_unavailable")


class DeadLetterUnwritable(ConsumerError):
    """The broker will refuse this dead-letter write however often it is retried; ``error`` says why:
    ``too_large``, ``unauthorized``, ``unknown_topic`` (auto-creation off) or ``invalid_record``."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message, reason="dlq_unwritable")
        self.error = error
