"""The simulator: exact event traces, fault handling, determinism and the referee's arithmetic."""

from __future__ import annotations

import random

import pytest

from banditlb.errors import ConfigError
from banditlb.game.ledger import NO_ANSWER, Ledger
from banditlb.game.outcome import OutcomeKind
from banditlb.game.router import RetryRules, Router
from banditlb.models.scenario import loads
from banditlb.scenarios.files import load
from banditlb.sim import Simulation, simulate
from banditlb.sim.world import build_models, tier_specs
from banditlb.strategies.registry import build_strategy, strategy_names
from banditlb.testing import ScriptedStrategy

TINY = """
name = "tiny"
rate = 2.0

[[servers]]
name = "always-fails"
tier = "X"
port = 7000
error_rate = 1.0
latency = { mean = 0.125 }

[[servers]]
name = "one-per-second"
tier = "X"
port = 7001
error_rate = 0.0
retry_after = true
latency = { mean = 0.25 }
limits = [{ kind = "fixed_window", limit = 1, window = 1.0 }]
"""

FAULTY = """
name = "faulty"
rate = 1.0

[[servers]]
name = "hangs"
tier = "X"
port = 7000
error_rate = 0.0
latency = { mean = 0.125 }
faults = [{ kind = "hang" }]

[[servers]]
name = "refuses"
tier = "X"
port = 7001
error_rate = 0.0
faults = [{ kind = "refused" }]

[[servers]]
name = "resets"
tier = "X"
port = 7002
error_rate = 0.0
latency = { mean = 0.25 }
faults = [{ kind = "reset" }]
"""


def run_traced(
    text: str, strategy: str, requests: int, rules: RetryRules | None = None
) -> Simulation:
    scenario = loads(text)
    specs = tier_specs(scenario, "X")
    policy = build_strategy(strategy, len(specs), random.Random(0))
    sim = Simulation(
        build_models(specs, 0),
        Router(policy, len(specs), rules),
        rate=scenario.rate,
        requests=requests,
        trace=True,
    )
    sim.run()
    return sim


def test_round_robin_trace_on_tiny_scenario_is_exact() -> None:
    """Attempt times, arms and outcomes follow latencies, the window limit and Retry-After."""
    sim = run_traced(TINY, "round_robin", 3)
    assert sim.trace is not None
    got = [
        (a.request, a.arm, a.sent, a.answered, a.outcome.kind, a.outcome.retry_after)
        for a in sim.trace
    ]
    failed, ok, limited = OutcomeKind.FAILED, OutcomeKind.ACCEPTED, OutcomeKind.RATE_LIMITED
    assert got == [
        (0, 0, 0.0, 0.125, failed, None),
        (0, 1, 0.125, 0.375, ok, None),
        (1, 0, 0.5, 0.625, failed, None),
        (1, 1, 0.625, 0.875, limited, 1.0),  # wait 0.375 s, sent as 1 s: blocked until 1.875
        (1, 0, 0.875, 1.0, failed, None),  # third attempt: the request stops here
        (2, 0, 1.0, 1.125, failed, None),  # arm 1 still blocked
        (2, 0, 1.125, 1.25, failed, None),
        (2, 0, 1.25, 1.375, failed, None),  # still blocked: three failures
    ]
    assert sim.clock.now() == 1.375


@pytest.mark.parametrize("mode", ["fractional", "date"])
def test_sub_second_retry_after_modes_unblock_at_the_window_end(mode: str) -> None:
    """Fractional and date hints (the window ends on a whole second) both say 0.375 s."""
    sim = run_traced(
        TINY.replace("retry_after = true", f'retry_after = "{mode}"'), "round_robin", 3
    )
    assert sim.trace is not None
    got = [(a.request, a.arm, a.sent, a.outcome.kind, a.outcome.retry_after) for a in sim.trace]
    assert got[3] == (1, 1, 0.625, OutcomeKind.RATE_LIMITED, 0.375)
    assert got[5:] == [
        (2, 0, 1.0, OutcomeKind.FAILED, None),  # the 429 came back at 0.875: blocked until 1.25
        (2, 0, 1.125, OutcomeKind.FAILED, None),
        (2, 1, 1.25, OutcomeKind.ACCEPTED, None),  # free again, and a new window admits
    ]


def test_tiny_scenario_totals_follow_the_referee() -> None:
    """The tiny run scores 1 accepted of 3, 8 counted attempts, one 429, no penalty."""
    result = simulate(loads(TINY), "X", "round_robin", seed=0, requests=3)
    assert (result.accepted, result.attempts, result.penalised_attempts) == (1, 8, 0)
    assert (result.score, result.rate_limited, result.failed) == (1.0, 1, 6)
    assert result.arm_attempts == (6, 2)
    assert result.arm_accepted == (0, 1)
    assert result.arm_rate_limited == (0, 1)
    assert result.timeline_requests == (1, 2, 3)
    assert result.timeline_score == (1.0, 1.0, 1.0)
    assert result.duration == 1.375


def test_faults_time_out_reset_and_refuse() -> None:
    """A hang times out after 2 s, a reset errors after its latency, a refusal at once uncounted."""
    sim = run_traced(FAULTY, "round_robin", 1)
    assert sim.trace is not None
    got = [(a.arm, a.sent, a.answered, a.outcome.kind, a.counted) for a in sim.trace]
    assert got == [
        (0, 0.0, 2.0, OutcomeKind.TIMEOUT, True),
        (1, 2.0, 2.0, OutcomeKind.CONNECTION_ERROR, False),
        (2, 2.0, 2.25, OutcomeKind.CONNECTION_ERROR, True),
    ]
    result = sim.result(scenario="faulty", tier="X", strategy="round_robin", seed=0)
    assert (result.attempts, result.timeouts, result.connection_errors) == (2, 1, 2)
    assert result.arm_attempts == (1, 0, 1)


def replay_into_ledger(sim: Simulation) -> Ledger:
    """A fresh referee Ledger fed every counted attempt of a traced run, ids as the fleet's."""
    assert sim.trace is not None
    ledger = Ledger(free_attempts=sim.router.rules.free_attempts)
    for a in sim.trace:
        if a.counted:
            status = a.outcome.status
            ledger.record(str(a.request), sim.names[a.arm], NO_ANSWER if status is None else status)
    return ledger


def test_score_equals_ledger_arithmetic_with_paid_attempts() -> None:
    """Replaying the traced attempts into a fresh Ledger gives the simulator's exact score."""
    rules = RetryRules(free_attempts=3, penalty=0.1, max_attempts=6)
    sim = run_traced(TINY, "thompson", 200, rules)
    ledger = replay_into_ledger(sim)
    result = sim.result(scenario="tiny", tier="X", strategy="thompson", seed=0)
    assert result.penalised_attempts > 0
    assert ledger.score(0.1) == sim.ledger.score(0.1) == sim.score(0.1)
    assert result.score == ledger.score(0.1).score
    assert result.score == result.accepted - 0.1 * result.penalised_attempts
    assert result.timeline_score[-1] == result.score
    assert sum(result.arm_attempts) == result.attempts


@pytest.mark.parametrize(
    ("text", "tier", "strategy"),
    [(TINY, "X", "random"), (FAULTY, "X", "random"), (None, "T3", "ucb1")],
)
def test_flat_bookkeeping_is_the_ledger_attempt_for_attempt(
    text: str | None, tier: str, strategy: str
) -> None:
    """The simulator's flat counters equal a Ledger fed the trace: ids, counts, servers, score."""
    scenario = load("default") if text is None else loads(text)
    specs = tier_specs(scenario, tier)
    rules = RetryRules(free_attempts=3, penalty=0.25, max_attempts=6)
    sim = Simulation(
        build_models(specs, 4),
        Router(build_strategy(strategy, len(specs), random.Random(4)), len(specs), rules),
        rate=scenario.rate,
        requests=300,
        trace=True,
    )
    sim.run()
    ledger = replay_into_ledger(sim)
    assert sim.ledger == ledger
    assert ledger.penalised > 0 or text is FAULTY
    assert sim.score(0.25) == ledger.score(0.25)


def test_same_seed_gives_identical_results() -> None:
    """Two runs with one seed are equal field by field, timeline included."""
    first = simulate("default", "T3", "thompson", seed=11, requests=2000)
    second = simulate("default", "T3", "thompson", seed=11, requests=2000)
    assert first == second


def test_different_seeds_give_different_worlds() -> None:
    """Another seed changes the servers' draws too, so even round robin scores differently."""
    first = simulate("default", "T1", "round_robin", seed=1, requests=2000)
    second = simulate("default", "T1", "round_robin", seed=2, requests=2000)
    assert (first.accepted, first.attempts) == (1678, 3931)
    assert (second.accepted, second.attempts) == (1700, 3945)


def test_exact_result_for_a_fixed_seed() -> None:
    """Round robin on default T2 with seed 3 and 1,000 requests scores exactly as recorded."""
    result = simulate("default", "T2", "round_robin", seed=3, requests=1000)
    assert (result.accepted, result.attempts, result.rate_limited) == (845, 1822, 3)


def test_rate_override_and_timeline_switch() -> None:
    """`rate` overrides the scenario's arrival rate; record_timeline=False keeps no timeline."""
    result = simulate(
        "default", "T1", "random", seed=0, requests=100, rate=50.0, record_timeline=False
    )
    assert result.rate == 50.0
    assert result.duration < 2.0 + 99 / 50.0
    assert result.timeline_requests == result.timeline_score == ()


@pytest.mark.parametrize(
    ("tier", "strategy", "requests", "message"),
    [
        ("T9", "thompson", 10, "unknown tier 'T9'"),
        ("T1", "nope", 10, "unknown strategy 'nope'"),
        ("T1", "thompson", 0, "requests must be >= 1"),
    ],
)
def test_bad_arguments_raise_config_error(
    tier: str, strategy: str, requests: int, message: str
) -> None:
    """Unknown tier or strategy, or no requests, is a ConfigError naming the value."""
    with pytest.raises(ConfigError, match=message):
        simulate("default", tier, strategy, seed=0, requests=requests)


def test_request_deadline_stops_new_attempts_like_the_balancer() -> None:
    """With paid attempts allowed, a hanging server gets attempts at 0, 2, 4, 6, 8 s; none at 10."""
    scenario = loads(FAULTY)
    specs = tier_specs(scenario, "X")[:1]
    rules = RetryRules(free_attempts=3, penalty=0.5, max_attempts=10)
    sim = Simulation(
        build_models(specs, 0),
        Router(ScriptedStrategy(1, estimates=[0.9]), 1, rules),
        rate=1.0,
        requests=1,
        trace=True,
    )
    sim.run()
    assert sim.trace is not None
    assert [a.sent for a in sim.trace] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert {a.outcome.kind for a in sim.trace} == {OutcomeKind.TIMEOUT}
    assert sim.clock.now() == 10.0
    assert sim.ledger.score(0.5).penalised_attempts == 2


EVERY_FAULT = """
name = "every-fault"
rate = 4.0

[[servers]]
name = "hangs-sometimes"
tier = "X"
port = 7000
error_rate = 0.2
latency = { mean = 0.25 }
faults = [{ kind = "hang", start = 5.0, end = 40.0, probability = 0.3 }]

[[servers]]
name = "slow-sometimes"
tier = "X"
port = 7001
error_rate = 0.4
latency = { mean = 0.01, jitter = 0.01 }
faults = [{ kind = "slow", probability = 0.2, delay = 2.5 }]

[[servers]]
name = "resets-and-garbles"
tier = "X"
port = 7002
error_rate = 0.1
retry_after = true
latency = { mean = 0.003, jitter = 0.003 }
limits = [{ kind = "fixed_window", limit = 2, window = 0.5, offset = 0.1 }]
faults = [
  { kind = "reset", probability = 0.1 },
  { kind = "malformed", start = 30.0, probability = 0.3 },
]

[[servers]]
name = "refuses-a-while"
tier = "X"
port = 7003
error_rate = 0.05
retry_after = true
error_status = 503
latency = { mean = 0.002, jitter = 0.001 }
limits = [{ kind = "token_bucket", rate = 2.0, burst = 3.0 }]
faults = [{ kind = "refused", start = 20.0, end = 60.0 }]

[[servers]]
name = "flaps"
tier = "X"
port = 7004
error_rate = 0.15
retry_after = true
latency = { mean = 0.005, jitter = 0.002 }
limits = [{ kind = "fixed_window", limit = 3 }, { kind = "outage", period = 30.0, duration = 5.0 }]
faults = [{ kind = "flap", period = 20.0, down = 4.0 }]

[[servers]]
name = "slower-than-the-timeout"
tier = "X"
port = 7005
error_rate = 0.3
retry_after = true
latency = { mean = 1.5, jitter = 1.0 }
limits = [{ kind = "sinusoid", base = 3.0, amplitude = 2.0, period = 40.0 }]

[[servers]]
name = "instant"
tier = "X"
port = 7006
error_rate = 0.25

[[servers.limits]]
kind = "step"
at = 50.0
before = { kind = "fixed_window", limit = 2 }
after = { kind = "fixed_window", limit = 5, window = 2.0 }
"""


EVERY_LIMIT = """
name = "every-limit"
rate = 8.0

[[servers]]
name = "sliding-log"
tier = "X"
port = 7000
error_rate = 0.3
retry_after = "date"
rate_limit_headers = "ietf"
latency = { mean = 0.01, jitter = 0.005 }
limits = [{ kind = "sliding_log", limit = 3, window = 1.5 }]

[[servers]]
name = "sliding-counter"
tier = "X"
port = 7001
error_rate = 0.2
retry_after = "seconds"
rate_limit_headers = "x"
latency = { mean = 0.01 }
limits = [{ kind = "sliding_counter", limit = 4, window = 2.0 }]

[[servers]]
name = "gcra"
tier = "X"
port = 7002
error_rate = 0.1
retry_after = "fractional"
rate_limit_headers = "ietf"
latency = { mean = 0.02, jitter = 0.01 }
limits = [{ kind = "gcra", interval = 0.4, tolerance = 0.8 }]

[[servers]]
name = "leaky"
tier = "X"
port = 7003
error_rate = 0.5
error_drift = { amplitude = 0.4, period = 20.0, phase = 1.0 }
latency = { mean = 0.005 }
limits = [{ kind = "leaky_bucket", rate = 2.0, burst = 2 }]

[[servers]]
name = "concurrency"
tier = "X"
port = 7004
error_rate = 0.25
retry_after = true
rate_limit_headers = "ietf"
latency = { mean = 0.3, jitter = 0.1 }
limits = [{ kind = "concurrency", limit = 1 }]

[[servers]]
name = "sinusoid-bucket"
tier = "X"
port = 7005
error_rate = 0.4
retry_after = "date"
rate_limit_headers = "x"
latency = { mean = 0.01 }
limits = [{ kind = "sinusoid_bucket", base = 2.0, amplitude = 2.0, period = 10.0, burst = 2 }]

[[servers]]
name = "piecewise-with-outage-and-resets"
tier = "X"
port = 7006
error_rate = 0.2
retry_after = "seconds"
rate_limit_headers = "ietf"
latency = { mean = 0.01 }
limits = [
  { kind = "piecewise_bucket", segments = [[0, 3], [5, 0.5], [10, 2]], period = 15 },
  { kind = "outage", period = 20.0, duration = 4.0, offset = 3.0 },
]
faults = [{ kind = "reset", probability = 0.1 }]

[[servers]]
name = "two-steps"
tier = "X"
port = 7007
error_rate = 0.3
retry_after = true
latency = { mean = 0.01 }

[[servers.limits]]
kind = "step"
at = 15.0
before = { kind = "fixed_window", limit = 3 }
after = { kind = "step", at = 30.0, before = { kind = "sliding_log", limit = 1 } }
"""


def test_every_limit_kind_gives_strategies_the_same_outcomes_in_both_loops() -> None:
    """Quota and Retry-After per mode reach a strategy identically from both loops."""
    specs = tier_specs(loads(EVERY_LIMIT), "X")
    script = random.Random(11)
    picks = [script.randrange(len(specs)) for _ in range(3000)]

    def run(trace: bool) -> ScriptedStrategy:
        policy = ScriptedStrategy(len(specs), picks)
        Simulation(
            build_models(specs, 3), Router(policy, len(specs)), rate=8.0, requests=600, trace=trace
        ).run()
        return policy

    fast, reference = run(False), run(True)
    assert fast.observed == reference.observed
    outcomes = [outcome for _, outcome, _, _ in fast.observed]
    with_quota = {specs[arm].name for arm, o, _, _ in fast.observed if o.quota is not None}
    assert with_quota == {
        "sliding-log",
        "sliding-counter",
        "gcra",
        "concurrency",
        "sinusoid-bucket",
        "piecewise-with-outage-and-resets",
    }
    hints = {o.retry_after for o in outcomes if o.retry_after is not None}
    assert any(h != int(h) for h in hints)  # date and fractional hints are not whole seconds
    assert any(o.quota is not None and o.quota.window is None for o in outcomes)  # X-RateLimit


@pytest.mark.parametrize("strategy", strategy_names())
@pytest.mark.parametrize(
    ("text", "tier", "penalty"),
    [
        (EVERY_FAULT, "X", 1.0),
        (EVERY_FAULT, "X", 0.2),
        (FAULTY, "X", 0.5),
        (None, "T3", 0.3),
        (EVERY_LIMIT, "X", 1.0),
    ],
)
def test_fast_loop_equals_the_reference_loop(
    strategy: str, text: str | None, tier: str, penalty: float
) -> None:
    """Untraced runs (the fast loop) equal traced runs (Route and decide) field for field."""
    scenario = load("default") if text is None else loads(text)
    specs = tier_specs(scenario, tier)
    rules = RetryRules(free_attempts=3, penalty=penalty, max_attempts=6)

    def run(trace: bool) -> Simulation:
        policy = build_strategy(strategy, len(specs), random.Random(5))
        sim = Simulation(
            build_models(specs, 5),
            Router(policy, len(specs), rules),
            rate=scenario.rate,
            requests=400,
            trace=trace,
        )
        sim.run()
        return sim

    fast, reference = run(False), run(True)
    assert fast.result(scenario="s", tier=tier, strategy=strategy, seed=5) == reference.result(
        scenario="s", tier=tier, strategy=strategy, seed=5
    )
    assert fast.ledger == reference.ledger
    assert fast.router.blocked_until == reference.router.blocked_until


def test_the_planner_scores_more_on_a_varying_fleet_when_it_may_hold_longer() -> None:
    """Why the default hold budget is 4 s, not 1 s: on the independent fleet's t3 (token buckets
    whose refill swings, outages) waiting for a limited server beats spending the id's attempt
    on a 429 (6 seeds × 3,000 requests: 0.831 -> 0.844 per request, every seed)."""
    totals = {}
    for budget in (1.0, 4.0):
        rules = RetryRules(max_hold=budget)
        totals[budget] = [
            simulate("referee_t3", "T3", "planner", seed=seed, requests=3000, rules=rules).score
            for seed in range(6)
        ]
    gains = [longer - shorter for shorter, longer in zip(totals[1.0], totals[4.0], strict=True)]
    assert sum(gains) / (6 * 3000) > 0.008
    assert sum(gain > 0 for gain in gains) >= 4
