"""Scrubbing of secrets and recipient addresses (pure).

Used by the log pipeline, DLQ context headers, error messages and ``consumer dlq inspect``. Secrets
known at run time (tokens read from env or files, refreshed OAuth tokens) are registered with
:func:`register_secret` and replaced wherever they appear; e-mail addresses are masked to
``a***@example.com`` so an operator can still tell recipients apart by domain.
"""

from __future__ import annotations

import hashlib
import re
import threading

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

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so every later :func:`scrub` removes it (no-op for empty/short values)."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(value)


def mask_email(address: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``; anything without ``@`` -> ``***``."""
    local, sep, domain = address.rpartition("@")
    if not sep or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def hash_email(address: str) -> str:
    """A stable, non-reversible recipient id for logs (first 12 hex chars of SHA-256)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:12]


def scrub(text: str) -> str:
    """Remove registered secrets, token-looking values and addresses from ``text``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    text = _TOKENISH.sub(lambda m: f"{m.group(1)}***", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
