"""The process's scrubber: every secret the process loads is registered here, and text is scrubbed
with it where it leaves the process or enters it from outside.

Registered by the edges that load a secret (the HubSpot credentials, the SASL password, the
recipient hash key); applied by the log pipeline (:mod:`consumer.logs`), the dead-letter context
headers, the HubSpot client (to the error text of an answer before it becomes an outcome), the
operator tools' output and ``consumer dlq inspect``. Pure modules never import this one: they are
given a :class:`~consumer.redact.Scrubber` when they need one.
"""

from __future__ import annotations

from consumer.redact import Scrubber

SCRUBBER = Scrubber()
"""The one scrubber of this process."""

register_secret = SCRUBBER.register
"""Remember a secret so every later :func:`scrub` removes it (no-op for empty/short values)."""


def scrub(text: str) -> str:
    """Remove registered secrets, token-looking values and addresses from ``text``."""
    return SCRUBBER(text)
