"""Rate sharing through a real group: what the leader deals at a rebalance reaches every member.

Two members of one group on the real broker, each stating its estimate of the group's rate when it
joins (``VotingAssignor``): every member adopts one agreed rate and a seat after the partitions dealt
to the members before it, so their whole sends per interval add up to the group's. A member of an
older version (plain round robin, no user data) joins the same group and is assigned alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaConsumer

from consumer.hubspot import ratesharing
from consumer.kafka import VotingAssignor, build_consumer
from consumer.settings import KafkaSettings
from tests.conftest import CreateTopic

pytestmark = pytest.mark.kafka

PARTITIONS = 5  # round robin deals 3 and 2: the seats tell the members apart


@dataclass
class Member:
    """A group member and, if it votes, everything its leaders handed it."""

    consumer: AIOKafkaConsumer
    dealt: list[bytes | None] = field(default_factory=list)

    def owned(self) -> int:
        return len(self.consumer.assignment())


def settings(bootstrap: str, topic: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        topics=(topic,),
        group_id=f"g.{topic}",
        session_timeout_ms=6_000,
        heartbeat_interval_ms=200,
    )


async def joined(kafka: KafkaSettings, rate: float | None) -> Member:
    """A started member that votes ``rate`` (a member of an older version for None)."""
    if rate is None:
        member = Member(build_consumer(kafka))
    else:
        dealt: list[bytes | None] = []
        assignor = VotingAssignor(
            lambda: ratesharing.stating(rate), ratesharing.agree, dealt.append, ratesharing.seat
        )
        member = Member(build_consumer(kafka, assignor=assignor), dealt)
    member.consumer.subscribe(list(kafka.topics))
    await member.consumer.start()
    return member


async def settled(*members: Member) -> None:
    """Until the members hold every partition between them, each some (they poll meanwhile)."""
    async with asyncio.timeout(60):
        while not (all(m.owned() for m in members) and sum(m.owned() for m in members) == PARTITIONS):
            await asyncio.gather(*(m.consumer.getmany(timeout_ms=100) for m in members))


async def group(kafka: KafkaSettings, *rates: float | None) -> list[Member]:
    """Members that join one after another, each once the ones before it hold every partition."""
    members: list[Member] = []
    for rate in rates:
        members.append(await joined(kafka, rate))
        await settled(*members)
    return members


def seat_and_rate(dealt: bytes | None) -> tuple[int, float] | None:
    """The seat and the agreed rate a member takes from what a leader of this version dealt; None
    for anything else."""
    taken = ratesharing.adopt(ratesharing.Sharing(), dealt, now=0.0)
    if taken.seat is None or taken.group is None:
        return None
    return taken.seat, taken.group.rate


async def test_every_member_adopts_one_rate_and_a_seat_after_the_partitions_dealt_before_it(
    kafka_bootstrap: str, create_topic: CreateTopic
) -> None:
    kafka = settings(kafka_bootstrap, await create_topic(partitions=PARTITIONS))
    members = await group(kafka, 40.0, 30.0)
    try:
        first, second = sorted(members, key=lambda m: seat_and_rate(m.dealt[-1]) or (0, 0.0))
        assert seat_and_rate(first.dealt[-1]) == (0, 35.0)  # the mean of the two estimates
        assert seat_and_rate(second.dealt[-1]) == (first.owned(), 35.0)
        whole = {}  # partitions owned -> whole sends per interval
        for m in members:
            state = ratesharing.Sharing(part=m.owned() / PARTITIONS, owned=m.owned(), total=PARTITIONS)
            whole[m.owned()] = ratesharing.allowance(ratesharing.adopt(state, m.dealt[-1], now=0.0), 50)
        assert whole == {2: 14, 3: 21}  # the group's 35: 2/5 and 3/5 of them
    finally:
        await asyncio.gather(*(m.consumer.stop() for m in members))


@pytest.mark.parametrize("older_leads", [True, False])
async def test_a_member_of_an_older_version_shares_the_group_and_its_partitions(
    kafka_bootstrap: str, create_topic: CreateTopic, older_leads: bool
) -> None:
    # the group's first member leads it: an older leader deals no seat (the voting member keeps its
    # own estimate and paces its fraction), a voting leader seats the older member, which ignores it
    kafka = settings(kafka_bootstrap, await create_topic(partitions=PARTITIONS))
    rates = (None, 40.0) if older_leads else (40.0, None)
    members = await group(kafka, *rates)
    try:
        (voting,) = [m for m in members if m.dealt]
        (older,) = [m for m in members if not m.dealt]
        handed = seat_and_rate(voting.dealt[-1])
        if older_leads:
            assert handed is None
        else:
            assert handed in [(0, 40.0), (older.owned(), 40.0)]  # its seat: first, or after the older one
        assert not voting.consumer.assignment() & older.consumer.assignment()
    finally:
        await asyncio.gather(*(m.consumer.stop() for m in members))
