"""Counterfactuals on real bids: a trade log's orders re-cleared under another double-auction rule.

The trade log records every order an agent submitted (each step of a bidding curve is one order
line: owner, side, resource, quantity, limit price). :func:`reclear` takes each round's orders of
each resource as the bids and asks of one call double auction (:func:`market.auctions.clear_double_auction`)
under the rule asked for, and reports, per resource and never pooled across units (milli-core-hours,
MB and Wh are not added up):

- the counterfactual's volume, welfare and mean price;
- the **efficient** welfare of the same orders: the most gain from trade any allocation of them
  can reach (:func:`efficient_welfare`), an upper bound on every rule's welfare;
- what the market actually did with them: the logged trades' volume and mean price, and their
  welfare at the orders' limits.

Welfare is gain from trade at the orders' own limit prices (what buyers said they would pay minus
what sellers said they would take, in micro-tokens), so it compares allocations, not transfers.
Only ``order`` and ``trade`` lines are read; payments, deposits, authorizations and batches move
no units and are skipped, so the re-clearing needs nothing model-specific.

References:
    R. P. McAfee, "A dominant strategy double auction", J. Economic Theory 56(2), 1992 (trade
    reduction: efficient up to the least valuable crossing pair, never above the efficient welfare).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.signing import DEFAULT_TTL_ROUNDS
from ledger.tradelog import LogTampered, read_log
from market.auctions import clear_double_auction
from market.orders import UNIT, Resource

__all__ = ["ResourceCounterfactual", "Counterfactual", "efficient_welfare", "reclear", "render"]

Quote = tuple[int, int]  # (limit price in micro-tokens per unit, units)


def efficient_welfare(bids: Iterable[Quote], asks: Iterable[Quote]) -> tuple[int, int]:
    """The largest gain from trade the bids and asks allow, and the units it trades.

    The highest bids are matched with the lowest asks unit by unit while the bid is at least the
    ask, which maximises the sum of bid minus ask over traded units: the Marshallian surplus of the
    step curves the orders draw. The units are that allocation's, zero-gain pairs at the margin
    included (as a uniform-price call auction trades them); another allocation with the same
    welfare may trade more units by pairing zero-gain orders differently.

    Args:
        bids: ``(price, units)`` a buyer pays at most per unit.
        asks: ``(price, units)`` a seller takes at least per unit.

    Returns:
        ``(welfare in micro-tokens, units traded)``.
    """
    demand = sorted(((p, q) for p, q in bids if q > 0), reverse=True)
    supply = sorted((p, q) for p, q in asks if q > 0)
    welfare = units = 0
    i = j = 0
    left_b = demand[0][1] if demand else 0
    left_a = supply[0][1] if supply else 0
    while i < len(demand) and j < len(supply) and demand[i][0] >= supply[j][0]:
        q = min(left_b, left_a)
        welfare += (demand[i][0] - supply[j][0]) * q
        units += q
        left_b -= q
        left_a -= q
        if left_b == 0:
            i += 1
            left_b = demand[i][1] if i < len(demand) else 0
        if left_a == 0:
            j += 1
            left_a = supply[j][1] if j < len(supply) else 0
    return welfare, units


@dataclass
class ResourceCounterfactual:
    """One resource's figures over every round, in its own unit (see :data:`market.orders.UNIT`).

    Attributes:
        resource: What was traded.
        rounds: Rounds with at least one order of it.
        orders: Its order lines.
        original_volume: Units the logged trades delivered.
        original_welfare_micro: Their gain at the orders' limits (trades whose orders are known).
        original_turnover_micro: What buyers paid for them.
        counterfactual_volume: Units traded when re-cleared.
        counterfactual_welfare_micro: Their gain at the orders' limits.
        counterfactual_turnover_micro: What buyers would have paid.
        efficient_welfare_micro: The most gain the same orders allow, round by round.
        efficient_volume: Units the efficient allocation of :func:`efficient_welfare` trades.
    """

    resource: Resource
    rounds: int = 0
    orders: int = 0
    original_volume: int = 0
    original_welfare_micro: int = 0
    original_turnover_micro: int = 0
    counterfactual_volume: int = 0
    counterfactual_welfare_micro: float = 0.0
    counterfactual_turnover_micro: float = 0.0
    efficient_welfare_micro: int = 0
    efficient_volume: int = 0

    def as_dict(self) -> dict[str, Any]:
        def mean(turnover: float, volume: int) -> float | None:
            return turnover / volume if volume else None

        return {
            "unit": UNIT[self.resource],
            "rounds": self.rounds,
            "orders": self.orders,
            "original": {
                "volume": self.original_volume,
                "welfare_micro": self.original_welfare_micro,
                "mean_price_micro": mean(self.original_turnover_micro, self.original_volume),
            },
            "counterfactual": {
                "volume": self.counterfactual_volume,
                "welfare_micro": self.counterfactual_welfare_micro,
                "mean_price_micro": mean(self.counterfactual_turnover_micro, self.counterfactual_volume),
            },
            "efficient": {"volume": self.efficient_volume, "welfare_micro": self.efficient_welfare_micro},
            "welfare_change_micro": self.counterfactual_welfare_micro - self.original_welfare_micro,
        }


@dataclass
class Counterfactual:
    """Every resource's :class:`ResourceCounterfactual` under ``mechanism``."""

    mechanism: str
    rounds: int = 0
    resources: dict[Resource, ResourceCounterfactual] = field(default_factory=dict)

    def of(self, resource: Resource) -> ResourceCounterfactual:
        if resource not in self.resources:
            self.resources[resource] = ResourceCounterfactual(resource)
        return self.resources[resource]

    def as_dict(self) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism,
            "rounds": self.rounds,
            "resources": {str(r): self.resources[r].as_dict() for r in sorted(self.resources)},
        }


def _clear_round(outcome: Counterfactual, book: dict[Resource, dict[str, list[Quote]]]) -> None:
    """Re-clears one round's orders, resource by resource."""
    for resource, sides in book.items():
        bids, asks = sides["buy"], sides["sell"]
        figures = outcome.of(resource)
        figures.rounds += 1
        figures.orders += len(bids) + len(asks)
        result = clear_double_auction(bids, asks, rule=outcome.mechanism)
        figures.counterfactual_volume += result.volume
        figures.counterfactual_welfare_micro += result.surplus
        figures.counterfactual_turnover_micro += sum(f.buyer_amount for f in result.fills)
        welfare, units = efficient_welfare(bids, asks)
        figures.efficient_welfare_micro += welfare
        figures.efficient_volume += units
    outcome.rounds += 1


def reclear(log: Path, mechanism: str) -> Counterfactual:
    """Re-clears every round's logged orders under ``mechanism``, resource by resource.

    A round is the orders logged under one ``step``. An order outlives its round in the original
    market (a trade may fill it within the orders' time to live) but is re-cleared only in the
    round it was placed in.

    Args:
        log: The trade log (its hash chain is checked as it is read).
        mechanism: ``uniform``, ``pay-as-bid`` or ``mcafee``.

    Returns:
        Per resource: the original, the counterfactual and the efficient figures.

    Raises:
        MechanismError: an unknown mechanism (before the log is read), or an order the auction
            cannot take (a negative price or quantity).
        LogTampered, LogUnreadable: the log does not check out, or names an unknown resource.
    """
    clear_double_auction([], [], rule=mechanism)  # an unknown rule fails before the log is read
    outcome = Counterfactual(mechanism)
    limits: dict[int, tuple[int, int]] = {}  # order id -> (limit price, round placed), within the TTL
    book: dict[Resource, dict[str, list[Quote]]] = {}
    step: int | None = None
    for entry in read_log(log):
        kind = entry["kind"]
        if kind not in ("order", "trade"):
            continue
        if entry["step"] != step:
            if book:
                _clear_round(outcome, book)
                book = {}
            step = entry["step"]
            limits = {k: v for k, v in limits.items() if v[1] >= step - DEFAULT_TTL_ROUNDS}
        try:
            resource = Resource(entry["resource"])
        except ValueError:
            raise LogTampered(log, entry["seq"] + 1, "resource", f"{entry['resource']!r} is no resource of the market") from None
        if kind == "order":
            limits[entry["order_id"]] = (entry["limit_price"], entry["placed"])
            sides = book.setdefault(resource, {"buy": [], "sell": []})
            sides[entry["side"]].append((entry["limit_price"], entry["quantity"]))
        else:
            figures = outcome.of(resource)
            figures.original_volume += entry["quantity"]
            figures.original_turnover_micro += entry["price"] * entry["quantity"]
            buy, sell = limits.get(entry["buy_order"]), limits.get(entry["sell_order"])
            if buy is not None and sell is not None:
                figures.original_welfare_micro += (buy[0] - sell[0]) * entry["quantity"]
    if book:
        _clear_round(outcome, book)
    return outcome


def render(outcome: Counterfactual) -> str:
    """The counterfactual as a table, one block per resource in its own unit."""
    lines = [f"{outcome.rounds} rounds re-cleared under {outcome.mechanism}, resource by resource"]

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:,.2f}"

    for name, figures in outcome.as_dict()["resources"].items():
        lines.append(f"{name} ({figures['unit']}, {figures['orders']} orders in {figures['rounds']} rounds)")
        lines.append(f"  {'':<18}{'original':>20}{outcome.mechanism:>20}{'efficient':>20}")
        o, c, e = figures["original"], figures["counterfactual"], figures["efficient"]
        lines.append(f"  {'volume':<18}{fmt(o['volume']):>20}{fmt(c['volume']):>20}{fmt(e['volume']):>20}")
        lines.append(f"  {'welfare_micro':<18}{fmt(o['welfare_micro']):>20}{fmt(c['welfare_micro']):>20}{fmt(e['welfare_micro']):>20}")
        lines.append(f"  {'mean_price_micro':<18}{fmt(o['mean_price_micro']):>20}{fmt(c['mean_price_micro']):>20}{'':>20}")
    return "\n".join(lines)

