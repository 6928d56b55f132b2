"""Removing a static member from its consumer group (KIP-345), which aiokafka does not do.

A member with ``group.instance.id`` (static membership) sends no LeaveGroup when it stops: the broker
keeps its partitions assigned to it until ``session.timeout.ms`` passes, so a member that comes back
under the same id within that time gets them back without a rebalance. A member that is not coming
back (a scale-in, a batch run that finished) leaves them unowned for the whole session timeout.
:func:`leave_group` removes it at once: LeaveGroup v3+ names the member by its instance id, as Kafka's
own ``Admin.removeMembersFromConsumerGroup`` does. Call it only once the member has stopped: a running
member that is removed is fenced and rejoins.
"""

from __future__ import annotations

from typing import Any

from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.errors import KafkaError, UnknownMemberIdError, for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

from consumer.errors import KafkaUnavailable
from consumer.kafka import security_kwargs
from consumer.logs import get_logger
from consumer.settings import KafkaSettings

log = get_logger("consumer.membership")

_UNKNOWN_MEMBER_ID = ""  # the broker then finds the static member by its instance id


class _LeaveGroupResponseV3(Response):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("members", Array(("member_id", String()), ("group_instance_id", String()), ("error_code", Int16))),
    )


class _LeaveGroupRequestV3(RequestStruct):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = _LeaveGroupResponseV3
    SCHEMA = Schema(
        ("group_id", String()),
        ("members", Array(("member_id", String()), ("group_instance_id", String()))),
    )


class _LeaveGroup(Request[_LeaveGroupRequestV3]):  # type: ignore[misc]
    API_KEY = 13

    def __init__(self, group_id: str, instance_ids: tuple[str, ...]) -> None:
        self.group_id = group_id
        self.instance_ids = instance_ids

    def build(self, request_struct_class: type[_LeaveGroupRequestV3]) -> _LeaveGroupRequestV3:
        members = [(_UNKNOWN_MEMBER_ID, instance) for instance in self.instance_ids]
        return request_struct_class(self.group_id, members)


async def leave_group(settings: KafkaSettings, instance_id: str) -> bool:
    """Remove the stopped static member ``instance_id`` from ``settings.group_id`` now.

    False when it was not a member (never joined, expired, already removed): not an error.
    """
    client = AIOKafkaClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.client_id}-leave",
        request_timeout_ms=settings.request_timeout_ms,
        **security_kwargs(settings.security),
    )
    try:
        await client.bootstrap()
        node = await client.coordinator_lookup(CoordinationType.GROUP, settings.group_id)
        response: Any = await client.send(node, _LeaveGroup(settings.group_id, (instance_id,)))
    except KafkaError as exc:
        raise KafkaUnavailable(
            f"cannot remove member {instance_id} from group {settings.group_id}: {exc}"
        ) from exc
    finally:
        await client.close()
    errors = [response.error_code, *(code for _, _, code in response.members)]
    failed = [for_code(code) for code in errors if code not in (0, UnknownMemberIdError.errno)]
    if failed:
        raise KafkaUnavailable(
            f"cannot remove member {instance_id} from group {settings.group_id}: {failed[0].__name__}"
        )
    return UnknownMemberIdError.errno not in errors


async def leave_after_stop(settings: KafkaSettings, *, finished: bool) -> None:
    """After the member stopped: a static member that is not coming back leaves its group now.

    Not coming back: a run that ended because its work is done (``finished``, ``--until-drained``),
    or every stop when ``leave_group_on_stop`` is set. Otherwise its partitions wait for it until
    the session timeout (a restart under the same instance id gets them back without a rebalance).
    A dynamic member has already left (aiokafka sends LeaveGroup itself). Never raises: the member
    is gone either way, at the latest after the session timeout.
    """
    instance = settings.group_instance_id
    if instance is None or not (finished or settings.leave_group_on_stop):
        return
    try:
        removed = await leave_group(settings, instance)
    except KafkaUnavailable as exc:
        log.warning("kafka.group_leave_failed", group=settings.group_id, instance=instance, error=str(exc))
    else:
        log.info("kafka.group_left", group=settings.group_id, instance=instance, was_member=removed)
