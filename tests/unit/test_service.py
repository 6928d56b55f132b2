"""The service is given what it runs (a router built by its caller, not a routing file to read), and
waits at start for a broker that is not reachable yet but gives up on one that refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, TopicAuthorizationFailedError

from consumer.errors import ConfigError
from consumer.route import Router
from consumer.service import Service, _unreachable
from consumer.settings import Environment, Settings
from schemas.routing import RoutingConfig

WELCOME = {
    "name": "welcome",
    "event_type": "com.example.user.signed_up.v1",
    "email_id": {"dev": 11, "qa": 22, "prod": 33},
    "to": "data.email",
}


def test_the_service_runs_the_router_it_is_given_and_reads_no_routing_file(tmp_path: Path) -> None:
    router = Router.build(RoutingConfig.model_validate({"routes": [WELCOME]}), Environment.DEV)
    service = Service(Settings(routing_file=tmp_path / "absent.yaml"), router)
    assert service.router is router
    assert service.router.email_ids == {11}


@pytest.mark.parametrize(
    ("error", "waits"),
    [
        (KafkaConnectionError(), True),
        (NodeNotReadyError(), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (TopicAuthorizationFailedError(), False),
        (ConfigError("no topic", field="SSC_KAFKA__TOPICS"), False),
        (ValueError("bug"), False),
    ],
)
def test_start_up_waits_only_for_a_broker_that_is_not_reachable_yet(
    error: BaseException, waits: bool
) -> None:
    assert _unreachable(error) is waits
