"""HubSpot credentials: one :class:`~consumer.ports.AuthProvider` interface, three providers.

* :class:`BearerTokenAuth` — private-app access token or service key (recommended). From
  ``SSC_HUBSPOT__AUTH__TOKEN`` or ``..._TOKEN_FILE``; the file is re-read after a 401, so a rotated
  Kubernetes secret is picked up without a restart.
* :class:`OAuthAuth` — OAuth 2.0 refresh-token flow of an app installed once into the portal. The
  access token is refreshed ``oauth_refresh_margin_s`` before ``expires_in`` runs out, by one refresh
  at a time however many sends are in flight; a rotated refresh token from the answer is kept.
* :class:`HapikeyAuth` — legacy ``?hapikey=`` query parameter (HubSpot sunset it on 2022-11-30).

Every secret is a ``SecretStr`` and registered with :func:`consumer.scrubbing.register_secret`, so it is
scrubbed from logs; reprs and exception messages never contain one.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import orjson
from pydantic import SecretStr

from consumer import metrics
from consumer.errors import AuthError, ConfigError, SendError
from consumer.hubspot.portal import TRANSACTIONAL_EMAIL_SCOPE, parse_identity
from consumer.hubspot.taxonomy import classify_transport
from consumer.logs import get_logger
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.ports import AuthProvider
from consumer.scrubbing import register_secret
from consumer.settings import AuthMode, AuthSettings

log = get_logger(__name__)

SessionFactory = Callable[[], aiohttp.ClientSession | None]
ProxyFor = Callable[[str], Awaitable[str | None]]  # URL -> its proxy (None: direct)
_PREFIX = "SSC_HUBSPOT__AUTH__"
# The access token the current task (one send) last applied: after a 401, a task whose token was
# already replaced by another task's refresh just retries; a 401 storm causes one refresh.
_applied_access: contextvars.ContextVar[str | None] = contextvars.ContextVar("applied_access", default=None)


def _secret(value: str) -> SecretStr:
    register_secret(value)
    return SecretStr(value)


def _read_secret_file(path: Path, field: str) -> SecretStr:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read secret file ({type(exc).__name__})", field=field) from exc
    if not text:
        raise ConfigError("secret file is empty", field=field)
    return _secret(text)


def _env_or_file(value: SecretStr | None, path: Path | None, name: str) -> SecretStr:
    if path is not None:
        return _read_secret_file(path, f"{_PREFIX}{name.upper()}_FILE")
    if value is not None and value.get_secret_value().strip():
        return _secret(value.get_secret_value().strip())
    raise ConfigError(
        "required for this auth mode (or the matching *_FILE)", field=f"{_PREFIX}{name.upper()}"
    )


class BearerTokenAuth:
    """``Authorization: Bearer <token>``; the token file (if any) is re-read on :meth:`refresh`."""

    def __init__(self, token: SecretStr, *, token_file: Path | None = None) -> None:
        self._token = token
        self._file = token_file

    def __repr__(self) -> str:
        source = f"file:{self._file}" if self._file else "env"
        return f"BearerTokenAuth(source={source!r})"

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"

    async def refresh(self) -> bool:
        if self._file is None:
            metrics.AUTH_REFRESHES.labels(result="unchanged").inc()
            return False
        try:
            text = (await asyncio.to_thread(self._file.read_text, encoding="utf-8")).strip()
        except OSError as exc:
            metrics.AUTH_REFRESHES.labels(result="error").inc()
            log.warning("auth.token_file_unreadable", error=type(exc).__name__)
            return False
        changed = bool(text) and text != self._token.get_secret_value()
        if changed:
            self._token = _secret(text)
        metrics.AUTH_REFRESHES.labels(result="changed" if changed else "unchanged").inc()
        log.info("auth.token_file_reread", changed=changed)
        return changed


class HapikeyAuth:
    """Legacy ``?hapikey=`` query parameter; the key file (if any) is re-read on :meth:`refresh`."""

    def __init__(self, key: SecretStr, *, key_file: Path | None = None) -> None:
        self._key = key
        self._file = key_file

    def __repr__(self) -> str:
        return "HapikeyAuth()"

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        params["hapikey"] = self._key.get_secret_value()

    async def refresh(self) -> bool:
        if self._file is None:
            return False
        try:
            text = (await asyncio.to_thread(self._file.read_text, encoding="utf-8")).strip()
        except OSError:
            return False
        changed = bool(text) and text != self._key.get_secret_value()
        if changed:
            self._key = _secret(text)
        metrics.AUTH_REFRESHES.labels(result="changed" if changed else "unchanged").inc()
        return changed


class OAuthAuth:
    """OAuth 2.0 refresh-token grant; single-flight refresh ahead of ``expires_in``."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        refresh_token_file: Path | None = None,
        margin_s: float = 300.0,
        session_factory: SessionFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = 15.0,
        trust_env: bool = True,
        proxy_for: ProxyFor | None = None,
    ) -> None:
        self._url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._refresh_file = refresh_token_file
        # last content read from the file: a rotated token from HubSpot beats an unchanged file
        self._file_seen = refresh_token.get_secret_value() if refresh_token_file else None
        self._margin_s = margin_s
        self._session_factory = session_factory
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._trust_env = trust_env
        self._proxy_for = proxy_for
        self._access: SecretStr | None = None
        self._expires_at = 0.0
        # what the last token answer said about the installation (HubSpot sends both since 2025-08)
        self.hub_id: int | None = None
        self.scopes: tuple[str, ...] | None = None
        self._lock = asyncio.Lock()
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"OAuthAuth(token_url={self._url!r}, client_id={self._client_id!r})"

    def _stale(self) -> bool:
        return self._access is None or self._clock() >= self._expires_at

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        if self._stale():
            async with self._lock:
                if self._stale():  # another sender may have refreshed while we waited
                    await self._refresh()
        assert self._access is not None
        access = self._access.get_secret_value()
        _applied_access.set(access)
        headers["Authorization"] = f"Bearer {access}"

    async def refresh(self) -> bool:
        """After a 401: refresh, unless another sender already replaced the token this one used."""
        used = _applied_access.get()
        async with self._lock:
            current = self._access.get_secret_value() if self._access is not None else None
            if used is not None and current is not None and used != current:
                return True
            await self._refresh()
            return True

    async def _post(self, form: dict[str, str]) -> tuple[int, bytes]:
        shared = self._session_factory() if self._session_factory else None
        # Never follow a redirect: the client secret and refresh token must reach the token endpoint
        # configured, or nowhere (a 3xx is refused like any other non-200 answer).
        if shared is not None:  # the client's session: its proxy comes from proxy_for
            proxy = await self._proxy_for(self._url) if self._proxy_for is not None else None
            async with shared.post(
                self._url, data=form, timeout=self._timeout, allow_redirects=False, proxy=proxy
            ) as resp:
                return resp.status, await resp.read()
        async with (
            aiohttp.ClientSession(timeout=self._timeout, trust_env=self._trust_env) as session,
            session.post(self._url, data=form, allow_redirects=False) as resp,
        ):
            return resp.status, await resp.read()

    async def _refresh(self) -> None:
        if self._refresh_file is not None:
            try:
                text = (await asyncio.to_thread(self._refresh_file.read_text, encoding="utf-8")).strip()
            except OSError:
                text = ""
            if text and text != self._file_seen:
                self._file_seen = text
                self._refresh_token = _secret(text)
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
            "refresh_token": self._refresh_token.get_secret_value(),
        }
        try:
            status, body = await self._post(form)
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            metrics.AUTH_REFRESHES.labels(result="error").inc()
            log.warning("auth.oauth_refresh_failed", error=type(exc).__name__)
            raise SendError(classify_transport(exc)) from None
        data = _json_object(body)
        access = data.get("access_token")
        if status != 200 or not isinstance(access, str) or not access:
            metrics.AUTH_REFRESHES.labels(result="error").inc()
            category = data.get("status") or data.get("error") or "unknown"
            log.warning("auth.oauth_refresh_failed", http_status=status, category=str(category)[:64])
            if status >= 500 or status in (408, 429):
                detail = f"OAuth token endpoint failed (HTTP {status})"
                raise SendError(Outcome(OutcomeClass.RETRY, Reason.SERVER_ERROR, detail, http_status=status))
            raise AuthError(f"OAuth refresh refused (HTTP {status}, {str(category)[:64]})")
        self._access = _secret(access)
        expires_in = data.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 1800.0
        now = self._clock()
        # refresh ahead of expiry; for very short lifetimes, at half-life at the latest
        self._expires_at = now + max(lifetime - self._margin_s, lifetime / 2)
        rotated = data.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token.get_secret_value():
            self._refresh_token = _secret(rotated)
            log.info("auth.refresh_token_rotated")
        identity = parse_identity(data)
        self.hub_id, self.scopes = identity.hub_id, identity.scopes
        self.refresh_count += 1
        metrics.AUTH_REFRESHES.labels(result="changed").inc()
        log.info(
            "auth.oauth_refreshed",
            expires_in_s=lifetime,
            hub_id=self.hub_id,
            scopes=len(self.scopes) if self.scopes is not None else None,
        )
        if self.scopes is not None and TRANSACTIONAL_EMAIL_SCOPE not in self.scopes:
            log.warning("auth.scope_missing", scope=TRANSACTIONAL_EMAIL_SCOPE, hub_id=self.hub_id)


def _json_object(body: bytes) -> dict[str, object]:
    try:
        data = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def token_url(base_url: str, path_or_url: str) -> str:
    """The OAuth token endpoint: an absolute URL as is, else the path under ``base_url``."""
    if path_or_url.startswith(("http://", "https://")):
        return path_or_url
    return base_url.rstrip("/") + "/" + path_or_url.lstrip("/")


def build_auth(
    settings: AuthSettings,
    *,
    base_url: str,
    session_factory: SessionFactory | None = None,
    clock: Callable[[], float] = time.monotonic,
    trust_env: bool = True,
    proxy_for: ProxyFor | None = None,
) -> AuthProvider:
    """The provider for ``settings.mode``; :class:`ConfigError` naming the setting when a credential
    is missing or unreadable. The hapikey mode logs ``auth.hapikey_deprecated``."""
    if settings.mode is AuthMode.TOKEN:
        token = _env_or_file(settings.token, settings.token_file, "token")
        return BearerTokenAuth(token, token_file=settings.token_file)
    if settings.mode is AuthMode.HAPIKEY:
        key = _env_or_file(settings.hapikey, settings.hapikey_file, "hapikey")
        log.warning(
            "auth.hapikey_deprecated",
            detail="HubSpot sunset API keys (hapikey) on 2022-11-30; use a private-app token or service key",
        )
        return HapikeyAuth(key, key_file=settings.hapikey_file)
    if not settings.oauth_client_id:
        raise ConfigError("required for OAuth", field=f"{_PREFIX}OAUTH_CLIENT_ID")
    return OAuthAuth(
        token_url=token_url(base_url, settings.oauth_token_path),
        client_id=settings.oauth_client_id,
        client_secret=_env_or_file(
            settings.oauth_client_secret, settings.oauth_client_secret_file, "oauth_client_secret"
        ),
        refresh_token=_env_or_file(
            settings.oauth_refresh_token, settings.oauth_refresh_token_file, "oauth_refresh_token"
        ),
        refresh_token_file=settings.oauth_refresh_token_file,
        margin_s=settings.oauth_refresh_margin_s,
        session_factory=session_factory,
        clock=clock,
        trust_env=trust_env,
        proxy_for=proxy_for,
    )
