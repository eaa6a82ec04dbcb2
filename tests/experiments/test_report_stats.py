"""Statistics of reports: t confidence intervals, Welch and Kruskal–Wallis tests, Holm, simple effects."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from experiments.reporting.stats import (
    StatTest,
    compare_levels,
    holm,
    mean_ci,
    paired_test,
    simple_effects,
    treatment_table,
    welch,
)


def test_mean_ci_uses_the_t_distribution() -> None:
    e = mean_ci([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n), sd = 1
    assert (e.n, e.mean, e.std) == (3, 2.0, 1.0)
    assert e.low == pytest.approx(2.0 - half) and e.high == pytest.approx(2.0 + half)
    wider = mean_ci([1.0, 2.0, 3.0], confidence=0.99)
    assert wider.low < e.low and wider.high > e.high


def test_mean_ci_with_too_few_values() -> None:
    assert mean_ci([]).n == 0 and math.isnan(mean_ci([]).mean)
    one = mean_ci([4.0, math.nan, math.inf])
    assert one.n == 1 and one.mean == 4.0 and math.isnan(one.low) and math.isnan(one.high)


def test_mean_ci_covers_the_true_mean_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    samples = rng.normal(10.0, 3.0, size=(4000, 5))
    covered = sum(e.low <= 10.0 <= e.high for e in map(mean_ci, samples))
    assert 0.935 <= covered / 4000 <= 0.965  # a normal (z) interval would cover only about 88 % with n = 5


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30))
def test_the_interval_contains_the_mean(values: list[float]) -> None:
    e = mean_ci(values)
    assert e.low <= e.mean + 1e-9 * max(1.0, abs(e.mean)) and e.mean <= e.high + 1e-9 * max(1.0, abs(e.mean))


@given(st.floats(-1e6, 1e6), st.integers(2, 20))
def test_constant_values_have_a_zero_width_interval(value: float, n: int) -> None:
    e = mean_ci([value] * n)
    assert e.low == pytest.approx(value) and e.high == pytest.approx(value) and e.std == pytest.approx(0.0, abs=1e-9)


def test_welch_matches_scipy_and_reports_the_difference() -> None:
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 5.0, 4.0, 7.0, 6.0])
    t, p, diff, low, high = welch(a, b)
    reference = stats.ttest_ind(b, a, equal_var=False)
    assert t == pytest.approx(reference.statistic) and p == pytest.approx(reference.pvalue)
    assert diff == pytest.approx(2.5) and low < 2.5 < high


def test_welch_without_variance_is_undefined_but_keeps_the_difference() -> None:
    t, p, diff, low, high = welch(np.array([2.0, 2.0]), np.array([5.0, 5.0, 5.0]))
    assert math.isnan(t) and math.isnan(p) and diff == low == high == 3.0


def test_holm_known_values_and_nan() -> None:
    assert holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx([0.03, 0.06, 0.06, math.nan], nan_ok=True)
    assert holm([]) == []


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(p: list[float]) -> None:
    q = holm(p)
    assert all(pi <= qi <= 1.0 for pi, qi in zip(p, q, strict=True))
    ranked = sorted(range(len(p)), key=lambda i: p[i])
    assert all(q[ranked[i]] <= q[ranked[i + 1]] for i in range(len(p) - 1))


def test_two_levels_get_welch_and_more_get_kruskal_wallis_with_holm_pairs() -> None:
    two = compare_levels({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([4.0, 5.0, 7.0])}, "m", "f", "g=1")
    assert two is not None and two.test is StatTest.WELCH and two.levels == ("a", "b") and two.context == "g=1"
    assert two.difference == pytest.approx(10 / 3) and two.pairwise == ()
    groups = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([2.0, 3.0, 4.5]), "c": np.array([5.0, 6.0, 7.0])}
    three = compare_levels(groups, "m", "f")
    assert three is not None and three.test is StatTest.KRUSKAL
    reference = stats.kruskal(*groups.values())
    assert three.statistic == pytest.approx(reference.statistic) and three.p_value == pytest.approx(reference.pvalue)
    assert [(pw.a, pw.b) for pw in three.pairwise] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert [pw.p_holm for pw in three.pairwise] == pytest.approx(holm([pw.p_value for pw in three.pairwise]))
    assert math.isnan(three.difference)


def test_levels_need_two_values_each() -> None:
    assert compare_levels({"a": np.array([1.0]), "b": np.array([2.0, 3.0])}, "m", "f") is None
    kept = compare_levels({"a": np.array([1.0]), "b": np.array([2.0, 3.0]), "c": np.array([4.0, math.nan, 6.0])}, "m", "f")
    assert kept is not None and kept.levels == ("b", "c") and kept.test is StatTest.WELCH


def test_equal_values_everywhere_are_noted_not_tested() -> None:
    same = compare_levels({k: np.array([1.0, 1.0]) for k in "abc"}, "m", "f")
    assert same is not None and math.isnan(same.p_value) and same.note == "all values are equal"
    flat = compare_levels({"a": np.array([1.0, 1.0]), "b": np.array([2.0, 2.0])}, "m", "f")
    assert flat is not None and math.isnan(flat.p_value) and flat.note == "no variance within either level"


@pytest.fixture
def design() -> pd.DataFrame:
    """A 2 × 3 design, 3 seeds a cell: y rises with b, and a=True adds 10 only where b=2."""
    rows = []
    for a in (False, True):
        for b in (0, 1, 2):
            for seed, noise in enumerate((-0.5, 0.0, 0.7)):
                rows.append(
                    {
                        "a": a,
                        "b": b,
                        "seed": seed,
                        "y": b + noise + (10.0 if a and b == 2 else 0.0),
                        "treatment": f"a={a}, b={b}",
                    }
                )
    return pd.DataFrame(rows)


def test_simple_effects_compare_each_factor_at_every_level_of_the_others(design: pd.DataFrame) -> None:
    found = simple_effects(design, "y", ["a", "b"])
    by_a = [c for c in found if c.factor == "a"]
    assert [c.context for c in by_a] == ["b=0", "b=1", "b=2"]
    assert all(c.test is StatTest.WELCH and c.levels == ("false", "true") for c in by_a)
    assert [c.difference for c in by_a] == pytest.approx([0.0, 0.0, 10.0])
    by_b = [c for c in found if c.factor == "b"]
    assert [c.context for c in by_b] == ["a=false", "a=true"]
    assert all(c.test is StatTest.KRUSKAL and c.levels == ("0", "1", "2") and len(c.pairwise) == 3 for c in by_b)


def test_one_factor_has_no_context(design: pd.DataFrame) -> None:
    found = simple_effects(design[design["b"] == 2], "y", ["a"])
    assert len(found) == 1 and found[0].context == "" and found[0].difference == pytest.approx(10.0)


def test_treatment_table_is_long_and_in_order_of_appearance(design: pd.DataFrame) -> None:
    table = treatment_table(design, ["y", "seed"])
    assert list(table.columns) == ["treatment", "metric", "n", "mean", "std", "ci_low", "ci_high"]
    assert list(table["treatment"][::2]) == list(pd.unique(design["treatment"]))
    first = table.iloc[0]
    assert first["metric"] == "y" and first["n"] == 3 and first["mean"] == pytest.approx(np.mean([-0.5, 0.0, 0.7]))


def test_an_effect_hidden_by_seed_variation_shows_in_the_seed_paired_test() -> None:
    base = np.array([10.0, 50.0, 90.0, 130.0])
    blocks = pd.DataFrame({"x": base, "y": base + np.array([1.0, 1.2, 0.9, 1.1])}, index=[1, 2, 3, 4])
    found = compare_levels({c: blocks[c].to_numpy() for c in blocks}, "m", "f", blocks=blocks)
    assert found is not None and found.p_value > 0.9
    assert found.paired_test is StatTest.PAIRED_T
    assert found.paired_p == pytest.approx(stats.ttest_rel(blocks["y"], blocks["x"]).pvalue) and found.paired_p < 0.001


def test_more_levels_are_paired_with_friedman() -> None:
    blocks = pd.DataFrame({"x": [1.0, 5.0, 9.0], "y": [2.0, 6.5, 9.5], "z": [3.0, 7.0, 11.0]}, index=[1, 2, 3])
    found = compare_levels({c: blocks[c].to_numpy() for c in blocks}, "m", "f", blocks=blocks)
    assert found is not None and found.paired_test is StatTest.FRIEDMAN
    assert found.paired_p == pytest.approx(stats.friedmanchisquare(blocks["x"], blocks["y"], blocks["z"]).pvalue)


def test_paired_test_is_undefined_without_variation() -> None:
    test, p = paired_test(pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}))
    assert test is StatTest.PAIRED_T and math.isnan(p)
    test, p = paired_test(pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0], "z": [1.0, 2.0]}))  # ties in every seed
    assert test is StatTest.FRIEDMAN and math.isnan(p)


def test_simple_effects_pair_only_when_the_levels_share_their_seeds(design: pd.DataFrame) -> None:
    assert all(c.paired_test is not None for c in simple_effects(design, "y", ["a", "b"]))
    shifted = design.assign(seed=design["seed"] + np.where(design["a"], 10, 0))
    by_a = [c for c in simple_effects(shifted, "y", ["a", "b"]) if c.factor == "a"]
    assert by_a and all(c.paired_test is None and math.isnan(c.paired_p) for c in by_a)
