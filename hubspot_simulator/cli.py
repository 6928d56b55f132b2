"""``consumer simulator``: serve the HubSpot simulator until SIGINT/SIGTERM (thin wrapper)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from consumer.loopback import is_loopback
from hubspot_simulator.config import (
    DEFAULT_ERROR_STATUSES,
    Faults,
    RecipientRule,
    SimulatorConfig,
    parse_hidden_limit,
    parse_oauth_client,
    parse_rate_limit,
    parse_rule,
    parse_template,
    parse_token_portal,
)
from hubspot_simulator.server import start_simulator


def build_config(  # the CLI's flags, as plain values (tests call this directly)
    *,
    token: list[str] | None = None,
    token_without_scope: list[str] | None = None,
    template: list[str] | None = None,
    bounce: list[str] | None = None,
    invalid: list[str] | None = None,
    result: list[str] | None = None,
    oauth_client: list[str] | None = None,
    access_token_ttl: float = 1800.0,
    rotate_refresh_tokens: bool = False,
    rate_limit: str | None = None,
    rate_limit_retry_after: float | None = None,
    hidden_limit: str | None = None,
    daily_limit: int | None = None,
    daily_retry_after: float | None = None,
    latency_ms: float = 0.0,
    latency_jitter_ms: float = 0.0,
    error_rate: float = 0.0,
    error_status: list[int] | None = None,
    error_retry_after: float | None = None,
    rate_429: float = 0.0,
    retry_after_429: float | None = None,
    hang_rate: float = 0.0,
    hang_s: float = 30.0,
    complete_after_ms: float = 0.0,
    missing_properties_status: int = 200,
    strict_dated: bool = False,
    ledger: Path | None = None,
    seed: int | None = None,
    daily_no_retry_after: bool = False,
    portal_timezone: str = "UTC",
    portal_id: int = 62_515_001,
    unknown_version_empty: bool = False,
    allow_hapikey: bool = False,
    idempotent_fail: bool = False,
    token_portal: list[str] | None = None,
) -> SimulatorConfig:
    rules = [RecipientRule(p, "PREVIOUSLY_BOUNCED") for p in bounce or ()]
    rules += [RecipientRule(p, "INVALID_TO_ADDRESS") for p in invalid or ()]
    rules += [parse_rule(r) for r in result or ()]
    limit, interval_ms = parse_rate_limit(rate_limit) if rate_limit else (None, 10_000)
    faults = Faults()
    faults.update(
        {
            "latency_ms": latency_ms,
            "latency_jitter_ms": latency_jitter_ms,
            "error_rate": error_rate,
            "error_statuses": error_status or list(DEFAULT_ERROR_STATUSES),
            "error_retry_after_s": error_retry_after,
            "rate_429": rate_429,
            "retry_after_429_s": retry_after_429,
            "hang_rate": hang_rate,
            "hang_s": hang_s,
        },
        0.0,
    )
    if missing_properties_status not in (200, 400):
        raise ValueError("--missing-properties-status: 200 or 400")
    try:
        ZoneInfo(portal_timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(
            f"--portal-timezone: an IANA time zone such as Europe/Berlin, got {portal_timezone!r}"
        ) from None
    return SimulatorConfig(
        tokens=tuple(token or ()),
        tokens_without_scope=tuple(token_without_scope or ()),
        templates=tuple(parse_template(t) for t in template or ()),
        rules=tuple(rules),
        oauth_clients=tuple(parse_oauth_client(c) for c in oauth_client or ()),
        access_token_ttl_s=access_token_ttl,
        rotate_refresh_tokens=rotate_refresh_tokens,
        rate_limit=limit,
        rate_interval_ms=interval_ms,
        rate_limit_retry_after_s=rate_limit_retry_after,
        rate_limit_hidden=parse_hidden_limit(hidden_limit),
        daily_limit=daily_limit,
        daily_retry_after_s=daily_retry_after,
        complete_after_ms=complete_after_ms,
        missing_properties_status=missing_properties_status,
        strict_dated_required=strict_dated,
        faults=faults,
        ledger=ledger,
        seed=seed,
        daily_retry_after=not daily_no_retry_after,
        portal_timezone=portal_timezone,
        portal_id=portal_id,
        unknown_version_body=not unknown_version_empty,
        allow_hapikey=allow_hapikey,
        idempotent_fail=idempotent_fail,
        token_portals=tuple(parse_token_portal(t) for t in token_portal or ()),
    )


CONTROL_TOKEN_ENV = "SSC_SIMULATOR_CONTROL_TOKEN"


def read_control_token(path: Path | None) -> str | None:
    """The control token from ``--control-token-file``, else ``SSC_SIMULATOR_CONTROL_TOKEN`` (never argv)."""
    if path is None:
        return os.environ.get(CONTROL_TOKEN_ENV, "").strip() or None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"--control-token-file: cannot read {path} ({type(exc).__name__})") from None
    if not token:
        raise ValueError(f"--control-token-file: {path} is empty")
    return token


async def serve(config: SimulatorConfig, host: str, port: int, control_token: str | None = None) -> None:
    running = await start_simulator(config, host, port, control_token=control_token)
    typer.echo(f"HubSpot simulator listening on {running.url}", err=True)
    if control_token is None and not is_loopback(host):
        typer.echo("control API disabled: not on loopback and no control token", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await running.stop()
        typer.echo(f"HubSpot simulator stopped: {running.state.stats_json()}", err=True)


def simulator(  # noqa: PLR0917 - one parameter per CLI flag
    host: Annotated[
        str,
        typer.Option(help="Address to bind. Beyond loopback the control API needs a control token."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0: a free port).")] = 8025,
    token: Annotated[
        list[str] | None,
        typer.Option(help="Accepted bearer token / hapikey (repeatable). None: any credential is accepted."),
    ] = None,
    token_without_scope: Annotated[
        list[str] | None,
        typer.Option(help="A token that authenticates but lacks transactional-email: 403 MISSING_SCOPES."),
    ] = None,
    template: Annotated[
        list[str] | None,
        typer.Option(
            help="Known emailId with optional required properties: ID[:prop,prop] (repeatable). "
            "None: any emailId is accepted."
        ),
    ] = None,
    bounce: Annotated[
        list[str] | None, typer.Option(help="Recipient glob answered PREVIOUSLY_BOUNCED (repeatable).")
    ] = None,
    invalid: Annotated[
        list[str] | None, typer.Option(help="Recipient glob answered INVALID_TO_ADDRESS (repeatable).")
    ] = None,
    result: Annotated[
        list[str] | None,
        typer.Option(help="Recipient glob answered any sendResult: PATTERN=SEND_RESULT (repeatable)."),
    ] = None,
    oauth_client: Annotated[
        list[str] | None,
        typer.Option(
            help="OAuth app for the refresh-token grant: CLIENT_ID:SECRET:REFRESH_TOKEN (repeatable)."
        ),
    ] = None,
    access_token_ttl: Annotated[
        float, typer.Option(help="OAuth access-token lifetime (expires_in), s.")
    ] = 1800.0,
    rotate_refresh_tokens: Annotated[
        bool, typer.Option(help="Issue a new refresh token on every refresh (the old one stops working).")
    ] = False,
    rate_limit: Annotated[
        str | None, typer.Option(help="Per-credential rolling limit N/INTERVAL, e.g. 100/10s or 50/1s.")
    ] = None,
    rate_limit_retry_after: Annotated[
        float | None, typer.Option(help="Retry-After (s) on the limiter's 429; default: no header.")
    ] = None,
    hidden_limit: Annotated[
        str | None,
        typer.Option(
            help="Hide --rate-limit: no X-HubSpot-RateLimit-* headers; refuse with 429 or throttled "
            "(a 200 with sendResult THROTTLED)."
        ),
    ] = None,
    daily_limit: Annotated[
        int | None, typer.Option(help="Requests per credential per day: 429 DAILY.")
    ] = None,
    daily_retry_after: Annotated[
        float | None,
        typer.Option(help="Retry-After (s) on DAILY 429s; default: seconds to the portal's midnight."),
    ] = None,
    latency_ms: Annotated[float, typer.Option(help="Base latency of every API answer, ms.")] = 0.0,
    latency_jitter_ms: Annotated[
        float, typer.Option(help="Extra latency, uniform in [0, jitter], ms.")
    ] = 0.0,
    error_rate: Annotated[
        float, typer.Option(help="Probability of an injected 5xx (nothing recorded).")
    ] = 0.0,
    error_status: Annotated[
        list[int] | None, typer.Option(help="5xx codes to inject (repeatable; default 500 502 503 504).")
    ] = None,
    error_retry_after: Annotated[float | None, typer.Option(help="Retry-After (s) on injected 5xx.")] = None,
    rate_429: Annotated[
        float, typer.Option(help="Probability of an injected 429 TEN_SECONDLY_ROLLING.")
    ] = 0.0,
    retry_after_429: Annotated[float | None, typer.Option(help="Retry-After (s) on injected 429s.")] = None,
    hang_rate: Annotated[
        float, typer.Option(help="Probability of accept-then-hang: record the email, answer after --hang-s.")
    ] = 0.0,
    hang_s: Annotated[float, typer.Option(help="How long an accept-then-hang answer is delayed, s.")] = 30.0,
    complete_after_ms: Annotated[
        float, typer.Option(help="send-statuses reports COMPLETE this long after acceptance, ms.")
    ] = 0.0,
    missing_properties_status: Annotated[
        int, typer.Option(help="Missing template properties: 200 (sendResult) or 400 (VALIDATION_ERROR).")
    ] = 200,
    strict_dated: Annotated[
        bool, typer.Option(help="Dated API paths require every field their spec marks required.")
    ] = False,
    ledger: Annotated[
        Path | None, typer.Option(help="Append every accepted email as a JSON line here.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for faults, latency and ids (deterministic runs).")
    ] = None,
    daily_no_retry_after: Annotated[
        bool, typer.Option(help="DAILY 429s carry no Retry-After (HubSpot's header is unverified).")
    ] = False,
    portal_timezone: Annotated[
        str, typer.Option(help="IANA time zone of the portal: the DAILY budget resets at its midnight.")
    ] = "UTC",
    portal_id: Annotated[
        int, typer.Option(help="The portal's hub id (named in OAuth token answers).")
    ] = 62_515_001,
    unknown_version_empty: Annotated[
        bool, typer.Option(help="Answer an unknown API version with an empty 404 instead of HubSpot's JSON.")
    ] = False,
    allow_hapikey: Annotated[
        bool, typer.Option(help="Accept ?hapikey= (HubSpot sunset API keys; refused with 401 by default).")
    ] = False,
    idempotent_fail: Annotated[
        bool, typer.Option(help="A sendId repeated with a different body answers IDEMPOTENT_FAIL.")
    ] = False,
    token_portal: Annotated[
        list[str] | None,
        typer.Option(help="An accepted token of another portal: TOKEN=HUB_ID (repeatable; with --token)."),
    ] = None,
    control_token_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the bearer token of the /_simulator/ control API (else the "
            "SSC_SIMULATOR_CONTROL_TOKEN variable). Without one, the control API answers on loopback only."
        ),
    ] = None,
) -> None:
    """Serve a faithful HubSpot Single Send API simulator (control API under /_simulator/)."""
    try:
        config = build_config(
            token=token,
            token_without_scope=token_without_scope,
            template=template,
            bounce=bounce,
            invalid=invalid,
            result=result,
            oauth_client=oauth_client,
            access_token_ttl=access_token_ttl,
            rotate_refresh_tokens=rotate_refresh_tokens,
            rate_limit=rate_limit,
            rate_limit_retry_after=rate_limit_retry_after,
            hidden_limit=hidden_limit,
            daily_limit=daily_limit,
            daily_retry_after=daily_retry_after,
            latency_ms=latency_ms,
            latency_jitter_ms=latency_jitter_ms,
            error_rate=error_rate,
            error_status=error_status,
            error_retry_after=error_retry_after,
            rate_429=rate_429,
            retry_after_429=retry_after_429,
            hang_rate=hang_rate,
            hang_s=hang_s,
            complete_after_ms=complete_after_ms,
            missing_properties_status=missing_properties_status,
            strict_dated=strict_dated,
            ledger=ledger,
            seed=seed,
            daily_no_retry_after=daily_no_retry_after,
            portal_timezone=portal_timezone,
            portal_id=portal_id,
            unknown_version_empty=unknown_version_empty,
            allow_hapikey=allow_hapikey,
            idempotent_fail=idempotent_fail,
            token_portal=token_portal,
        )
        control_token = read_control_token(control_token_file)
    except (ValueError, TypeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    asyncio.run(serve(config, host, port, control_token))
