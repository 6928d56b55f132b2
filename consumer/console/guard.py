"""Who may use the console and how its pages are protected (pure: no I/O but reading the secret file).

- **Authentication**: HTTP basic auth against one ``user:password`` line read from a file (a mounted
  Kubernetes secret). It is required whenever the console listens beyond loopback; on loopback it is
  optional (the machine's users are trusted, as for ``kubectl port-forward``).
- **CSRF**: a browser sends basic-auth credentials with any request, so every state-changing request
  (a replay) must carry a token only the console's own pages hold, and come from the same origin.
- **Confirmation**: a replay publishes exactly the records its dry run listed; the confirm form carries
  those DLQ positions and a MAC over them, so a forged or edited form is refused.
- **Headers**: a strict Content-Security-Policy (no script at all, styles and images from the console
  only), no framing, no referrer beyond the console, no caching, no MIME sniffing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from consumer.errors import ConsumerError

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make browsers send "Origin: null"
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Credentials:
    user: str
    password: SecretStr


def load_credentials(path: Path) -> Credentials:
    """One ``user:password`` line; ``ConsumerError`` names the file (never its content)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConsumerError(f"--auth-file {path}: {exc.strerror or exc}", reason="usage") from None
    user, sep, password = text.partition(":")
    if not sep or not user or len(password) < 12 or "\n" in text:
        raise ConsumerError(
            f"--auth-file {path}: one line 'user:password', the password at least 12 characters",
            reason="usage",
        )
    return Credentials(user, SecretStr(password))


class Guard:
    """The console's access decisions, with one random secret per process."""

    def __init__(self, credentials: Credentials | None, secret: bytes | None = None) -> None:
        self.credentials = credentials
        self._secret = secret or secrets.token_bytes(32)

    def authorized(self, authorization: str | None) -> bool:
        """True when no credentials are configured, or the ``Authorization`` header matches them."""
        if self.credentials is None:
            return True
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{self.credentials.user}:{self.credentials.password.get_secret_value()}".encode()
        return hmac.compare_digest(given, expected)

    def _mac(self, purpose: str, text: str) -> str:
        return hmac.new(self._secret, f"{purpose}\n{text}".encode(), hashlib.sha256).hexdigest()

    @property
    def csrf_token(self) -> str:
        return self._mac("csrf", "")

    def same_origin_post(self, token: str | None, origin: str | None, host: str | None) -> bool:
        """The form's token matches, and ``Origin`` (browsers send it on POST) names this console."""
        if not token or not hmac.compare_digest(token, self.csrf_token):
            return False
        if origin is None:
            return True  # a non-browser client: the token alone proves it read a console page
        return urlsplit(origin).netloc == (host or "")

    def confirmation(self, positions: Sequence[str]) -> str:
        return self._mac("replay", "\n".join(positions))

    def confirmed(self, positions: Sequence[str], mac: str | None) -> bool:
        return bool(positions) and mac is not None and hmac.compare_digest(mac, self.confirmation(positions))
