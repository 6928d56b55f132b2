"""Scrubbing of secrets and recipient addresses (pure: no I/O, no process-wide state).

A :class:`Scrubber` removes the secrets it has been told about, token-looking values and e-mail
addresses from a text; addresses are masked to ``a***@example.com`` so an operator can still tell
recipients apart by domain. A log line that must let operators follow one recipient carries a keyed
id (:class:`RecipientHasher`) instead.

The process's own scrubber, which every secret the process loads is registered with, is an edge
concern: :mod:`consumer.scrubbing`. Pure code that needs one (``hubspot.taxonomy.classify``) is
given it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from dataclasses import dataclass, field

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# Bearer tokens, OAuth tokens, hapikeys in URLs and typical key=value secrets.
# A whole-word name followed by an explicit ``=`` or ``:`` (JSON, form, header, key=value styles), so
# prose ("a SASL password is required") and setting names (``SASL_PASSWORD:``) are left alone; secret
# values we load ourselves (SASL password, tokens) are registered and removed wherever they appear.
_TOKENISH = re.compile(
    r"(?i)(bearer\s+|hapikey=|\b(?:access_token|refresh_token|client_secret|password)[\"']?\s*[=:]\s*[\"']?)"
    r"([^\s\"'&,;]+)"
)
_MIN_SECRET_LEN = 6


class Scrubber:
    """``scrubber(text)``: ``text`` without the registered secrets, token-looking values and addresses.

    Safe to share between threads (the log pipeline runs in several)."""

    __slots__ = ("_lock", "_secrets")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def register(self, value: str | None) -> None:
        """Remember a secret so every later call removes it (no-op for empty/short values)."""
        if value and len(value) >= _MIN_SECRET_LEN:
            with self._lock:
                self._secrets.add(value)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, "***")
        text = _TOKENISH.sub(lambda m: f"{m.group(1)}***", text)
        return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)

    def __repr__(self) -> str:
        return f"Scrubber({len(self._secrets)} secrets)"


def mask_email(address: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``; anything without ``@`` -> ``***``."""
    local, sep, domain = address.rpartition("@")
    if not sep or not local:
        return "***"
    return f"{local[0]}***@{domain}"


MIN_RECIPIENT_KEY_LEN = 32


@dataclass(frozen=True, slots=True)
class RecipientHasher:
    """Recipient ids for logs: ``<key id>:<HMAC-SHA256 of the normalised address, 16 hex>``.

    Keyed, so a list of known addresses does not reverse them without the key; the same key on every
    replica gives the same id for the same recipient. The key id (4 hex characters of a hash of the
    key) tells lines written under different keys apart after a rotation.
    """

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < MIN_RECIPIENT_KEY_LEN:
            raise ValueError(f"the recipient hash key needs at least {MIN_RECIPIENT_KEY_LEN} characters")

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"ssc-recipient-key-id:" + self.key).hexdigest()[:4]

    def __call__(self, address: str) -> str:
        digest = hmac.new(self.key, address.strip().lower().encode(), hashlib.sha256).hexdigest()
        return f"{self.key_id}:{digest[:16]}"
