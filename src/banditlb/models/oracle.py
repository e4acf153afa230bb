"""An LP upper bound on the expected score per request, given what no strategy can know.

Variables x[k][j] >= 0 are the rates (per second) of j-th attempts sent to server k, for
j = 1..J (J = free_attempts when penalty >= 1, since a paid attempt can never gain more than it
costs; otherwise J = max_attempts). With p_k = 1 - error_rate, λ the arrival rate and c_k the
server's capacity in admitted requests per second (`ServerModel.capacity(now)`):

    maximise   Σ_k Σ_j p_k · x[k][j]  −  penalty · Σ_k Σ_{j > free_attempts} x[k][j]
    subject to Σ_k x[k][1] <= λ                                   (one first attempt per request)
               Σ_k x[k][j+1] <= Σ_k (1 − p_k) · x[k][j]           (retries only follow failures)
               Σ_j x[k][j] <= c_k                                 (admitted within capacity)

and the value divided by λ is the bound per request. An attempt may go to any server, including
one already tried: the servers' coin flips are independent. For capacities that change over time
the LP is solved per slice (1 s by default) over the horizon and the values are averaged; so
for error rates that drift (`error_drift`), each slice with the rates at its start.

Why no strategy can beat it (in expectation, over a long run):
- it is a relaxation: expected rates instead of discrete, random events. Take any real policy,
  drop each request's 429ed attempts and renumber the admitted ones 1, 2, ...: an admitted
  attempt succeeds with probability p_k whatever came before (the server's coin is independent),
  a next admitted attempt follows only a failed one, and renumbering only lowers attempt numbers
  (so penalties). The policy's long-run rates are therefore a feasible point of the LP scoring at
  least as well as the policy did; and any aggregate flow of retries can be realised by routing
  each failed request independently, so nothing is lost by working with rates;
- it knows every p_k and c_k exactly and pays no learning cost (no exploration, no 429s to find a
  limit);
- capacity is assumed perfectly usable: admitted requests are spread exactly to fill each window,
  with no bursts lost to timing; a 429 is an attempt that counts and fails, so the optimum never
  sends past capacity and the real game can only do worse;
- faults (hang, reset, refused, flap) are ignored, and they only lose points or attempts.
The bound ignores a token bucket's initial burst and retries that spill into the next slice,
both negligible over runs of many slices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from banditlb.errors import ConfigError
from banditlb.models.server import ServerModel
from banditlb.models.spec import Scenario

DEFAULT_HORIZON = 1000.0
"""Seconds the bound averages over when none is given: 10,000 requests at 10 per second."""
SLICE = 1.0


@dataclass(frozen=True, slots=True)
class LPSolution:
    """The LP's optimum: `value` in points per second, `x[k][j-1]` the rate of j-th attempts."""

    value: float
    rate: float
    x: tuple[tuple[float, ...], ...]

    @property
    def per_request(self) -> float:
        return self.value / self.rate

    def attempts(self, server: int) -> float:
        """All attempts per second the optimum sends to `server`."""
        return sum(self.x[server])


@dataclass(frozen=True, slots=True)
class OracleResult:
    """The bound per request, averaged over slices; the first slice's allocation for display."""

    score_per_request: float
    slice_values: tuple[float, ...]
    servers: tuple[str, ...]
    p: tuple[float, ...]
    capacity: tuple[float, ...]
    first: LPSolution
    horizon: float

    @property
    def x(self) -> tuple[tuple[float, ...], ...]:
        return self.first.x


def attempts_considered(penalty: float, free_attempts: int, max_attempts: int) -> int:
    """J: paid attempts can only help when the penalty is below the best possible gain of 1."""
    return free_attempts if penalty >= 1.0 else max_attempts


def solve_lp(
    p: list[float],
    capacity: list[float],
    rate: float,
    *,
    penalty: float = 1.0,
    free_attempts: int = 3,
    max_attempts: int = 10,
) -> LPSolution:
    """Solve the bound's LP for success probabilities `p` and capacities (math.inf = none)."""
    if len(p) != len(capacity) or not p:
        raise ConfigError(f"need one capacity per server, got {len(p)} p and {len(capacity)}")
    if not (math.isfinite(rate) and rate > 0):
        raise ConfigError(f"rate must be a finite number > 0 requests/s, got {rate!r}")
    if not (math.isfinite(penalty) and penalty >= 0):
        raise ConfigError(f"penalty must be a finite number >= 0, got {penalty!r}")
    if not 1 <= free_attempts <= max_attempts:
        raise ConfigError(
            f"need 1 <= free_attempts ({free_attempts}) <= max_attempts ({max_attempts})"
        )
    n_servers = len(p)
    n_steps = attempts_considered(penalty, free_attempts, max_attempts)
    probs = np.asarray(p, dtype=float)
    if np.any(probs < 0) or np.any(probs > 1):
        raise ConfigError(f"success probabilities must be in [0, 1], got {p}")

    def var(server: int, step: int) -> int:  # step is 0-based: attempt number step + 1
        return server * n_steps + step

    n_vars = n_servers * n_steps
    gain = np.zeros(n_vars)
    for k in range(n_servers):
        for j in range(n_steps):
            gain[var(k, j)] = probs[k] - (penalty if j >= free_attempts else 0.0)
    rows: list[np.ndarray] = []
    bounds: list[float] = []
    first = np.zeros(n_vars)
    first[[var(k, 0) for k in range(n_servers)]] = 1.0
    rows.append(first)
    bounds.append(rate)
    for j in range(n_steps - 1):
        row = np.zeros(n_vars)
        for k in range(n_servers):
            row[var(k, j + 1)] = 1.0
            row[var(k, j)] = -(1.0 - probs[k])
        rows.append(row)
        bounds.append(0.0)
    for k, cap in enumerate(capacity):
        if math.isinf(cap):
            continue
        if cap < 0:
            raise ConfigError(f"capacity must be >= 0, got {cap!r} for server {k}")
        row = np.zeros(n_vars)
        row[[var(k, j) for j in range(n_steps)]] = 1.0
        rows.append(row)
        bounds.append(cap)
    solved = linprog(
        -gain, A_ub=np.vstack(rows), b_ub=np.asarray(bounds), bounds=(0, None), method="highs"
    )
    if solved.status != 0:  # pragma: no cover - the LP is always feasible (x = 0) and bounded
        raise ConfigError(f"the oracle LP failed: {solved.message}")
    values = np.maximum(solved.x, 0.0).reshape(n_servers, n_steps)
    return LPSolution(
        value=float(-solved.fun),
        rate=rate,
        x=tuple(tuple(float(v) for v in row) for row in values),
    )


def oracle_bound(
    world: Scenario,
    tier: str,
    *,
    penalty: float = 1.0,
    free_attempts: int = 3,
    horizon: float | None = None,
    rate: float | None = None,
    max_attempts: int = 10,
) -> OracleResult:
    """The bound on expected score per request for `tier`, averaged over 1 s slices of `horizon`.

    `horizon` defaults to DEFAULT_HORIZON seconds; `rate` to the scenario's arrival rate.
    """
    specs = world.tier(tier)
    if not specs:
        raise ConfigError(
            f"unknown tier {tier!r} in scenario {world.name!r}; tiers: {', '.join(world.tiers())}"
        )
    span = DEFAULT_HORIZON if horizon is None else horizon
    if not (math.isfinite(span) and span > 0):
        raise ConfigError(f"horizon must be a finite number > 0 s, got {span!r}")
    arrivals = world.rate if rate is None else rate
    models = [ServerModel(spec, world.seed) for spec in specs]
    p = [1.0 - spec.error_rate for spec in specs]
    drifting = any(spec.error_drift is not None for spec in specs)
    solved: dict[tuple[tuple[float, ...], tuple[float, ...]], LPSolution] = {}
    values: list[float] = []
    weights: list[float] = []
    first: LPSolution | None = None
    first_caps: tuple[float, ...] = ()
    start = 0.0
    while start < span:
        caps = tuple(model.capacity(start) for model in models)
        probs = tuple(1.0 - s.error_rate_at(start) for s in specs) if drifting else tuple(p)
        key = (caps, probs)
        if key not in solved:
            solved[key] = solve_lp(
                list(probs),
                list(caps),
                arrivals,
                penalty=penalty,
                free_attempts=free_attempts,
                max_attempts=max_attempts,
            )
        if first is None:
            first, first_caps = solved[key], caps
        values.append(solved[key].per_request)
        weights.append(min(SLICE, span - start))
        start += SLICE
    assert first is not None
    mean = float(np.average(values, weights=weights))
    return OracleResult(
        score_per_request=mean,
        slice_values=tuple(values),
        servers=tuple(spec.name for spec in specs),
        p=tuple(p),
        capacity=first_caps,
        first=first,
        horizon=span,
    )
