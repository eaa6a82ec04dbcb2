"""Largest-remainder rounding that keeps money exactly balanced."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.errors import MechanismError
from market.rounding import round_preserving_sum

money = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)


def test_hand_example_gives_leftover_units_to_largest_remainders() -> None:
    assert round_preserving_sum([1.2, 2.5, 3.3], 7) == [1, 3, 3]
    assert round_preserving_sum([0.5, 0.5, -1.0], 0) == [1, 0, -1]  # tie goes to the lower index


def test_default_total_is_rounded_sum() -> None:
    assert sum(round_preserving_sum([0.4, 0.4, 0.4])) == 1


@given(st.lists(money, min_size=1, max_size=30))
def test_sum_is_exact_and_every_value_moves_less_than_one(values: list[float]) -> None:
    out = round_preserving_sum(values)
    assert sum(out) == round(math.fsum(values))
    assert all(abs(o - v) < 1 for o, v in zip(out, values, strict=True))


@given(st.lists(money, min_size=2, max_size=30))
def test_zero_sum_vectors_stay_zero_sum(values: list[float]) -> None:
    balanced = [*values, -math.fsum(values)]
    assert sum(round_preserving_sum(balanced, 0)) == 0


def test_rejects_unreachable_total_and_non_finite() -> None:
    with pytest.raises(MechanismError, match="not reachable"):
        round_preserving_sum([1.0, 2.0], 5)
    with pytest.raises(MechanismError, match="not reachable"):
        round_preserving_sum([1.5, 2.5], 2)
    with pytest.raises(MechanismError, match="finite"):
        round_preserving_sum([math.nan])
