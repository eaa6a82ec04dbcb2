"""The carbon-aware sweep's own statistics: the spatial and the temporal saving, with intervals and a trend test.

For a sweep over ``carbon_aware`` × ``deadline_flex_h`` (``experiments/sweeps/carbon-aware.toml``),
with every treatment on the same seeds:

* **spatial saving**, per seed: ``1 − kg_co2(aware, W=0) / kg_co2(blind, W=0)``: what weighing
  carbon saves when nothing may wait, so work can only move between places;
* **temporal saving**, per seed and window W, two ways:
  - *between runs* (the issue's definition): ``(kg_co2_deferrable(aware, 0) − kg_co2_deferrable(aware, W))
    / kg_co2_deferrable(blind, 0)``; it also moves with how much more work a longer window lets
    through (congested hours leave less work unserved), so it mixes shifting with serving more;
  - *same tasks*: the run's ``temporal_saving``, ``1 − kg_co2_deferrable / kg_co2_deferrable_at_arrival``:
    the deferrable work served, against the same work had it run in the hour it arrived (same
    place, the grid intensity of that hour), which is what Wiesner et al. (2021) measure.

Each is given as its mean over seeds with a 95 % confidence interval (Student's t). Whether the
temporal saving grows with the window is tested over W > 0 with Page's L test (one-sided,
seeds as blocks, ranks predicted in the order of W; Page 1963).

References:
    E. B. Page, "Ordered hypotheses for multiple treatments: a significance test for linear ranks",
    Journal of the American Statistical Association 58(301), pp. 216–230, 1963.
    P. Wiesner, I. Behnke, D. Scheinert, K. Gontarska and L. Thamsen, "Let's wait awhile: how
    temporal workload shifting can reduce carbon emissions in the cloud", Middleware 2021.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["Interval", "CarbonSavings", "carbon_savings"]

_NEEDED = {"carbon_aware", "deadline_flex_h", "seed", "kg_co2", "kg_co2_deferrable", "temporal_saving"}


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean over seeds with its 95 % confidence interval (Student's t, n − 1 degrees of freedom)."""

    mean: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: np.ndarray) -> Interval:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        n = len(values)
        if n == 0:
            return cls(math.nan, math.nan, math.nan, 0)
        mean = float(values.mean())
        if n < 2:
            return cls(mean, math.nan, math.nan, n)
        half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
        return cls(mean, mean - half, mean + half, n)

    def percent(self) -> str:
        if self.n == 0:
            return "—"
        if not math.isfinite(self.low):
            return f"{100 * self.mean:.2f} %"
        return f"{100 * self.mean:.2f} % [{100 * self.low:.2f}, {100 * self.high:.2f}]"


@dataclass(frozen=True, slots=True)
class CarbonSavings:
    """The carbon-aware sweep's savings (fractions, not percent).

    Attributes:
        spatial: Spatial saving at W = 0.
        between_runs: Temporal saving by the issue's definition, per window W > 0.
        same_tasks: Temporal saving of the same tasks against their arrival hours, per window W > 0.
        page_l, page_p: Page's L and its one-sided p-value for ``same_tasks`` growing with W.
        page_l_between, page_p_between: The same for ``between_runs``.
        seeds: Seeds with every treatment.
    """

    spatial: Interval
    between_runs: dict[int, Interval]
    same_tasks: dict[int, Interval]
    page_l: float
    page_p: float
    page_l_between: float
    page_p_between: float
    seeds: int


def _page(matrix: np.ndarray) -> tuple[float, float]:
    """Page's L test that the columns grow from left to right (rows are blocks). A block with a
    missing value (a seed whose runs served no deferrable work, as in runs of a few hours) is left
    out, since ranks cannot place it."""
    matrix = matrix[~np.isnan(matrix).any(axis=1)]
    if matrix.shape[0] < 2 or matrix.shape[1] < 3:
        return math.nan, math.nan
    result = stats.page_trend_test(matrix)
    return float(result.statistic), float(result.pvalue)


def carbon_savings(runs: pd.DataFrame) -> CarbonSavings | None:
    """The savings of a carbon-aware sweep's successful runs, or ``None`` where ``runs`` is not one
    (missing columns, no carbon-blind W = 0 runs, or fewer than two windows above 0)."""
    if not _NEEDED <= set(runs.columns):
        return None
    frame = runs.assign(aware=runs["carbon_aware"].astype(bool), window=runs["deadline_flex_h"].astype(int))
    blind = frame[~frame["aware"] & (frame["window"] == 0)].set_index("seed")
    aware = frame[frame["aware"]]
    windows = sorted(w for w in aware["window"].unique() if w > 0)
    if blind.empty or 0 not in set(aware["window"]) or len(windows) < 2:
        return None
    by_window = {w: aware[aware["window"] == w].set_index("seed") for w in [0, *windows]}
    seeds = sorted(set(blind.index).intersection(*(set(t.index) for t in by_window.values())))
    if not seeds:
        return None
    b, a0 = blind.loc[seeds], by_window[0].loc[seeds]
    spatial = 1.0 - a0["kg_co2"].astype(float) / b["kg_co2"].astype(float)
    between = {
        w: (a0["kg_co2_deferrable"].astype(float) - by_window[w].loc[seeds, "kg_co2_deferrable"].astype(float))
        / b["kg_co2_deferrable"].astype(float)
        for w in windows
    }
    same = {w: by_window[w].loc[seeds, "temporal_saving"].astype(float) for w in windows}
    page_l, page_p = _page(np.column_stack([same[w].to_numpy() for w in windows]))
    page_lb, page_pb = _page(np.column_stack([between[w].to_numpy() for w in windows]))
    return CarbonSavings(
        spatial=Interval.of(spatial.to_numpy()),
        between_runs={w: Interval.of(v.to_numpy()) for w, v in between.items()},
        same_tasks={w: Interval.of(v.to_numpy()) for w, v in same.items()},
        page_l=page_l,
        page_p=page_p,
        page_l_between=page_lb,
        page_p_between=page_pb,
        seeds=len(seeds),
    )
