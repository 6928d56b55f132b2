"""The per-credential rate limiter with a fake clock: rolling budget, headers, throttle, holds."""

from __future__ import annotations

import asyncio
import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from consumer import metrics
from consumer.hubspot import ratesharing
from consumer.hubspot.ratelimit import RateLimiter
from consumer.metrics import REGISTRY
from consumer.settings import RateLimitSettings

REMAINING = "ssc_hubspot_ratelimit_remaining_requests"
TOKENS = "ssc_rate_limiter_budget_requests"


class FakeTime:
    def __init__(self) -> None:
        self.now = 500.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def limiter(fake: FakeTime, **fields: object) -> RateLimiter:
    values: dict[str, object] = {
        "requests_per_interval": 10,
        "interval_ms": 1_000,
        "window_guard_ratio": 0.0,
        "mode": "fixed",
    }
    values.update(fields)
    return RateLimiter(RateLimitSettings.model_validate(values), sleep=fake.sleep, clock=fake.clock)


async def settled(fake: FakeTime, **fields: object) -> RateLimiter:
    """A limiter that has been sending for longer than one interval (past its first window, whose
    answers cannot measure its share), with nothing of its own left in the window."""
    rl = limiter(fake, **fields)
    await rl.acquire()
    fake.now += rl.interval_s * 1.01
    return rl


def window(remaining: int, maximum: int = 10) -> dict[str, str]:
    """HubSpot's rate-limit headers: the app's maximum per interval and what is left of it."""
    return {"X-HubSpot-RateLimit-Max": str(maximum), "X-HubSpot-RateLimit-Remaining": str(remaining)}


async def sends_at_once(rl: RateLimiter, fake: FakeTime, up_to: int = 20) -> int:
    """How many sends the limiter lets through now, before the (fake) clock has to move."""
    start = fake.now
    for sent in range(up_to):
        await rl.acquire()
        if fake.now > start:
            return sent
    return up_to


async def sends_within(rl: RateLimiter, fake: FakeTime, seconds: float, up_to: int = 20) -> int:
    """How many sends the limiter lets through before ``seconds`` have passed on the (fake) clock."""
    end = fake.now + seconds
    for sent in range(up_to):
        if await rl.acquire() >= end:
            return sent
    return up_to


async def acquire_times(rl: RateLimiter, fake: FakeTime, n: int) -> list[float]:
    times = []
    for _ in range(n):
        await rl.acquire()
        times.append(fake.now)
    return times


async def test_no_more_than_the_budget_goes_out_in_any_window() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    times = await acquire_times(rl, fake, 35)
    for t in times:
        assert sum(1 for u in times if t - 1.0 < u <= t) <= 10
    assert times[9] == times[0]  # the first ten go at once
    assert times[10] == pytest.approx(times[0] + 1.0)  # the eleventh when the first rolls off


@settings(max_examples=50, deadline=None)
@given(
    budget=st.integers(1, 30),
    gaps=st.lists(st.floats(0, 0.3), min_size=1, max_size=60),
    guard=st.floats(0, 0.2),
)
def test_the_rolling_budget_holds_for_any_arrival_pattern(
    budget: int, gaps: list[float], guard: float
) -> None:
    async def run() -> list[float]:
        fake = FakeTime()
        rl = limiter(fake, requests_per_interval=budget, window_guard_ratio=guard)
        times = []
        for gap in gaps:
            fake.now += gap
            await rl.acquire()
            times.append(fake.now)
        return times

    times = asyncio.run(run())
    for t in times:
        assert sum(1 for u in times if t - 1.0 * (1 + guard) < u <= t) <= budget


async def test_a_static_replica_share_divides_the_budget() -> None:
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100, replica_share=0.25)
    assert rl.budget == 25


async def test_headers_adapt_budget_and_interval() -> None:
    fake = FakeTime()
    rl = limiter(fake, replica_share=0.5)
    rl.observe({"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert rl.budget == 95
    assert rl.interval_s == 10.0


async def test_headers_are_ignored_when_adaptation_is_off() -> None:
    fake = FakeTime()
    rl = limiter(fake, adapt_from_headers=False)
    rl.observe({"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "0"})
    assert rl.budget == 10
    await asyncio.wait_for(rl.acquire(), 1)
    assert fake.now == 500.0


async def test_remaining_from_another_replica_caps_this_one() -> None:
    # HubSpot counts the app: we sent 5, another replica 2, so after our fifth request Remaining is 3.
    # We used 5/7 of what was counted and claim that share of the rest: floor(3 * 5/7) = 2 more.
    fake = FakeTime()
    rl = await settled(fake)
    await acquire_times(rl, fake, 5)
    rl.observe(window(remaining=3), sent_at=fake.now)
    assert await sends_at_once(rl, fake) == 2  # the third must wait for the window to move


async def test_alone_the_cap_is_exactly_what_hubspot_has_left() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    await acquire_times(rl, fake, 4)
    rl.observe(window(remaining=6), sent_at=fake.now)
    assert await sends_at_once(rl, fake) == 6


async def test_an_older_answer_does_not_override_a_newer_one() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    await rl.acquire()
    first = fake.now
    fake.now += 0.1
    await rl.acquire()
    rl.observe({"X-HubSpot-RateLimit-Remaining": "5"}, sent_at=fake.now)
    rl.observe({"X-HubSpot-RateLimit-Remaining": "0"}, sent_at=first)  # stale: ignored
    await asyncio.wait_for(rl.acquire(), 1)
    assert fake.now == pytest.approx(first + 0.1)


async def test_throttle_makes_every_sender_wait_out_retry_after() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.throttle(3.0)
    start = fake.now
    await asyncio.gather(rl.acquire(), rl.acquire())
    assert fake.now - start >= 3.0


async def test_a_429_while_the_window_has_room_does_not_slow_the_other_senders() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    await rl.acquire()
    rl.observe(window(remaining=9))
    rl.throttle(None)  # refused, but not because of our rate: HubSpot says the window has room
    start = fake.now
    await asyncio.wait_for(asyncio.gather(rl.acquire(), rl.acquire()), 1)
    assert fake.now == start


async def test_a_429_with_a_full_window_caps_every_sender_at_what_is_in_the_window() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    await acquire_times(rl, fake, 3)
    rl.observe(window(remaining=0))
    rl.throttle(None)
    start = fake.now
    await rl.acquire()  # no new send until one of ours rolls out of the window
    assert fake.now - start > 0.5


async def test_a_hold_blocks_until_released_but_a_probe_passes() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.hold("breaker")
    assert rl.held
    waiter = asyncio.ensure_future(rl.acquire())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    await asyncio.wait_for(rl.acquire(probe=True), 1)
    rl.release("breaker")
    await asyncio.wait_for(waiter, 1)
    assert not rl.held


async def test_a_timed_hold_ends_by_itself() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.hold_for("daily_limit", 60.0)
    start = fake.now
    await rl.acquire()
    assert fake.now - start >= 60.0
    assert not rl.held


async def test_the_measured_share_shapes_the_next_windows_then_recovers() -> None:
    # We sent 5 of the 10 HubSpot counted: in the next window plan for half the budget, not all of it.
    fake = FakeTime()
    rl = await settled(fake)
    await acquire_times(rl, fake, 5)
    rl.observe(window(remaining=0), sent_at=fake.now)
    fake.now += 1.01  # the window (and the cap) moved on
    assert await sends_at_once(rl, fake) == 5
    fake.now += 3.0  # three intervals without an answer: the others may be gone
    again = fake.now
    assert (await acquire_times(rl, fake, 10)) == [again] * 10


async def test_refused_sends_do_not_count_as_our_share_of_the_app() -> None:
    # We sent 6 and HubSpot refused 2 of them; it then reports 6 of 10 used: our 4 and another
    # replica's 2. In the next window we plan for our share, 4/6 of the budget (6 sends), not all of
    # it as if the refused sends had been ours.
    fake = FakeTime()
    rl = await settled(fake)
    stamps = [await rl.acquire() for _ in range(6)]
    for refused in stamps[-2:]:
        rl.observe(window(remaining=0), sent_at=refused)
        rl.throttle(None, sent_at=refused)
    rl.observe(window(remaining=4), sent_at=stamps[-1])
    fake.now += 1.01  # the window (and the cap) moved on
    assert await sends_at_once(rl, fake) == 6


async def test_a_nearly_empty_window_does_not_remeasure_our_share() -> None:
    # Half of what HubSpot counted was ours; in the next window one send of ours answered with 9 left
    # says nothing about the other replica, which has not sent yet: we still claim half of the rest.
    fake = FakeTime()
    rl = await settled(fake)
    await acquire_times(rl, fake, 5)
    rl.observe(window(remaining=0), sent_at=fake.now)
    fake.now += 1.01
    first = await rl.acquire()
    rl.observe(window(remaining=9), sent_at=first)
    assert await sends_at_once(rl, fake) == 4  # 1 + floor(9 * 1/2) = 5 in the window


async def test_a_nearly_empty_window_does_not_prolong_the_share_measured_before() -> None:
    # Half of a full window was ours; then the app goes quiet and every answer is from a nearly empty
    # window. Those answers keep the half share only as long as it would have lasted without them.
    fake = FakeTime()
    rl = await settled(fake)
    await acquire_times(rl, fake, 5)
    rl.observe(window(remaining=0), sent_at=fake.now)
    for _ in range(4):
        fake.now += 1.01
        sent = await rl.acquire()
        rl.observe(window(remaining=9), sent_at=sent)
    fake.now += 1.01
    start = fake.now
    assert await acquire_times(rl, fake, 10) == [start] * 10


async def test_a_replica_started_while_a_predecessors_sends_fill_the_window_gets_the_whole_budget() -> None:
    # A replaced pod's 15 sends are still in HubSpot's window (100 per second) when we start: our
    # first answers show 1 of 16 counted sends as ours, which is not our share of the app. Once those
    # sends roll off we send at the full budget (at 1/16 of it, 300 sends would take 50 s).
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100)
    theirs_until = fake.now + 0.5
    ours: list[float] = []
    for _ in range(300):
        sent = await rl.acquire()
        ours.append(sent)
        counted = len(ours) - bisect.bisect_right(ours, sent - 1.0) + (15 if sent < theirs_until else 0)
        rl.observe(window(remaining=100 - counted, maximum=100), sent_at=sent)
    assert ours[-1] - ours[0] < 3.5


async def test_a_refused_send_takes_no_slot_of_the_budget() -> None:
    # HubSpot did not count the refused send, so its retry may go at once instead of waiting for the
    # window to move (a refusal cost a whole window's slot, and under latency skew the rate fell to 80 %).
    fake = FakeTime()
    rl = limiter(fake)
    stamps = [await rl.acquire() for _ in range(10)]
    rl.observe(window(remaining=3), sent_at=stamps[-1])
    rl.throttle(None, sent_at=stamps[-1])
    await asyncio.wait_for(rl.acquire(), 1)
    assert fake.now == stamps[0]
    later = await rl.acquire()  # the window is full again
    assert later == pytest.approx(stamps[0] + 1.0)


class HiddenLimit:
    """HubSpot enforcing a rolling limit it does not publish: once ``limit`` accepted requests fall in
    the last ``interval_s``, it refuses (and does not count the refusal)."""

    def __init__(self, limit: int, interval_s: float) -> None:
        self.limit, self.interval_s = limit, interval_s
        self.accepted: list[float] = []

    def answer(self, now: float) -> bool:
        in_window = len(self.accepted) - bisect.bisect_right(self.accepted, now - self.interval_s)
        if in_window >= self.limit:
            return False
        self.accepted.append(now)
        return True


async def drain(rl: RateLimiter, fake: FakeTime, hubspot: HiddenLimit, seconds: float) -> list[bool]:
    """One sender with an endless backlog for ``seconds`` of fake time; every answer, in order."""
    answers: list[bool] = []
    end = fake.now + seconds
    while fake.now < end:
        stamp = await rl.acquire()
        fake.now += 0.002  # the request's latency
        ok = hubspot.answer(stamp)
        rl.observe({}, sent_at=stamp)  # a hidden limit: no rate-limit headers on any answer
        if not ok:
            rl.throttle(None, sent_at=stamp)
        answers.append(ok)
    return answers


def accepted_rate(hubspot: HiddenLimit, start: float, end: float) -> float:
    return sum(1 for t in hubspot.accepted if start <= t < end) / (end - start)


async def test_without_headers_discovery_raises_the_rate_while_hubspot_accepts() -> None:
    fake = FakeTime()
    rl = limiter(fake, mode="discover", requests_per_interval=100, interval_ms=10_000)
    assert rl.discovery is not None
    start_rate = rl.discovery.rate
    await drain(rl, fake, HiddenLimit(100_000, 10.0), 5.0)
    assert rl.discovery.rate > 2 * start_rate


async def test_a_pushback_without_headers_slows_the_discovered_rate() -> None:
    fake = FakeTime()
    rl = limiter(fake, mode="discover", requests_per_interval=100, interval_ms=10_000)
    await drain(rl, fake, HiddenLimit(100_000, 10.0), 5.0)
    assert rl.discovery is not None
    before = rl.discovery.rate
    stamp = await rl.acquire()
    rl.throttle(None, sent_at=stamp)
    assert rl.discovery.rate < before


async def test_discovery_converges_just_under_a_hidden_limit_in_simulated_time() -> None:
    fake = FakeTime()
    started = fake.now
    # the policy's steps are relative to the rate (a share of it per second), so a low limit reaches
    # the same states (ramp, cut, hold, probe) in the same simulated time with few sends to simulate
    rl = limiter(fake, mode="discover", requests_per_interval=10, interval_ms=10_000)
    hubspot = HiddenLimit(50, 10.0)  # 5 per second, five times the safe start
    answers = await drain(rl, fake, hubspot, 300.0)
    assert accepted_rate(hubspot, started + 20, started + 30) >= 0.9 * 5
    assert accepted_rate(hubspot, started + 60, started + 300) >= 0.97 * 5
    assert answers.count(False) <= 0.02 * len(answers)


async def test_the_fixed_mode_keeps_the_configured_cap_without_headers() -> None:
    fake = FakeTime()
    started = fake.now
    rl = limiter(fake, mode="fixed", requests_per_interval=100, interval_ms=10_000)
    hubspot = HiddenLimit(500, 10.0)
    await drain(rl, fake, hubspot, 60.0)
    assert rl.discovery is None
    assert accepted_rate(hubspot, started + 10, started + 60) <= 10


async def test_rate_limit_headers_switch_discovery_off() -> None:
    fake = FakeTime()
    rl = limiter(fake, mode="discover")
    assert rl.discovery is not None
    rl.observe(window(remaining=5, maximum=10))
    assert rl.discovery is None
    assert await sends_at_once(rl, fake) == 5  # the header's cap, not the pace


async def test_the_groups_partition_share_is_the_budget_and_an_answer_lets_its_part_of_what_is_left() -> None:
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100, replica_share=0.25)
    await acquire_times(rl, fake, 5)
    rl.share_by_partitions(2, 6)  # it replaces the static share
    assert rl.budget == 33
    rl.adopt(ratesharing.stating(95.0))  # the group's rate, agreed when it joined
    # HubSpot has 6 left: our window may grow by a third of them for a quarter interval (5 + 2),
    # however fast the pace (a third of 95 per second); then the pace goes on
    rl.observe(window(remaining=6, maximum=100), sent_at=fake.now)
    assert await sends_within(rl, fake, 0.2, up_to=40) == 2
    assert fake.now == pytest.approx(500.25)


async def test_a_replica_claims_only_its_partitions_part_even_in_its_first_interval() -> None:
    # without the group's ownership, an answer in the first interval lets a replica claim all that is
    # left (it cannot tell its predecessor's sends from the others'): two new replicas would overshoot.
    # Here the window holds 2 and ours is 1: the group's, so this replica may hold half of 10.
    fake = FakeTime()
    rl = limiter(fake)
    rl.share_by_partitions(1, 2)
    await rl.acquire()
    rl.observe(window(remaining=8), sent_at=fake.now)
    assert await sends_within(rl, fake, 1.0) == 4


async def test_a_replica_votes_its_groups_rate_and_paces_the_agreed_one() -> None:
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100)
    rl.share_by_partitions(1, 2)
    assert rl.vote() == b""  # no estimate before an answer
    await rl.acquire()
    rl.observe(window(remaining=98, maximum=100), sent_at=fake.now)  # the group's first sends
    assert ratesharing.read_vote(rl.vote()) == pytest.approx(95.0)
    rl.adopt(ratesharing.agree([rl.vote(), ratesharing.stating(45.0)]))
    assert ratesharing.read_vote(rl.vote()) == pytest.approx(70.0)
    rl.adopt(b"")  # nothing agreed: its own estimate stays
    assert ratesharing.read_vote(rl.vote()) == pytest.approx(70.0)
    # half of 70 per second: one send every 1/35 s (once the late pace has taken its missed slots)
    fake.now += 1.0
    times = await acquire_times(rl, fake, 8)
    assert times[-1] - times[-2] == pytest.approx(1 / 35)
    # the agreed rate was adopted when it came: an answer more than an interval later steers it by a
    # whole interval's worth (half of the 50 left above the 2 % target)
    rl.observe(window(remaining=50, maximum=100), sent_at=fake.now)
    assert ratesharing.read_vote(rl.vote()) == pytest.approx(70.0 + 0.5 * (50 - 2))


async def test_a_refusal_just_after_a_new_part_keeps_the_pace_and_a_later_one_slows_it() -> None:
    # a quarter of 95 % of 100 per second: one send every 1/23.75 s. The window a rebalance leaves is
    # full of the group's sends at its former parts: a refusal then holds our window but keeps our
    # pace; a refusal an interval later backs our pace off by a tenth
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100)
    rl.share_by_partitions(1, 4)
    rl.adopt(ratesharing.stating(95.0))
    rl.throttle(None, sent_at=await rl.acquire())
    fake.now += 0.5
    times = await acquire_times(rl, fake, 8)
    assert times[-1] - times[-2] == pytest.approx(1 / 23.75)
    fake.now += 1.0
    rl.throttle(None, sent_at=await rl.acquire())
    fake.now += 0.5
    times = await acquire_times(rl, fake, 8)
    assert times[-1] - times[-2] == pytest.approx(1 / (23.75 * 0.9))


async def test_the_partition_share_can_be_switched_off() -> None:
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100, replica_share=0.25, share_by_partitions=False)
    rl.share_by_partitions(2, 4)
    assert rl.budget == 25
    rl = limiter(fake, requests_per_interval=100, replica_share=0.25)
    rl.share_by_partitions(0, 4)  # owning nothing is no share: the static one stays
    assert rl.budget == 25


async def test_sharing_by_partitions_spreads_the_sends_evenly_over_the_window() -> None:
    # half of 95 % of 10 per second before any answer: one send every 0.21 s from the moment the part
    # is known (no slot before it was missed), not five at once whenever slots free (a burst takes
    # every freed slot before another app of the portal gets one)
    fake = FakeTime()
    rl = limiter(fake)
    rl.share_by_partitions(1, 2)
    times = await acquire_times(rl, fake, 7)
    assert times == pytest.approx([500.0 + n / 4.75 for n in range(7)])


async def test_a_new_part_starts_the_pace_over_without_a_burst_for_the_slots_of_the_old_one() -> None:
    # a member that owned everything and waited while its group rebalanced: its first sends at its
    # new part (a quarter of 95 % of 100 per second) go one step apart, not as a burst of the slots
    # it missed (every member bursting at once would overrun a window the group just filled)
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100)
    rl.share_by_partitions(4, 4)
    await acquire_times(rl, fake, 3)
    fake.now += 0.5
    rl.share_by_partitions(1, 4)
    times = await acquire_times(rl, fake, 3)
    assert times == pytest.approx([fake.now - 2 / 23.75, fake.now - 1 / 23.75, fake.now])
    assert times[0] == pytest.approx(500.0 + 2 / 95 + 0.5)


@pytest.mark.parametrize("interval_s", [1, 2])
async def test_the_pace_lets_a_late_send_take_the_slots_it_missed_up_to_a_tenth_of_the_window(
    interval_s: int,
) -> None:
    # half of 95 % of 100 per interval: one send every 21 ms per second of interval; a loop that wakes
    # late may send what it missed within the last tenth of the window at once (100 ms of a 1 s
    # window, 200 ms of a 2 s one: a pace that never catches up runs slow), then the pace resumes
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100, interval_ms=interval_s * 1_000)
    rl.share_by_partitions(1, 2)
    fake.now += interval_s  # the loop woke an interval late
    step = interval_s / 47.5
    late = 500.0 + interval_s
    slots = [late - interval_s / 10 + n * step for n in range(5, 8)]
    assert await acquire_times(rl, fake, 8) == pytest.approx([late] * 5 + slots)


async def test_a_cap_bounds_how_many_and_the_pace_how_fast() -> None:
    # 2 left of 20: for a quarter interval our window may hold our 1 and half of the 2, at the
    # group's pace (half of 19 per second); then the pace goes on
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=20)
    rl.share_by_partitions(1, 2)
    rl.adopt(ratesharing.stating(19.0))  # the group's rate, agreed when it joined
    sent = await rl.acquire()
    rl.observe(window(remaining=2, maximum=20), sent_at=sent)
    step = 1 / 9.5
    expected = [500.0 + step, 500.25, 500.0 + 3 * step, 500.0 + 4 * step]
    assert await acquire_times(rl, fake, 4) == pytest.approx(expected)


async def test_without_the_partition_share_sends_go_as_soon_as_the_window_has_room() -> None:
    fake = FakeTime()
    rl = limiter(fake, replica_share=0.5)
    assert await acquire_times(rl, fake, 6) == [500.0] * 5 + [501.0]


# -- exact waits: each mechanism ends a wait at its own time, no earlier and no later -----------------


async def test_a_timed_hold_ends_exactly_when_it_says_and_the_longer_of_two_wins() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.hold_for("daily_limit", 60.0)
    rl.hold_for("daily_limit", 10.0)  # a shorter pause of the same cause does not shorten it
    assert await rl.acquire() == pytest.approx(560.0)


async def test_a_timed_hold_is_clamped_to_zero_and_to_the_longest_pause() -> None:
    fake = FakeTime()
    fake.now = 0.0
    rl = limiter(fake)
    rl.hold_for("migration", 0.5)
    assert await rl.acquire() == pytest.approx(0.5)
    rl.hold_for("migration", -5.0)  # no negative pause
    assert await rl.acquire() == pytest.approx(0.5)
    capped = RateLimiter(RateLimitSettings(), sleep=fake.sleep, clock=fake.clock, max_pause_s=100.0)
    capped.hold_for("daily_limit", 1e9)
    assert await capped.acquire() == pytest.approx(100.5)


async def test_releasing_a_timed_hold_ends_it_at_once() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.hold_for("daily_limit", 60.0)
    rl.release("daily_limit")
    assert not rl.held
    assert await rl.acquire() == 500.0


async def test_retry_after_stops_senders_and_probes_for_exactly_its_length() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.throttle(3.0)
    assert await asyncio.wait_for(rl.acquire(probe=True), 1) == pytest.approx(503.0)
    rl.throttle(0.5)
    assert await rl.acquire() == pytest.approx(503.5)


async def test_a_probe_passes_a_timed_hold() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.hold_for("daily_limit", 60.0)
    assert await asyncio.wait_for(rl.acquire(probe=True), 1) == 500.0


async def test_the_header_cap_binds_and_ends_after_one_interval_before_our_sends_roll_off() -> None:
    # In the first interval the answer cannot measure a share (the budget stays all 10), so only the
    # header-derived cap (ours 4 + 0 left) holds the fifth send back: until the cap ends at 501.0,
    # not until our sends leave the guarded 1.5 s window.
    fake = FakeTime()
    rl = limiter(fake, window_guard_ratio=0.5)
    await acquire_times(rl, fake, 4)
    rl.observe(window(remaining=0), sent_at=fake.now)
    assert await rl.acquire() == pytest.approx(501.0)


async def test_a_full_window_with_none_of_ours_in_it_waits_exactly_one_interval() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.observe(window(remaining=0))
    assert await rl.acquire() == pytest.approx(501.0)


async def test_a_429_without_retry_after_caps_at_what_is_left_of_ours_once_the_refused_send_leaves() -> None:
    # three sent, the third refused with a full window: two of ours are in it, so no new send until
    # the first rolls off (the answer's cap, taken before the refusal, would have allowed three)
    fake = FakeTime()
    rl = limiter(fake)
    stamps = [await rl.acquire() for _ in range(3)]
    rl.observe(window(remaining=0), sent_at=stamps[-1])
    rl.throttle(None, sent_at=stamps[-1])
    assert await rl.acquire() == pytest.approx(501.0)


async def test_a_429_for_a_send_no_longer_in_the_window_is_taken_without_error() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.observe(window(remaining=5))
    rl.throttle(None, sent_at=123.0)  # not ours any more, and the window has room
    assert await rl.acquire() == 500.0


async def test_the_pause_without_retry_after_applies_only_when_the_window_is_full() -> None:
    fake = FakeTime()
    rl = limiter(fake, no_retry_after_pause_s=2.0)
    rl.observe(window(remaining=1))
    rl.throttle(None)  # one left: not our rate
    assert await rl.acquire() == 500.0
    rl.observe(window(remaining=0))
    rl.throttle(None)
    assert await rl.acquire() == pytest.approx(502.0)


# -- windows and boundaries ---------------------------------------------------------------------


async def test_owning_every_partition_is_the_whole_window() -> None:
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100, replica_share=0.25)
    rl.share_by_partitions(4, 4)
    assert rl.budget == 100
    rl.share_by_partitions(5, 4)  # more than there are: no share known
    assert rl.budget == 25


async def test_the_first_interval_ends_exactly_one_interval_after_the_first_send() -> None:
    # an answer to a send exactly one interval after our first measures our share (our 4 of the 5
    # counted: 8 of the budget in the next window); one just before does not (all 10)
    for offset, expected in ((1.0, 8), (0.999, 10)):
        fake = FakeTime()
        rl = limiter(fake)
        await rl.acquire()
        fake.now += offset
        stamps = [await rl.acquire() for _ in range(4)]
        rl.observe(window(remaining=5), sent_at=stamps[-1])
        fake.now = stamps[-1] + 1.0  # the cap (and our sends) gone
        assert await sends_at_once(rl, fake) == expected, offset


@pytest.mark.parametrize("age", [1.2, 1.0])
async def test_our_share_is_counted_over_the_bare_interval_not_the_guarded_window(age: float) -> None:
    # one send 1.2 s (or exactly 1 s) before the answer is in the guarded 1.5 s window but not in
    # HubSpot's 1 s one: HubSpot counted 8, ours 4 of them: half the budget in the next window, not
    # 5/8 of it
    fake = FakeTime()
    rl = limiter(fake, window_guard_ratio=0.5)
    await rl.acquire()
    fake.now += age
    stamps = [await rl.acquire() for _ in range(4)]
    rl.observe(window(remaining=2), sent_at=stamps[-1])
    fake.now = stamps[-1] + 1.5  # the cap and our sends gone
    assert await sends_at_once(rl, fake) == 5


async def test_a_send_exactly_one_interval_old_no_longer_counts_as_ours() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    await rl.acquire()
    fake.now += 1.0
    stamps = [await rl.acquire() for _ in range(5)]
    rl.observe(window(remaining=0), sent_at=stamps[-1])  # ours 5 of 10 (the one at 500 is out)
    fake.now = stamps[-1] + 1.0
    assert await sends_at_once(rl, fake) == 5


# -- headers ------------------------------------------------------------------------------------------


async def test_remaining_alone_switches_discovery_off_for_exactly_three_intervals() -> None:
    fake = FakeTime()
    rl = limiter(fake, mode="discover", interval_ms=2_000)
    rl.observe({"X-HubSpot-RateLimit-Remaining": "5"})
    fake.now += 5.999
    assert rl.discovery is None
    fake.now = 506.0
    assert rl.discovery is not None


async def test_header_values_that_are_not_a_positive_number_leave_the_window_as_it_was() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.observe({"X-HubSpot-RateLimit-Interval-Milliseconds": "2000"})  # no Max: it stays
    assert (rl.budget, rl.interval_s) == (10, 2.0)
    rl.observe({"X-HubSpot-RateLimit-Max": "-5", "X-HubSpot-RateLimit-Interval-Milliseconds": "3000"})
    assert (rl.budget, rl.interval_s) == (10, 3.0)
    rl.observe({"X-HubSpot-RateLimit-Max": "20", "X-HubSpot-RateLimit-Interval-Milliseconds": "-1"})
    assert (rl.budget, rl.interval_s) == (20, 3.0)
    rl.observe({"X-HubSpot-RateLimit-Max": "1", "X-HubSpot-RateLimit-Interval-Milliseconds": "1"})
    assert (rl.budget, rl.interval_s) == (1, 0.001)
    rl.observe({"X-HubSpot-RateLimit-Max": " 7 ", "X-HubSpot-RateLimit-Interval-Milliseconds": "soon"})
    assert (rl.budget, rl.interval_s) == (7, 0.001)


async def test_the_remaining_headers_are_exported() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.observe({"X-HubSpot-RateLimit-Daily-Remaining": "4321", "X-HubSpot-RateLimit-Remaining": "7"})
    assert REGISTRY.get_sample_value(REMAINING, {"window": "daily"}) == 4321
    assert REGISTRY.get_sample_value(REMAINING, {"window": "interval"}) == 7


async def test_a_send_that_did_not_wait_adds_no_wait_time() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    before = REGISTRY.get_sample_value("ssc_rate_limiter_wait_seconds_sum") or 0.0
    await rl.acquire()
    assert REGISTRY.get_sample_value("ssc_rate_limiter_wait_seconds_sum") == before


# -- discovery --------------------------------------------------------------------------------------


async def test_a_pushback_sets_the_rate_under_what_hubspot_accepted_over_the_bare_interval() -> None:
    # 10 per second to start; four sends in the last 10 s (a fifth, 12 s ago, is only in the guarded
    # window): HubSpot accepted 0.4 per second, the rate drops 2 % under it and the budget follows
    fake = FakeTime()
    rl = limiter(fake, mode="discover", requests_per_interval=100, interval_ms=10_000, window_guard_ratio=0.5)
    await rl.acquire()
    fake.now += 12.0
    await acquire_times(rl, fake, 4)
    rl.throttle(None)
    assert rl.discovery is not None
    assert rl.discovery.rate == pytest.approx(0.4 * 0.98)
    assert REGISTRY.get_sample_value(TOKENS) == 3  # floor(0.392 * 10)


def test_the_budget_gauge_shows_the_header_budget_once_headers_take_over_from_discovery() -> None:
    # discovery cut the budget to 9 (9.8 per second); then HubSpot's headers name the same window
    # (Max 10 per 1 s) the limiter started with: they rule now, and the gauge says 10, not 9
    fake = FakeTime()
    rl = limiter(fake, mode="discover")
    rl.throttle(None)
    assert REGISTRY.get_sample_value(TOKENS) == 9
    rl.observe({"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Remaining": "10"})
    assert rl.discovery is None
    assert REGISTRY.get_sample_value(TOKENS) == 10


async def test_the_discovered_pace_lets_a_late_send_catch_up_by_at_most_50_ms() -> None:
    # 100 per 2 s: one send every 20 ms; a send 1 s late takes the slots of the last 50 ms it
    # missed, not of a tenth of the window (200 ms), then the pace resumes
    fake = FakeTime()
    rl = limiter(fake, mode="discover", requests_per_interval=100, interval_ms=2_000)
    await acquire_times(rl, fake, 2)
    fake.now += 1.0
    times = await acquire_times(rl, fake, 5)
    assert times == pytest.approx([501.0, 501.0, 501.0, 501.01, 501.03])


# -- exact values and both sides of each boundary ----------------------------------------------------


async def test_the_longest_pause_is_an_hour_unless_configured() -> None:
    fake = FakeTime()
    rl = RateLimiter(RateLimitSettings(), sleep=fake.sleep, clock=fake.clock)
    rl.hold_for("daily_limit", 1e9)
    assert await rl.acquire() == pytest.approx(500.0 + 3600.0)


async def test_a_budget_of_one_lets_one_send_through_per_interval() -> None:
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=1)
    assert await acquire_times(rl, fake, 3) == pytest.approx([500.0, 501.0, 502.0])


async def test_a_probe_waits_out_even_a_short_retry_after() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.throttle(0.5)
    assert await asyncio.wait_for(rl.acquire(probe=True), 1) == pytest.approx(500.5)


async def test_a_single_header_changes_its_part_of_the_window_down_to_one() -> None:
    fake = FakeTime()
    rl = limiter(fake)
    rl.observe({"X-HubSpot-RateLimit-Max": "1"})  # the interval unchanged
    assert (rl.budget, rl.interval_s) == (1, 1.0)
    rl.observe({"X-HubSpot-RateLimit-Interval-Milliseconds": "1001"})  # the maximum unchanged
    assert (rl.budget, rl.interval_s) == (1, 1.001)
    rl.observe({"X-HubSpot-RateLimit-Interval-Milliseconds": "1"})
    assert (rl.budget, rl.interval_s) == (1, 0.001)


async def test_the_remaining_gauges_show_each_answers_values() -> None:
    # the gauges are process-wide: start them from values no answer gives, so a stale value from
    # another limiter cannot pass for this one's
    fake = FakeTime()
    rl = limiter(fake)
    for window_name in ("daily", "interval"):
        metrics.LIMITER_REMAINING.labels(window=window_name).set(-1)
    rl.observe({"X-HubSpot-RateLimit-Daily-Remaining": "4321", "X-HubSpot-RateLimit-Remaining": "7"})
    assert REGISTRY.get_sample_value(REMAINING, {"window": "daily"}) == 4321
    assert REGISTRY.get_sample_value(REMAINING, {"window": "interval"}) == 7


async def test_pushbacks_within_one_interval_are_one_episode_and_a_later_one_cuts_again() -> None:
    # the answers to what was in flight before a cut say nothing about the new rate: for one interval
    # (1 s here) a pushback changes nothing; from then on it cuts again, 2 % each time
    fake = FakeTime()
    rl = limiter(fake, mode="discover")
    assert rl.discovery is not None
    assert rl.discovery.rate == 10.0
    rl.throttle(None)
    assert rl.discovery.rate == pytest.approx(9.8)
    fake.now = 500.999
    rl.throttle(None)
    assert rl.discovery.rate == pytest.approx(9.8)
    fake.now = 501.0
    rl.throttle(None)
    assert rl.discovery.rate == pytest.approx(9.8 * 0.98)


async def paced_then_answered(fake: FakeTime, rl: RateLimiter, after: float) -> float:
    """Three sends (the third waits for the pace, from 500.0 for one step), an answer at once, then
    one more answer ``after`` seconds after that wait began; the rate it leaves."""
    step = 1 / rl.discovery.rate if rl.discovery else 0.0
    assert await acquire_times(rl, fake, 3) == pytest.approx([500.0, 500.0, 500.0 + step])
    rl.observe({})
    fake.now = 500.0 + after
    rl.observe({})
    assert rl.discovery is not None
    return rl.discovery.rate


@pytest.mark.parametrize(
    ("per_interval", "interval_ms", "after", "rate"),
    [
        # 10 per second: the evidence lasts one second (longer than two steps of the pace, 0.2 s);
        # growth is credited from the answer before (at 500.1), 25 % per second
        (10, 1_000, 1.0, 10 * 1.25**0.9),
        (10, 1_000, 1.5, 10.0),
        # 1 per 2 s: two steps of the pace (4 s) outlast the second; at most a second is credited
        (1, 2_000, 4.0, 0.5 * 1.25),
        (1, 2_000, 4.5, 0.5),
    ],
)
async def test_an_answer_raises_the_discovered_rate_only_soon_after_a_send_waited_for_the_pace(
    per_interval: int, interval_ms: int, after: float, rate: float
) -> None:
    # an answer is evidence that the pace held sends back for the longer of one second and two
    # steps of the pace after a send last waited for it; later, idle time says nothing
    fake = FakeTime()
    rl = limiter(fake, mode="discover", requests_per_interval=per_interval, interval_ms=interval_ms)
    assert await paced_then_answered(fake, rl, after) == pytest.approx(rate)


async def test_answers_to_sends_that_never_waited_for_the_pace_do_not_raise_it() -> None:
    fake = FakeTime()
    rl = limiter(fake, mode="discover")
    assert rl.discovery is not None
    await rl.acquire()
    rl.observe({})
    fake.now = 500.5
    rl.observe({})
    assert rl.discovery.rate == 10.0


async def test_by_partitions_the_window_holds_the_groups_part_over_the_guarded_window() -> None:
    # ten sent at once by use, then a part of a half: the window of 3 s (2 s and a guard of half of
    # it) may hold half of 95 % of 10 per 2 s over 3 s (7.125, so 8): the next send waits until the
    # ten leave it
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=10, interval_ms=2_000, window_guard_ratio=0.5)
    assert await acquire_times(rl, fake, 10) == [500.0] * 10
    rl.share_by_partitions(1, 2)
    assert await rl.acquire() == pytest.approx(503.0)


def seated(fake: FakeTime, owned: int, total: int, handed: bytes) -> RateLimiter:
    """A member of a group with HubSpot's 50 per 1 s and a guard of 5 %, owning ``owned`` of ``total``
    partitions, that was handed ``handed`` by its leader."""
    rl = limiter(fake, requests_per_interval=50, window_guard_ratio=0.05)
    rl.share_by_partitions(owned, total)
    rl.adopt(handed)
    return rl


def dealt(rate: float, first: int) -> bytes:
    """What a leader hands a member: the agreed ``rate`` (none under one) and its seat ``first``."""
    return ratesharing.seat(ratesharing.stating(rate), first)


def test_a_member_logs_the_rate_and_seat_each_leader_hands_it() -> None:
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=50)
    rl.share_by_partitions(3, 12)
    with capture_logs() as events:
        rl.adopt(None)  # nothing dealt, nothing held: nothing changes
        rl.adopt(dealt(34.567, 6))
        rl.adopt(None)  # a leader of an older version: the rate stays, the seat goes
    assert [{k: v for k, v in e.items() if k != "timestamp"} for e in events] == [
        {"event": "ratelimit.adopted", "log_level": "info", "rate": 34.57, "seat": 6},
        {"event": "ratelimit.adopted", "log_level": "info", "rate": 34.57, "seat": None},
    ]


async def member_sends(owned: int, total: int, handed: bytes, *, start: float, until: float) -> list[float]:
    """The send times of one member of a group that owns ``owned`` of ``total`` partitions and was
    handed ``handed`` by its leader, sending as fast as its limiter lets it from ``start`` on."""
    fake = FakeTime()
    fake.now = start
    rl = seated(fake, owned, total, handed)
    times = []
    while (sent := await rl.acquire()) < until:
        times.append(sent)
    return times


def busiest_window(times: list[float], interval_s: float = 1.0) -> int:
    """The most sends HubSpot's rolling window holds at any of them."""
    ordered = sorted(times)
    return max(n + 1 - bisect.bisect_right(ordered, t - interval_s) for n, t in enumerate(ordered))


@pytest.mark.parametrize("owned", [[3, 3, 3, 3], [6, 6], [5, 4, 3], [12]])
async def test_seated_members_never_hold_more_than_the_groups_whole_rate_in_hubspots_window(
    owned: list[int],
) -> None:
    # four members pacing a quarter of 34.5 each as fractions would hold 8 or 9 each in HubSpot's
    # window, and up to 36 together as their phases drift; seated, they hold 34 at most, together,
    # at any phases, and use it: 34 per 1.01 s
    firsts = [sum(owned[:n]) for n in range(len(owned))]
    sends: list[float] = []
    for n, (first, mine) in enumerate(zip(firsts, owned, strict=True)):
        sends += await member_sends(mine, 12, dealt(34.5, first), start=500.0 + 0.037 * n, until=510.0)
    assert busiest_window(sends) == 34
    assert len(sends) >= 34 * 9.9 / 1.01 - len(owned)


async def test_unseated_members_pace_fractions_that_add_up_to_more_in_hubspots_window() -> None:
    # the same four members with the agreed rate alone (a leader that deals no seats)
    sends: list[float] = []
    for n in range(4):
        agreed = ratesharing.stating(34.5)
        sends += await member_sends(3, 12, agreed, start=500.0 + 0.037 * n, until=510.0)
    assert busiest_window(sends) > 34


async def test_a_seated_member_that_catches_up_late_slots_still_holds_its_whole_sends_per_window() -> None:
    # all 34 of 34 sends per 1.01 s: a loop that wakes 80 ms late sends the slots it missed at once,
    # and an interval later the pace's slots would put 35 in HubSpot's window; the 35th waits until
    # the first of the late ones is 1.01 s old
    fake = FakeTime()
    rl = seated(fake, 12, 12, dealt(34.5, 0))
    times = await acquire_times(rl, fake, 30)
    fake.now += 0.08
    times += await acquire_times(rl, fake, 60)
    assert times[30] == times[31]  # the slot it missed, at once
    assert busiest_window(times) == 34
    assert times[64] == pytest.approx(times[30] + 1.01)  # waits for the late one, not its slot
    assert times[-1] - times[0] == pytest.approx(89 * 1.01 / 34, abs=0.1)


async def test_while_discovery_paces_a_seated_member_its_whole_sends_do_not_bound_it() -> None:
    # no rate-limit headers: the discovered pace rules (50 per second to start with), not the whole
    # sends of a group's rate agreed from headers seen long ago (1 per 1.01 s here)
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=50, mode="discover")
    rl.share_by_partitions(3, 12)
    rl.adopt(dealt(2.0, 3))
    assert rl.discovery is not None
    assert await acquire_times(rl, fake, 4) == pytest.approx([500.0 + n / 50 for n in range(4)])


async def test_the_guarded_window_holds_a_seated_members_whole_sends_at_their_pace() -> None:
    # a quarter of 34 is 8.5, and the window of 1.05 s would hold 9 of it; seated second, this
    # member paces 9 per 1.01 s, 10 of which fall in 1.05 s: the window lets its pace go on
    fake = FakeTime()
    rl = seated(fake, 3, 12, dealt(34.0, 3))
    assert await acquire_times(rl, fake, 30) == pytest.approx([500.0 + n * 1.01 / 9 for n in range(30)])


async def test_a_seated_member_before_any_agreed_rate_paces_its_whole_part_of_the_start() -> None:
    # no rate agreed yet: of 95 % of 50 (47 whole sends), the second quarter is 23 - 11 = 12
    fake = FakeTime()
    rl = seated(fake, 3, 12, ratesharing.seat(b"", 3))
    assert await acquire_times(rl, fake, 14) == pytest.approx([500.0 + n * 1.01 / 12 for n in range(14)])


async def test_a_new_ownership_of_the_same_part_takes_effect() -> None:
    # partitions added to the topic: 4 of 16 is the part 3 of 12 was, but the seat the new
    # generation dealt (4) counts in the new partitions: 17 - 8 = 9 of 34, not 19 - 11 = 8
    fake = FakeTime()
    rl = seated(fake, 3, 12, dealt(34.0, 4))
    rl.share_by_partitions(4, 16)
    times = await acquire_times(rl, fake, 3)
    assert times[2] - times[1] == pytest.approx(1.01 / 9)


async def test_the_same_ownership_told_again_keeps_the_pace_and_its_missed_slots() -> None:
    # the service tells the limiter its ownership every quarter second: the same one again is no
    # new part, so a late pace still takes the slots it missed (as it would without the poll)
    fake = FakeTime()
    rl = limiter(fake, requests_per_interval=100)
    rl.share_by_partitions(1, 2)
    fake.now += 1.0
    rl.share_by_partitions(1, 2)
    times = await acquire_times(rl, fake, 8)
    assert times[:5] == [501.0] * 5


async def test_a_seated_member_that_resumes_after_idling_holds_its_whole_sends_per_window() -> None:
    # a member that had nothing to send for a while takes the slots of the last tenth of the window
    # at once when work comes back; an interval later, its pace's slots would put more than its 34
    # in HubSpot's window
    fake = FakeTime()
    rl = seated(fake, 12, 12, dealt(34.5, 0))
    times = await acquire_times(rl, fake, 40)
    fake.now += 3.0
    resumed = await acquire_times(rl, fake, 70)
    assert resumed[:4] == [resumed[0]] * 4
    assert busiest_window(times + resumed) == 34
