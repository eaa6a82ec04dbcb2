"""Statistics across seeds: means with t confidence intervals and tests between treatments.

Each seed of a treatment is one independent observation of a run-level metric. A treatment's mean
gets a confidence interval from Student's t-distribution with ``n - 1`` degrees of freedom. Two
treatments are compared with Welch's unequal-variance t-test, which also gives the difference of
their means with its confidence interval; more than two with the Kruskal–Wallis H-test (rank-based,
so it does not assume the normal outcomes ANOVA needs, which skewed market outcomes such as
efficiency near 1 rarely give), followed by pairwise Welch tests whose p-values are adjusted with
Holm's step-down method. Because every treatment runs the same seeds (common random numbers), the
seed-paired test is added whenever the levels share their seeds: the paired t-test for two levels,
the Friedman test for more. It removes the variation between seeds that all levels share (e.g. the
demand drawn from the seed), so it is usually the sharper of the two.

For a grid of several factors, each factor is compared at every combination of the other factors
(simple effects): in a 2 × 4 sweep of ``carbon_aware`` × ``deadline_flex_h``, ``carbon_aware`` is
tested once at each flexibility, which is what "CO2 saved at 4 hours of flexibility" needs.

References:
    Welch, "The generalization of 'Student's' problem when several different population variances
    are involved", Biometrika 34, 1947. Kruskal & Wallis, "Use of ranks in one-criterion variance
    analysis", J. American Statistical Association 47, 1952. Friedman, "The use of ranks to avoid
    the assumption of normality implicit in the analysis of variance", JASA 32, 1937. Holm, "A simple sequentially
    rejective multiple test procedure", Scandinavian J. Statistics 6, 1979.
"""

from __future__ import annotations

import enum
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Estimate",
    "StatTest",
    "Pairwise",
    "Comparison",
    "mean_ci",
    "welch",
    "holm",
    "compare_levels",
    "paired_test",
    "simple_effects",
    "treatment_table",
]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean across seeds with its confidence interval (``nan`` bounds with fewer than two values)."""

    n: int
    mean: float
    std: float
    low: float
    high: float


class StatTest(enum.StrEnum):
    """The test behind a comparison."""

    WELCH = "Welch t-test"
    KRUSKAL = "Kruskal–Wallis H-test"
    PAIRED_T = "paired t-test"
    FRIEDMAN = "Friedman test"


@dataclass(frozen=True, slots=True)
class Pairwise:
    """A pairwise Welch test inside a comparison of more than two levels.

    ``difference`` is ``mean(b) - mean(a)``; ``p_holm`` is Holm-adjusted over the comparison's pairs.
    """

    a: str
    b: str
    difference: float
    p_value: float
    p_holm: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Levels of one factor compared on one metric, the other factors held at ``context``.

    Attributes:
        metric: The run-level metric.
        factor: The factor whose levels are compared.
        context: The other factors' values (``""`` when there are none).
        levels: The levels compared, in plan order, each with at least two values.
        test: Welch for two levels, Kruskal–Wallis for more.
        statistic: t or H.
        p_value: The test's two-sided p-value (``nan`` when it is undefined; see ``note``).
        difference: Welch only: ``mean(levels[1]) - mean(levels[0])``.
        diff_low: Welch only: lower bound of the difference's confidence interval.
        diff_high: Welch only: upper bound.
        pairwise: Kruskal–Wallis only: every pair, Holm-adjusted.
        paired_test: When every level ran the same seeds: the seed-paired test (paired t for two
            levels, Friedman for more), else ``None``.
        paired_p: Its p-value.
        note: Why a value is ``nan``.
    """

    metric: str
    factor: str
    context: str
    levels: tuple[str, ...]
    test: StatTest
    statistic: float
    p_value: float
    difference: float = math.nan
    diff_low: float = math.nan
    diff_high: float = math.nan
    pairwise: tuple[Pairwise, ...] = ()
    paired_test: StatTest | None = None
    paired_p: float = math.nan
    note: str = ""


def _finite(values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def mean_ci(values: Sequence[float] | np.ndarray | pd.Series, confidence: float = 0.95) -> Estimate:
    """The mean of the finite ``values`` with a two-sided t confidence interval.

    Args:
        values: One value per seed; ``nan`` and infinities are left out.
        confidence: Coverage of the interval.

    Returns:
        The estimate; with fewer than two values the spread and the bounds are ``nan``.
    """
    x = _finite(values)
    n = len(x)
    if n == 0:
        return Estimate(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return Estimate(1, mean, math.nan, math.nan, math.nan)
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Estimate(n, mean, std, mean - half, mean + half)


def welch(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float, float]:
    """Welch's t-test of ``b`` against ``a``.

    Returns:
        ``(t, p, mean(b) - mean(a), low, high)``, the last two bounding the difference; ``t`` and
        ``p`` are ``nan`` when neither sample varies (the test is undefined).
    """
    difference = float(np.mean(b) - np.mean(a))
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return math.nan, math.nan, difference, difference, difference
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # near-equal samples: precision note only
        result = stats.ttest_ind(b, a, equal_var=False)
        interval = result.confidence_interval(confidence)
    return float(result.statistic), float(result.pvalue), difference, float(interval.low), float(interval.high)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: the family-wise error rate stays at the nominal level.

    ``nan`` entries stay ``nan`` and do not count towards the family.
    """
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    m = len(indexed)
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def paired_test(blocks: pd.DataFrame) -> tuple[StatTest, float]:
    """The seed-paired test of a seeds × levels table: paired t for two levels, Friedman for more.

    Common random numbers give every level the same seeds, so the variation between seeds is shared
    and a paired test removes it. The p-value is ``nan`` when the test is undefined (no variation
    in the differences, or ties in every seed).
    """
    columns = [blocks[c].to_numpy(dtype=float) for c in blocks.columns]
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        if len(columns) == 2:
            differences = columns[1] - columns[0]
            if np.ptp(differences) == 0:
                return StatTest.PAIRED_T, math.nan
            return StatTest.PAIRED_T, float(stats.ttest_rel(columns[1], columns[0]).pvalue)
        try:
            return StatTest.FRIEDMAN, float(stats.friedmanchisquare(*columns).pvalue)
        except ValueError:  # scipy refuses fewer than two seeds or all-tied blocks
            return StatTest.FRIEDMAN, math.nan


def compare_levels(
    samples: Mapping[str, np.ndarray],
    metric: str,
    factor: str,
    context: str = "",
    confidence: float = 0.95,
    blocks: pd.DataFrame | None = None,
) -> Comparison | None:
    """Compares the levels of ``factor`` on ``metric``.

    Args:
        samples: Level name to its values (one per seed), in the order to report.
        metric: The metric's name, for the record.
        factor: The factor's name, for the record.
        context: The other factors' values, for the record.
        confidence: Coverage of the difference's interval (two levels).
        blocks: The same values as a seeds × levels table, when every level ran the same seeds;
            adds the seed-paired test (:func:`paired_test`).

    Returns:
        The comparison, or ``None`` when fewer than two levels have two finite values each.
    """
    groups = {level: _finite(v) for level, v in samples.items()}
    groups = {level: v for level, v in groups.items() if len(v) >= 2}
    levels = tuple(groups)
    if len(levels) < 2:
        return None
    paired: dict[str, Any] = {}
    if blocks is not None:
        complete = blocks[list(levels)].dropna() if set(levels) <= set(blocks.columns) else blocks.iloc[0:0]
        if len(complete) >= 2:
            paired["paired_test"], paired["paired_p"] = paired_test(complete)
    if len(levels) == 2:
        t, p, diff, low, high = welch(groups[levels[0]], groups[levels[1]], confidence)
        note = "no variance within either level" if math.isnan(p) else ""
        return Comparison(metric, factor, context, levels, StatTest.WELCH, t, p, diff, low, high, note=note, **paired)
    pooled = np.concatenate(list(groups.values()))
    pairs = [(a, b) for i, a in enumerate(levels) for b in levels[i + 1 :]]
    raw = [welch(groups[a], groups[b], confidence) for a, b in pairs]
    adjusted = holm([r[1] for r in raw])
    pairwise = tuple(Pairwise(a, b, r[2], r[1], q) for (a, b), r, q in zip(pairs, raw, adjusted, strict=True))
    if np.ptp(pooled) == 0:
        return Comparison(
            metric,
            factor,
            context,
            levels,
            StatTest.KRUSKAL,
            math.nan,
            math.nan,
            pairwise=pairwise,
            note="all values are equal",
            **paired,
        )
    h, p = stats.kruskal(*groups.values())
    return Comparison(metric, factor, context, levels, StatTest.KRUSKAL, float(h), float(p), pairwise=pairwise, **paired)


def _level(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def simple_effects(runs: pd.DataFrame, metric: str, factors: Sequence[str], confidence: float = 0.95) -> list[Comparison]:
    """Each factor's levels compared on ``metric`` at every combination of the other factors.

    Args:
        runs: Runs of a sweep (successful ones), with one column per factor.
        metric: A numeric column of ``runs``.
        factors: The factors, in plan order; their levels keep their order of appearance.
        confidence: Coverage of the differences' intervals.

    Returns:
        Every comparison that has at least two levels with two values each.
    """
    found: list[Comparison] = []
    for factor in factors:
        others = [f for f in factors if f != factor]
        contexts = runs.groupby(others, sort=False, dropna=False) if others else [((), runs)]
        for key, frame in contexts:
            values = key if isinstance(key, tuple) else (key,)
            context = ", ".join(f"{f}={_level(v)}" for f, v in zip(others, values, strict=True))
            by_level = {
                _level(level): frame.loc[frame[factor] == level].set_index("seed")[metric].astype("float64")
                for level in pd.unique(frame[factor])
            }
            samples = {level: series.to_numpy() for level, series in by_level.items()}
            seeds = [frozenset(series.index) for series in by_level.values()]
            same_seeds = all(series.index.is_unique for series in by_level.values()) and len(set(seeds)) == 1
            blocks = pd.DataFrame(by_level) if same_seeds else None
            comparison = compare_levels(samples, metric, factor, context, confidence, blocks)
            if comparison is not None:
                found.append(comparison)
    return found


def treatment_table(
    runs: pd.DataFrame, metrics: Sequence[str], by: str = "treatment", confidence: float = 0.95
) -> pd.DataFrame:
    """Per group and metric: n, mean, standard deviation and confidence bounds, in a long table.

    Args:
        runs: Runs of a sweep (successful ones).
        metrics: Numeric columns of ``runs``.
        by: The grouping column; groups keep their order of appearance.
        confidence: Coverage of the intervals.

    Returns:
        Columns ``by, metric, n, mean, std, ci_low, ci_high``.
    """
    rows = []
    for group, frame in runs.groupby(by, sort=False):
        for metric in metrics:
            e = mean_ci(frame[metric].astype("float64").to_numpy(), confidence)
            rows.append(
                {by: group, "metric": metric, "n": e.n, "mean": e.mean, "std": e.std, "ci_low": e.low, "ci_high": e.high}
            )
    return pd.DataFrame(rows, columns=[by, "metric", "n", "mean", "std", "ci_low", "ci_high"])
