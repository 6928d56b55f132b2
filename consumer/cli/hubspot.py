"""``consumer hubspot oauth-install``: install the OAuth app into a portal, keep the refresh token."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from consumer.errors import ConsumerError

hubspot_app = typer.Typer(
    rich_markup_mode=None, help="HubSpot set-up: install the OAuth app into a portal.", no_args_is_help=True
)


@hubspot_app.command("oauth-install")
def oauth_install(  # noqa: PLR0917 - one parameter per CLI flag
    out: Annotated[
        Path, typer.Option(dir_okay=False, help="Write the refresh token here (created with mode 0600).")
    ],
    client_id: Annotated[
        str, typer.Option(envvar="SSC_HUBSPOT__AUTH__OAUTH_CLIENT_ID", help="The app's client id.")
    ],
    client_secret_file: Annotated[
        Path | None,
        typer.Option(
            envvar="SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET_FILE",
            exists=True,
            dir_okay=False,
            help="File holding the app's client secret (or SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET).",
        ),
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="Scope to request (repeatable; default transactional-email).")
    ] = None,
    port: Annotated[
        int, typer.Option(help="Loopback port of the redirect URL http://localhost:PORT/oauth-callback.")
    ] = 8765,
    base_url: Annotated[
        str, typer.Option(envvar="SSC_HUBSPOT__BASE_URL", help="HubSpot API base URL (the token endpoint).")
    ] = "https://api.hubapi.com",
    endpoint: Annotated[
        str, typer.Option("--token-path", help="Token endpoint path under the base URL.")
    ] = "/oauth/v3/token",
    authorize_url: Annotated[
        str, typer.Option(help="HubSpot's authorize page.")
    ] = "https://app.hubspot.com/oauth/authorize",
    timeout: Annotated[float, typer.Option(help="How long to wait for the approval, s.")] = 300.0,
    kubernetes_secret: Annotated[
        str | None, typer.Option(help="Also print the kubectl command storing the token in this Secret.")
    ] = None,
    namespace: Annotated[str, typer.Option(help="Namespace of --kubernetes-secret.")] = "default",
) -> None:
    """Install the OAuth app into a portal: print the authorize URL, receive the code on a loopback
    redirect, exchange it, name the portal, and write the refresh token to a file (mode 0600)."""
    import os

    from consumer.hubspot.auth import token_url
    from consumer.hubspot.install import install
    from consumer.settings import AuthSettings, HubSpotSettings

    if client_secret_file is not None:
        secret = client_secret_file.read_text(encoding="utf-8").strip()
    else:
        secret = os.environ.get("SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET", "").strip()
    if not secret:
        raise ConsumerError(
            "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET[_FILE]: the app's client secret is required"
        )
    try:  # the same URL rules as the service: https, or http to a loopback host
        HubSpotSettings(base_url=base_url, auth=AuthSettings(oauth_token_path=endpoint))
    except ValueError as exc:
        raise ConsumerError(str(exc).splitlines()[-1].strip()) from None

    def show(url: str) -> None:
        typer.echo("Open this URL, choose the portal and approve the app:\n")
        typer.echo(f"  {url}\n")
        typer.echo("Waiting for HubSpot to redirect to the loopback address ...", err=True)

    done = asyncio.run(
        install(
            token_url=token_url(base_url, endpoint),
            client_id=client_id,
            client_secret=secret,
            out=out,
            show=show,
            scopes=tuple(scope or ("transactional-email",)),
            authorize_base=authorize_url,
            port=port,
            timeout_s=timeout,
        )
    )
    portal = done.portal.hub_id if done.portal.hub_id is not None else "unknown (the answer did not say)"
    typer.echo(f"Installed into portal {portal}; scopes: {', '.join(done.portal.scopes or ()) or 'not said'}")
    typer.echo(f"Refresh token written to {out} (mode 0600): SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN_FILE")
    typer.echo(f"Set SSC_HUBSPOT__PORTAL_ID={portal} in this environment's settings.")
    if kubernetes_secret:
        typer.echo(
            f"kubectl -n {namespace} create secret generic {kubernetes_secret} "
            f"--from-file=oauth_refresh_token={out} --dry-run=client -o yaml | kubectl apply -f -"
        )
