"""Microgrids trading energy among themselves: day-ahead Nash bargaining (Wang & Huang) or SDR sharing (Liu et al.).

Each microgrid has solar and wind generation (:mod:`agents.environment`), a daily load profile and
a battery. A step is one hour; at the first hour of each day every microgrid draws the day's
generation and load (its day-ahead forecast, taken as exact) and the day is planned under the
chosen mechanism:

- ``nash``: the two stages of Wang & Huang (2018) over the whole day
  (:func:`market.bargaining.day_ahead_bargain`): one linear programme schedules every battery and
  the exchanges among microgrids jointly over all hours; the saving against every microgrid
  operating alone is split by the Nash bargaining solution among the microgrids that exchange
  energy, with equal weights or weights proportional to the energy each exchanges (scenario
  option ``nash_weights``; Kalai 1977). A microgrid that exchanges nothing gets nothing. Exchanged
  energy trades at the mid-point of the grid's tariffs, and the rest of the split settles as
  payments (:class:`market.orders.Payment`) when the day is agreed;
- ``sdr``: each battery scheduled alone over the day, then supply-demand-ratio pricing of Liu et
  al. (2017) through the energy trading platform, hour by hour (:func:`market.pricing.sdr_settlement`);
- ``grid``: each battery scheduled alone over the day, every microgrid buying and selling at the
  grid's tariffs (the baseline, and the bargaining's disagreement point).

Every hour the microgrids submit what they actually bid and offer: a microgrid short of energy
after its battery bids for the shortfall at the grid's retail price (what the energy is worth to
it: its alternative), one with a surplus offers it at the feed-in tariff, and the grid offers to
cover every shortfall at its retail price and bids for every surplus at its feed-in tariff. Under
``nash`` and ``grid`` the hour's trades fill exactly these orders; under ``sdr`` the platform's
legs are booked as exact integer trades (:class:`agents.booking.RoundBook`).

References:
    H. Wang and J. Huang, "Incentivizing energy trading for interconnected microgrids", IEEE Trans.
    Smart Grid 9(4), 2018. E. Kalai, "Nonsymmetric Nash solutions and replications of 2-person
    bargaining", Int. J. Game Theory 6(3), 1977. N. Liu et al., "Energy-sharing model with
    price-based demand response for microgrids of peer-to-peer prosumers", IEEE Trans. Power
    Systems 32(5), 2017.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import mesa
import numpy as np

from agents.booking import RoundBook
from agents.environment import SolarSite, WindSite
from agents.geography import cluster
from agents.model import MarketModel, Participant, Problems
from market.bargaining import DayPlan, Microgrid, day_ahead_bargain
from market.orders import AgentId, Order, OrderId, Payment, Resource, Side, Trade
from market.pricing import sdr_settlement

__all__ = ["MECHANISMS", "Grid", "EnergyPlatform", "MicrogridAgent", "MicrogridModel", "daily_load_shape"]

MECHANISMS = ("nash", "sdr", "grid")
WEIGHTS = ("equal", "energy")
HOURS_PER_DAY = 24
E = Resource.ENERGY


def _raw_load_shape(local_hour: int) -> float:
    return 0.75 + 0.25 * math.sin((local_hour - 9) / 24 * 2 * math.pi) + 0.2 * math.exp(-((local_hour - 19) ** 2) / 4.0)


_LOAD_MEAN = sum(_raw_load_shape(h) for h in range(24)) / 24


def daily_load_shape(hour_utc: int, utc_offset_h: int = 8) -> float:
    """Relative load by local hour: a night trough, a daytime plateau and an evening peak; mean 1 over a day."""
    return _raw_load_shape((hour_utc + utc_offset_h) % 24) / _LOAD_MEAN


class Grid(Participant):
    """The utility grid: sells at its retail price, buys exports at its feed-in tariff."""


class EnergyPlatform(Participant):
    """The energy trading platform (whitepaper Fig. 3-3): the SDR pool's counterparty."""


class MicrogridAgent(Participant):
    """A microgrid with solar, wind, load and a battery.

    Args:
        lat, lon: Site.
        solar_w: Rated photovoltaic power.
        wind_w: Rated wind power.
        load_w: Mean load.
        battery_wh: Battery capacity.
        battery_power_w: Most energy charged or discharged in an hour.
        battery_efficiency: Round-trip efficiency (applied on charging).
        cloudiness: Mean share of clear-sky irradiance lost to cloud.
    """

    model: MicrogridModel

    def __init__(
        self,
        model: MicrogridModel,
        lat: float,
        lon: float,
        solar_w: float,
        wind_w: float,
        load_w: float,
        battery_wh: int,
        battery_power_w: int,
        battery_efficiency: float,
        cloudiness: float,
        initial_funds_micro: int,
    ) -> None:
        super().__init__(model, initial_funds_micro)
        self.solar = SolarSite(lat, lon, solar_w, cloudiness=cloudiness)
        self.wind = WindSite(wind_w)
        self.load_w = load_w
        self.battery_wh = int(battery_wh)
        self.battery_power_w = int(battery_power_w)
        self.battery_efficiency = battery_efficiency
        self.soc_wh: float = self.battery_wh // 2
        self.day_generation_wh: list[int] = []
        self.day_load_wh: list[int] = []
        self.generation_wh = 0
        self.load_wh = 0
        self.net_wh = 0

    def perceive_day(self, hours: int) -> None:
        """Draws the generation and load of the next ``hours`` hours (the day-ahead forecast)."""
        first = self.model.hour_of_year
        rng = self.model.rng
        self.day_generation_wh, self.day_load_wh = [], []
        for hour in range(first, first + hours):
            self.day_generation_wh.append(self.solar.energy_wh(hour, rng) + self.wind.energy_wh(rng))
            noise = float(rng.normal(1.0, 0.05))
            self.day_load_wh.append(max(0, int(self.load_w * daily_load_shape(hour) * noise)))

    def as_microgrid(self, retail: int, feed_in: int) -> Microgrid:
        """The day's data as :func:`market.bargaining.day_ahead_bargain` takes it."""
        return Microgrid(
            str(self.agent_id),
            self.day_generation_wh,
            self.day_load_wh,
            retail,
            feed_in,
            storage_capacity_wh=self.battery_wh,
            storage_initial_wh=max(0.0, min(self.soc_wh, self.battery_wh)),
            storage_power_wh=self.battery_power_w,
            storage_efficiency=self.battery_efficiency,
        )


class MicrogridModel(MarketModel):
    """N microgrids near one site plan each day ahead and trade their hourly surpluses and deficits.

    Args:
        n_microgrids: Number of microgrids.
        site: Cluster key (see :mod:`agents.geography`) the microgrids stand around.
        mechanism: ``nash``, ``sdr`` or ``grid``.
        nash_weights: Bargaining powers under ``nash``: ``equal``, or ``energy`` (proportional to the
            energy each microgrid exchanges that day; Kalai 1977).
        solar_w, wind_w, load_w: Mean ratings; each microgrid draws its own between 0.3 and 1.7 times.
        battery_wh, battery_power_w, battery_efficiency: Battery of each microgrid.
        cloudiness: Mean cloud loss of solar.
        grid_buy_price_micro: Grid retail price, micro-tokens per Wh.
        grid_sell_price_micro: Grid feed-in tariff, micro-tokens per Wh.
        start_hour: Hour of the year (UTC) of the first step.
        initial_funds_micro: Each microgrid's escrow deposit.
        seed: Seed of the model's generators.
        settler: Where each hour's trades and payments settle.
    """

    def __init__(
        self,
        n_microgrids: int = 6,
        site: str = "zhangjiakou",
        mechanism: str = "nash",
        nash_weights: str = "equal",
        solar_w: float = 400_000.0,
        wind_w: float = 300_000.0,
        load_w: float = 350_000.0,
        battery_wh: int = 400_000,
        battery_power_w: int = 150_000,
        battery_efficiency: float = 0.9,
        cloudiness: float = 0.3,
        grid_buy_price_micro: int = 800,
        grid_sell_price_micro: int = 300,
        start_hour: int = 4_000,
        initial_funds_micro: int = 100_000_000_000,
        seed: int | None = None,
        settler: Any = None,
    ) -> None:
        super().__init__(seed=seed, settler=settler)
        if mechanism not in MECHANISMS:
            raise ValueError(f"unknown mechanism {mechanism!r} (one of: {', '.join(MECHANISMS)})")
        if nash_weights not in WEIGHTS:
            raise ValueError(f"unknown nash_weights {nash_weights!r} (one of: {', '.join(WEIGHTS)})")
        self.mechanism = mechanism
        self.nash_weights = nash_weights
        self.retail = int(grid_buy_price_micro)
        self.feed_in = int(grid_sell_price_micro)
        self.start_hour = start_hour
        self.grid_factor = cluster(site).grid_factor_kg_per_kwh
        self._order_ids = itertools.count(1)
        self._payment_ids = itertools.count(1)
        self.hour_stats: dict[str, float] = {}
        self.plan: DayPlan | None = None
        self.totals = {"cost_micro": 0, "baseline_cost_micro": 0, "traded_wh": 0, "payments_micro": 0, "kg_co2": 0.0}

        self.grid = Grid(self, initial_funds_micro * max(1, n_microgrids))
        self.platform = EnergyPlatform(self, initial_funds_micro)
        home = cluster(site)
        for _ in range(n_microgrids):
            scale = self.rng.uniform(0.3, 1.7, size=3)
            MicrogridAgent(
                self,
                lat=home.lat + float(self.rng.uniform(-0.5, 0.5)),
                lon=home.lon + float(self.rng.uniform(-0.5, 0.5)),
                solar_w=solar_w * scale[0],
                wind_w=wind_w * scale[1],
                load_w=load_w * scale[2],
                battery_wh=battery_wh,
                battery_power_w=battery_power_w,
                battery_efficiency=battery_efficiency,
                cloudiness=cloudiness,
                initial_funds_micro=initial_funds_micro,
            )
        self.datacollector = mesa.DataCollector(
            model_reporters={
                key: (lambda m, k=key: m.hour_stats.get(k, np.nan))
                for key in (
                    "generation_wh",
                    "load_wh",
                    "traded_wh",
                    "grid_import_wh",
                    "grid_export_wh",
                    "cost_micro",
                    "baseline_cost_micro",
                    "saving_micro",
                    "payments_micro",
                    "buy_price_micro",
                    "sell_price_micro",
                    "green_share",
                    "kg_co2",
                )
            }
            | {
                # cumulative, so a run's last row (what mesa.batch_run keeps by default) sums it up
                "saving_micro_total": lambda m: m.totals["baseline_cost_micro"] - m.totals["cost_micro"],
                "traded_wh_total": lambda m: m.totals["traded_wh"],
                "trades": lambda m: len(m.trades),
                "payments": lambda m: len(m.payments),
                "gas_used": lambda m: m.last_outcome.gas_used,
            }
        )
        self.datacollector.collect(self)

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> Problems:
        problems: Problems = []
        if params["mechanism"] not in MECHANISMS:
            problems.append(("mechanism", f"unknown mechanism {params['mechanism']!r} (one of: {', '.join(MECHANISMS)})"))
        if params.get("nash_weights", "equal") not in WEIGHTS:
            problems.append(("nash_weights", f"unknown weights {params['nash_weights']!r} (one of: {', '.join(WEIGHTS)})"))
        if params["grid_sell_price_micro"] > params["grid_buy_price_micro"]:
            problems.append(
                (
                    ("grid_sell_price_micro", "grid_buy_price_micro"),
                    f"the feed-in tariff must not exceed the retail price ({params['grid_sell_price_micro']} > {params['grid_buy_price_micro']})",
                )
            )
        if not 0 < params["battery_efficiency"] <= 1:
            problems.append(("battery_efficiency", "must be in (0, 1]"))
        if not 0 <= params["cloudiness"] <= 1:
            problems.append(("cloudiness", "must be in [0, 1]"))
        try:
            cluster(params["site"])
        except KeyError as exc:
            problems.append(("site", str(exc.args[0])))
        return problems

    @property
    def hour_of_year(self) -> int:
        return self.start_hour + self.steps - 1

    @property
    def participants(self) -> list[Participant]:
        return list(self.agents)

    @property
    def microgrids(self) -> list[MicrogridAgent]:
        return list(self.agents_by_type[MicrogridAgent])

    def summary_metrics(self) -> dict[str, Any]:
        """The run's totals: the microgrids' grid bill against operating alone, energy exchanged, payments."""
        t = self.totals
        return {
            "cost_micro": t["cost_micro"],
            "baseline_cost_micro": t["baseline_cost_micro"],
            "saving_micro": t["baseline_cost_micro"] - t["cost_micro"],
            "traded_wh": t["traded_wh"],
            "payments_micro": t["payments_micro"],
            "kg_co2": round(t["kg_co2"], 6),
        }

    def _plan_day(self, grids: list[MicrogridAgent]) -> DayPlan:
        """Draws the day and plans it: jointly under ``nash`` (payments settle now), alone otherwise."""
        for g in grids:
            g.perceive_day(HOURS_PER_DAY)
        records = [g.as_microgrid(self.retail, self.feed_in) for g in grids]
        if self.mechanism == "nash":
            self.plan = day_ahead_bargain(records, weights=self.nash_weights)
        else:
            self.plan = day_ahead_bargain(records, line_limits_wh={})  # nobody connected: each alone
        by_name = {str(g.agent_id): g.agent_id for g in grids}
        day = (self.steps - 1) // HOURS_PER_DAY + 1
        self.payments = [
            Payment(next(self._payment_ids), by_name[p.payer], by_name[p.payee], p.amount_micro, self.steps, f"nash day {day}")
            for p in self.plan.payments
        ]
        return self.plan

    def step(self) -> None:
        """One hour: plan the day (at its first hour), submit bids and offers, trade, settle, collect."""
        grids = self.microgrids
        hour = (self.steps - 1) % HOURS_PER_DAY
        self.payments = []
        plan = self._plan_day(grids) if hour == 0 or self.plan is None else self.plan
        for i, g in enumerate(grids):
            g.generation_wh = g.day_generation_wh[hour]
            g.load_wh = g.day_load_wh[hour]
            g.net_wh = plan.position_wh[i][hour]
            g.soc_wh = plan.soc_wh[i][hour]
        stats: dict[str, float] = {"buy_price_micro": np.nan, "sell_price_micro": np.nan, "traded_wh": 0}
        if self.mechanism == "sdr":
            book = RoundBook(self._order_ids, self.steps)
            position = self._sdr(grids, book, stats)
            self.orders, self.trades = book.close()
        else:
            position = [plan.grid_wh[i][hour] for i in range(len(grids))]
            stats["traded_wh"] = self._exchange(grids, plan, hour)
        self.settle_round()
        self.pay_trades({a.unique_id: a for a in self.agents})
        grid_import = sum(-q for q in position if q < 0)
        grid_export = sum(q for q in position if q > 0)
        load = sum(g.load_wh for g in grids)
        alone = [plan.alone_grid_wh[i][hour] for i in range(len(grids))]
        baseline = sum(-q * self.retail if q < 0 else -q * self.feed_in for q in alone)
        cost = grid_import * self.retail - grid_export * self.feed_in
        stats |= {
            "generation_wh": sum(g.generation_wh for g in grids),
            "load_wh": load,
            "grid_import_wh": grid_import,
            "grid_export_wh": grid_export,
            "cost_micro": cost,
            "baseline_cost_micro": baseline,
            "saving_micro": baseline - cost,
            "payments_micro": sum(p.amount for p in self.payments),
            "green_share": 1.0 - grid_import / load if load else np.nan,
            "kg_co2": grid_import / 1000 * self.grid_factor,
        }
        for key in self.totals:
            self.totals[key] += stats[key]
        self.hour_stats = stats
        self.datacollector.collect(self)

    def _order(self, owner: AgentId, side: Side, quantity: int, limit: int) -> Order:
        order = Order(OrderId(next(self._order_ids)), owner, side, E, quantity, limit, self.steps)
        self.orders.append(order)
        return order

    def _exchange(self, grids: list[MicrogridAgent], plan: DayPlan, hour: int) -> int:
        """This hour's bids and offers, and the trades that fill them: the planned exchanges among
        microgrids at the plan's price, then every microgrid's rest with the grid. Returns the Wh exchanged."""
        self.orders, self.trades = [], []
        step, grid = self.steps, self.grid.agent_id
        bid: dict[str, Order] = {}
        offer: dict[str, Order] = {}
        for g in grids:  # what each microgrid's energy is worth to it: its grid alternative
            if g.net_wh < 0:
                bid[str(g.agent_id)] = self._order(g.agent_id, Side.BUY, -g.net_wh, self.retail)
            elif g.net_wh > 0:
                offer[str(g.agent_id)] = self._order(g.agent_id, Side.SELL, g.net_wh, self.feed_in)
        # the grid stands ready to cover every shortfall and take every surplus
        shortfall = sum(o.quantity for o in bid.values())
        surplus = sum(o.quantity for o in offer.values())
        grid_sells = self._order(grid, Side.SELL, shortfall, self.retail) if shortfall else None
        grid_buys = self._order(grid, Side.BUY, surplus, self.feed_in) if surplus else None
        exchanged = 0
        for t in plan.transfers:
            if t.period == hour:
                b, s, wh = bid[t.buyer], offer[t.seller], int(t.energy_wh)
                self.trades.append(Trade(step, b.owner, s.owner, E, plan.exchange_price_micro, wh, b.order_id, s.order_id))
                exchanged += wh
        for i, g in enumerate(grids):
            q = plan.grid_wh[i][hour]
            if q < 0 and grid_sells is not None:
                b = bid[str(g.agent_id)]
                self.trades.append(Trade(step, g.agent_id, grid, E, self.retail, -q, b.order_id, grid_sells.order_id))
            elif q > 0 and grid_buys is not None:
                s = offer[str(g.agent_id)]
                self.trades.append(Trade(step, grid, g.agent_id, E, self.feed_in, q, grid_buys.order_id, s.order_id))
        return exchanged

    def _sdr(self, grids: list[MicrogridAgent], book: RoundBook, stats: dict[str, float]) -> list[int]:
        """SDR sharing through the platform; returns the community's grid position (on the platform)."""
        result = sdr_settlement([g.net_wh for g in grids], self.retail, self.feed_in)
        platform = self.platform.agent_id
        for g, pay in zip(grids, result.payments_micro, strict=True):
            if g.net_wh < 0:
                book.add(g.agent_id, platform, E, -g.net_wh, pay)
            elif g.net_wh > 0:
                book.add(platform, g.agent_id, E, g.net_wh, -pay)
        if result.grid_import_wh:
            book.add(platform, self.grid.agent_id, E, result.grid_import_wh, result.grid_payment_micro)
        elif result.grid_export_wh:
            book.add(self.grid.agent_id, platform, E, result.grid_export_wh, -result.grid_payment_micro)
        stats["buy_price_micro"] = result.buy_price
        stats["sell_price_micro"] = result.sell_price
        surplus = sum(g.net_wh for g in grids if g.net_wh > 0)
        deficit = -sum(g.net_wh for g in grids if g.net_wh < 0)
        stats["traded_wh"] = min(surplus, deficit)
        return [result.grid_export_wh - result.grid_import_wh]
