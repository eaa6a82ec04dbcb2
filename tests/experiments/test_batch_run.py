"""The models also run under ``mesa.batch_run``, for users who prefer Mesa's own batch runner."""

from __future__ import annotations

import mesa
import pandas as pd
import pytest

from agents import MODELS, PostedPriceModel


def batch(**kwargs: object) -> pd.DataFrame:
    rows = mesa.batch_run(
        PostedPriceModel,
        parameters={"n_users": [4, 8], "surge": 0.5, "seed": [1, 2]},
        iterations=1,
        max_steps=5,
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
        **kwargs,
    )
    return pd.DataFrame(rows)


def test_batch_run_covers_every_combination_and_step() -> None:
    frame = batch()
    assert sorted(frame.groupby(["n_users", "seed"]).size().index) == [(4, 1), (4, 2), (8, 1), (8, 2)]
    assert set(frame["Step"]) == set(range(0, 6))  # the initial collection, then rounds up to max_steps
    assert {"trades", "volume_mcore_h", "mean_price_micro", "unserved"} <= set(frame.columns)
    assert (frame["surge"] == 0.5).all()
    assert frame.groupby("n_users")["trades"].sum()[8] > frame.groupby("n_users")["trades"].sum()[4] > 0


def test_batch_run_is_deterministic_per_seed() -> None:
    first, second = batch(), batch()
    pd.testing.assert_frame_equal(first, second)
    by_seed = first[first["n_users"] == 8].groupby("seed")["volume_mcore_h"].sum()
    assert by_seed[1] != by_seed[2]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_runs_under_batch_run_with_its_defaults(name: str) -> None:
    rows = mesa.batch_run(
        MODELS[name],
        parameters={"seed": [3]},
        iterations=1,
        max_steps=1,
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    assert [row["Step"] for row in rows] == [0, 1]
    assert all(row["seed"] == 3 for row in rows)


def test_east_west_under_batch_run_last_step_carries_the_run_totals() -> None:
    """The example in docs/economy.md: with Mesa's default ``data_collection_period=-1`` only the
    last step is kept, and the ``cum_`` reporters make that row the whole run's totals."""
    from agents import EastWestModel

    every = pd.DataFrame(
        mesa.batch_run(
            EastWestModel,
            parameters={"mechanism": ["uniform", "nash"], "n_users": 30, "seed": 1},
            iterations=1,
            max_steps=6,
            number_processes=1,
            data_collection_period=1,
            display_progress=False,
        )
    )
    last = pd.DataFrame(
        mesa.batch_run(
            EastWestModel,
            parameters={"mechanism": ["uniform", "nash"], "n_users": 30, "seed": 1},
            iterations=1,
            max_steps=6,
            number_processes=1,
            data_collection_period=-1,
            display_progress=False,
        )
    )
    assert list(last["Step"]) == [6, 6]
    for mechanism, rows in every.groupby("mechanism"):
        final = last[last["mechanism"] == mechanism].iloc[0]
        assert final["cum_welfare_micro"] == rows["welfare_micro"].sum()
        assert final["cum_kg_co2"] == pytest.approx(rows["kg_co2"].sum())
