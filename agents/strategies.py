"""Bidding strategies, selectable per agent class: truthful, ZI-U, ZI-C, ZIP and an adaptive markup.

A strategy turns a trader's private limit (a buyer's value, a seller's cost) into a quoted price,
and may learn from what the market shows it. All randomness comes from the generator passed in.

References:
    Gode, D. K. & Sunder, S. (1993), "Allocative efficiency of markets with zero-intelligence
    traders: market as a partial substitute for individual rationality", J. Political Economy
    101(1): ZI-U quotes uniformly over the whole price range, ZI-C never quotes at a loss.
    Cliff, D. (1997), "Minimal-intelligence agents for bargaining behaviors in market-based
    environments", HP Labs HPL-97-91: ZIP traders adapt a profit margin with the Widrow-Hoff
    rule and momentum towards a target derived from the last shout.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from market.orders import Side

__all__ = [
    "StrategyName",
    "Strategy",
    "Truthful",
    "ZIU",
    "ZIC",
    "ZIP",
    "AdaptiveMarkup",
    "make_strategy",
]


class StrategyName(enum.StrEnum):
    TRUTHFUL = "truthful"
    ZI_U = "zi-u"
    ZI_C = "zi-c"
    ZIP = "zip"
    MARKUP = "markup"


class Strategy:
    """Base class: quote at the limit, learn nothing."""

    name: StrategyName = StrategyName.TRUTHFUL

    def quote(self, side: Side, limit: int, rng: np.random.Generator) -> int:
        """The price to quote for one unit with private ``limit`` (value or cost), in micro-tokens."""
        return limit

    def observe_shout(self, side: Side, limit: int, price: int, shout_side: Side, accepted: bool, active: bool) -> None:
        """Sees one shout in a continuous double auction (ZIP learns from it)."""

    def observe_round(self, side: Side, filled: bool) -> None:
        """Learns whether its order in a round (call market, posted price) was filled."""


class Truthful(Strategy):
    """Quotes its limit: a buyer bids its value, a seller asks its cost."""


@dataclass
class ZIU(Strategy):
    """Zero intelligence, unconstrained: uniform over [floor, ceiling], whatever the limit (Gode & Sunder 1993)."""

    floor: int = 1
    ceiling: int = 200
    name: StrategyName = field(default=StrategyName.ZI_U, init=False)

    def quote(self, side: Side, limit: int, rng: np.random.Generator) -> int:
        return int(rng.integers(self.floor, self.ceiling + 1))


@dataclass
class ZIC(Strategy):
    """Zero intelligence, constrained: uniform but never at a loss (Gode & Sunder 1993).

    A buyer bids uniformly in [floor, value]; a seller asks uniformly in [cost, ceiling].
    """

    floor: int = 1
    ceiling: int = 200
    name: StrategyName = field(default=StrategyName.ZI_C, init=False)

    def quote(self, side: Side, limit: int, rng: np.random.Generator) -> int:
        if side is Side.BUY:
            return int(rng.integers(self.floor, max(self.floor, limit) + 1))
        return int(rng.integers(min(limit, self.ceiling), self.ceiling + 1))


@dataclass
class ZIP(Strategy):
    """Zero intelligence plus: Widrow-Hoff adaptation with momentum towards the last shout (Cliff 1997).

    After each shout the trader moves its price a share ``beta`` of the way towards a target near
    the shout price (up to 5 % relative plus a small absolute step above or below it), smoothed by
    momentum ``gamma``, following Cliff's rules for when to raise and when to lower its margin.
    Parameters are drawn once per trader from Cliff's ranges (beta in [0.1, 0.5], gamma in
    [0, 0.1], initial margin 5-35 %).

    Cliff's traders hold one unit; in multi-unit markets (Gode & Sunder's) a trader's units have very
    different limits, so one relative margin learnt on one unit misprices the next. This trader
    therefore learns its price and clamps it to the current unit's limit (never a loss); its margin
    is ``price / limit - 1``.
    """

    rng: np.random.Generator
    price_unit: float = 1.0
    name: StrategyName = field(default=StrategyName.ZIP, init=False)
    beta: float = field(init=False)
    gamma: float = field(init=False)
    price: float | None = field(default=None, init=False)
    _momentum: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.beta = float(self.rng.uniform(0.1, 0.5))
        self.gamma = float(self.rng.uniform(0.0, 0.1))
        self._initial_margin = float(self.rng.uniform(0.05, 0.35))

    def _current(self, side: Side, limit: int) -> float:
        if self.price is None:
            m = self._initial_margin
            self.price = limit * (1.0 + m) if side is Side.SELL else limit * (1.0 - m)
        return max(self.price, float(limit)) if side is Side.SELL else min(self.price, float(limit))

    def margin(self, side: Side, limit: int) -> float:
        """The current profit margin on a unit with ``limit``."""
        return self._current(side, limit) / limit - 1.0 if limit else 0.0

    def quote(self, side: Side, limit: int, rng: np.random.Generator) -> int:
        price = round(self._current(side, limit))
        return max(price, limit) if side is Side.SELL else max(0, min(price, limit))

    def _move_towards(self, side: Side, limit: int, target: float) -> None:
        price = self._current(side, limit)
        delta = self.beta * (target - price)
        self._momentum = self.gamma * self._momentum + (1.0 - self.gamma) * delta
        self.price = price + self._momentum
        self.price = max(self.price, float(limit)) if side is Side.SELL else max(0.0, min(self.price, float(limit)))

    def _target(self, price: int, up: bool) -> float:
        rel = self.rng.uniform(1.0, 1.05) if up else self.rng.uniform(0.95, 1.0)
        absolute = self.rng.uniform(0.0, 0.05) * self.price_unit
        return rel * price + (absolute if up else -absolute)

    def observe_shout(self, side: Side, limit: int, price: int, shout_side: Side, accepted: bool, active: bool) -> None:
        mine = self.quote(side, limit, self.rng)  # compare what the trader would actually shout
        if side is Side.SELL:
            if accepted and mine <= price:
                self._move_towards(side, limit, self._target(price, up=True))
            elif active and mine >= price and (
                (accepted and shout_side is Side.BUY) or (not accepted and shout_side is Side.SELL)
            ):
                self._move_towards(side, limit, self._target(price, up=False))
        elif accepted and mine >= price:
            self._move_towards(side, limit, self._target(price, up=False))
        elif active and mine <= price and (
            (accepted and shout_side is Side.SELL) or (not accepted and shout_side is Side.BUY)
        ):
            self._move_towards(side, limit, self._target(price, up=True))


@dataclass
class AdaptiveMarkup(Strategy):
    """A markup over (sellers) or under (buyers) the limit, raised after a fill and cut after a miss.

    A simple reinforcement learner for repeated call markets and posted prices: the markup grows by
    ``rate`` (relative) after a filled round and shrinks by the same after an unfilled one, within
    [0, ``max_markup``]. It finds the highest markup the market bears and backs off when undercut.
    """

    markup: float = 0.1
    rate: float = 0.1
    max_markup: float = 1.0
    name: StrategyName = field(default=StrategyName.MARKUP, init=False)

    def quote(self, side: Side, limit: int, rng: np.random.Generator) -> int:
        factor = 1.0 + self.markup if side is Side.SELL else max(0.0, 1.0 - self.markup)
        return max(0, round(limit * factor))

    def observe_round(self, side: Side, filled: bool) -> None:
        step = max(self.markup * self.rate, 0.005)
        self.markup = min(self.max_markup, self.markup + step) if filled else max(0.0, self.markup - step)


def make_strategy(name: str, rng: np.random.Generator, *, floor: int = 1, ceiling: int = 200, markup: float = 0.1) -> Strategy:
    """Builds the strategy called ``name`` (one of :class:`StrategyName`).

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    try:
        kind = StrategyName(name)
    except ValueError:
        raise ValueError(f"unknown strategy {name!r} (one of: {', '.join(s.value for s in StrategyName)})") from None
    if kind is StrategyName.TRUTHFUL:
        return Truthful()
    if kind is StrategyName.ZI_U:
        return ZIU(floor, ceiling)
    if kind is StrategyName.ZI_C:
        return ZIC(floor, ceiling)
    if kind is StrategyName.ZIP:
        return ZIP(rng, price_unit=max(1.0, (ceiling - floor) / 100))
    return AdaptiveMarkup(markup=markup, max_markup=max(markup * 4, 0.5))
