"""Confidence intervals and Welch's test over runs: the one place they are computed.

The simulator's summary tables (`sim/report.py`), the compare page's cells and a stored
sweep's cells (`store/cells.py`) all give a mean's 95% t-interval the same way: half-width
t(0.975, n − 1) · s / √n, undefined (nan) below two runs. scipy is imported when a number is
asked for, so importing this module stays light (the CLI and the dashboard import it).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

CONFIDENCE = 0.95
"""The intervals' confidence: a 95% t-interval for the mean."""
SIGNIFICANCE = 0.05
"""A p-value at or above this cannot tell two strategies apart ("≈ best")."""


def t_half_width(values: Sequence[float], confidence: float = CONFIDENCE) -> float:
    """Half the width of the t-interval for the mean of `values` (nan for fewer than two)."""
    if len(values) < 2:
        return math.nan
    from scipy import stats

    quantile = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1))
    return quantile * statistics.stdev(values) / math.sqrt(len(values))


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Welch's two-sided p-value; with no spread, 1.0 for equal means and 0.0 otherwise.

    Computed from the means and variances directly (Welch–Satterthwaite degrees of freedom):
    scipy's `ttest_ind` warns of catastrophic cancellation when two strategies score almost
    the same on every seed, which is common on easy tiers.
    """
    mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
    if len(a) < 2 or len(b) < 2:
        return 1.0 if mean_a == mean_b else math.nan
    var_a, var_b = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if var_a + var_b == 0:
        return 1.0 if mean_a == mean_b else 0.0
    from scipy import stats

    t = (mean_a - mean_b) / math.sqrt(var_a + var_b)
    dof = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    return float(2 * stats.t.sf(abs(t), dof))
