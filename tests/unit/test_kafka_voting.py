"""The group's assignment that carries one agreed value: round robin, every member's vote to the
leader, the leader's agreement to every member."""

from __future__ import annotations

from typing import Any, cast

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocol, ConsumerProtocolMemberMetadata

from consumer.kafka import VotingAssignor, build_consumer
from consumer.settings import KafkaSettings


class Cluster:
    """The one question round robin asks of the cluster's metadata."""

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0, 1, 2, 3, 4, 5} if topic == "t" else None


def joined(user_data: bytes) -> ConsumerProtocolMemberMetadata:
    """A member's subscription as the leader reads it from the join (through the wire format)."""
    sent = ConsumerProtocolMemberMetadata(0, ["t"], user_data).encode()
    return cast(ConsumerProtocolMemberMetadata, ConsumerProtocol.METADATA.decode(sent))


def test_a_member_states_its_vote_when_it_joins() -> None:
    assignor = VotingAssignor(lambda: b"mine", lambda votes: b"", lambda agreed: None)
    assert assignor.metadata({"t", "a"}) == ConsumerProtocolMemberMetadata(0, ["a", "t"], b"mine")


def test_every_join_of_one_rebalance_states_the_same_vote() -> None:
    # a member that joins again with other metadata makes the coordinator start the rebalance over:
    # a vote that moved between the joins of one rebalance would keep the group rebalancing
    votes = iter([b"40", b"41", b"42"])
    assignor = VotingAssignor(lambda: next(votes), lambda votes: b"", lambda agreed: None)
    assert assignor.metadata(["t"]).user_data == b"40"
    assert assignor.metadata(["t"]).user_data == b"40"  # a retry of the same rebalance
    assignor.on_assignment(assignor.assign(cast(ClusterMetadata, Cluster()), {"m1": joined(b"")})["m1"])
    assert assignor.metadata(["t"]).user_data == b"41"  # the next rebalance: a fresh vote


def test_the_leader_assigns_by_round_robin_and_hands_every_member_the_agreement() -> None:
    seen: list[list[bytes | None]] = []

    def agree(votes: Any) -> bytes:
        seen.append(sorted(votes, key=lambda v: v or b""))
        return b"agreed"

    assignor = VotingAssignor(lambda: b"", agree, lambda agreed: None)
    members = {"m1": joined(b"40"), "m2": joined(b""), "m3": joined(b"44")}
    cluster = cast(ClusterMetadata, Cluster())
    assigned = assignor.assign(cluster, members)
    plain = RoundRobinPartitionAssignor.assign(cluster, members)
    assert {m: a.assignment for m, a in assigned.items()} == {m: a.assignment for m, a in plain.items()}
    assert {a.user_data for a in assigned.values()} == {b"agreed"}
    assert seen == [[b"", b"40", b"44"]]


def test_the_leader_seats_every_member_after_the_partitions_it_dealt_to_the_members_before() -> None:
    # round robin deals the six partitions over the members in the order of their ids: the members
    # before m3 hold four of them, so m3's seat is 4; each member's seat comes with the agreement
    def seat(agreed: bytes, first: int) -> bytes:
        return agreed + b":" + str(first).encode()

    assignor = VotingAssignor(lambda: b"", lambda votes: b"agreed", lambda dealt: None, seat)
    members = {"m3": joined(b""), "m1": joined(b""), "m2": joined(b"")}
    assigned = assignor.assign(cast(ClusterMetadata, Cluster()), members)
    seats = {m: a.user_data for m, a in assigned.items()}
    assert seats == {"m1": b"agreed:0", "m2": b"agreed:2", "m3": b"agreed:4"}
    assigned = assignor.assign(cast(ClusterMetadata, Cluster()), {"m2": joined(b""), "m9": joined(b"")})
    assert {m: a.user_data for m, a in assigned.items()} == {"m2": b"agreed:0", "m9": b"agreed:3"}


def test_a_member_adopts_the_agreement_it_is_assigned_with() -> None:
    adopted: list[bytes | None] = []
    assignor = VotingAssignor(lambda: b"", lambda votes: b"", adopted.append)
    assignment = assignor.assign(cast(ClusterMetadata, Cluster()), {"m1": joined(b"")})["m1"]
    assignment.user_data = b"agreed"
    assignor.on_assignment(ConsumerProtocol.ASSIGNMENT.decode(assignment.encode()))
    assert adopted == [b"agreed"]


async def test_the_voting_assignment_is_offered_alone_under_round_robins_name() -> None:
    # aiokafka sends one join per offered protocol (the second, with other metadata, restarts the
    # rebalance); under round robin's name, members that only know round robin join the same group
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1", group_id="g", topics=("t",))
    assignor = VotingAssignor(lambda: b"", lambda votes: b"", lambda agreed: None)
    assert assignor.name == RoundRobinPartitionAssignor.name == "roundrobin"
    for given, offered in [(assignor, (assignor,)), (None, (RoundRobinPartitionAssignor,))]:
        consumer = build_consumer(settings, assignor=given)
        try:
            assert consumer._partition_assignment_strategy == offered
        finally:
            await consumer.stop()
