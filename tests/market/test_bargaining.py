"""Nash bargaining (axioms) and two-stage microgrid energy trading."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from market.bargaining import (
    Microgrid,
    SidePayment,
    Transfer,
    day_ahead_bargain,
    microgrid_trading,
    nash_bargaining_solution,
)
from market.errors import MechanismError

utils = st.floats(-1e3, 1e3)
powers = st.floats(0.1, 10)


def test_hand_computed_split() -> None:
    assert nash_bargaining_solution([0, 0], 10) == [5, 5]
    assert nash_bargaining_solution([1, 3], 10) == [4, 6]
    assert nash_bargaining_solution([0, 0, 0], 12, weights=[1, 2, 3]) == [2, 4, 6]
    assert nash_bargaining_solution([2, 2], 4) == [2, 2]  # no surplus: the disagreement point


@given(st.lists(utils, min_size=1, max_size=6), st.floats(0, 1e3), st.data())
def test_pareto_efficient_and_individually_rational(d: list[float], surplus: float, data: st.DataObject) -> None:
    w = data.draw(st.lists(powers, min_size=len(d), max_size=len(d)))
    total = math.fsum(d) + surplus
    u = nash_bargaining_solution(d, total, w)
    assert math.fsum(u) == pytest.approx(total, abs=1e-6)
    assert all(ui >= di - 1e-9 for ui, di in zip(u, d, strict=True))
    gains = [ui - di for ui, di in zip(u, d, strict=True)]
    for g, wi in zip(gains, w, strict=True):  # shares are proportional to bargaining power
        assert g == pytest.approx(surplus * wi / math.fsum(w), abs=1e-6)


@given(utils, st.floats(0, 1e3), st.integers(2, 5), st.permutations(range(5)))
def test_symmetry(d: float, surplus: float, n: int, perm: list[int]) -> None:
    u = nash_bargaining_solution([d] * n, d * n + surplus)
    assert max(u) - min(u) < 1e-9
    ds = [d + k for k in range(5)]
    u1 = nash_bargaining_solution(ds, sum(ds) + surplus)
    u2 = nash_bargaining_solution([ds[i] for i in perm], sum(ds) + surplus)
    assert u2 == pytest.approx([u1[i] for i in perm])  # anonymity: relabelling parties relabels the split


@given(st.lists(st.floats(-50, 50), min_size=2, max_size=4), st.floats(1, 100), st.floats(0.2, 5), st.floats(-50, 50), st.data())
def test_invariant_to_affine_rescaling_of_one_party(
    d: list[float], surplus: float, scale: float, shift: float, data: st.DataObject
) -> None:
    w = data.draw(st.lists(st.floats(0.5, 3), min_size=len(d), max_size=len(d)))
    k = data.draw(st.integers(0, len(d) - 1))
    total = sum(d) + surplus
    u = nash_bargaining_solution(d, total, w)
    # Rescale party k's utility v = scale * u + shift; the frontier becomes sum_{i!=k} u_i + (v - shift) / scale = total.
    d2 = [*d]
    d2[k] = scale * d[k] + shift
    coef = np.ones(len(d))
    coef[k] = 1 / scale

    def neg_log_nash(x: np.ndarray) -> float:
        return -float(np.sum(np.array(w) * np.log(np.maximum(x - d2, 1e-12))))

    start = np.array(d2) + 1e-3 * surplus
    start[0] += (total + coef[k] * shift - coef @ start) / coef[0]
    res = minimize(
        neg_log_nash,
        start,
        constraints=[{"type": "eq", "fun": lambda x: coef @ x - total - coef[k] * shift}],
        bounds=[(di + 1e-9, None) for di in d2],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    expected = [*u]
    expected[k] = scale * u[k] + shift
    assert res.x == pytest.approx(expected, rel=1e-3, abs=1e-3 * surplus)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([], 1.0), {}, "at least one"),
        (([0, 0], 1.0), {"weights": [1]}, "1 weights for 2"),
        (([0, 0], 1.0), {"weights": [1, 0]}, "positive"),
        (([0, math.inf], 1.0), {}, "finite"),
        (([5, 5], 1.0), {}, "below the disagreement"),
    ],
)
def test_nbs_rejects_bad_input(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(MechanismError, match=message):
        nash_bargaining_solution(*args, **kwargs)


# ---- microgrids ----

A = Microgrid("a", [100, 0], [0, 50], 10, 2)
B = Microgrid("b", [0, 0], [80, 50], 10, 2)


def test_two_microgrids_by_hand() -> None:
    out = microgrid_trading([A, B])
    # alone: a exports 100 at 2 and imports 50 at 10 -> 300; b imports 130 at 10 -> 1300
    assert out.cost_before_micro == (300, 1300)
    # together: a sells b 80 Wh in period 0 (export only 20); period 1 both import: total 960, saving 640
    assert out.transfers == (Transfer("a", "b", 0, 80.0),)
    assert sum(out.energy_cost_micro) == pytest.approx(960)
    assert out.saving_micro == pytest.approx(640)
    assert out.cost_after_micro == pytest.approx((300 - 320, 1300 - 320))
    assert out.payments == (SidePayment("b", "a", 480),)
    assert out.budget_balanced and out.individually_rational


def test_bargaining_power_shifts_the_split() -> None:
    out = microgrid_trading([A, B], weights=[3, 1])
    assert out.cost_after_micro == pytest.approx((300 - 480, 1300 - 160))


def test_storage_moves_cheap_energy_in_time() -> None:
    m = Microgrid("s", [0, 0], [0, 100], [1, 10], 0.5, storage_capacity_wh=100, storage_power_wh=100)
    out = microgrid_trading([m])
    assert out.cost_before_micro == pytest.approx((100,))  # buy at 1 in period 0, discharge in period 1
    lossy = Microgrid("s", [0, 0], [0, 100], [1, 10], 0.5, storage_capacity_wh=200, storage_power_wh=200, storage_efficiency=0.5)
    assert microgrid_trading([lossy]).cost_before_micro == pytest.approx((200,))
    keep = Microgrid("s", [0], [0], 1, 0.5, storage_capacity_wh=50, storage_initial_wh=50, storage_power_wh=50)
    assert microgrid_trading([keep]).cost_before_micro == pytest.approx((0,))  # may not sell the initial charge


def test_line_limits_bind_and_missing_lines_block_trade() -> None:
    out = microgrid_trading([A, B], line_limits_wh={("a", "b"): 30})
    assert out.transfers == (Transfer("a", "b", 0, 30.0),)
    assert out.saving_micro == pytest.approx(30 * 8)
    c = Microgrid("c", [0, 0], [10, 10], 10, 2)
    out = microgrid_trading([A, B, c], line_limits_wh={("a", "b"): 0})
    assert out.transfers == () and out.saving_micro == pytest.approx(0)
    assert out.payment_micro == (0, 0, 0) and out.payments == ()


def microgrids(n: int, periods: int) -> st.SearchStrategy[list[Microgrid]]:
    wh = st.lists(st.integers(0, 200), min_size=periods, max_size=periods)

    @st.composite
    def build(draw: st.DrawFn) -> list[Microgrid]:
        out = []
        for i in range(n):
            sell = draw(st.integers(1, 5))  # every import price is at least 5: no arbitrage through trading
            cap = draw(st.integers(0, 100))
            out.append(
                Microgrid(
                    f"m{i}",
                    draw(wh),
                    draw(wh),
                    draw(st.lists(st.integers(5, 20), min_size=periods, max_size=periods)),
                    sell,
                    storage_capacity_wh=cap,
                    storage_initial_wh=draw(st.integers(0, cap)),
                    storage_power_wh=draw(st.integers(0, 60)),
                    storage_efficiency=draw(st.floats(0.5, 1)),
                )
            )
        return out

    return build()


@given(st.integers(2, 4).flatmap(lambda n: st.integers(1, 3).flatmap(lambda t: microgrids(n, t))), st.data())
def test_outcome_invariants(mgs: list[Microgrid], data: st.DataObject) -> None:
    limit = data.draw(st.one_of(st.none(), st.integers(0, 80)))
    lines = None if limit is None else {(mgs[0].name, mgs[1].name): limit}
    w = data.draw(st.one_of(st.none(), st.lists(powers, min_size=len(mgs), max_size=len(mgs))))
    out = microgrid_trading(mgs, weights=w, line_limits_wh=lines)
    assert out.budget_balanced and out.individually_rational
    assert out.saving_micro >= 0
    assert sum(out.cost_after_micro) == pytest.approx(sum(out.energy_cost_micro), abs=1e-6)
    assert sum(out.cost_before_micro) - sum(out.cost_after_micro) == pytest.approx(out.saving_micro, abs=1e-6)
    for i, name in enumerate(out.names):
        paid = sum(p.amount_micro for p in out.payments if p.payer == name)
        got = sum(p.amount_micro for p in out.payments if p.payee == name)
        assert paid - got == out.payment_micro[i]
    traders = {name for t in out.transfers for name in (t.seller, t.buyer)}
    for i, name in enumerate(out.names):  # who exchanges nothing pays and receives nothing
        if name not in traders:
            assert out.payment_micro[i] == 0 and all(name not in (p.payer, p.payee) for p in out.payments)
    for t in out.transfers:
        assert t.energy_wh > 0
        if limit is not None:
            assert {t.seller, t.buyer} == {mgs[0].name, mgs[1].name} and t.energy_wh <= limit + 1e-6


@pytest.mark.parametrize(
    ("mgs", "kwargs", "message"),
    [
        ([], {}, "at least one"),
        ([A, A], {}, "unique"),
        ([A, Microgrid("c", [1], [1], 1, 1)], {}, "expected 2 periods"),
        ([Microgrid("c", [], [], 1, 1)], {}, "no periods"),
        ([Microgrid("c", [-1], [1], 1, 1)], {}, "non-negative"),
        ([Microgrid("c", [1], [1], 1, 2)], {}, "sell price exceeds"),
        ([Microgrid("c", [1], [1], 2, 1, storage_capacity_wh=1, storage_initial_wh=2)], {}, "storage"),
        ([Microgrid("c", [1], [1], 2, 1, storage_efficiency=0)], {}, "efficiency"),
        ([A, B], {"weights": [1]}, "1 weights"),
        ([A, B], {"line_limits_wh": {("a", "z"): 1}}, "known microgrids"),
        ([A, B], {"line_limits_wh": {("a", "b"): -1}}, "non-negative"),
        ([A, Microgrid("c", [0, 0], [0, 0], 1, 1)], {}, "arbitrage"),
    ],
)
def test_microgrid_trading_rejects_bad_input(mgs: list[Microgrid], kwargs: dict, message: str) -> None:
    with pytest.raises(MechanismError, match=message):
        microgrid_trading(mgs, **kwargs)


# -- day-ahead bargaining in whole Wh and micro-tokens ---------------------------------------------


def whole_microgrids(n: int, periods: int) -> st.SearchStrategy[list[Microgrid]]:
    """Microgrids with whole-Wh data and one pair of whole micro-token tariffs (as the model's)."""
    wh = st.lists(st.integers(0, 400), min_size=periods, max_size=periods)

    @st.composite
    def build(draw: st.DrawFn) -> list[Microgrid]:
        buy, sell = draw(st.integers(5, 900)), draw(st.integers(0, 5))
        out = []
        for i in range(n):
            cap = draw(st.integers(0, 300))
            out.append(
                Microgrid(
                    f"m{i}",
                    draw(wh),
                    draw(wh),
                    buy,
                    sell,
                    storage_capacity_wh=cap,
                    storage_initial_wh=draw(st.integers(0, cap)),
                    storage_power_wh=draw(st.integers(0, 120)),
                    storage_efficiency=draw(st.sampled_from([0.8, 0.9, 1.0])),
                )
            )
        return out

    return build()


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4).flatmap(lambda n: st.integers(1, 6).flatmap(lambda t: whole_microgrids(n, t))), st.data())
def test_day_plan_is_individually_rational_budget_balanced_and_pays_no_idle_microgrid(
    mgs: list[Microgrid], data: st.DataObject
) -> None:
    periods = len(mgs[0].load_wh)
    idle = Microgrid("idle", [0] * periods, [0] * periods, mgs[0].grid_buy_price_micro, mgs[0].grid_sell_price_micro)
    mgs = [*mgs, idle]
    weights = data.draw(st.sampled_from(["equal", "energy"]))
    plan = day_ahead_bargain(mgs, weights=weights)
    n = len(mgs)
    # individually rational and budget balanced to the micro-token
    assert all(a <= b for a, b in zip(plan.cost_after_micro, plan.cost_alone_micro, strict=True))
    assert sum(plan.payment_micro) == 0
    sold = {name: 0 for name in plan.names}
    bought = dict(sold)
    for t in plan.transfers:
        assert t.energy_wh == int(t.energy_wh) > 0 and t.seller in plan.members and t.buyer in plan.members
        sold[t.seller] += int(t.energy_wh)
        bought[t.buyer] += int(t.energy_wh)
    for i, name in enumerate(plan.names):
        paid = sum(p.amount_micro for p in plan.payments if p.payer == name)
        got = sum(p.amount_micro for p in plan.payments if p.payee == name)
        assert paid - got == plan.payment_micro[i]
        # what a microgrid pays in all: its grid bill, energy from the others, its payment
        exchange = plan.exchange_price_micro * (bought[name] - sold[name])
        assert plan.grid_cost_micro[i] + exchange + plan.payment_micro[i] == plan.cost_after_micro[i]
        if name not in plan.members:  # exchanges nothing: gets nothing, pays nothing
            assert sold[name] == bought[name] == 0
            assert plan.share_micro[i] == plan.payment_micro[i] == 0
            assert plan.cost_after_micro[i] == plan.cost_alone_micro[i] == plan.grid_cost_micro[i]
            assert all(name not in (p.payer, p.payee) for p in plan.payments)
    assert "idle" not in plan.members
    assert sum(plan.share_micro) == plan.saving_micro == sum(plan.cost_alone_micro) - sum(plan.cost_after_micro)
    if weights == "energy" and plan.members:
        w = {m: sold[m] + bought[m] for m in plan.members}
        for m in plan.members:
            share = plan.share_micro[plan.names.index(m)]
            assert abs(share * sum(w.values()) - plan.saving_micro * w[m]) < sum(w.values())
    # the physical plan: energy balances, batteries within their limits
    for i, mg in enumerate(mgs):
        level = mg.storage_initial_wh
        for hour in range(periods):
            s = plan.storage_wh[i][hour]
            assert abs(s) <= mg.storage_power_wh
            level += s * mg.storage_efficiency if s > 0 else s
            assert -1e-6 <= level <= mg.storage_capacity_wh + 1e-6
            assert plan.position_wh[i][hour] == mg.generation_wh[hour] - mg.load_wh[hour] - s
            flow = sum(int(x.energy_wh) * ((x.buyer == mg.name) - (x.seller == mg.name)) for x in plan.transfers if x.period == hour)
            assert plan.grid_wh[i][hour] == plan.position_wh[i][hour] + flow
    assert n == len(plan.names)


def test_day_plan_by_hand_two_microgrids_equal_and_energy_weights() -> None:
    # a sells its 100 Wh surplus to b: b avoids 100 Wh at 10, a loses 100 Wh of feed-in at 2: saving 800
    a = Microgrid("a", [100], [0], 10, 2)
    b = Microgrid("b", [0], [100], 10, 2)
    plan = day_ahead_bargain([a, b, Microgrid("idle", [0], [0], 10, 2)], weights="equal")
    assert plan.members == ("a", "b") and plan.transfers == (Transfer("a", "b", 0, 100.0),)
    assert plan.cost_alone_micro == (-200, 1000, 0) and plan.share_micro == (400, 400, 0)
    assert plan.cost_after_micro == (-600, 600, 0) and plan.exchange_price_micro == 6
    # b pays 600 for the energy at the mid-point price 6, which is already the equal split
    assert plan.payment_micro == (0, 0, 0) and plan.payments == ()
    skewed = day_ahead_bargain([a, b], weights="equal", exchange_price_micro=9)
    assert skewed.payment_micro == (300, -300) and skewed.payments == (SidePayment("a", "b", 300),)


def test_no_links_means_everyone_alone() -> None:
    a = Microgrid("a", [100], [0], 10, 2)
    b = Microgrid("b", [0], [100], 10, 2)
    plan = day_ahead_bargain([a, b], line_limits_wh={})
    assert plan.members == () and plan.transfers == () and plan.cost_after_micro == plan.cost_alone_micro == (-200, 1000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"weights": "power"}, "'equal' or 'energy'"), ({"exchange_price_micro": 11}, "outside"), ({"exchange_price_micro": 1}, "outside")],
)
def test_day_plan_rejects_bad_options(kwargs: dict, message: str) -> None:
    with pytest.raises(MechanismError, match=message):
        day_ahead_bargain([Microgrid("a", [100], [0], 10, 2), Microgrid("b", [0], [100], 10, 2)], **kwargs)


def test_final_storage_level_is_validated() -> None:
    with pytest.raises(MechanismError, match="storage_final_wh"):
        microgrid_trading([Microgrid("a", [1], [1], 2, 1, storage_capacity_wh=5, storage_final_wh=6)])


def hourly_dispatch_cost(mgs: list[Microgrid]) -> tuple[float, list[float]]:
    """Each battery dispatched alone hour by hour (charge a surplus, discharge into a deficit), then
    the hour's surpluses netted against its deficits, the rest traded with the grid at one tariff
    pair: the old model's operation. Returns its cost and every battery's final level."""
    buy, sell = float(mgs[0].grid_buy_price_micro), float(mgs[0].grid_sell_price_micro)  # type: ignore[arg-type]  # one tariff here
    soc = [float(m.storage_initial_wh) for m in mgs]
    cost = 0.0
    for t in range(len(mgs[0].load_wh)):
        total = 0.0
        for i, m in enumerate(mgs):
            net = m.generation_wh[t] - m.load_wh[t]
            if net > 0:
                charge = min(net, m.storage_power_wh, (m.storage_capacity_wh - soc[i]) / m.storage_efficiency)
                soc[i] += charge * m.storage_efficiency
                net -= charge
            else:
                discharge = min(-net, m.storage_power_wh, soc[i])
                soc[i] -= discharge
                net += discharge
            total += net
        cost += -total * buy if total < 0 else -total * sell
    return cost, soc


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.integers(1, 8).flatmap(lambda t: whole_microgrids(n, t))))
def test_the_day_lp_never_costs_more_than_hour_by_hour_dispatch(mgs: list[Microgrid]) -> None:
    hourly, final = hourly_dispatch_cost(mgs)
    # the same end state: each battery no emptier than the hourly dispatch left it
    same_end = [
        Microgrid(
            m.name, m.generation_wh, m.load_wh, m.grid_buy_price_micro, m.grid_sell_price_micro,
            storage_capacity_wh=m.storage_capacity_wh, storage_initial_wh=m.storage_initial_wh,
            storage_power_wh=m.storage_power_wh, storage_efficiency=m.storage_efficiency,
            storage_final_wh=min(level, m.storage_capacity_wh),
        )
        for m, level in zip(mgs, final, strict=True)
    ]
    out = microgrid_trading(same_end)
    assert sum(out.energy_cost_micro) <= hourly + 1e-6 * max(1.0, abs(hourly))
