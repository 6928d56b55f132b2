"""The HubSpot-facing endpoints of the simulator: single send (v3 and dated), send status, OAuth.

Order of checks for a send, cheapest first and as HubSpot would: latency → timed fault window →
authentication (401 / 403) → rate limit (429 TEN_SECONDLY_ROLLING / DAILY) → injected 5xx / 429 →
body validation (400 naming the field) → template (400 unknown emailId) → idempotency
(IDEMPOTENT_IGNORE, nothing sent) → recipient rules (terminal sendResult, nothing sent) → required
template properties → accept (ledger) → optional hang (accept-then-hang: answer after ``hang_s``).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
from datetime import UTC, datetime, timedelta, tzinfo
from fnmatch import fnmatchcase
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from yarl import URL

from hubspot_simulator.state import AccessToken, RateWindow, SendRecord, SimState, now_iso
from hubspot_simulator.validation import validate_send

JSON = "application/json"
CORRELATION = "X-HubSpot-Correlation-Id"
_WINDOW_CATEGORY = {401: "INVALID_AUTHENTICATION", 503: "SERVICE_UNAVAILABLE", 477: "PORTAL_MIGRATING"}
SCOPES_LINK = "https://developers.hubspot.com/scopes"
OAUTH_SCOPES = ("oauth", "transactional-email")


class HubSpotApi:
    """Request handlers bound to one :class:`SimState`."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        cfg = state.config
        self._rules = [(r.pattern.lower(), r.send_result) for r in cfg.rules]
        self._interval_s = cfg.rate_interval_ms / 1000
        self._zone: tzinfo = ZoneInfo(cfg.portal_timezone)

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    def respond(
        self, status: int, payload: dict[str, Any], outcome: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        self.state.count(status, outcome)
        correlation = payload.get("correlationId") or self.state.new_id()
        headers = {**headers, CORRELATION: correlation} if headers else {CORRELATION: correlation}
        return web.Response(body=orjson.dumps(payload), status=status, content_type=JSON, headers=headers)

    def error(
        self,
        status: int,
        category: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        outcome: str | None = None,
        **extra: Any,
    ) -> web.Response:
        body = {
            "status": "error",
            "message": message,
            "correlationId": self.state.new_id(),
            "category": category,
        }
        body.update(extra)
        return self.respond(status, body, outcome or category, headers)

    async def _latency(self) -> None:
        faults = self.state.faults
        if faults.latency_ms or faults.latency_jitter_ms:
            delay = faults.latency_ms + self.state.rng.uniform(0, faults.latency_jitter_ms)
            await asyncio.sleep(delay / 1000)

    def _window(self, now: float) -> web.Response | None:
        window = self.state.faults.active_window(now)
        if window is None:
            return None
        headers = {} if window.retry_after_s is None else {"Retry-After": _fmt(window.retry_after_s)}
        return self.error(
            window.status,
            _WINDOW_CATEGORY[window.status],
            f"simulated {window.status} window",
            headers=headers,
            outcome=f"WINDOW_{window.status}",
        )

    def authenticate(self, request: web.Request, now: float) -> tuple[str | None, web.Response | None]:
        """The credential of ``request``, or the 401/403 answer."""
        state = self.state
        auth = request.headers.get("Authorization", "")
        credential = auth[7:].strip() if auth[:7].lower() == "bearer " else request.query.get("hapikey")
        if not credential:
            return None, self.error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        if "hapikey" in request.query and not state.config.allow_hapikey:
            text = "API keys are no longer supported; use a private app or OAuth."
            return None, self.error(401, "INVALID_AUTHENTICATION", text, outcome="HAPIKEY_REFUSED")
        access = state.access_tokens.get(credential)
        if access is not None:
            if access.expires_at <= now:
                return None, self.error(401, "EXPIRED_AUTHENTICATION", "The OAuth token used has expired.")
            return credential, None
        if credential in state.tokens_without_scope:
            text = (
                "This app hasn't been granted all required scopes to make this call. "
                f"Read more about required scopes here: {SCOPES_LINK}."
            )
            detail = {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredScopes": ["transactional-email"]},
            }
            return None, self.error(
                403, "MISSING_SCOPES", text, errors=[detail], links={"scopes": SCOPES_LINK}
            )
        if credential in state.tokens or state.open_auth:
            return credential, None
        return None, self.error(401, "INVALID_AUTHENTICATION", "The access token provided is invalid.")

    def _rate_limit(self, credential: str, now: float) -> tuple[dict[str, str], web.Response | None]:
        cfg = self.state.config
        if cfg.rate_limit is None and cfg.daily_limit is None:
            return {}, None
        window = self.state.rate_windows.get(credential)
        if window is None:
            window = self.state.rate_windows[credential] = RateWindow()
        headers: dict[str, str] = {}
        # HubSpot's daily limit is per private app; calls with an OAuth access token have none
        if cfg.daily_limit is not None and credential not in self.state.access_tokens:
            daily_left = cfg.daily_limit - window.count_today(self._zone)
            headers["X-HubSpot-RateLimit-Daily"] = str(cfg.daily_limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(0, daily_left - 1))
            if daily_left <= 0:
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = "0"
                wait = cfg.daily_retry_after_s
                if wait is None:
                    wait = seconds_to_midnight(self._zone) if cfg.daily_retry_after else None
                return headers, self._too_many("DAILY", "daily", headers, wait)
        if cfg.rate_limit is not None:
            left = window.remaining(now, cfg.rate_limit, self._interval_s)
            if cfg.rate_limit_hidden is not None:
                if left <= 0:
                    return headers, self._hidden_refusal(cfg.rate_limit_hidden, headers)
                window.times.append(now)
                window.day_count += 1
                return headers, None
            headers["X-HubSpot-RateLimit-Max"] = str(cfg.rate_limit)
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(cfg.rate_interval_ms)
            headers["X-HubSpot-RateLimit-Remaining"] = str(max(0, left - 1))
            if left <= 0:
                headers["X-HubSpot-RateLimit-Remaining"] = "0"
                return headers, self._too_many(
                    "TEN_SECONDLY_ROLLING", "ten_secondly_rolling", headers, cfg.rate_limit_retry_after_s
                )
            window.times.append(now)
        window.day_count += 1
        return headers, None

    def _too_many(
        self, policy: str, words: str, headers: dict[str, str], retry_after: float | None
    ) -> web.Response:
        if retry_after is not None:
            headers = {**headers, "Retry-After": _fmt(retry_after)}
        return self.error(
            429,
            "RATE_LIMITS",
            f"You have reached your {words} limit.",
            headers=headers,
            outcome=f"RATE_LIMIT_{policy}",
            errorType="RATE_LIMIT",
            policyName=policy,
            groupName="transactional-email",
        )

    def _hidden_refusal(self, refusal: str, headers: dict[str, str]) -> web.Response:
        """A hidden limit's refusal (not counted in the window): a bare 429 or a 200 ``THROTTLED``."""
        if refusal == "429":
            retry_after = self.state.config.rate_limit_retry_after_s
            return self._too_many("TEN_SECONDLY_ROLLING", "ten_secondly_rolling", headers, retry_after)
        payload = {
            "statusId": self.state.new_id(),
            "status": "COMPLETE",
            "sendResult": "THROTTLED",
            "requestedAt": now_iso(),
            "completedAt": now_iso(),
        }
        return self.respond(200, payload, "RATE_LIMIT_THROTTLED", headers)

    def _injected(self, headers: dict[str, str]) -> web.Response | None:
        faults, rng = self.state.faults, self.state.rng
        if faults.error_rate and rng.random() < faults.error_rate:
            status = rng.choice(faults.error_statuses)
            extra = (
                {}
                if faults.error_retry_after_s is None
                else {"Retry-After": _fmt(faults.error_retry_after_s)}
            )
            return self.error(
                status,
                "INTERNAL_ERROR",
                "simulated server error",
                headers={**headers, **extra},
                outcome=f"FAULT_{status}",
            )
        if faults.rate_429 and rng.random() < faults.rate_429:
            return self._too_many(
                "TEN_SECONDLY_ROLLING", "ten_secondly_rolling", headers, faults.retry_after_429_s
            )
        return None

    async def _admit(self, request: web.Request) -> tuple[float, str | None, web.Response | None]:
        """What every API call goes through first: latency, a timed fault window, authentication.
        Returns the loop time, the credential, and the answer when the request stops here."""
        faults = self.state.faults
        if faults.latency_ms or faults.latency_jitter_ms:
            await self._latency()
        now = self.now()
        if (answer := self._window(now)) is not None:
            return now, None, answer
        credential, answer = self.authenticate(request, now)
        return now, credential, answer

    # -- endpoints ----------------------------------------------------------------------------------
    async def send(self, request: web.Request) -> web.Response:
        """``POST /marketing/v3/transactional/single-email/send`` and the dated versions."""
        state = self.state
        state.requests += 1
        version = request.match_info.get("version")
        if version is not None and version not in state.config.api_versions:
            return self._unknown_path(request)
        now, credential, answer = await self._admit(request)
        if answer is not None or credential is None:
            return answer or self.error(401, "INVALID_AUTHENTICATION", "no credential")
        headers, answer = self._rate_limit(credential, now)
        if answer is not None or (answer := self._injected(headers)) is not None:
            return answer
        if request.content_type != JSON:
            text = f"Content-Type {request.content_type!r} is not supported; send application/json"
            return self.error(415, "UNSUPPORTED_MEDIA_TYPE", text, headers=headers)
        raw = await request.read()
        if state.captured is not None:
            state.captured.append((request.path, raw))
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self.error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1", headers=headers)
        dated = "version" in request.match_info
        problem = validate_send(data, strict_dated=dated and state.config.strict_dated_required)
        if problem is not None:
            field, text = problem
            return self._invalid(field, text, headers)
        email_id: int = data["emailId"]
        message: dict[str, Any] = data["message"]
        templates = state.templates
        if templates and email_id not in templates:
            return self._invalid("emailId", f"No published transactional email with id {email_id}", headers)
        send_id = message.get("sendId")
        digest = hashlib.sha256(raw).digest()
        if send_id is not None and (previous := state.sends.get(send_id)) is not None:
            return self._repeated(previous, digest, headers)
        to: str = message["to"]
        if self._rules:
            lowered = to.lower()
            for pattern, result in self._rules:
                if fnmatchcase(lowered, pattern):
                    payload = {
                        "statusId": state.new_id(),
                        "status": "COMPLETE",
                        "sendResult": result,
                        "requestedAt": now_iso(),
                        "completedAt": now_iso(),
                    }
                    return self.respond(200, payload, result, headers)
        contact: dict[str, Any] = data.get("contactProperties") or {}
        custom: dict[str, Any] = data.get("customProperties") or {}
        required = templates.get(email_id, ())
        missing = [p for p in required if p not in contact and p not in custom]
        if missing:
            return self._missing_properties(missing, headers)
        record = SendRecord(
            send_id=send_id,
            email_id=email_id,
            to=to,
            contact_properties=contact,
            custom_properties=custom,
            status_id=state.new_id(),
            requested_at=now_iso(),
            accepted_at=now,
            api_path=request.path,
            digest=digest,
        )
        state.accept(record)
        payload = {"statusId": record.status_id, "status": "PENDING", "requestedAt": record.requested_at}
        faults = state.faults
        if faults.hang_rate and state.rng.random() < faults.hang_rate:
            state.hangs += 1
            await asyncio.sleep(faults.hang_s)
        return self.respond(200, payload, "ACCEPTED", headers)

    def _repeated(self, previous: SendRecord, digest: bytes, headers: dict[str, str]) -> web.Response:
        """A ``sendId`` already accepted: nothing is sent again. With ``idempotent_fail``, a different
        body under the same ``sendId`` is a conflict (``IDEMPOTENT_FAIL``)."""
        state = self.state
        previous.attempts += 1
        state.duplicates_prevented += 1
        result = "IDEMPOTENT_IGNORE"
        if state.config.idempotent_fail and digest != previous.digest:
            result = "IDEMPOTENT_FAIL"
        payload = {
            "statusId": previous.status_id,
            "status": "COMPLETE",
            "sendResult": result,
            "requestedAt": now_iso(),
            "completedAt": now_iso(),
        }
        return self.respond(200, payload, result, headers)

    def _invalid(self, field: str, text: str, headers: dict[str, str]) -> web.Response:
        return self.error(
            400,
            "VALIDATION_ERROR",
            f"Invalid input: {text}",
            headers=headers,
            errors=[{"message": text, "in": field, "code": "INVALID"}],
            context={"field": [field]},
        )

    def _missing_properties(self, missing: list[str], headers: dict[str, str]) -> web.Response:
        text = "missing template properties: " + ", ".join(sorted(missing))
        if self.state.config.missing_properties_status == 400:
            return self.error(
                400,
                "VALIDATION_ERROR",
                text,
                headers=headers,
                outcome="MISSING_TEMPLATE_PROPERTIES",
                context={"missingProperties": sorted(missing)},
            )
        payload = {
            "statusId": self.state.new_id(),
            "status": "COMPLETE",
            "message": text,
            "sendResult": "MISSING_TEMPLATE_PROPERTIES",
            "requestedAt": now_iso(),
            "completedAt": now_iso(),
        }
        return self.respond(200, payload, "MISSING_TEMPLATE_PROPERTIES", headers)

    async def send_status(self, request: web.Request) -> web.Response:
        """``GET /marketing/v3/email/send-statuses/{statusId}``: PENDING, then COMPLETE after the delay."""
        now, credential, answer = await self._admit(request)
        if answer is not None or credential is None:
            return answer or self.error(401, "INVALID_AUTHENTICATION", "no credential")
        record = self.state.by_status_id.get(request.match_info["status_id"])
        if record is None:
            return self.error(
                404, "OBJECT_NOT_FOUND", "No send with this statusId.", outcome="STATUS_NOT_FOUND"
            )
        payload: dict[str, Any] = {"statusId": record.status_id, "requestedAt": record.requested_at}
        if (now - record.accepted_at) * 1000 >= self.state.config.complete_after_ms:
            created = now_iso()
            payload.update(
                status="COMPLETE",
                sendResult="SENT",
                startedAt=record.requested_at,
                completedAt=created,
                eventId={"id": self.state.new_id(), "created": created},
            )
        else:
            payload["status"] = "PENDING"
        return self.respond(200, payload, "STATUS_" + payload["status"])

    def _unknown_path(self, request: web.Request) -> web.Response:
        """What HubSpot answers for a path it does not serve (such as an unknown API version): 404 with
        its JSON error body (unverified; ``unknown_version_body=False`` answers an empty 404)."""
        if not self.state.config.unknown_version_body:
            self.state.count(404, "UNKNOWN_PATH")
            return web.Response(status=404, headers={CORRELATION: self.state.new_id()})
        return self.error(404, "OBJECT_NOT_FOUND", f"No API at {request.path}", outcome="UNKNOWN_PATH")

    async def oauth_token(self, request: web.Request) -> web.Response:
        """``POST /oauth/v1/token``, ``/oauth/v3/token`` and the dated ones: the refresh-token grant."""
        state = self.state
        form = await request.post()
        grant = form.get("grant_type")
        client_id, secret, refresh = (
            form.get("client_id"),
            form.get("client_secret"),
            form.get("refresh_token"),
        )
        if grant not in ("refresh_token", "authorization_code"):
            return self._oauth_error(
                "UNSUPPORTED_GRANT_TYPE", "grant_type: refresh_token or authorization_code"
            )
        if not isinstance(client_id, str) or state.oauth_clients.get(client_id) != secret:
            return self._oauth_error("BAD_CLIENT_ID", "missing or unknown client id / secret")
        if grant == "authorization_code":
            code, redirect_uri = form.get("code"), form.get("redirect_uri")
            issued = state.auth_codes.pop(code, None) if isinstance(code, str) else None
            if issued is None or issued != (client_id, redirect_uri):
                return self._oauth_error(
                    "BAD_AUTH_CODE", "missing, used or unknown code, or another redirect_uri"
                )
            refresh = "sim-rt-" + state.new_id()
            state.refresh_tokens[refresh] = client_id
        if not isinstance(refresh, str) or state.refresh_tokens.get(refresh) != client_id:
            return self._oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        now = self.now()
        ttl = state.config.access_token_ttl_s
        access = "sim-at-" + state.new_id()
        state.access_tokens[access] = AccessToken(client_id, now + ttl)
        if state.config.rotate_refresh_tokens and grant == "refresh_token":
            del state.refresh_tokens[refresh]
            refresh = "sim-rt-" + state.new_id()
            state.refresh_tokens[refresh] = client_id
        state.oauth_refreshes += 1
        payload = {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": int(ttl),
            "hub_id": state.config.portal_id,
            "scopes": list(OAUTH_SCOPES),
        }
        return self.respond(200, payload, "OAUTH_REFRESHED")

    async def authorize(self, request: web.Request) -> web.Response:
        """``GET /oauth/authorize``: the consent page a portal user sees when installing the app. Its
        "Approve" link (``/oauth/authorize/approve``) redirects to ``redirect_uri`` with a ``code``."""
        query = request.query
        if query.get("client_id") not in self.state.oauth_clients or not query.get("redirect_uri"):
            return web.Response(status=400, text="unknown client_id or missing redirect_uri")
        approve = request.url.with_path("/oauth/authorize/approve").with_query(request.query)
        scopes = html.escape(query.get("scope", ""))
        page = (
            f"<html><body><h1>Install app {html.escape(query['client_id'])}</h1>"
            f"<p>Portal {self.state.config.portal_id}, scopes: {scopes}</p>"
            f'<a id="approve" href="{html.escape(str(approve))}">Approve</a></body></html>'
        )
        return web.Response(text=page, content_type="text/html")

    async def approve(self, request: web.Request) -> web.Response:
        """The user approved: redirect to ``redirect_uri`` with a single-use ``code`` (and the ``state``)."""
        query = request.query
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        if client_id not in self.state.oauth_clients or not redirect_uri:
            return web.Response(status=400, text="unknown client_id or missing redirect_uri")
        code = "sim-code-" + self.state.new_id()
        self.state.auth_codes[code] = (client_id, redirect_uri)
        target = URL(redirect_uri).update_query(
            {"code": code, **({"state": query["state"]} if "state" in query else {})}
        )
        raise web.HTTPFound(str(target))

    async def token_info(self, request: web.Request) -> web.Response:
        """``POST /oauth/v2/private-apps/get/access-token-info`` with ``{"tokenKey": …}``: the portal
        (``hubId``) and scopes of a private-app token; 401 for a token the portal does not know."""
        state, cfg = self.state, self.state.config
        try:
            data = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            data = None
        token = data.get("tokenKey") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            return self.error(400, "VALIDATION_ERROR", "tokenKey is required")
        known = token in state.tokens or token in state.tokens_without_scope or state.open_auth
        if not known:
            return self.error(401, "INVALID_AUTHENTICATION", "The access token provided is invalid.")
        scopes = [] if token in state.tokens_without_scope else ["transactional-email"]
        hub_id = dict(cfg.token_portals).get(token, cfg.portal_id)
        payload = {"userId": 1, "hubId": hub_id, "appId": 1, "scopes": scopes}
        return self.respond(200, payload, "TOKEN_INFO")

    def _oauth_error(self, status: str, message: str) -> web.Response:
        body = {"status": status, "message": message, "correlationId": self.state.new_id()}
        return self.respond(400, body, f"OAUTH_{status}")


def _fmt(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}"


def seconds_to_midnight(zone: tzinfo) -> float:
    """Whole seconds until the next midnight in ``zone`` (the portal's time zone)."""
    now = datetime.now(zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return float(int((midnight.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))
