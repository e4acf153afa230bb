"""The capacity planner (ours): limiter model, probing, outages and the attempt-aware plan."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banditlb.errors import ConfigError
from banditlb.game.outcome import Outcome, OutcomeKind, Quota
from banditlb.strategies.planner.capacity_model import CapacityModel
from banditlb.strategies.planner.capacity_planner import CapacityPlanner, CapacityPlannerConfig
from banditlb.strategies.planner.flow_plan import FlowPlan, solve_flow_plan
from banditlb.testing import FakeClock

OK = Outcome(OutcomeKind.ACCEPTED, 200)
FAIL = Outcome(OutcomeKind.FAILED, 500)
LIMITED = Outcome(OutcomeKind.RATE_LIMITED, 429)


def limited(retry_after: float) -> Outcome:
    return Outcome(OutcomeKind.RATE_LIMITED, 429, retry_after)


def model(**overrides: float) -> CapacityModel:
    settings = {
        "window": 1.0,
        "probe_interval": 2.0,
        "max_probe_interval": 8.0,
        "outage_after": 1.0,
        "raise_trial": 2.0,
        "base_backoff": 0.5,
        "max_backoff": 4.0,
        "decrease": 0.5,
        "increase": 1.0,
    } | overrides
    return CapacityModel(2, **settings)  # type: ignore[arg-type]


def test_a_429_sets_the_cap_to_the_admitted_count_and_paces_at_that_rate() -> None:
    """Three admitted sends then a 429 within one second: cap 3 per window, pace 3/s from now."""
    caps = model()
    for t in (0.0, 0.1, 0.2):
        caps.record(0, OK, t)
    caps.record(0, LIMITED, 0.3)
    assert caps.cap[0] == 3.0
    assert caps.rate[0] == 3.0
    assert caps.next_at[0] == pytest.approx(0.3 + 1 / 3)  # the server is empty now
    assert not caps.has_room(0, 0.5)
    assert caps.has_room(0, 1.0)  # the send at 0.0 has left the sliding window
    assert caps.capacity(0, 0.5) == 3.0


def test_the_window_is_counted_at_any_time_a_late_answer_asks_for() -> None:
    """An answer counts its window at its send time, which a query at a later time must not
    have emptied; sends after the asked time do not count."""
    caps = model()
    caps.record(0, OK, 0.0)
    caps.record(0, OK, 0.5)
    assert caps.in_window(0, 1.2) == 1  # the send at 0.0 has left this window
    assert caps.in_window(0, 0.9) == 2  # ... but not the window a late answer sent at 0.9 asks for
    assert caps.in_window(0, 0.3) == 1  # the send at 0.5 was not yet made


def test_send_time_is_answer_time_minus_latency() -> None:
    """The model counts a send at when it was sent, not when its answer came."""
    caps = model()
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, latency=0.25), 1.0)
    assert list(caps.sends[0]) == [0.75]


def test_sends_in_flight_take_room_and_pace() -> None:
    """A send not yet answered counts against the cap, and the next waits one interval."""
    caps = model()
    caps.record(0, OK, 0.0)
    caps.record(0, LIMITED, 0.1)  # cap 1, pace 1/s, next send from 1.1
    assert caps.room_at(0, 0.2) == pytest.approx(1.1)
    caps.sending(0, 1.1)
    assert caps.in_flight[0] == 1
    assert not caps.has_room(0, 1.15)  # the window is empty, but the send in flight fills it
    assert caps.room_at(0, 1.15) == pytest.approx(2.1)  # the pace: one interval after 1.1
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, latency=0.05), 1.15)
    assert caps.in_flight[0] == 0


def test_repeated_429s_are_an_outage_that_restores_the_cap_and_backs_off() -> None:
    """A second 429 in a row undoes the cap cut; the back-off doubles with each further one."""
    caps = model()
    for t in (0.0, 0.2, 0.4, 0.6):
        caps.record(0, OK, t)
    caps.record(0, LIMITED, 0.8)  # looks like a cap of 4
    assert caps.cap[0] == 4.0
    caps.record(0, LIMITED, 0.9)  # again: an outage began, the cap of 4 was not the cause
    assert caps.cap[0] == math.inf
    assert caps.blocked_until[0] == pytest.approx(0.9 + 1.0)  # 0.5 s doubled once
    caps.record(0, LIMITED, 2.0)
    assert caps.blocked_until[0] == pytest.approx(2.0 + 2.0)
    assert caps.capacity(0, 3.0) == pytest.approx(0.4)  # blocked: what it took, 4 in 10 s
    caps.record(0, OK, 4.5)
    assert caps.refused_run[0] == 0


def test_long_retry_after_is_waited_out_and_lowers_the_cap_after_admitted_sends() -> None:
    """A Retry-After longer than `outage_after` is waited out; if sends were admitted just
    before, it was a limit (a long window, a few slots), so the cap drops to them."""
    caps = model()
    caps.record(0, limited(5.0), 0.0)  # nothing admitted: an outage, the cap stays unknown
    assert caps.cap[0] == math.inf
    assert not caps.has_room(0, 4.9)
    caps = model()
    caps.record(0, OK, 0.0)
    caps.record(0, limited(5.0), 0.5)
    assert caps.cap[0] == 1.0
    assert not caps.has_room(0, 5.4)
    assert caps.has_room(0, 5.5)
    assert caps.capacity(0, 1.0) == pytest.approx(0.1)  # blocked: 1 admitted in 10 s


def test_pace_grows_only_while_the_plan_wants_more() -> None:
    """Admitted sends raise the pace by `increase` per second only after the plan starved."""
    caps = model(increase=1.0)
    caps.record(0, OK, 0.0)
    caps.record(0, LIMITED, 0.1)
    assert caps.rate[0] == 1.0
    caps.record(0, OK, 1.2)  # not starved: no growth
    assert caps.rate[0] == 1.0
    caps.starve(0, 1.5)
    caps.record(0, OK, 2.0)  # starved half a second ago: grows by 1/s per s since 0.1 (max 1 s)
    assert caps.rate[0] == pytest.approx(2.0)
    caps.record(0, OK, 3.0)  # starved 1.5 s ago: no longer
    assert caps.rate[0] == pytest.approx(2.0)


def test_a_later_429_multiplies_the_pace_by_decrease() -> None:
    """After the first estimate, each first 429 of a run halves the pace (decrease 0.5)."""
    caps = model(decrease=0.5)
    caps.record(0, OK, 0.0)
    caps.record(0, OK, 0.1)
    caps.record(0, LIMITED, 0.2)
    assert caps.rate[0] == 2.0
    caps.record(0, OK, 3.0)
    caps.record(0, LIMITED, 3.1)
    assert caps.rate[0] == 1.0


def test_advertised_quota_is_exact() -> None:
    """RateLimit fields replace the learned cap: room while remaining > 0, else after reset."""
    caps = model()
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(remaining=1, reset=0.6)), 0.0)
    assert caps.has_room(0, 0.1)
    caps.sending(0, 0.1)
    assert not caps.has_room(0, 0.15)  # the last unit is in flight
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(remaining=0, reset=0.4)), 0.2)
    assert not caps.has_room(0, 0.5)
    assert caps.room_at(0, 0.5) == pytest.approx(0.6)  # at the reset it advertised
    assert caps.has_room(0, 0.61)  # the window reset (at 0.2 + 0.4)
    assert caps.cap[0] == math.inf  # nothing learned from a server that says it exactly


def test_advertised_quota_sets_the_planned_capacity() -> None:
    """The plan's capacity for a server with RateLimit fields is limit / window: the window
    it advertised, else the longest reset it has shown (X-RateLimit-* give no window)."""
    caps = model()
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(3, 0.5, 10, 2.0)), 0.0)
    assert caps.capacity(0, 0.1) == pytest.approx(5.0)
    caps.record(1, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(3, 4.0, 10)), 0.0)
    caps.record(1, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(2, 3.5, 10)), 0.5)
    assert caps.capacity(1, 0.6) == pytest.approx(10 / 4.0)


def test_measured_throughput_floors_the_planned_capacity() -> None:
    """Sends the server admitted over the horizon count even past our cap and pace: the
    plan never believes a server takes less than it has just shown it takes."""
    caps = model(decrease=0.1)
    for t in (0.0, 0.1):
        caps.record(0, OK, t)
    caps.record(0, LIMITED, 0.2)  # cap 2, pace 2/s
    for k in range(30):  # past the cap (fallbacks, probes), all admitted
        caps.record(0, OK, 1.0 + k * 0.2)
    caps.record(0, LIMITED, 7.0)
    caps.record(0, OK, 7.5)  # a lone success ends the 429 run
    caps.record(0, LIMITED, 8.0)
    assert caps.rate[0] < 1.0  # the pace collapsed...
    assert caps.capacity(0, 8.1) == pytest.approx(3.3)  # ...but 33 got through in 10 s
    assert caps.throughput(0, 30.0) == 0.0


def test_a_send_past_the_cap_by_necessity_learns_nothing_from_its_429() -> None:
    """When nothing had room the fallback send is a known gamble: its 429 leaves the cap and
    pace alone (only the next send waits one interval); its admission raises the cap."""
    caps = model()
    caps.record(0, OK, 0.0)
    caps.record(0, OK, 0.1)
    caps.record(0, LIMITED, 0.2)  # cap 2, pace 2/s
    rate = caps.rate[0]
    caps.mark_beyond(0)
    caps.record(0, LIMITED, 0.3)
    assert (caps.cap[0], caps.rate[0], caps.refused_run[0]) == (2.0, rate, 1)
    assert caps.next_at[0] == pytest.approx(0.3 + 1.0 / rate)
    caps.mark_beyond(0)
    caps.record(0, LIMITED, 0.4)  # the same send unflagged would be a second 429: an outage
    assert caps.blocked_until[0] <= 0.4
    caps.mark_beyond(0)
    caps.record(0, OK, 0.5)
    assert caps.cap[0] == 3.0


def test_refused_probe_doubles_the_wait_and_admitted_probe_raises_the_cap() -> None:
    """Probing: a refused probe doubles the wait; an admitted one raises the cap by one."""
    caps = model()
    caps.record(0, OK, 0.0)
    caps.record(0, LIMITED, 0.1)
    assert (caps.cap[0], caps.probe_at[0]) == (1.0, 2.1)
    assert caps.probe_due(1.0, [0, 1], [True, True]) is None  # not yet
    caps.record(0, OK, 2.0)
    assert caps.probe_due(2.5, [0, 1], [True, True]) == 0
    caps.record(0, LIMITED, 2.5)
    assert caps.probe_wait[0] == 4.0
    caps.record(0, OK, 6.6)
    assert caps.probe_due(6.7, [0, 1], [True, True]) == 0
    caps.record(0, OK, 6.7)
    assert caps.cap[0] == 2.0
    assert caps.probe_wait[0] == 2.0


def test_a_probe_waits_for_the_pace_so_it_tests_the_cap() -> None:
    """A probe goes only once the pace allows a send: just after a paced send it would test
    the pace (a bucket of burst 1 refuses it), not whether the cap has grown."""
    caps = model()
    caps.record(0, OK, 0.0)
    caps.record(0, LIMITED, 0.1)  # cap 1, pace 1/s
    caps.sending(0, 2.2)  # a paced send: the next is due at 3.2
    caps.record(0, OK, 2.21)
    assert caps.probe_due(2.5, [0, 1], [True, True]) is None  # probe time, not pace time
    assert caps.probe_due(3.2, [0, 1], [True, True]) == 0  # the window still holds 2.2


def _three_limits(caps: CapacityModel, admitted_per_limit: tuple[int, int, int]) -> None:
    """Three rounds two seconds apart: `n` admitted sends, then a 429."""
    for round_, n in enumerate(admitted_per_limit):
        start = 2.0 * round_
        for i in range(n):
            caps.record(0, OK, start + 0.1 * i)
        caps.record(0, LIMITED, start + 0.1 * n)


def test_a_server_whose_429s_set_caps_far_apart_is_probed_up_to_twice_as_often() -> None:
    """Caps of 3, 1, 3 at three 429s: its capacity moves, so an admitted probe may bring the
    next one down to half `probe_interval`; caps of 3, 3, 3 (a fixed limit) keep the floor."""
    moving, fixed = model(), model()
    _three_limits(moving, (3, 1, 3))
    _three_limits(fixed, (3, 3, 3))
    assert list(moving.lowered[0]) == [3.0, 1.0, 3.0]
    assert moving.varies(0)
    assert list(fixed.lowered[0]) == [3.0, 3.0, 3.0]
    assert not fixed.varies(0)
    for caps in (moving, fixed):
        caps.probe_wait[0] = 2.0
        caps.mark_probe(0)
        caps.record(0, OK, 10.0)
    assert moving.probe_wait[0] == 1.0
    assert fixed.probe_wait[0] == 2.0


def test_probe_skips_unwanted_servers() -> None:
    """A server the plan does not want is never probed."""
    caps = model()
    caps.record(0, OK, 0.0)
    caps.record(0, LIMITED, 0.1)
    assert caps.probe_due(5.0, [0, 1], [False, True]) is None


def test_planner_holds_an_attempt_until_a_planned_server_has_room() -> None:
    """Every server the plan uses is full: hold until the first has room, not send into a 429."""
    policy = CapacityPlannerConfig(probe_interval=100.0, max_probe_interval=100.0).build(
        2, random.Random(0)
    )
    for t in (0.0, 0.1):
        policy.observe(0, OK, t, 1)
        policy.observe(1, OK, t, 1)
    policy.observe(0, LIMITED, 0.2, 1)  # arm 0: cap 2, pace 2/s from 0.2
    policy.observe(1, LIMITED, 0.2, 1)
    assert policy.hold(0.3, [0, 1], 1) == pytest.approx(0.7)  # both windows free a slot at 1.0
    assert policy.hold(1.0, [0, 1], 1) == 0.0
    assert policy.hold(0.3, [1], 1) == pytest.approx(0.7)


def test_planner_config_rejects_hostile_values() -> None:
    """NaN, infinities and absurd sizes are refused with the parameter's allowed range."""
    for field, value in (
        ("free_attempts", 10**29),
        ("free_attempts", 1000),
        ("rate_horizon", math.nan),
        ("window", math.inf),
        ("decrease", 0.0),
        ("explore_attempts", 2.5),
    ):
        with pytest.raises(ConfigError, match=field):
            CapacityPlannerConfig(**{field: value})


def test_planner_never_sends_to_an_arm_it_believes_exhausted() -> None:
    """After learning a cap of 2 on the good server, the third send in its window goes elsewhere."""
    clock = FakeClock()
    policy = CapacityPlannerConfig(probe_interval=100.0, max_probe_interval=100.0).build(
        2, random.Random(0)
    )
    for _ in range(20):  # arm 0 is good, arm 1 poor
        policy.observe(0, OK, clock.now(), 1)
        policy.observe(1, FAIL, clock.now(), 1)
    clock.advance(5.0)
    picks = []
    for _step in range(10):
        now = clock.now()
        arm = policy.choose(now, [0, 1], 1)
        picks.append(arm)
        outcome = LIMITED if arm == 0 and policy.capacity.in_window(0, now) >= 2 else OK
        policy.observe(arm, outcome, now, 1)
        clock.advance(0.1)
    # unknown cap: it learns the cap from one 429, then keeps to 2 per window
    assert picks == [0, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    assert policy.capacity.cap[0] == 2.0
    assert policy.snapshot(clock.now())[0].capacity == pytest.approx(2.2)  # 22 in 10 s
    for _ in range(30):
        now = clock.now()
        arm = policy.choose(now, [0, 1], 1)
        assert arm == 1 or policy.capacity.in_window(0, now) < 2
        policy.observe(arm, OK, now, 1)
        clock.advance(0.1)


def test_planner_saves_scarce_good_server_for_retries() -> None:
    """With A (p .9, 5/s) and B (p .5, unlimited) at 10/s, first attempts go to B, retries to A."""
    plan = solve_flow_plan([0.9, 0.5], [5.0, math.inf], 10.0, 3).rates
    assert plan[0][0] == 0.0
    assert plan[0][1] == 10.0
    assert math.isclose(plan[1][0] + plan[2][0], 5.0)  # A's whole capacity, all on retries
    accepted = sum(p * x for row in plan for p, x in zip([0.9, 0.5], row, strict=True))
    assert math.isclose(accepted, 9.916666666666666)  # greedy (A first) gets 9.25


def test_dual_index_prefers_plentiful_first_and_scarce_last() -> None:
    """The LP's index ranks B first on attempt 1 and A first on the last attempt."""
    plan = solve_flow_plan([0.9, 0.5], [5.0, math.inf], 10.0, 3)
    first = [plan.index(0, arm, p) for arm, p in enumerate([0.9, 0.5])]
    last = [plan.index(2, arm, p) for arm, p in enumerate([0.9, 0.5])]
    assert first[1] > first[0]
    assert last[0] > last[1]
    assert [round(x, 4) for x in plan.capacity_price] == [0.0667, 0.0]


def test_flow_plan_without_limits_sends_everything_to_the_best() -> None:
    """No finite capacity: every attempt goes to the best server."""
    plan = solve_flow_plan([0.2, 0.9, 0.5], [math.inf] * 3, 10.0, 3).rates
    assert [[round(x, 6) for x in row] for row in plan] == [
        [0.0, 10.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.1, 0.0],
    ]


def scarce_good_server(sends: tuple[float, ...] = (), plan_wait: float = 0.1) -> CapacityPlanner:
    """A planner that has seen 5 s at 10 ids/s of a reliable server 0 (p 0.9) and a flaky
    server 1 (p 0.5); server 0 is then capped at 5 per second with `sends` in its window."""
    config = CapacityPlannerConfig(explore_attempts=0, plan_wait=plan_wait)
    policy = config.build(2, random.Random(0))
    for step in range(50):
        t = step * 0.1
        policy.choose(t, [0, 1], 1)  # feeds the arrival-rate estimate (10/s)
        policy.observe(0, OK if step % 10 else FAIL, t, 1)
        policy.observe(1, OK if step % 2 else FAIL, t, 1)
    caps = policy.capacity
    caps.cap[0] = 5.0
    caps.rate[0] = 5.0
    caps.next_at[0] = 0.0
    caps.sends[0].clear()
    caps.sends[0].extend(sends)
    caps.probe_at[0] = math.inf
    policy._planned_at = -math.inf  # force a fresh plan
    return policy


def test_planner_follows_the_plan_per_attempt_number() -> None:
    """Once rates are known, attempt 1 goes to the plentiful server, attempt 2 to the scarce one."""
    policy = scarce_good_server()
    assert policy.choose(5.0, [0, 1], 1) == 1
    assert policy.choose(5.0, [0, 1], 2) == 0


def test_the_last_attempt_waits_for_the_plan_s_server_not_a_substitute() -> None:
    """The plan saves the reliable, capped server for retries; when it is full, attempt 2
    takes the roomy flaky one at once, but attempt 3 (the id's last) waits for the slot."""
    policy = scarce_good_server((4.2, 4.4, 4.6, 4.8, 4.9))  # arm 0 is full until 5.2
    assert policy.hold(5.0, [0, 1], 2) == 0.0
    assert policy.plan.rates[2][0] > 0.0
    assert policy.plan.rates[2][1] == 0.0
    assert policy.hold(5.0, [0, 1], 3) == pytest.approx(0.2)
    assert policy.hold(5.2, [0, 1], 3) == 0.0
    assert policy.choose(5.2, [0, 1], 3) == 0


def test_an_earlier_attempt_waits_for_its_plan_s_server_only_when_it_frees_soon() -> None:
    """A plan that gives attempt 2 to the reliable, capped server only: 0.2 s before its slot
    frees the attempt takes the roomy flaky server, within `plan_wait` (0.1 s) of it the
    attempt waits for the slot; with `plan_wait=0` it never does."""
    for plan_wait, wanted in ((0.1, 0.05), (0.0, 0.0)):
        policy = scarce_good_server((4.2, 4.4, 4.6, 4.8, 4.9), plan_wait)  # arm 0 full to 5.2
        policy.hold(5.0, [0, 1], 2)  # solves the plan
        plan = policy.plan
        policy.plan = FlowPlan(
            [plan.rates[0], [4.0, 0.0], plan.rates[2]], plan.capacity_price, plan.later_value
        )
        assert policy.hold(5.0, [0, 1], 2) == 0.0
        assert policy.hold(5.15, [0, 1], 2) == pytest.approx(wanted)


def test_an_attempt_is_worth_its_acceptance_times_its_admission() -> None:
    """Server 1 accepts every answered send but refuses half of its sends with 429s; server 0
    fails one answered send in 20 and refuses none. Server 1's posterior is the better one (a
    429 leaves it alone), yet an attempt there is worth about half: the last attempt goes to
    server 0."""
    policy = CapacityPlannerConfig(explore_attempts=0).build(2, random.Random(0))
    for step in range(40):
        t = step * 0.1
        if step % 2 == 0:
            policy.observe(0, FAIL if step == 0 else OK, t, 1)
        policy.observe(1, LIMITED if step % 2 else OK, t, 1)
    assert policy.mean(1) > policy.mean(0)  # 20 of 20 answered against 19 of 20
    assert policy.admission(0) == 1.0
    assert 0.5 < policy.admission(1) < 0.6  # recent sends (memory 0.9), prior 2 admitted
    assert policy.attempt_success(1) < 0.6 * policy.attempt_success(0)
    policy.capacity.cap[1] = math.inf
    policy.capacity.blocked_until[1] = 0.0
    policy.capacity.next_at[1] = 0.0
    assert policy.choose(5.0, [0, 1], 3) == 0


def test_planner_exact_choices_for_seed() -> None:
    """A fixed seed and script give exactly these choices: Thompson draws find the good arm."""
    policy = CapacityPlannerConfig().build(3, random.Random(4))
    picks = []
    for step in range(20):
        now = step * 0.1
        arm = policy.choose(now, [0, 1, 2], 1)
        picks.append(arm)
        policy.observe(arm, OK if arm == 2 else FAIL, now, 1)
    assert picks == [2, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 0, 2]


def test_flow_plan_simplex_matches_highs() -> None:
    """On 40 random plans the dense simplex reaches scipy HiGHS's optimum and stays feasible."""
    import numpy as np
    from scipy.optimize import linprog

    rng = random.Random(1)
    for _ in range(40):
        n = rng.randint(1, 10)
        p = [round(rng.random(), 2) for _ in range(n)]
        caps = [rng.choice([math.inf, float(rng.randint(0, 8))]) for _ in range(n)]
        rate = rng.choice([5.0, 10.0, 20.0])
        plan = solve_flow_plan(p, caps, rate, 3).rates
        finite = [i for i in range(n) if not math.isinf(caps[i])]
        a = np.zeros((len(finite) + 3, 3 * n))
        b = np.zeros(len(finite) + 3)
        for row, i in enumerate(finite):
            a[row, i::n] = 1.0
            b[row] = caps[i]
        for j in range(3):
            a[len(finite) + j, j * n : (j + 1) * n] = 1.0
            for earlier in range(j):
                a[len(finite) + j, earlier * n : (earlier + 1) * n] = p
            b[len(finite) + j] = rate
        x = np.array(plan).ravel()
        assert (a @ x <= b + 1e-6).all()
        best = linprog(-np.tile(p, 3), A_ub=a, b_ub=b, method="highs")
        assert float(np.tile(p, 3) @ x) == pytest.approx(-best.fun, abs=1e-6)


def test_answers_out_of_order_keep_the_lowest_remaining_of_a_window() -> None:
    """Within one quota window a late answer with more `remaining` (sent earlier) is stale."""
    caps = model()
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(remaining=0, reset=2.0)), 1.0)
    late = Outcome(OutcomeKind.ACCEPTED, 200, latency=0.5, quota=Quota(remaining=2, reset=2.0))
    caps.record(0, late, 1.01)  # sent at 0.51, before the send behind the reading of 1.0
    assert not caps.has_room(0, 1.5)
    assert caps.surely_full(0, 1.5)
    assert caps.has_room(0, 3.0)  # the window reset


def test_after_a_reset_the_advertised_limit_bounds_the_sends_in_flight() -> None:
    """Held requests that wake at a quota reset may take at most the advertised limit."""
    caps = model()
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(0, 1.0, limit=2)), 0.0)
    for _ in range(2):
        assert caps.has_room(0, 1.0)
        caps.sending(0, 1.0)
    assert not caps.has_room(0, 1.0)


def test_a_quota_that_came_back_short_after_a_reset_gives_one_send_per_reset() -> None:
    """A drained bucket says "reset: 1" but holds one token at the reset, not its burst: once
    a reading after a reset has shown less than the limit back, the next reset lets one send
    go and waits for its reading, instead of the advertised limit at once."""
    caps = model()
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(0, 1.0, limit=5)), 0.0)
    caps.sending(0, 1.0)  # the first send after the reset
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(0, 1.0, limit=5)), 1.0)
    assert caps.has_room(0, 2.0)
    caps.sending(0, 2.0)
    assert not caps.has_room(0, 2.0)  # one in flight: wait for what it reads
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(4, 1.0, limit=5)), 2.01)
    assert caps.has_room(0, 2.01)  # a window that came back full: the limit again
    caps.sending(0, 3.01)
    caps.record(0, Outcome(OutcomeKind.ACCEPTED, 200, quota=Quota(4, 1.0, limit=5)), 3.02)
    for _ in range(5):
        assert caps.has_room(0, 4.02)
        caps.sending(0, 4.02)
    assert not caps.has_room(0, 4.02)


def empty_quota_probed_early(caps: CapacityModel, *, at: float) -> None:
    """A burst-1 quota reads empty at 0.0 with "reset: 1"; a first attempt at `at` goes
    early (the quota has no room, but an early send is due)."""
    caps.record(0, quota_answer(0, 1.0, limit=1, window=None), 0.0)
    assert not caps.has_room(0, at)
    assert caps.probe_due(at, [0], [True, True]) == 0
    caps.sending(0, at)


def test_an_admitted_early_send_teaches_a_refill_faster_than_the_reset() -> None:
    """A bucket that refills every 0.5 s says "reset: 1" when empty (whole seconds): a send
    0.5 s after the empty reading is admitted, so the quota gives a send back at least that
    often, and the next one fits 0.5 s after the next empty reading, not at its reset."""
    caps = model()
    empty_quota_probed_early(caps, at=0.5)
    caps.record(0, quota_answer(0, 1.0, limit=1, window=None, latency=0.01), 0.51)
    assert caps.quotas.refill_interval(0) == pytest.approx(0.5)
    assert not caps.has_room(0, 0.8)
    assert caps.has_room(0, 1.02)  # one interval after the reading at 0.51; reset: 1.51
    assert caps.room_at(0, 0.8) == pytest.approx(1.01)


def test_a_refill_shown_by_early_sends_raises_the_planned_capacity() -> None:
    """A concurrency limit of 2 whose slots free in 0.25 s says "reset: 1" (whole seconds),
    so its fields promise 2 per second; once an early send shows a unit back 0.25 s after an
    empty reading, the plan counts on 4 per second, not 2."""
    caps = model()
    caps.record(0, quota_answer(0, 1.0, limit=2, window=None), 0.0)
    assert caps.capacity(0, 0.1) == pytest.approx(2.0)
    assert caps.quotas.probe_gap[0] == pytest.approx(0.5)
    caps.quotas.probe_gap[0] = 0.25  # as after admitted early sends (each shortens the gap)
    assert caps.probe_due(0.25, [0], [True, True]) == 0
    caps.sending(0, 0.25)
    caps.record(0, quota_answer(0, 1.0, limit=2, window=None, latency=0.01), 0.26)
    assert caps.quotas.refill_interval(0) == pytest.approx(0.25)
    assert caps.capacity(0, 0.3) == pytest.approx(4.0)


def test_a_refused_early_send_teaches_nothing_and_the_next_waits_longer() -> None:
    """A fixed window that really is empty until its reset: the early send's 429 leaves the
    quota waiting for resets, and early sends come later after each reading and rarer."""
    caps = model()
    empty_quota_probed_early(caps, at=0.5)
    caps.record(0, quota_answer(0, 0.5, limit=1, window=None, refused=True), 0.51)
    assert caps.quotas.refill_interval(0) == math.inf
    assert caps.quotas.probe_gap[0] == pytest.approx(1.0)
    assert caps.probe_wait[0] == 4.0  # doubled from probe_interval
    assert caps.probe_due(2.5, [0], [True, True]) is None  # not before 0.51 + 4


def test_a_refused_send_on_the_learned_refill_stretches_the_interval() -> None:
    """The learned interval was too short for once: 1.3 times longer from then on."""
    caps = model()
    empty_quota_probed_early(caps, at=0.5)
    caps.record(0, quota_answer(0, 1.0, limit=1, window=None, latency=0.01), 0.51)
    assert caps.has_room(0, 1.02)
    caps.sending(0, 1.02)  # on the learned refill, before the reset at 1.51
    caps.record(0, quota_answer(0, 0.5, limit=1, window=None, refused=True), 1.03)
    assert caps.quotas.refill_interval(0) == pytest.approx(0.65)


def test_fallback_avoids_servers_that_said_they_are_full() -> None:
    """No room anywhere and no time to wait: not the server whose quota is spent."""
    policy = CapacityPlannerConfig().build(2, random.Random(0))
    spent = Outcome(OutcomeKind.RATE_LIMITED, 429, quota=Quota(remaining=0, reset=5.0))
    policy.observe(0, spent, 0.0, 1)
    for t in (0.0, 0.1):
        policy.observe(1, OK, t, 1)
    policy.observe(1, LIMITED, 0.2, 1)  # learned cap 2: full until 1.0
    assert policy.choose(0.3, [0, 1], 1) == 1


def test_fallback_puts_servers_whose_refusals_shut_them_for_a_second_last() -> None:
    """No room anywhere: the server sent to longest ago would be next, but its 429s carry
    "Retry-After: 1", which keeps it out for a second after a refusal; the other's don't."""
    policy = CapacityPlannerConfig().build(2, random.Random(0))
    for arm, refusal in ((0, limited(1.0)), (1, LIMITED)):
        for t, answer in ((0.0, OK), (0.1, OK), (0.2, refusal)):  # learned cap 2: full to 1.0
            policy.capacity.sending(arm, t + 0.01 * arm)
            policy.observe(arm, answer, t + 0.01 * arm, 1)
    assert policy.capacity.shuts_on_refusal == [True, False]
    assert policy.capacity.last_sent[0] < policy.capacity.last_sent[1]
    assert policy.choose(0.5, [0, 1], 2) == 1
    policy.capacity.shuts_on_refusal[0] = False  # as the order alone would have it
    assert policy.choose(0.5, [0, 1], 2) == 0


def quota_answer(
    remaining: int,
    reset: float,
    *,
    limit: int = 5,
    window: float | None = 1.0,
    refused: bool = False,
    latency: float = 0.0,
) -> Outcome:
    kind, status = (OutcomeKind.RATE_LIMITED, 429) if refused else (OutcomeKind.ACCEPTED, 200)
    return Outcome(kind, status, latency=latency, quota=Quota(remaining, reset, limit, window))


def test_a_quota_that_shows_a_refill_is_modelled_as_refilling() -> None:
    """A later send's reading with more left before the reset: a bucket-like quota, which
    gives back one send every window / limit seconds instead of only at its reset."""
    caps = model()
    caps.record(0, quota_answer(0, 1.0), 0.0)  # empty; "full again in 1 s"
    assert not caps.has_room(0, 0.3)  # nothing shows it refills yet: wait for the reset
    caps.record(0, quota_answer(1, 1.0), 0.5)  # a send at 0.5 found one more: it refills
    assert caps.quotas.refills[0]
    caps.sending(0, 0.5)
    caps.record(0, quota_answer(0, 1.0), 0.5)
    assert not caps.has_room(0, 0.6)
    assert caps.room_at(0, 0.6) == pytest.approx(0.7)  # one send per 1 s / 5
    assert caps.has_room(0, 0.7)
    assert caps.quotas.remaining(0, 0.95) == 2


def test_sends_that_left_together_answered_out_of_order_are_no_refill() -> None:
    """Three sends leave at once to a sliding log of 3 per second; their answers come back in
    a different order than the server counted them (latency jitter). The reading with more
    left is the earlier one, not a refill: nothing fits until the log's first send expires."""
    caps = model()
    for latency, left in ((0.008, 0), (0.010, 1), (0.016, 2)):  # all sent at 1.0
        caps.record(0, quota_answer(left, 1.0, limit=3, latency=latency), 1.0 + latency)
    assert not caps.quotas.refills[0]
    assert caps.quotas.remaining(0, 1.5) == 0
    assert not caps.has_room(0, 1.5)


def test_a_counting_down_quota_still_waits_for_its_reset() -> None:
    """Readings that only fall (a fixed window) never count as a refill."""
    caps = model()
    for t, left in ((0.0, 2), (0.1, 1), (0.2, 0)):
        caps.record(0, quota_answer(left, 1.0 - t, limit=3), t)
    assert not caps.quotas.refills[0]
    assert not caps.has_room(0, 0.9)
    assert caps.room_at(0, 0.5) == pytest.approx(1.0)


def test_a_429_on_a_send_made_on_modelled_refill_stops_trusting_it() -> None:
    """A fixed window whose whole-second reset made its roll look like a refill: the first
    send the refill model lets through is refused, and the model waits for resets again."""
    caps = model()
    caps.record(0, quota_answer(0, 2.0), 0.0)
    caps.record(0, quota_answer(1, 2.0), 1.0)  # looks like a refill
    caps.sending(0, 1.0)
    caps.record(0, quota_answer(0, 1.0), 1.0)
    assert caps.quotas.refills[0]
    assert caps.has_room(0, 1.2)  # on credit: one send per 0.2 s
    caps.sending(0, 1.2)
    caps.record(0, quota_answer(0, 1.0, refused=True, latency=0.05), 1.25)  # the 1.2 send
    assert not caps.quotas.refills[0]
    assert not caps.has_room(0, 1.6)


def test_a_whole_quota_in_flight_waits_for_answers() -> None:
    """Refill cannot make room past the limit: with `limit` sends in flight only an answer
    can, so room_at is later than now whenever has_room says no."""
    caps = model()
    caps.record(0, quota_answer(0, 1.0, limit=2), 0.0)
    caps.record(0, quota_answer(1, 1.0, limit=2), 0.4)  # refills
    for _ in range(2):
        caps.sending(0, 0.5)
    for now in (0.5, 2.0, 9.0):
        assert not caps.has_room(0, now) or caps.quotas.reset_at[0] <= now
    assert caps.room_at(0, 1.0) > 1.0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 2.0),
            st.integers(0, 6),
            st.floats(0.0, 3.0),
            st.booleans(),
            st.booleans(),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=12,
    ),
    st.floats(0.0, 4.0),
)
def test_room_at_and_has_room_agree_for_advertised_quotas(
    steps: list[tuple[float, int, float, bool, bool, int]], probe: float
) -> None:
    """For any readings and sends: has_room(now) exactly when room_at(now) is now, and at
    room_at there is room (answers in flight aside)."""
    caps = model()
    now = 0.0
    for gap, left, reset, refused, with_window, sends in steps:
        now += gap
        caps.record(
            0, quota_answer(left, reset, window=1.0 if with_window else None, refused=refused), now
        )
        for _ in range(sends):
            if caps.has_room(0, now):
                caps.sending(0, now)
    at = now + probe
    assert caps.has_room(0, at) == (caps.room_at(0, at) <= at)


def test_the_default_posterior_follows_an_error_rate_that_drifts() -> None:
    """A server that failed its first 300 answers and then accepted 300: by default the
    posterior weighs recent answers more (0.99 per answer), so it trusts the server again;
    an undiscounted posterior would still say one in two."""
    drifting = CapacityPlannerConfig().build(1, random.Random(0))
    fixed = CapacityPlannerConfig(memory=1.0).build(1, random.Random(0))
    for step in range(600):
        outcome = FAIL if step < 300 else OK
        for policy in (drifting, fixed):
            policy.observe(0, outcome, step * 0.1, 1)
    assert fixed.mean(0) == pytest.approx(0.5, abs=0.01)
    assert drifting.mean(0) > 0.9
