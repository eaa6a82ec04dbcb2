"""The carbon-aware sweep's savings: spatial and temporal, with intervals and Page's trend test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments.reporting.carbon import Interval, carbon_savings


def sweep_frame(growth: float, seeds: int = 8, noise: float = 0.002) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(1, seeds + 1):
        blind = 100.0 + seed
        rows.append(dict(seed=seed, carbon_aware=False, deadline_flex_h=0, kg_co2=blind, kg_co2_deferrable=50.0, temporal_saving=0.0))
        for w in (0, 2, 4, 8):
            saving = growth * w + noise * rng.standard_normal() if w else 0.0
            rows.append(
                dict(seed=seed, carbon_aware=True, deadline_flex_h=w, kg_co2=0.9 * blind, kg_co2_deferrable=40.0 - w, temporal_saving=saving)
            )
    return pd.DataFrame(rows)


def test_savings_by_hand() -> None:
    found = carbon_savings(sweep_frame(0.01, noise=0.0))
    assert found is not None and found.seeds == 8
    assert found.spatial.mean == pytest.approx(0.1) and found.spatial.low == pytest.approx(0.1)
    # between runs: (40 - (40 - W)) / 50
    assert {w: round(i.mean, 6) for w, i in found.between_runs.items()} == {2: 0.04, 4: 0.08, 8: 0.16}
    assert {w: round(i.mean, 6) for w, i in found.same_tasks.items()} == {2: 0.02, 4: 0.04, 8: 0.08}


def test_a_saving_that_grows_with_the_window_passes_the_trend_test_and_a_flat_one_does_not() -> None:
    growing = carbon_savings(sweep_frame(0.005))
    flat = carbon_savings(sweep_frame(0.0))
    assert growing is not None and flat is not None
    assert growing.page_p < 0.01
    assert flat.page_p > 0.05


def test_seeds_without_deferrable_work_are_left_out_of_the_trend_test() -> None:
    """Runs too short to serve deferrable work have no same-task saving (NaN): the trend test
    ranks the other seeds, and with fewer than two left it is not computed, never an error."""
    frame = sweep_frame(0.005)
    short = (frame["seed"] <= 2) & frame["carbon_aware"] & (frame["deadline_flex_h"] == 4)
    found = carbon_savings(frame.assign(temporal_saving=frame["temporal_saving"].mask(short)))
    assert found is not None and found.page_p < 0.01
    every = frame["carbon_aware"] & (frame["deadline_flex_h"] == 4)
    none_left = carbon_savings(frame.assign(temporal_saving=frame["temporal_saving"].mask(every)))
    assert none_left is not None and math.isnan(none_left.page_l) and math.isnan(none_left.page_p)


def test_not_a_carbon_sweep() -> None:
    assert carbon_savings(pd.DataFrame({"seed": [1], "mechanism": ["uniform"]})) is None
    frame = sweep_frame(0.01)
    assert carbon_savings(frame[frame["carbon_aware"]]) is None  # no carbon-blind baseline
    assert carbon_savings(frame[frame["deadline_flex_h"] <= 2]) is None  # one window above 0


def test_interval() -> None:
    i = Interval.of(np.array([1.0, 2.0, 3.0]))
    assert i.mean == 2.0 and i.low == pytest.approx(2.0 - 4.302653 / math.sqrt(3)) and i.n == 3
    assert Interval.of(np.array([])).n == 0 and Interval.of(np.array([0.5])).percent() == "50.00 %"
