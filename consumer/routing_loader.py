"""The routing loader: the routing file → a checked :class:`RoutingConfig` → a built :class:`Router`.

Read once, at start-up, by whatever needs a router (the service's caller, ``consumer check``,
``dlq replay``, the console); the router itself (:mod:`consumer.route`) never touches a file. A file
that cannot be read, does not parse or does not validate is a :class:`ConfigError` under
``SSC_ROUTING_FILE``, one ``;``-separated problem each naming the route by name, at most ten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from consumer.errors import ConfigError
from consumer.route import ROUTING_FIELD, Router
from consumer.settings import Settings
from schemas.routing import RoutingConfig

_MAX_CONFIG_ERRORS = 10


def load_router(settings: Settings) -> Router:
    """The router of ``settings.routing_file`` compiled for ``settings.environment``."""
    return Router.build(load_routing(settings.routing_file), settings.environment)


def load_routing(path: Path) -> RoutingConfig:
    """Read and validate a routing file (YAML, or JSON when it ends in ``.json``); ConfigError otherwise."""
    try:
        text = path.read_bytes()
        raw = orjson.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, yaml.YAMLError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read routing file {path}: {exc}", field=ROUTING_FIELD) from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"routing file {path} must be a mapping with a 'routes' list", field=ROUTING_FIELD)
    try:
        return RoutingConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"routing file {path}: {_explain(exc, raw)}", field=ROUTING_FIELD) from exc


def _explain(exc: ValidationError, raw: dict[str, Any]) -> str:
    """One line per problem, naming the route by name (``route 'welcome'``) rather than by index."""
    listed = raw.get("routes")
    routes: list[Any] = listed if isinstance(listed, list) else []
    lines = []
    for error in exc.errors(include_url=False)[:_MAX_CONFIG_ERRORS]:
        loc = list(error["loc"])
        where = ".".join(map(str, loc)) or "file"
        if len(loc) >= 2 and loc[0] == "routes" and isinstance(loc[1], int):
            entry = routes[loc[1]] if loc[1] < len(routes) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            label = f"route '{name}'" if isinstance(name, str) else f"routes[{loc[1]}]"
            where = " ".join([label, ".".join(map(str, loc[2:]))]).strip()
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    more = len(exc.errors()) - _MAX_CONFIG_ERRORS
    return "; ".join(lines) + (f" (+{more} more)" if more > 0 else "")
