"""Price rules: the platform's dynamic posted price and supply–demand-ratio pricing for prosumers.

The whitepaper's trading mechanism (§3.4) sets a resource's *base price* from its quality, its
service coefficient and the type of energy behind it (green or thermal), and lets the business
load move the price around that base: :func:`base_price`, :func:`load_price` and their integer
composition :func:`posted_price_micro`.

For energy shared among prosumers, :func:`sdr_prices` implements the supply–demand-ratio (SDR)
pricing of Liu et al. (2017): the internal prices lie between the grid's feed-in tariff and its
retail price and fall as the community's supply grows relative to its demand.
:func:`sdr_settlement` turns those prices into integer payments that balance exactly with the grid.

References:
    N. Liu, X. Yu, C. Wang, C. Li, L. Ma and J. Lei, "Energy-sharing model with price-based demand
    response for microgrids of peer-to-peer prosumers", IEEE Transactions on Power Systems 32(5),
    pp. 3569–3583, 2017, doi:10.1109/TPWRS.2017.2649558.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from market.carbon import EnergySource
from market.errors import MechanismError
from market.rounding import round_preserving_sum

__all__ = [
    "base_price",
    "load_price",
    "posted_price_micro",
    "sdr_prices",
    "SdrSettlement",
    "sdr_settlement",
]


def base_price(
    reference_price: float,
    *,
    quality: float = 1.0,
    service_coefficient: float = 1.0,
    energy: EnergySource | float = EnergySource.THERMAL,
    green_premium: float = 0.1,
) -> float:
    """A resource's base price: ``reference * quality * service_coefficient * (1 + green_premium * g)``.

    ``g`` is the green share of the energy behind the resource: 1 for a renewable
    :class:`~market.carbon.EnergySource` (solar, wind ...), 0 for any other (thermal, nuclear, a
    grid's mix), or any share in between given as a number for a mixed supply.

    Args:
        reference_price: Price of a standard-quality, standard-service, thermal unit.
        quality: Resource-quality index (1 is standard; better hardware or reliability is above 1).
        service_coefficient: Service-level multiplier (1 is best effort; a guaranteed class above 1).
        energy: An :class:`~market.carbon.EnergySource`, or the green share of a mixed supply in [0, 1].
        green_premium: Relative premium for fully green energy (0.1 means +10 %; may be negative
            where green power is the cheaper kind).

    Returns:
        The base price, in the unit of ``reference_price``.

    Raises:
        MechanismError: a negative reference price, a non-positive quality or service
            coefficient, a green share outside [0, 1], or a premium at or below -100 %.
    """
    g = (1.0 if energy.green else 0.0) if isinstance(energy, EnergySource) else float(energy)
    if reference_price < 0:
        raise MechanismError(f"base_price: reference price {reference_price} is negative")
    if quality <= 0 or service_coefficient <= 0:
        raise MechanismError("base_price: quality and service coefficient must be positive")
    if not 0.0 <= g <= 1.0:
        raise MechanismError(f"base_price: green share {g} is outside [0, 1]")
    if green_premium <= -1.0:
        raise MechanismError(f"base_price: green premium {green_premium} would make the price non-positive")
    return reference_price * quality * service_coefficient * (1.0 + green_premium * g)


def load_price(base_price: float, utilization: float, surge: float) -> float:
    """Base price times ``1 + surge * utilization**2``: scarce capacity costs more.

    Args:
        base_price: Price at zero load (any currency unit).
        utilization: Share of capacity used in the last round, clipped to [0, 1].
        surge: Relative surcharge at full load (0.5 means +50 %).

    Returns:
        The posted price, in the unit of ``base_price``.
    """
    u = min(max(utilization, 0.0), 1.0)
    return base_price * (1.0 + surge * u * u)


def posted_price_micro(
    reference_price_micro: int,
    utilization: float,
    *,
    surge: float = 0.5,
    quality: float = 1.0,
    service_coefficient: float = 1.0,
    energy: EnergySource | float = EnergySource.THERMAL,
    green_premium: float = 0.1,
) -> int:
    """The dynamic price a supplier posts, rounded to whole micro-tokens per unit.

    Composes :func:`base_price` (quality, service, energy type) with :func:`load_price` (the load
    surcharge); this is where the float formula turns into money.

    Args:
        reference_price_micro: Reference price in micro-tokens per smallest unit.
        utilization: Last round's share of capacity used.
        surge: Relative surcharge at full load.
        quality: See :func:`base_price`.
        service_coefficient: See :func:`base_price`.
        energy: See :func:`base_price`.
        green_premium: See :func:`base_price`.

    Returns:
        Micro-tokens per unit, rounded half to even.

    Raises:
        MechanismError: see :func:`base_price`; also a negative surge.
    """
    if surge < 0:
        raise MechanismError(f"posted_price_micro: surge {surge} is negative")
    base = base_price(
        reference_price_micro,
        quality=quality,
        service_coefficient=service_coefficient,
        energy=energy,
        green_premium=green_premium,
    )
    return round(load_price(base, utilization, surge))


def sdr_prices(total_sell: float, total_buy: float, grid_buy_price: float, grid_sell_price: float) -> tuple[float, float]:
    """Internal sell and buy prices from the community's supply–demand ratio (Liu et al., 2017).

    With ``SDR = total_sell / total_buy``, retail price ``λb = grid_buy_price`` and feed-in tariff
    ``λs = grid_sell_price``:

    * for ``0 <= SDR <= 1`` the sell price is ``λs·λb / ((λb − λs)·SDR + λs)`` and the buy price
      is ``sell_price·SDR + λb·(1 − SDR)``: buyers pay for the shared share at the internal price
      and for the rest at retail;
    * for ``SDR > 1`` both prices are ``λs``: the surplus is exported at the feed-in tariff.

    Both prices therefore lie in ``[λs, λb]``, fall as SDR grows, and meet at ``λs`` at SDR = 1
    from both sides (continuity). With no demand at all, SDR is taken as infinite.

    Args:
        total_sell: Energy the sellers offer in the period (any unit, the same as ``total_buy``).
        total_buy: Energy the buyers need in the period.
        grid_buy_price: Price of buying from the grid (retail), per unit.
        grid_sell_price: Price the grid pays for exports (feed-in tariff), per unit; positive and at
            most ``grid_buy_price``.

    Returns:
        ``(sell_price, buy_price)`` per unit of energy, in the unit of the grid prices.

    Raises:
        MechanismError: a negative or non-finite amount, or grid prices that are not
            ``0 < grid_sell_price <= grid_buy_price``.
    """
    if not (math.isfinite(total_sell) and math.isfinite(total_buy)) or total_sell < 0 or total_buy < 0:
        raise MechanismError(f"sdr_prices: supply {total_sell} and demand {total_buy} must be finite and non-negative")
    if not 0 < grid_sell_price <= grid_buy_price:
        raise MechanismError(
            f"sdr_prices: grid prices must satisfy 0 < sell ({grid_sell_price}) <= buy ({grid_buy_price})"
        )
    if total_buy == 0 or total_sell >= total_buy:
        return float(grid_sell_price), float(grid_sell_price)
    sdr = total_sell / total_buy
    lb, ls = float(grid_buy_price), float(grid_sell_price)
    sell = ls * lb / ((lb - ls) * sdr + ls)
    # Clamp against rounding so the ordering λs <= sell <= buy <= λb holds exactly.
    sell = min(max(sell, ls), lb)
    buy = min(max(sell * sdr + lb * (1.0 - sdr), sell), lb)
    return sell, buy


@dataclass(frozen=True, slots=True)
class SdrSettlement:
    """One period of SDR energy sharing, settled in integer micro-tokens.

    Attributes:
        sell_price: Internal sell price, micro-tokens per Wh.
        buy_price: Internal buy price, micro-tokens per Wh.
        payments_micro: Per prosumer, what it pays (positive) or receives (negative).
        grid_import_wh: Energy the community buys from the grid.
        grid_export_wh: Energy the community sells to the grid.
        grid_payment_micro: What the grid receives (positive) or pays (negative); the prosumers'
            payments sum to exactly this.
    """

    sell_price: float
    buy_price: float
    payments_micro: tuple[int, ...]
    grid_import_wh: int
    grid_export_wh: int
    grid_payment_micro: int


def sdr_settlement(net_wh: Sequence[int], grid_buy_price_micro: float, grid_sell_price_micro: float) -> SdrSettlement:
    """Settles one period of energy sharing at SDR prices.

    A prosumer with a surplus (``net_wh > 0``) sells it all internally at the sell price; one with
    a deficit buys it all at the buy price. The community imports any shortfall from the grid at
    the retail price, or exports any excess at the feed-in tariff. The payments are rounded
    together (:func:`market.rounding.round_preserving_sum`) so that prosumers and grid balance to
    the micro-token.

    Args:
        net_wh: Per prosumer, generation minus load in Wh.
        grid_buy_price_micro: Retail price, micro-tokens per Wh.
        grid_sell_price_micro: Feed-in tariff, micro-tokens per Wh.

    Returns:
        The prices, every prosumer's payment and the grid's side.

    Raises:
        MechanismError: see :func:`sdr_prices`.
    """
    supply = sum(q for q in net_wh if q > 0)
    demand = -sum(q for q in net_wh if q < 0)
    sell, buy = sdr_prices(supply, demand, grid_buy_price_micro, grid_sell_price_micro)
    grid_import = max(demand - supply, 0)
    grid_export = max(supply - demand, 0)
    floats = [(-q * buy if q < 0 else -q * sell) for q in net_wh]
    grid = grid_import * grid_buy_price_micro - grid_export * grid_sell_price_micro
    rounded = round_preserving_sum([*floats, -grid], 0)
    return SdrSettlement(sell, buy, tuple(rounded[:-1]), grid_import, grid_export, -rounded[-1])
