"""Mechanism audit: budget balance, individual rationality, efficiency and the gain from misreporting.

:func:`audit_double_auction` clears a book with a given rule (or any clearing function that
returns an :class:`~market.auctions.AuctionResult`) and reports the four properties mechanism
design trades off (Myerson and Satterthwaite, 1983, show no double auction has all of them):

* **budget balance**: what buyers pay minus what sellers receive (zero: strongly balanced;
  positive: the operator keeps a surplus, weakly balanced);
* **individual rationality**: nobody pays above its bid or receives below its ask;
* **allocative efficiency**: the gains from trade realised over the largest achievable;
* **incentive compatibility**, measured: every trader in turn reports a shaded price (a buyer
  below its value, a seller above its cost, and a little the other way), the book is cleared
  again, and the best gain in true utility over truthful reporting is reported. McAfee's rule
  should show none for single-unit traders; uniform pricing usually shows some.

References:
    R. B. Myerson and M. A. Satterthwaite, "Efficient mechanisms for bilateral trading",
    Journal of Economic Theory 29(2), pp. 265–281, 1983.
    R. P. McAfee, "A dominant strategy double auction", Journal of Economic Theory 56(2),
    pp. 434–450, 1992.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from market.auctions import AuctionResult, Entry, clear_double_auction
from market.errors import MechanismError
from market.orders import Order, Side

__all__ = ["DEFAULT_SHADES", "Misreport", "AuditReport", "audit_double_auction"]

#: Relative shading tried for every trader: buyers report ``value * (1 - s)``, sellers ``cost * (1 + s)``.
DEFAULT_SHADES: tuple[float, ...] = (-0.2, -0.1, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)

#: Tolerance for comparing money computed in floats.
_EPS = 1e-9

Clearing = Callable[[Sequence[Entry], Sequence[Entry]], AuctionResult]


@dataclass(frozen=True, slots=True)
class Misreport:
    """A profitable lie: trader ``index`` on ``side`` reporting ``reported_price`` gains ``gain``."""

    side: Side
    index: int
    true_price: float
    reported_price: float
    gain: float


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What an audit found.

    Attributes:
        budget_surplus: Buyers' payments minus sellers' receipts (the operator's revenue).
        budget_balanced: Whether that is exactly zero (up to float rounding).
        weakly_budget_balanced: Whether it is at least zero (the mechanism needs no subsidy).
        individually_rational: Whether every fill is within both traders' limits.
        surplus: Gains from trade realised, at the submitted (true) prices.
        optimal_surplus: The largest gains from trade the book allows.
        efficiency: ``surplus / optimal_surplus`` (1 when nothing could be gained).
        best_misreport: The most profitable shading found, or ``None`` if no shading gained.
    """

    budget_surplus: float
    budget_balanced: bool
    weakly_budget_balanced: bool
    individually_rational: bool
    surplus: float
    optimal_surplus: float
    efficiency: float
    best_misreport: Misreport | None

    @property
    def best_misreport_gain(self) -> float:
        """The best gain from misreporting (0 when none was found)."""
        return 0.0 if self.best_misreport is None else self.best_misreport.gain


def _price(entry: Entry) -> float:
    return entry.limit_price if isinstance(entry, Order) else entry[0]


def _with_price(entry: Entry, price: float) -> Entry:
    if isinstance(entry, Order):
        return entry._replace(limit_price=int(round(price)))
    return (int(round(price)) if isinstance(entry[0], int) else price, entry[1])


def _utility(result: AuctionResult, side: Side, index: int, true_price: float) -> float:
    """A trader's true utility: value minus price per unit bought, or price minus cost per unit sold."""
    if side is Side.BUY:
        return sum((true_price - f.buyer_price) * f.quantity for f in result.fills if f.bid == index)
    return sum((f.seller_price - true_price) * f.quantity for f in result.fills if f.ask == index)


def audit_double_auction(
    bids: Sequence[Entry],
    asks: Sequence[Entry],
    clearing: str | Clearing = "uniform",
    *,
    shades: Sequence[float] = DEFAULT_SHADES,
) -> AuditReport:
    """Audits one clearing of a book: budget balance, IR, efficiency and the best misreport.

    Args:
        bids: Buy side, as for :func:`~market.auctions.clear_double_auction`; the prices are
            taken as the traders' true values.
        asks: Sell side; the prices are the true costs.
        clearing: A rule name for :func:`~market.auctions.clear_double_auction`, or any function
            ``(bids, asks) -> AuctionResult``.
        shades: Relative shadings tried for every trader (see :data:`DEFAULT_SHADES`); each must
            be below 1 so a shaded bid stays positive.

    Returns:
        The audit report.

    Raises:
        MechanismError: a bad book or rule (from the clearing), or a shading of 1 or more.
    """
    if any(not s < 1 for s in shades):
        raise MechanismError("audit: every shading must be below 1 (a buyer cannot bid a negative price)")
    clear: Clearing
    if isinstance(clearing, str):
        rule = clearing

        def clear(b: Sequence[Entry], a: Sequence[Entry]) -> AuctionResult:
            return clear_double_auction(b, a, rule)
    else:
        clear = clearing
    truth = clear(bids, asks)
    optimum = clear_double_auction(bids, asks, "uniform").surplus
    revenue = sum((f.buyer_price - f.seller_price) * f.quantity for f in truth.fills)
    rational = all(
        f.buyer_price <= _price(bids[f.bid]) + _EPS and f.seller_price >= _price(asks[f.ask]) - _EPS for f in truth.fills
    )
    best: Misreport | None = None
    for side, book in ((Side.BUY, bids), (Side.SELL, asks)):
        for i, entry in enumerate(book):
            true_price = _price(entry)
            honest = _utility(truth, side, i, true_price)
            for s in shades:
                lie = true_price * (1 - s) if side is Side.BUY else true_price * (1 + s)
                changed = [*book[:i], _with_price(entry, lie), *book[i + 1 :]]
                result = clear(changed, asks) if side is Side.BUY else clear(bids, changed)
                gain = _utility(result, side, i, true_price) - honest
                if gain > _EPS and (best is None or gain > best.gain):
                    best = Misreport(side, i, true_price, _price(changed[i]), gain)
    return AuditReport(
        budget_surplus=revenue,
        budget_balanced=abs(revenue) <= _EPS,
        weakly_budget_balanced=revenue >= -_EPS,
        individually_rational=rational,
        surplus=truth.surplus,
        optimal_surplus=optimum,
        efficiency=truth.surplus / optimum if optimum > 0 else 1.0,
        best_misreport=best,
    )
