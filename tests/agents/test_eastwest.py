"""The East-Data-West-Compute model: accounting, welfare, calibration, QoS, guarantees, carbon-aware scheduling."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.eastwest import REFERENCE_USERS, ComputeCentre, ComputeUser, EastWestModel, EnergySupplier, MarketParams, NetworkLink, RoundStats
from agents.environment import demand_multiplier, grid_intensity_profile
from agents.geography import CLUSTERS, is_east
from market.carbon import SOURCE_FACTORS, EnergySource
from market.orders import Resource

SMALL: dict[str, Any] = {"n_users": 40, "task_rate": 0.4}


def run(steps: int = 12, **kw) -> EastWestModel:
    model = EastWestModel(seed=kw.pop("seed", 1), **{**SMALL, **kw})
    for _ in range(steps):
        model.step()
    return model


@pytest.fixture(scope="module")
def model() -> EastWestModel:
    return run(12)


def test_population(model: EastWestModel) -> None:
    assert len(model.agents_by_type[ComputeCentre]) == len(CLUSTERS) == 10
    assert len(model.agents_by_type[EnergySupplier]) == 40
    assert len(model.agents_by_type[NetworkLink]) >= 9
    users = list(model.agents_by_type[ComputeUser])
    assert len(users) == 40 and all(is_east(u.home) for u in users)


def test_money_is_conserved(model: EastWestModel) -> None:
    parts = model.participants
    assert sum(a.wallet_micro for a in parts) == sum(a.initial_funds_micro for a in parts)


def test_pue_meets_the_programme_targets(model: EastWestModel) -> None:
    for dc in model.centres:
        assert dc.pue <= (1.25 if is_east(dc.site) else 1.2)


def test_inference_runs_within_its_latency_bound() -> None:
    model = EastWestModel(seed=3, **SMALL)
    seen = 0
    for _ in range(6):
        model.step()
        # every match the platform makes is covered by a guarantee contract with its centre
        assert model.guarantee_records is not None
        seen += sum(1 for a in model.guarantee_records.agreements if a.resource is Resource.COMPUTE and model.by_id[a.supplier] in model.centres)
    assert seen > 0
    for link in model.links:
        assert link.latency_ms > 0


def test_every_round_is_recorded_and_trades_are_covered(model: EastWestModel) -> None:
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 13
    assert frame["tasks_served"].iloc[1:].sum() > 50
    orders = {o.order_id: o for o in model.orders}
    for t in model.trades:
        assert orders[t.buy_order].owner == t.buyer and orders[t.sell_order].owner == t.seller
        assert t.price <= orders[t.buy_order].limit_price


def test_outages_breach_guarantees_and_compensate_users() -> None:
    model = run(6, outage_per_year=8760.0)
    frame = model.datacollector.get_model_vars_dataframe().iloc[1:]
    assert frame["sla_breaches"].sum() > 0
    assert frame["tasks_served"].sum() == 0
    for dc in model.centres:  # nothing delivered, nothing earned for compute
        assert dc.revenue_micro == 0
    records = model.guarantee_records
    assert records is not None
    compute = {a.agreement_id: a for a in records.agreements if a.resource is Resource.COMPUTE}
    assert compute and all(d.delivered == 0 for d in records.deliveries if d.agreement_id in compute)
    for a in compute.values():  # each user is compensated from its centre's collateral
        assert isinstance(model.by_id[a.buyer], ComputeUser) and a.collateral_micro == a.penalty_micro_per_unit * a.units > 0
        assert model.books[a.buyer].received_micro >= a.collateral_micro
    assert not [t for t in model.trades if t.resource is Resource.COMPUTE]  # paid through agreements only


def test_without_guarantees_a_breach_is_booked_as_a_trade() -> None:
    model = run(6, outage_per_year=8760.0, guarantees=False)
    assert model.guarantee_records is None
    centres = set(model.centres)
    compensation = [t for t in model.trades if t.resource is Resource.COMPUTE and model.by_id[t.buyer] in centres]
    assert compensation and all(isinstance(model.by_id[t.seller], ComputeUser) and t.amount > 0 for t in compensation)


def test_no_outage_no_breach() -> None:
    frame = run(6, outage_per_year=0.0).datacollector.get_model_vars_dataframe().iloc[1:]
    assert frame["sla_breaches"].sum() == 0


def test_carbon_aware_scheduling_emits_less() -> None:
    aware = run(24, carbon_aware=True).summary_metrics()
    blind = run(24, carbon_aware=False).summary_metrics()
    assert aware["kg_co2"] < blind["kg_co2"]
    assert aware["green_share"] > blind["green_share"]


def test_flexibility_lets_tasks_wait() -> None:
    flexible = run(12, deadline_flex_h=8).datacollector.get_model_vars_dataframe()
    rigid = run(12, deadline_flex_h=0).datacollector.get_model_vars_dataframe()
    assert rigid["tasks_deferred"].iloc[1:].sum() == 0
    assert flexible["tasks_deferred"].iloc[1:].sum() > 0


@pytest.mark.parametrize("mechanism", ["uniform", "pay-as-bid", "mcafee", "nash"])
def test_energy_mechanisms_trade_and_conserve_money(mechanism: str) -> None:
    model = run(4, mechanism=mechanism)
    frame = model.datacollector.get_model_vars_dataframe().iloc[1:]
    assert frame["energy_wh"].sum() > 0
    parts = model.participants
    assert sum(a.wallet_micro for a in parts) == sum(a.initial_funds_micro for a in parts)


def test_same_seed_same_trades() -> None:
    assert run(3, seed=5).trades == run(3, seed=5).trades


def test_unknown_mechanism() -> None:
    with pytest.raises(ValueError, match="unknown energy mechanism"):
        EastWestModel(mechanism="barter")


def test_link_latency_override() -> None:
    model = EastWestModel(seed=1, n_users=2, link_latency_ms={"zhangjiakou-helinger": 9.5})
    assert model.link_between("zhangjiakou", "helinger").latency_ms == 9.5


def test_metrics_are_finite(model: EastWestModel) -> None:
    summary = model.summary_metrics()
    assert summary["kwh"] > 0 and summary["kg_co2"] > 0
    assert 0 < summary["green_share"] <= 1
    assert np.isfinite(summary["welfare_micro"])


# -- the calibrated economy (issue 16) ----------------------------------------------------------------

def test_the_welfare_identity_holds_to_the_unit(model: EastWestModel) -> None:
    s = model.summary_metrics()
    assert s["welfare_micro"] == (
        s["value_micro"] - s["generation_cost_micro"] - s["network_cost_micro"] - s["operating_cost_micro"] - s["carbon_cost_micro"]
    )
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["welfare_micro"].sum() == s["welfare_micro"]
    assert frame["cum_welfare_micro"].iloc[-1] == s["welfare_micro"]
    assert s["value_micro"] > 0 and s["operating_cost_micro"] > 0 and s["network_cost_micro"] > 0 and s["carbon_cost_micro"] > 0


@pytest.mark.parametrize("mechanism", ["uniform", "pay-as-bid", "mcafee", "nash"])
def test_the_agents_surpluses_add_up_to_welfare_plus_the_carbon_cost(mechanism: str) -> None:
    model = run(8, mechanism=mechanism, outage_per_year=2000.0)
    rows = model.agent_rows()
    assert len(rows) == len(model.participants)
    assert sum(r["surplus_micro"] for r in rows) - model.carbon_cost_micro == model.summary_metrics()["welfare_micro"]
    assert sum(r["paid_micro"] for r in rows) == sum(r["received_micro"] for r in rows)
    assert sum(r["kg_co2"] for r in rows) == pytest.approx(model.summary_metrics()["kg_co2"], abs=1e-3)


def test_default_east_is_congested_at_its_peak_and_the_west_is_not() -> None:
    model = EastWestModel(seed=1)
    for _ in range(24):
        model.step()
    s = model.summary_metrics()
    assert 0.6 <= s["utilisation_peak"] <= 1.0
    frame = model.datacollector.get_model_vars_dataframe().iloc[1:]
    assert frame["utilisation_east"].max() == pytest.approx(s["utilisation_peak"], abs=1e-6)
    west = [dc for dc in model.centres if not is_east(dc.site)]
    assert all(dc.utilization < s["utilisation_peak"] for dc in west)


def test_capacity_scales_with_the_users() -> None:
    small, large = EastWestModel(seed=1, n_users=REFERENCE_USERS), EastWestModel(seed=1, n_users=4 * REFERENCE_USERS)
    for a, b in zip(small.centres, large.centres, strict=True):
        assert b.capacity_mcore_h == 4 * a.capacity_mcore_h
    for a, b in zip(small.suppliers, large.suppliers, strict=True):
        assert b.capacity_w == pytest.approx(4 * a.capacity_w)
    assert all(b.bandwidth_mb == 4 * a.bandwidth_mb for a, b in zip(small.links, large.links, strict=True))


def test_utilisation_stays_when_the_population_grows() -> None:
    means = []
    for n in (REFERENCE_USERS, 4 * REFERENCE_USERS):
        model = EastWestModel(seed=2, n_users=n)
        for _ in range(12):
            model.step()
        means.append(model.summary_metrics()["utilisation_mean"])
    assert means[1] == pytest.approx(means[0], rel=0.25)


def test_outages_come_at_a_rate_per_year_and_last_the_repair_time() -> None:
    model = EastWestModel(seed=4, n_users=10, outage_per_year=8760.0 / 10, repair_h=3.0)
    down_hours, outages = 0, 0
    was_up = {dc.unique_id: True for dc in model.centres}
    for _ in range(200):
        model.step()
        for dc in model.centres:
            down_hours += not dc.online
            outages += was_up[dc.unique_id] and not dc.online
            was_up[dc.unique_id] = dc.online
    # a tenth of the up hours start an outage, each lasting about 3 h
    assert 40 < outages < 200
    assert 2.0 < down_hours / outages < 4.5


def test_the_demand_curve_falls_from_retail_to_feed_in() -> None:
    model = run(3)
    m = model.market
    for dc in model.centres:
        steps = dc.energy_bids()
        prices = [p for p, _ in steps]
        assert prices == sorted(prices, reverse=True)
        assert prices[0] == m.grid_retail_micro  # the idle draw
        assert all(m.grid_feed_in_micro <= p <= m.grid_retail_micro for p in prices)
        assert steps[0][1] == dc.energy_for(0)


def test_renewable_suppliers_sell_what_the_centres_do_not_buy_to_the_grid() -> None:
    model = run(4)
    grid = model.grid.agent_id
    fed = {t.seller for t in model.trades if t.buyer == grid and t.resource is Resource.ENERGY}
    suppliers = {s.unique_id for s in model.suppliers if s.green and s.available_wh > s.sold_wh}
    assert suppliers and suppliers <= fed
    thermal = {s.unique_id for s in model.suppliers if not s.green}
    assert not thermal & fed  # fuel costs more than the feed-in tariff


def test_the_mechanisms_change_what_trades_not_only_the_prices() -> None:
    welfare = {mech: run(12, mechanism=mech, seed=3).summary_metrics()["welfare_micro"] for mech in ("uniform", "mcafee", "nash")}
    assert len(set(welfare.values())) == 3


def test_hourly_grid_intensity_keeps_the_regional_annual_mean_and_dips_at_noon() -> None:
    fossil = SOURCE_FACTORS[EnergySource.THERMAL]
    for c in CLUSTERS:
        profile = grid_intensity_profile(c.lat, c.lon, c.grid_factor_kg_per_kwh, 0.05, fossil)
        assert len(profile) == 8760
        assert profile.mean() == pytest.approx(c.grid_factor_kg_per_kwh, rel=1e-9)
        assert profile.max() <= fossil
        day = profile[4000:4024]
        assert day.min() < day.max()


@given(st.integers(0, 8759), st.floats(0.0, 1.0), st.floats(0.0, 2.0))
@settings(max_examples=50, deadline=None)
def test_demand_follows_the_day_and_week(hour: int, amplitude: float, weekend: float) -> None:
    x = demand_multiplier(hour, amplitude, weekend)
    assert 0.0 <= x <= (1.0 + amplitude) * max(1.0, weekend) + 1e-12


def test_demand_peaks_in_the_beijing_afternoon() -> None:
    monday = 4000  # 00:00 on a Monday in Beijing
    day = [demand_multiplier(monday + h, 0.35, 0.85) for h in range(24)]
    assert int(np.argmax(day)) == 15 and int(np.argmin(day)) == 3
    assert demand_multiplier(monday + 5 * 24 + 15, 0.35, 0.85) == pytest.approx(0.85 * day[15])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("outage_per_year", -1.0, "outage_per_year: must be in"),
        ("repair_h", -2.0, "repair_h: must not be negative"),
        ("idle_share", 1.2, r"idle_share: must be in \[0, 1\]"),
        ("grid_feed_in_micro", 800, "grid_feed_in_micro, grid_retail_micro: grid_feed_in_micro must not exceed grid_retail_micro"),
        ("supplier_bargaining_power", 0.0, "must be positive"),
        ("diurnal_amplitude", 2.0, r"diurnal_amplitude: must be in \[0, 1\]"),
    ],
)
def test_bad_parameters_are_named(key: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kwargs: dict[str, Any] = {key: value}
        EastWestModel(**kwargs)


def test_parameter_records_are_frozen(model: EastWestModel) -> None:
    with pytest.raises(AttributeError):
        model.market.mechanism = "nash"  # type: ignore[misc]
    assert isinstance(model.market, MarketParams) and isinstance(model.round_stats, RoundStats)


def test_deferrable_emissions_are_part_of_the_total(model: EastWestModel) -> None:
    s = model.summary_metrics()
    assert 0 < s["kg_co2_deferrable"] < s["kg_co2"]


@pytest.mark.parametrize("mechanism", ["uniform", "mcafee", "nash"])
def test_the_log_records_every_step_of_every_demand_curve_as_placed(mechanism: str) -> None:
    model = run(2, mechanism=mechanism)
    energy_bids = [o for o in model.orders if o.resource is Resource.ENERGY and o.side.value == "buy" and model.by_id[o.owner] in model.centres]
    offers = [
        o for o in model.orders if o.resource is Resource.ENERGY and o.side.value == "sell" and isinstance(model.by_id[o.owner], EnergySupplier)
    ]
    m = model.market
    # the curves' steps lie between the feed-in and retail tariffs (the other buy orders cover the
    # grid's shortfall at retail and the platform's spread)
    steps = [o for o in energy_bids if m.grid_feed_in_micro <= o.limit_price <= m.grid_retail_micro]
    assert offers and len(steps) > 2 * len(model.centres)
    assert {dc.agent_id for dc in model.centres} <= {o.owner for o in steps}
    by_id = {o.order_id: o for o in model.orders}
    for t in model.trades:
        assert by_id[t.buy_order].limit_price >= t.price and by_id[t.sell_order].limit_price <= t.price
    filled: dict[int, int] = {}
    for t in model.trades:
        filled[t.buy_order] = filled.get(t.buy_order, 0) + t.quantity
    assert all(filled.get(o.order_id, 0) <= o.quantity for o in energy_bids)


@pytest.mark.parametrize(
    "kw",
    [
        {"mechanism": "uniform"},
        {"mechanism": "mcafee", "seed": 2},
        {"mechanism": "nash", "deadline_flex_h": 8},
        {"carbon_aware": False, "outage_per_year": 2000.0},
        {"supplier_strategy": "zi-c", "seed": 5},
    ],
)
def test_efficiency_is_welfare_over_an_upper_bound_and_never_above_one(kw: dict) -> None:
    model = run(10, track_optimum=True, **kw)
    s = model.summary_metrics()
    assert s["efficiency_bound"] == "lp-relaxation"
    assert s["welfare_bound_micro"] >= s["welfare_micro"]
    assert 0 < s["efficiency"] <= 1
    assert s["efficiency"] == pytest.approx(s["welfare_micro"] / s["welfare_bound_micro"], abs=1e-6)


def test_efficiency_is_left_out_unless_tracked(model: EastWestModel) -> None:
    assert "efficiency" not in model.summary_metrics() and model.optimum_record is None
