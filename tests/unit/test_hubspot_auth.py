"""Building auth providers from settings: missing credentials name the setting; hapikey warns."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from consumer.errors import ConfigError
from consumer.hubspot.auth import BearerTokenAuth, HapikeyAuth, OAuthAuth, build_auth, token_url
from consumer.settings import AuthMode, AuthSettings

BASE = "https://api.hubapi.com"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (AuthSettings(), "SSC_HUBSPOT__AUTH__TOKEN"),
        (AuthSettings(token=SecretStr("   ")), "SSC_HUBSPOT__AUTH__TOKEN"),
        (AuthSettings(mode=AuthMode.HAPIKEY), "SSC_HUBSPOT__AUTH__HAPIKEY"),
        (AuthSettings(mode=AuthMode.OAUTH), "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_ID"),
        (AuthSettings(mode=AuthMode.OAUTH, oauth_client_id="c"), "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET"),
        (
            AuthSettings(mode=AuthMode.OAUTH, oauth_client_id="c", oauth_client_secret=SecretStr("s" * 8)),
            "SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN",
        ),
    ],
)
def test_a_missing_credential_is_a_config_error_naming_the_setting(
    settings: AuthSettings, field: str
) -> None:
    with pytest.raises(ConfigError) as error:
        build_auth(settings, base_url=BASE)
    assert error.value.field == field


def test_an_unreadable_or_empty_token_file_names_the_file_setting(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for path in (tmp_path / "missing", empty):
        with pytest.raises(ConfigError) as error:
            build_auth(AuthSettings(token_file=path), base_url=BASE)
        assert error.value.field == "SSC_HUBSPOT__AUTH__TOKEN_FILE"


def test_the_token_file_wins_over_the_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file-123456\n")
    auth = build_auth(AuthSettings(token=SecretStr("from-env-123456"), token_file=token_file), base_url=BASE)
    assert isinstance(auth, BearerTokenAuth)


async def test_providers_put_the_credential_where_hubspot_expects_it(tmp_path: Path) -> None:
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    await build_auth(AuthSettings(token=SecretStr("tok-123456")), base_url=BASE).apply(headers, params)
    assert (headers, params) == ({"Authorization": "Bearer tok-123456"}, {})
    headers, params = {}, {}
    legacy = build_auth(AuthSettings(mode=AuthMode.HAPIKEY, hapikey=SecretStr("key-123456")), base_url=BASE)
    assert isinstance(legacy, HapikeyAuth)
    await legacy.apply(headers, params)
    assert (headers, params) == ({}, {"hapikey": "key-123456"})


def test_hapikey_mode_warns_that_hubspot_sunset_it() -> None:
    with capture_logs() as events:
        build_auth(AuthSettings(mode=AuthMode.HAPIKEY, hapikey=SecretStr("key-123456")), base_url=BASE)
    (event,) = [e for e in events if e["event"] == "auth.hapikey_deprecated"]
    assert event["log_level"] == "warning"
    assert "2022" in event["detail"]


def test_the_oauth_token_endpoint_is_configurable() -> None:
    oauth = AuthSettings(
        mode=AuthMode.OAUTH,
        oauth_client_id="c",
        oauth_client_secret=SecretStr("secret-1"),
        oauth_refresh_token=SecretStr("refresh-1"),
        oauth_token_path="/oauth/v3/token",
    )
    auth = build_auth(oauth, base_url=BASE + "/")
    assert isinstance(auth, OAuthAuth)
    assert "https://api.hubapi.com/oauth/v3/token" in repr(auth)
    assert token_url(BASE, "https://auth.example.test/token") == "https://auth.example.test/token"


async def test_a_token_file_reread_reports_whether_the_token_changed(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-123456")
    auth = build_auth(AuthSettings(token_file=token_file), base_url=BASE)
    assert await auth.refresh() is False
    token_file.write_text("second-123456")
    assert await auth.refresh() is True
    headers: dict[str, str] = {}
    await auth.apply(headers, {})
    assert headers["Authorization"] == "Bearer second-123456"
