"""Pieces of a fake Kafka consumer shared by the broker-free worker tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class NoCommittedOffsets:
    """The group coordinator of a group that has committed nothing: what the worker reads, on
    assignment, for the done offsets an earlier owner left in its commit metadata."""

    async def fetch_committed_offsets(self, tps: Iterable[Any]) -> dict[Any, Any]:
        return {}


def positions(offsets: dict[Any, Any]) -> dict[Any, int]:
    """A commit's ``{tp: (position, metadata)}`` as ``{tp: position}``."""
    return {tp: value[0] if isinstance(value, tuple) else value for tp, value in offsets.items()}
