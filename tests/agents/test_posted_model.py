"""The posted-price model: Mesa 3 idioms, determinism, and wallet accounting."""

from __future__ import annotations

from collections.abc import Sequence

import mesa

from agents.posted_price import ComputeBuyer, ComputeSupplier, PostedPriceModel
from market.guarantees import GuaranteeRound
from market.orders import Order, Payment, SettlementOutcome, Trade


class RecordingSettler:
    def __init__(self) -> None:
        self.calls: list[tuple[int, list[Order], list[Trade]]] = []

    def settle(
        self, step: int, orders: list[Order], trades: list[Trade], *, payments: Sequence[Payment] = (), guarantees: GuaranteeRound | None = None
    ) -> SettlementOutcome:
        self.calls.append((step, list(orders), list(trades)))
        return SettlementOutcome(batch_id=step, trades=len(trades), transactions=1, gas_used=1000)


def test_steps_and_collects() -> None:
    model = PostedPriceModel(seed=5)
    for _ in range(10):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 11
    assert frame["trades"].sum() > 0
    assert len(model.agents_by_type[ComputeSupplier]) == 3
    assert len(model.agents_by_type[ComputeBuyer]) == 12


def test_same_seed_same_trades() -> None:
    def trades(seed: int) -> list[Trade]:
        model = PostedPriceModel(seed=seed)
        out = []
        for _ in range(8):
            model.step()
            out.extend(model.trades)
        return out

    assert trades(7) == trades(7)
    assert trades(7) != trades(8)


def test_wallets_conserve_money_and_settler_sees_every_round() -> None:
    settler = RecordingSettler()
    model = PostedPriceModel(seed=2, settler=settler)
    start = sum(a.wallet_micro for a in model.participants)
    for _ in range(6):
        model.step()
    assert sum(a.wallet_micro for a in model.participants) == start
    assert [c[0] for c in settler.calls] == list(range(1, 7))
    assert model.gas_used_total == 6000
    for _, orders, trades in settler.calls:
        ids = {o.order_id for o in orders}
        assert all(t.buy_order in ids and t.sell_order in ids for t in trades)


def test_prices_rise_with_load() -> None:
    model = PostedPriceModel(seed=1, n_users=40, task_probability=1.0)
    model.step()
    model.step()
    assert any(s.price_micro > s.base_price_micro for s in model.agents_by_type[ComputeSupplier])


def test_users_who_cannot_pay_do_not_order() -> None:
    model = PostedPriceModel(seed=1, initial_funds_micro=10, task_probability=1.0)
    model.step()
    assert model.trades == []
    assert all(u.tasks_unserved == 1 for u in model.agents_by_type[ComputeBuyer])


def test_works_with_mesa_batch_run() -> None:
    results = mesa.batch_run(
        PostedPriceModel,
        parameters={"n_users": [4, 8], "seed": [1]},
        iterations=1,
        max_steps=3,
        number_processes=1,
        display_progress=False,
    )
    assert {r["n_users"] for r in results} == {4, 8}
