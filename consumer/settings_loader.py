"""The settings loader: environment variables, the YAML config file and secret files → :class:`Settings`.

Sources, highest priority first: explicit arguments (tests), environment variables with the prefix
``SSC_`` and ``__`` for nesting (``SSC_KAFKA__BOOTSTRAP_SERVERS``), then an optional YAML config file
(``--config`` / ``SSC_CONFIG_FILE``). Secrets (HubSpot token, OAuth client secret and refresh token,
hapikey, SASL password) come from the environment or from a mounted file (``*_file``), never from the
config file or argv: a config file that sets one is refused.

:func:`load_settings` reports every problem at once, one line each naming the variable or file key
(:mod:`consumer.settings_report`): invalid values, JSON that does not parse inside a variable, a
``SSC_*`` variable no setting reads (with the closest known name), secrets in the file, secret files
that cannot be read. It returns the plain frozen :class:`~consumer.settings.Settings` value;
pydantic-settings is used here and nowhere else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from consumer import settings_report
from consumer.errors import SettingsInvalid
from consumer.settings import Settings

ENV_PREFIX = "SSC_"


_SECRET_KEYS = {
    ("hubspot", "auth", "token"),
    ("hubspot", "auth", "oauth_client_secret"),
    ("hubspot", "auth", "oauth_refresh_token"),
    ("hubspot", "auth", "hapikey"),
    ("kafka", "security", "sasl_password"),
    ("observability", "recipient_hash_key"),
}


def read_config_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The YAML config file as a mapping, and its problems (unreadable, not a mapping, secrets in it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else str(exc).replace("\n", " ")
        return {}, [f"{path}: cannot read the config file: {detail}"]
    if not isinstance(data, dict):
        return {}, [f"{path}: the config file must be a mapping of settings"]
    problems = []
    for keys in sorted(_SECRET_KEYS):
        node: Any = data
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            problems.append(
                f"{path}: {'.'.join(keys)}: secrets are not read from the config file; "
                "use the environment or a *_file setting"
            )
    return data, problems


def _secret_file_problems(environ: dict[str, str], data: dict[str, Any]) -> list[str]:
    """A ``*_file`` secret that is set (environment first, then the file) must be readable and not empty."""
    upper = {k.upper(): v for k, v in environ.items()}
    problems = []
    for *section, name in sorted(_SECRET_KEYS):
        keys = (*section, f"{name}_file")
        variable = settings_report.env_name(ENV_PREFIX, keys)
        node: Any = data
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        value = upper.get(variable, node)
        if not value or not isinstance(value, str):
            continue
        where = variable if variable in upper else ".".join(keys)
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            problems.append(f"{where}: cannot read the secret file {value}: {detail}")
            continue
        if not text.strip():
            problems.append(f"{where}: the secret file {value} is empty")
    return problems


class _YamlFileSource(PydanticBaseSettingsSource):
    """The config file's settings, read and checked by :func:`read_config_file` beforehand."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return self.data


class _EnvSource(EnvSettingsSource):
    """Environment variables; JSON that does not parse is handed to validation, which names the variable."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError as exc:
            return settings_report.Undecodable(str(exc))


class _FromSources(BaseSettings, Settings):
    """:class:`Settings` read from the sources above (the same fields and validators)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        case_sensitive=False,
    )
    _config_data: ClassVar[dict[str, Any]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _EnvSource(settings_cls), _YamlFileSource(settings_cls, cls._config_data)


def load_settings(
    config_file: Path | None = None, *, check_secret_files: bool = True, **overrides: Any
) -> Settings:
    """Build settings from env + optional file; every problem at once as :class:`SettingsInvalid`.

    ``check_secret_files=False`` skips reading the ``*_file`` secrets (a deployment's settings checked
    outside the container that mounts them)."""
    data, problems = read_config_file(config_file) if config_file is not None else ({}, [])
    environ = dict(os.environ)
    problems += settings_report.unknown_variables(Settings, ENV_PREFIX, environ)
    if check_secret_files:
        problems += _secret_file_problems(environ, data)
    _FromSources._config_data = data
    try:
        loaded = _FromSources(**overrides)
    except ValidationError as exc:
        problems += settings_report.validation_problems(
            exc,
            model=Settings,
            prefix=ENV_PREFIX,
            environ=environ,
            file_data=data,
            file_name=str(config_file) if config_file is not None else None,
        )
    finally:
        _FromSources._config_data = {}
    if problems:
        raise SettingsInvalid(problems)
    # validated above by the same validators: the plain value, without the loader's machinery
    return Settings.model_construct(loaded.model_fields_set, **dict(loaded))


def effective_settings(config_file: Path | None = None) -> list[settings_report.Entry]:
    """The effective settings, secrets redacted, each with its source (``consumer config show``)."""
    settings = load_settings(config_file)
    data = read_config_file(config_file)[0] if config_file is not None else {}
    return settings_report.effective(settings, prefix=ENV_PREFIX, environ=dict(os.environ), file_data=data)
