"""What every market model shares: :class:`MarketModel`, the base the runners are written against,
:class:`Participant`, an agent with an escrow wallet, and :class:`Settler`, where a round's trades
settle (the ledger implements it; a model never touches a chain).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import mesa

from market.guarantees import GuaranteeRound, GuaranteeSetup, Role
from market.orders import AgentId, Order, Payment, Resource, SettlementOutcome, Trade

__all__ = ["Settler", "AgentBook", "MarketModel", "Participant", "Problems", "param_names"]

#: What :meth:`MarketModel.validate_params` returns: ``(key, problem)`` pairs, where the key is a
#: parameter name or, for a check relating several parameters, the tuple of their names.
Problems = list[tuple[str | tuple[str, ...], str]]


def param_names(key: str | tuple[str, ...]) -> tuple[str, ...]:
    """The parameter names a :data:`Problems` key stands for."""
    return (key,) if isinstance(key, str) else key


class Settler(Protocol):
    """Settles one round: the orders placed, the trades that fill them, the payments that buy
    nothing and the round's guarantee records (``None`` for a model without). The ledger implements it."""

    def settle(
        self, step: int, orders: list[Order], trades: list[Trade], *, payments: Sequence[Payment] = (), guarantees: GuaranteeRound | None = None
    ) -> SettlementOutcome: ...


@dataclass(slots=True)
class AgentBook:
    """What one participant bought, sold, paid and received over a run (per resource, in its unit).

    Models that know their agents' values and costs add them (``value_micro``, ``cost_micro``),
    and energy and emissions (``wh``, ``kg_co2``); the surplus is then value plus receipts less
    payments and costs. Where a model knows neither, the surplus is the net payment.
    """

    bought: dict[Resource, int] = field(default_factory=dict)
    sold: dict[Resource, int] = field(default_factory=dict)
    paid_micro: int = 0
    received_micro: int = 0
    value_micro: int = 0
    cost_micro: int = 0
    wh: float = 0.0
    kg_co2: float = 0.0

    @property
    def surplus_micro(self) -> int:
        return self.value_micro + self.received_micro - self.paid_micro - self.cost_micro


class MarketModel(mesa.Model):
    """A Mesa model whose rounds settle through a settler.

    It holds what every market model shares: the round's ``orders`` and ``trades``, the settler
    (the ledger, or ``None`` to keep the trades in the model), the last settlement's outcome and
    the gas used so far.

    It also declares what the runners (``ccei run``, sweeps, the demo, the benchmarks) rely on, with
    defaults a model overrides where it has more to say:

    - :attr:`participants`: the agents that hold escrow accounts, in the order they open;
    - :attr:`datacollector`: the model's reporters, built at the end of ``__init__`` and collected
      at the end of every ``step`` (row 0 is the state before the first step); a run writes them
      to ``metrics.csv``;
    - :meth:`summary_metrics`: the model's own figures for ``summary.json``;
    - :meth:`validate_params`: scenario checks beyond the types of the keyword defaults.

    Args:
        seed: Seed of the model's random generators.
        settler: Where each round's trades settle.
    """

    datacollector: mesa.DataCollector

    def __init__(self, seed: int | None = None, settler: Settler | None = None) -> None:
        super().__init__(seed=seed)
        self.settler = settler
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self.payments: list[Payment] = []
        #: This round's guarantee contracts and certificates (``None``: the model has none).
        self.guarantee_records: GuaranteeRound | None = None
        self.last_outcome = SettlementOutcome(batch_id=0, trades=0)
        self.gas_used_total = 0
        self.books: dict[int, AgentBook] = {}

    def book(self, agent_id: int) -> AgentBook:
        """The run's account of what agent ``agent_id`` traded (opened on first use)."""
        found = self.books.get(agent_id)
        if found is None:
            found = self.books[agent_id] = AgentBook()
        return found

    def agent_role(self, agent: Any) -> tuple[str, str]:
        """An agent's role and region for ``agents.csv``: its class name and ``site``/``region`` if any."""
        site = getattr(agent, "site", None)
        region = getattr(site, "name", None) or getattr(agent, "region", None) or ""
        return type(agent).__name__, str(region)

    def agent_rows(self) -> list[dict[str, Any]]:
        """One row per participant for ``agents.csv``: id, role, region, units bought and sold per
        resource, money paid and received, value, cost, surplus, kWh and kg CO2."""
        rows = []
        for agent in self.participants:
            b = self.books.get(agent.unique_id) or AgentBook()
            role, region = self.agent_role(agent)
            row: dict[str, Any] = {"id": agent.unique_id, "role": role, "region": region}
            for r in Resource:
                row[f"bought_{r.value}"] = b.bought.get(r, 0)
                row[f"sold_{r.value}"] = b.sold.get(r, 0)
            row.update(
                paid_micro=b.paid_micro,
                received_micro=b.received_micro,
                value_micro=b.value_micro,
                cost_micro=b.cost_micro,
                surplus_micro=b.surplus_micro,
                kwh=round(b.wh / 1000.0, 6),
                kg_co2=round(b.kg_co2, 6),
            )
            rows.append(row)
        return rows

    def settle_round(self) -> None:
        """Hands this round's orders, trades and payments to the settler, books the gas it reports
        and adds the trades and payments to each party's :class:`AgentBook`."""
        for trade in self.trades:
            buyer, seller = self.book(trade.buyer), self.book(trade.seller)
            buyer.bought[trade.resource] = buyer.bought.get(trade.resource, 0) + trade.quantity
            seller.sold[trade.resource] = seller.sold.get(trade.resource, 0) + trade.quantity
            buyer.paid_micro += trade.amount
            seller.received_micro += trade.amount
        for payment in self.payments:
            self.book(payment.payer).paid_micro += payment.amount
            self.book(payment.payee).received_micro += payment.amount
        if self.settler is not None:
            self.last_outcome = self.settler.settle(
                self.steps, self.orders, self.trades, payments=self.payments, guarantees=self.guarantee_records
            )
            self.gas_used_total += self.last_outcome.gas_used

    @property
    def participants(self) -> list[Participant]:
        """Every agent with a wallet, in creation order (the ledger opens accounts in this order)."""
        return [a for a in self.agents if isinstance(a, Participant)]

    def summary_metrics(self) -> dict[str, Any]:
        """Figures of the whole run a runner adds to its summary (none by default)."""
        return {}

    def account_roles(self) -> dict[AgentId, Role]:
        """The capacity each participant registers with where it is not a plain user (none by default)."""
        return {}

    def guarantee_setup(self) -> GuaranteeSetup | None:
        """What the model's guarantee contracts and certificates need before the first round
        (``None``, the default: the model has none, and :attr:`guarantee_records` stays ``None``)."""
        return None

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> Problems:
        """Scenario checks beyond types: ``(key, problem)`` for each value the model refuses (none by default).

        A check that relates several parameters names them all, as a tuple of keys, so that the
        message names the one the user changed whichever it was.

        Args:
            params: Every keyword the model is built with (the scenario's values over the defaults).
        """
        return []

    def pay_trades(self, by_id: dict[int, Any]) -> None:
        """Moves each trade's amount from the buyer's wallet to the seller's, and each payment's."""
        for trade in self.trades:
            by_id[trade.buyer].wallet_micro -= trade.amount
            by_id[trade.seller].wallet_micro += trade.amount
        for payment in self.payments:
            by_id[payment.payer].wallet_micro -= payment.amount
            by_id[payment.payee].wallet_micro += payment.amount


class Participant(mesa.Agent):
    """An agent with an escrow wallet in integer micro-tokens, kept in step with the ledger."""

    model: MarketModel

    def __init__(self, model: MarketModel, initial_funds_micro: int = 0) -> None:
        super().__init__(model)
        self.initial_funds_micro = int(initial_funds_micro)
        self.wallet_micro = int(initial_funds_micro)

    @property
    def agent_id(self) -> AgentId:
        return AgentId(self.unique_id)
