"""Everything the generated pages and the documentation tests read from the product, imported here.

One module, so a move inside ``consumer/`` or ``schemas/`` is fixed in one place: the settings
model, the CLI application, the metrics registry, the reason codes, the event catalog, and the few
functions the documentation tests use to execute the docs' examples.
"""

from __future__ import annotations

from pathlib import Path

import schemas
from consumer import samples
from consumer.cli.app import app as CLI_APP
from consumer.errors import ConfigError
from consumer.metrics import REGISTRY as METRICS_REGISTRY
from consumer.ops.publish_input import Options as PublishOptions
from consumer.ops.publish_input import prepare as prepare_events
from consumer.ops.publish_input import read_events
from consumer.outcome import OutcomeClass, Reason
from consumer.route import Router, send_id
from consumer.settings import Environment, Settings
from consumer.settings_loader import ENV_PREFIX, load_settings
from schemas.catalog import CATALOG
from schemas.export import event_schema
from schemas.routing import RoutingConfig

SETTINGS_MODEL = Settings
"""The settings model the configuration reference is generated from."""

EXAMPLES_DIR = Path(schemas.__file__).resolve().parent / "examples"
"""``schemas/examples/<type>/valid-*.json`` and ``invalid-*.json``."""

ROOT = Path(__file__).resolve().parents[1]
"""The repository: paths shipped with the package are shown relative to it."""

DEMO_ROUTING = samples.DEMO_ROUTING
"""The routing file of the demo and the default ``SSC_ROUTING_FILE``."""

CONFIG_FILE_ENV = f"{ENV_PREFIX}CONFIG_FILE"
"""The one variable the loader reads that is not a field of the model: the optional YAML file."""

__all__ = [
    "CATALOG",
    "CLI_APP",
    "CONFIG_FILE_ENV",
    "DEMO_ROUTING",
    "ENV_PREFIX",
    "EXAMPLES_DIR",
    "METRICS_REGISTRY",
    "ROOT",
    "SETTINGS_MODEL",
    "ConfigError",
    "Environment",
    "OutcomeClass",
    "PublishOptions",
    "Reason",
    "Router",
    "RoutingConfig",
    "event_schema",
    "load_settings",
    "prepare_events",
    "read_events",
    "send_id",
]
