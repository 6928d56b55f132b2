"""A HubSpot Single Send API simulator: a real aiohttp server for development, demos, tests, benchmarks.

``create_app(config)`` builds the application; ``await start_simulator(config)`` serves it in-process
and returns a :class:`RunningSimulator` (``.url``, ``.state``, ``.configure()``, ``.stop()``).
``consumer simulator`` runs it from the command line.
"""

from hubspot_simulator.config import (
    Faults,
    OAuthClient,
    RecipientRule,
    SimulatorConfig,
    Template,
    Window,
)
from hubspot_simulator.server import RunningSimulator, create_app, start_simulator
from hubspot_simulator.state import SimState

__all__ = [
    "Faults",
    "OAuthClient",
    "RecipientRule",
    "RunningSimulator",
    "SimState",
    "SimulatorConfig",
    "Template",
    "Window",
    "create_app",
    "start_simulator",
]
