"""Nash bargaining (axioms) and two-stage microgrid energy trading."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

from market.bargaining import Microgrid, Payment, Transfer, microgrid_trading, nash_bargaining_solution
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
    assert out.payments == (Payment("b", "a", 480),)
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
    for t in out.transfers:
        assert t.energy_wh > 0
        if lines is not None:
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
