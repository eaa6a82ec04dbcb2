"""The dashboard's map and charts, drawn from a model without a browser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection

from agents.eastwest import EastWestModel
from agents.geography import CLUSTERS
from experiments.demo.figures import SERIES, charts_figure, map_figure
from experiments.demo.live import demo_class
from experiments.scenarios import load_scenario
from market.orders import Side


@pytest.fixture(scope="module")
def east_west() -> EastWestModel:
    model = EastWestModel(n_users=20, seed=2)
    for _ in range(3):
        model.step()
    return model


def test_map_puts_every_cluster_at_its_coordinates_with_its_links(east_west: EastWestModel) -> None:
    ax = map_figure(east_west).axes[0]
    centres = {c.get_gid(): tuple(np.asarray(c.get_offsets())[0]) for c in ax.collections if (c.get_gid() or "").startswith("dc:")}
    assert centres == {f"dc:{c.name}": (c.lon, c.lat) for c in CLUSTERS}
    suppliers = [c for c in ax.collections if (c.get_gid() or "").startswith("supplier:")]
    assert len(suppliers) == len(east_west.suppliers)
    edges = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(edges) == 1 and len(edges[0].get_segments()) == len(east_west.links)
    assert len(set(np.round(edges[0].get_linewidth(), 3))) > 1  # busier links are drawn wider
    assert ax.get_xlim() == (99.5, 125.0) and "hour 3" in ax.get_title()


def test_map_marks_a_data_centre_an_outage_took_down(east_west: EastWestModel) -> None:
    def crosses() -> set[str]:
        ax = map_figure(east_west).axes[0]
        return {str(c.get_gid()) for c in ax.collections if (c.get_gid() or "").startswith("outage:")}

    down = east_west.centres[0]
    base = crosses()
    down.online = False
    try:
        assert crosses() == base | {f"outage:{down.site.name}"}
    finally:
        down.online = True


def test_east_west_charts_follow_the_data_collector(east_west: EastWestModel) -> None:
    fig = charts_figure(east_west, "east-west")
    assert [ax.get_title() for ax in fig.axes] == [title for _, title, _ in SERIES["east-west"]]
    frame = east_west.datacollector.get_model_vars_dataframe()
    welfare = next(ax for ax in fig.axes if ax.get_title().startswith("welfare"))
    x, y = welfare.lines[0].get_data()
    assert list(np.asarray(x)) == [1, 2, 3]
    assert np.allclose(y, frame["welfare_micro"].iloc[1:].to_numpy(dtype=float) / 1e6)


def test_charts_keep_the_run_before_a_reset_to_compare(east_west: EastWestModel) -> None:
    before = EastWestModel(n_users=20, seed=2, carbon_price_micro_per_kg=0.0)
    for _ in range(5):
        before.step()
    previous = before.datacollector.get_model_vars_dataframe()
    fig = charts_figure(east_west, "east-west", previous)
    co2 = next(ax for ax in fig.axes if ax.get_title().startswith("emissions"))
    old, new = co2.lines
    assert old.get_linestyle() == "--" and old.get_label() == "previous run" and list(np.asarray(old.get_xdata())) == [1, 2, 3, 4, 5]
    assert np.allclose(old.get_ydata(), previous["kg_co2"].iloc[1:].to_numpy(dtype=float))
    assert list(np.asarray(new.get_xdata())) == [1, 2, 3] and "run before the last reset" in fig.get_suptitle()
    assert all(len(ax.lines) == 1 for ax in charts_figure(east_west, "east-west").axes)  # nothing to compare: one line


def test_charts_of_a_model_without_a_series_list() -> None:
    from agents.posted_price import PostedPriceModel

    model = PostedPriceModel(seed=1)
    model.step()
    fig = charts_figure(model, "posted-price")
    numeric = [c for c in model.datacollector.get_model_vars_dataframe().columns]
    assert 1 <= len(fig.axes) <= 8 and fig.axes[0].get_title() == numeric[0]


def test_auction_charts_show_the_period_the_equilibrium_and_a_persons_trades(tmp_path: Path) -> None:
    scenario = load_scenario("smith-1962")
    model = demo_class(scenario.model_class)(**scenario.params, log_dir=str(tmp_path), scenario="smith-1962", seed=1)
    ada = model.add_human(Side.BUY, [4_000_000], "Ada")
    model.session.open_accounts({ada.agent_id: ada.initial_funds_micro})
    model.submit_quote(ada, 3_900_000)
    model.step()
    fig = charts_figure(model, "double-auction")
    prices = fig.axes[0]
    assert prices.get_title().startswith("period 1: prices")
    assert len(np.asarray(prices.lines[0].get_xdata())) == len(model.trades)
    assert any(np.asarray(line.get_ydata())[0] == model.equilibrium_price / 1e6 for line in prices.lines[1:])  # the equilibrium, Ada counted in
    people = [c for c in prices.collections if len(np.asarray(c.get_offsets()))]
    assert len(people) == 1 and np.asarray(people[0].get_offsets())[0][1] == pytest.approx(3.9)
    assert "overall" in fig.axes[3].get_title()
