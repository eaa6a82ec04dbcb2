"""Dynamic posted prices and supply-demand-ratio pricing."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from market.carbon import EnergySource
from market.errors import MechanismError
from market.pricing import base_price, load_price, posted_price_micro, sdr_prices, sdr_settlement

prices = st.floats(0.01, 1e4)
amounts = st.floats(0, 1e6)


def test_base_price_multiplies_quality_service_and_green_premium() -> None:
    assert base_price(100, quality=1.2, service_coefficient=1.5) == pytest.approx(180)
    assert base_price(100, energy=EnergySource.SOLAR, green_premium=0.2) == pytest.approx(120)
    assert base_price(100, energy=0.5, green_premium=0.2) == pytest.approx(110)
    assert base_price(100, energy=EnergySource.THERMAL, green_premium=0.2) == pytest.approx(100)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reference_price": -1}, "negative"),
        ({"reference_price": 1, "quality": 0}, "positive"),
        ({"reference_price": 1, "service_coefficient": -2}, "positive"),
        ({"reference_price": 1, "energy": 1.5}, "outside"),
        ({"reference_price": 1, "green_premium": -1.0}, "non-positive"),
    ],
)
def test_base_price_rejects_bad_input(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(MechanismError, match=message):
        base_price(**kwargs)


def test_load_surcharge_and_integer_posted_price() -> None:
    assert load_price(100, 0.0, 0.5) == 100
    assert load_price(100, 1.0, 0.5) == 150
    assert load_price(100, 2.0, 0.5) == 150  # utilisation is clipped
    assert posted_price_micro(300, 0.5, surge=0.5, energy=EnergySource.SOLAR, green_premium=0.1) == 371  # 330 * 1.125
    with pytest.raises(MechanismError, match="surge"):
        posted_price_micro(300, 0.5, surge=-0.1)


@given(prices, st.floats(0, 1), st.floats(0, 1), st.floats(0, 2))
def test_price_rises_with_load(base: float, u1: float, u2: float, surge: float) -> None:
    lo, hi = sorted((u1, u2))
    assert load_price(base, lo, surge) <= load_price(base, hi, surge)


def test_sdr_hand_values() -> None:
    # retail 1.0, feed-in 0.4; SDR 0.5: sell = 0.4 / (0.6 * 0.5 + 0.4) = 4/7, buy = 2/7 + 0.5
    sell, buy = sdr_prices(50, 100, 1.0, 0.4)
    assert sell == pytest.approx(4 / 7)
    assert buy == pytest.approx(2 / 7 + 0.5)
    assert sdr_prices(0, 100, 1.0, 0.4) == (1.0, 1.0)  # nothing shared: everyone pays retail
    assert sdr_prices(100, 100, 1.0, 0.4) == (0.4, 0.4)
    assert sdr_prices(300, 100, 1.0, 0.4) == (0.4, 0.4)
    assert sdr_prices(5, 0, 1.0, 0.4) == (0.4, 0.4)  # no demand: SDR is infinite


@given(amounts, amounts, prices, prices)
def test_sdr_prices_are_ordered_between_grid_prices(s: float, d: float, p1: float, p2: float) -> None:
    ls, lb = sorted((p1, p2))
    sell, buy = sdr_prices(s, d, lb, ls)
    assert ls <= sell <= buy <= lb


@given(amounts, amounts, st.floats(0, 1e6), prices, prices)
def test_sdr_prices_fall_as_supply_grows(s: float, d: float, extra: float, p1: float, p2: float) -> None:
    ls, lb = sorted((p1, p2))
    sell1, buy1 = sdr_prices(s, d, lb, ls)
    sell2, buy2 = sdr_prices(s + extra, d, lb, ls)
    assert sell2 <= sell1 * (1 + 1e-12) and buy2 <= buy1 * (1 + 1e-12)


@given(prices, prices, st.floats(1e-9, 1e-6))
def test_sdr_is_continuous_at_ratio_one(p1: float, p2: float, eps: float) -> None:
    ls, lb = sorted((p1, p2))
    below = sdr_prices(1 - eps, 1, lb, ls)
    above = sdr_prices(1 + eps, 1, lb, ls)
    at = sdr_prices(1, 1, lb, ls)
    tol = 1e-5 * lb
    assert at == (ls, ls) == above
    assert below[0] == pytest.approx(ls, abs=tol) and below[1] == pytest.approx(ls, abs=tol)


@given(st.floats(1, 1e6), st.floats(1, 1e6), prices, prices)
def test_sdr_money_balances_with_the_grid(s: float, d: float, p1: float, p2: float) -> None:
    ls, lb = sorted((p1, p2))
    assume(lb > ls)
    sell, buy = sdr_prices(s, d, lb, ls)
    grid = max(d - s, 0) * lb - max(s - d, 0) * ls  # what the grid receives
    assert buy * d - sell * s == pytest.approx(grid, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 1, 1.0, 0.5), "non-negative"),
        ((1, float("nan"), 1.0, 0.5), "finite"),
        ((1, 1, 0.5, 1.0), "grid prices"),
        ((1, 1, 1.0, 0.0), "grid prices"),
    ],
)
def test_sdr_rejects_bad_input(args: tuple[float, float, float, float], message: str) -> None:
    with pytest.raises(MechanismError, match=message):
        sdr_prices(*args)


def test_sdr_settlement_hand_example() -> None:
    out = sdr_settlement([300, -400, -200, 0], grid_buy_price_micro=1000, grid_sell_price_micro=400)
    # SDR = 0.5: sell = 4/7 * 1000, buy = (2/7 + 0.5) * 1000
    assert out.grid_import_wh == 300 and out.grid_export_wh == 0
    assert out.payments_micro[0] == -round(300 * 4000 / 7)
    assert out.payments_micro[3] == 0
    assert sum(out.payments_micro) == out.grid_payment_micro == 300_000


@given(st.lists(st.integers(-10_000, 10_000), max_size=20), st.integers(1, 5_000), st.integers(1, 5_000))
def test_sdr_settlement_balances_to_the_micro_token(net: list[int], p1: int, p2: int) -> None:
    ls, lb = sorted((p1, p2))
    out = sdr_settlement(net, lb, ls)
    assert sum(out.payments_micro) == out.grid_payment_micro
    for q, pay in zip(net, out.payments_micro, strict=True):
        assert (pay >= 0) if q < 0 else (pay <= 0)  # buyers pay, sellers are paid
    assert out.grid_import_wh - out.grid_export_wh == -sum(net)


@pytest.mark.parametrize("source", list(EnergySource))
def test_a_named_source_prices_as_fully_green_or_not_green_at_all(source: EnergySource) -> None:
    assert base_price(100, energy=source, green_premium=0.2) == pytest.approx(120 if source.green else 100)
