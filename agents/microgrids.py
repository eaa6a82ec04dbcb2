"""Microgrids trading energy among themselves: Nash bargaining (Wang & Huang) or SDR sharing (Liu et al.).

Each microgrid has solar and wind generation (:mod:`agents.environment`), a daily load profile and
a battery. Every step is one hour: microgrids perceive generation and load, dispatch their own
battery (charge what is left over, discharge to cover a deficit), and trade what remains under
the chosen mechanism:

- ``nash``: the two stages of Wang & Huang (2018): the least-cost exchange among microgrids and
  the grid, then the saving split by the Nash bargaining solution (:func:`market.bargaining.microgrid_trading`);
- ``sdr``: supply-demand-ratio pricing of Liu et al. (2017) through the energy trading platform,
  which buys every surplus and sells every deficit at the SDR prices and balances with the grid
  (:func:`market.pricing.sdr_settlement`);
- ``grid``: no local trading, every microgrid buys and sells at the grid's tariffs (the baseline).

Every payment becomes exact integer trades (:class:`agents.booking.RoundBook`). The battery is
dispatched by each microgrid alone before trading, so the mechanisms compare on the same net
positions; Wang & Huang's joint storage scheduling over a horizon is available in
:func:`market.bargaining.microgrid_trading` for studies that want it.

References:
    H. Wang and J. Huang, "Incentivizing energy trading for interconnected microgrids", IEEE Trans.
    Smart Grid 9(4), 2018. N. Liu et al., "Energy-sharing model with price-based demand response
    for microgrids of peer-to-peer prosumers", IEEE Trans. Power Systems 32(5), 2017.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import mesa
import numpy as np

from agents.booking import RoundBook
from agents.environment import SolarSite, WindSite
from agents.geography import cluster
from agents.model import MarketModel, Participant
from market.bargaining import Microgrid, microgrid_trading
from market.orders import AgentId, Resource
from market.pricing import sdr_settlement
from market.rounding import round_preserving_sum

__all__ = ["MECHANISMS", "Grid", "EnergyPlatform", "MicrogridAgent", "MicrogridModel", "daily_load_shape"]

MECHANISMS = ("nash", "sdr", "grid")
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
        self.soc_wh = self.battery_wh // 2
        self.generation_wh = 0
        self.load_wh = 0
        self.net_wh = 0
        self.cost_micro = 0

    def perceive(self) -> None:
        """Draws this hour's generation and load."""
        hour = self.model.hour_of_year
        rng = self.model.rng
        self.generation_wh = self.solar.energy_wh(hour, rng) + self.wind.energy_wh(rng)
        noise = float(rng.normal(1.0, 0.05))
        self.load_wh = max(0, int(self.load_w * daily_load_shape(hour) * noise))

    def dispatch_storage(self) -> None:
        """Charges the battery from a surplus or discharges it into a deficit; sets ``net_wh``."""
        net = self.generation_wh - self.load_wh
        if net > 0:
            charge = min(net, self.battery_power_w, int((self.battery_wh - self.soc_wh) / self.battery_efficiency))
            self.soc_wh += int(charge * self.battery_efficiency)
            net -= charge
        elif net < 0:
            discharge = min(-net, self.battery_power_w, self.soc_wh)
            self.soc_wh -= discharge
            net += discharge
        self.net_wh = net


class MicrogridModel(MarketModel):
    """N microgrids near one site trade their hourly surpluses and deficits.

    Args:
        n_microgrids: Number of microgrids.
        site: Cluster key (see :mod:`agents.geography`) the microgrids stand around.
        mechanism: ``nash``, ``sdr`` or ``grid``.
        solar_w, wind_w, load_w: Mean ratings; each microgrid draws its own between 0.3 and 1.7 times.
        battery_wh, battery_power_w, battery_efficiency: Battery of each microgrid.
        cloudiness: Mean cloud loss of solar.
        grid_buy_price_micro: Grid retail price, micro-tokens per Wh.
        grid_sell_price_micro: Grid feed-in tariff, micro-tokens per Wh.
        start_hour: Hour of the year (UTC) of the first step.
        initial_funds_micro: Each microgrid's escrow deposit.
        seed: Seed of the model's generators.
        settler: Where each hour's trades settle.
    """

    def __init__(
        self,
        n_microgrids: int = 6,
        site: str = "zhangjiakou",
        mechanism: str = "nash",
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
        self.mechanism = mechanism
        self.retail = int(grid_buy_price_micro)
        self.feed_in = int(grid_sell_price_micro)
        self.start_hour = start_hour
        self.grid_factor = cluster(site).grid_factor_kg_per_kwh
        self._order_ids = itertools.count(1)
        self.hour_stats: dict[str, float] = {}

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
                    "buy_price_micro",
                    "sell_price_micro",
                    "green_share",
                    "kg_co2",
                )
            }
            | {"trades": lambda m: len(m.trades), "gas_used": lambda m: m.last_outcome.gas_used}
        )
        self.datacollector.collect(self)

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> list[tuple[str, str]]:
        problems = []
        if params["mechanism"] not in MECHANISMS:
            problems.append(("mechanism", f"unknown mechanism {params['mechanism']!r} (one of: {', '.join(MECHANISMS)})"))
        if params["grid_sell_price_micro"] > params["grid_buy_price_micro"]:
            problems.append(("grid_sell_price_micro", "the feed-in tariff must not exceed the retail price"))
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

    def step(self) -> None:
        """One hour: perceive, dispatch storage, trade, settle, collect."""
        grids = self.microgrids
        self.agents_by_type[MicrogridAgent].do("perceive")
        self.agents_by_type[MicrogridAgent].do("dispatch_storage")
        book = RoundBook(self._order_ids, self.steps)
        net = [g.net_wh for g in grids]
        stats = {"buy_price_micro": np.nan, "sell_price_micro": np.nan, "traded_wh": 0}
        if self.mechanism == "nash":
            position, traded = self._nash(grids, book)
            stats["traded_wh"] = traded
        elif self.mechanism == "sdr":
            position = self._sdr(grids, book, stats)
        else:
            position = net
            for g, q in zip(grids, net, strict=True):
                self._with_grid(book, g.agent_id, q)
        self.orders, self.trades = book.close()
        self.settle_round()
        self.pay_trades({a.unique_id: a for a in self.agents})
        grid_import = sum(-q for q in position if q < 0)
        grid_export = sum(q for q in position if q > 0)
        load = sum(g.load_wh for g in grids)
        baseline = sum(-q * self.retail if q < 0 else -q * self.feed_in for q in net)
        cost = grid_import * self.retail - grid_export * self.feed_in
        stats |= {
            "generation_wh": sum(g.generation_wh for g in grids),
            "load_wh": load,
            "grid_import_wh": grid_import,
            "grid_export_wh": grid_export,
            "cost_micro": cost,
            "baseline_cost_micro": baseline,
            "saving_micro": baseline - cost,
            "green_share": 1.0 - grid_import / load if load else np.nan,
            "kg_co2": grid_import / 1000 * self.grid_factor,
        }
        self.hour_stats = stats
        self.datacollector.collect(self)

    def _with_grid(self, book: RoundBook, who: AgentId, position_wh: int) -> None:
        if position_wh < 0:
            book.add(who, self.grid.agent_id, E, -position_wh, -position_wh * self.retail)
        elif position_wh > 0:
            book.add(self.grid.agent_id, who, E, position_wh, position_wh * self.feed_in)

    def _nash(self, grids: list[MicrogridAgent], book: RoundBook) -> tuple[list[int], int]:
        """Wang & Huang's two stages on this hour's net positions; returns grid positions and energy traded."""
        names = [str(g.agent_id) for g in grids]
        outcome = microgrid_trading(
            [
                Microgrid(name, [max(g.net_wh, 0)], [max(-g.net_wh, 0)], self.retail, self.feed_in)
                for name, g in zip(names, grids, strict=True)
            ]
        )
        index = {name: i for i, name in enumerate(names)}
        energy = round_preserving_sum([t.energy_wh for t in outcome.transfers]) if outcome.transfers else []
        delivered: dict[tuple[int, int], int] = {}
        position = [g.net_wh for g in grids]
        for t, wh in zip(outcome.transfers, energy, strict=True):
            s, b = index[t.seller], index[t.buyer]
            delivered[(s, b)] = delivered.get((s, b), 0) + wh
            position[s] -= wh
            position[b] += wh
        paid = {(index[p.payee], index[p.payer]): p.amount_micro for p in outcome.payments}
        for (s, b) in sorted(set(delivered) | set(paid)):
            wh, amount = delivered.get((s, b), 0), paid.get((s, b), 0)
            # a payment the flow decomposition routes between microgrids that exchanged no energy
            # directly is booked as one unit, so every trade still pays price * quantity exactly
            book.add(grids[b].agent_id, grids[s].agent_id, E, wh if wh else 1, amount)
        for g, q in zip(grids, position, strict=True):
            self._with_grid(book, g.agent_id, q)
        return position, sum(delivered.values())

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
