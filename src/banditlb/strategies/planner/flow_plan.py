"""The capacity planner's flow LP: which attempt number goes to which server, at what rate.

max Σ_j Σ_i p_i x_ji  s.t.  Σ_j x_ji ≤ cap_i  and  Σ_i x_ji + Σ_{j'<j} Σ_i p_i x_j'i ≤ rate,
x ≥ 0: x_ji is the rate of attempt-j sends to server i; ids accepted at an earlier attempt
need no later one. Every constraint is "≤ a non-negative bound", so the origin is feasible and a
plain primal simplex from the slack basis solves it; on a problem this small (≤ 3n variables,
≤ n + 3 rows) a dense numpy tableau is ~10x cheaper than a general solver call.
With no finite capacity the answer is known without solving: every attempt to the best server.

The LP's dual prices turn the plan into an index for each (attempt number j, server i):
index = p_i · (1 − W_j) − μ_i, with μ_i the price of a unit of server i's capacity and W_j the
summed prices of the ids' later attempts (the value an acceptance now saves later). At the
optimum the servers the plan uses at attempt j have the largest index; when they are full the
next best by index is the right substitute, not simply the most reliable server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_TOL = 1e-9
_MAX_PIVOTS = 500


@dataclass(frozen=True, slots=True)
class FlowPlan:
    """Rates x[j][i] of attempt j+1 to server i, and the dual prices behind them."""

    rates: list[list[float]]
    capacity_price: list[float]
    later_value: list[float]

    def index(self, level: int, arm: int, p: float) -> float:
        """Worth of sending attempt `level`+1 to `arm` (success probability `p`)."""
        return p * (1.0 - self.later_value[level]) - self.capacity_price[arm]


def simplex_max(
    c: NDArray[np.float64], a: NDArray[np.float64], b: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """(argmax c·x, duals) subject to a·x ≤ b, x ≥ 0, for b ≥ 0 (Dantzig's rule, then Bland's).

    None if the pivot budget runs out or the problem is unbounded.
    """
    m, n = a.shape
    tableau = np.zeros((m + 1, n + m + 1))
    tableau[:m, :n] = a
    tableau[:m, n : n + m] = np.eye(m)
    tableau[:m, -1] = b
    tableau[m, :n] = -c
    basis = list(range(n, n + m))
    for pivot in range(_MAX_PIVOTS):
        costs = tableau[m, :-1]
        if pivot < _MAX_PIVOTS // 2:
            col = int(np.argmin(costs))
            if costs[col] >= -_TOL:
                break
        else:  # Bland's rule: cannot cycle
            negative = np.flatnonzero(costs < -_TOL)
            if negative.size == 0:
                break
            col = int(negative[0])
        column = tableau[:m, col]
        positive = column > _TOL
        if not positive.any():
            return None
        ratios = np.full(m, np.inf)
        ratios[positive] = tableau[:m, -1][positive] / column[positive]
        row = int(np.argmin(ratios))
        tableau[row] /= tableau[row, col]
        factors = tableau[:, col].copy()
        factors[row] = 0.0
        tableau -= np.outer(factors, tableau[row])
        basis[row] = col
    else:
        return None
    x = np.zeros(n + m)
    x[basis] = tableau[:m, -1]
    return x[:n], tableau[m, n : n + m].copy()


def solve_flow_plan(
    p: Sequence[float], caps: Sequence[float], rate: float, levels: int
) -> FlowPlan:
    """The plan for capacities `caps` (inf: unlimited) at `rate` ids per second."""
    n = len(p)
    finite = [i for i in range(n) if not math.isinf(caps[i])]
    if not finite:
        best = max(range(n), key=lambda i: (p[i], -i))
        rows = []
        left = rate
        for _ in range(levels):
            row = [0.0] * n
            row[best] = left
            rows.append(row)
            left *= 1.0 - p[best]
        return FlowPlan(rows, [0.0] * n, [0.0] * levels)
    size = levels * n
    prob = np.asarray(p, dtype=float)
    objective = np.tile(prob, levels)
    a_ub = np.zeros((len(finite) + levels, size))
    b_ub = np.zeros(len(finite) + levels)
    for k, i in enumerate(finite):
        a_ub[k, i::n] = 1.0
        b_ub[k] = max(0.0, caps[i])
    for j in range(levels):
        k = len(finite) + j
        a_ub[k, j * n : (j + 1) * n] = 1.0
        for earlier in range(j):
            a_ub[k, earlier * n : (earlier + 1) * n] = prob
        b_ub[k] = max(0.0, rate)
    solved = simplex_max(objective, a_ub, b_ub)
    if solved is None:
        return FlowPlan([[0.0] * n for _ in range(levels)], [0.0] * n, [0.0] * levels)
    x, duals = solved
    prices = [0.0] * n
    for k, i in enumerate(finite):
        prices[i] = float(duals[k])
    level_price = [float(duals[len(finite) + j]) for j in range(levels)]
    later = [sum(level_price[j + 1 :]) for j in range(levels)]
    rates = [[max(0.0, float(v)) for v in x[j * n : (j + 1) * n]] for j in range(levels)]
    return FlowPlan(rates, prices, later)
