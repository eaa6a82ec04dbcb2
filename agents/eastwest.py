"""The East-Data-West-Compute economy: users, data centres, networks, energy and the two platforms.

The agents and their loop follow the whitepaper's scheduling system (§3.3, Fig. 3-3): users buy
compute and network services for tasks with QoS needs; compute suppliers (data centres) and network
suppliers serve them and buy energy through the energy trading platform from solar, wind, thermal
and microgrid suppliers; the compute-network scheduling platform matches tasks to (data centre,
network path, hour) bundles. Each step is one hour:

1. **perceive**: energy suppliers see this hour's generation (clear-sky solar with cloud noise,
   Weibull wind, dispatchable thermal, microgrids with storage); users' new tasks arrive at a rate
   that follows the eastern working day and week (:func:`agents.environment.demand_multiplier`);
2. **energy market**: each data centre bids a stepwise demand curve (:meth:`ComputeCentre.energy_bids`:
   what each block of next hour's energy is worth to it, between the grid's feed-in and retail
   tariffs, from how likely it is to need the block and its compute margin per Wh); suppliers ask
   their marginal cost (at least the feed-in tariff they could sell to the grid at) through their
   strategy; the energy trading platform clears each region as a call auction (uniform,
   pay-as-bid, McAfee) or by Nash bargaining between data centres and suppliers with each side's
   grid tariff as its disagreement point;
3. **compute-network market**: data centres post dynamic prices (quality, service, energy type,
   load; :func:`market.pricing.posted_price_micro`, marked up by their strategy), and the
   scheduling platform allocates pending tasks (:mod:`market.allocation`) weighing price against
   carbon over a rolling horizon of forecast hourly grid intensities; deferrable tasks may wait
   for greener hours or move west;
4. **guarantee contracts**: every scheduled task is covered by a guarantee contract (whitepaper
   §3.5): match, then delivery, then breach where an outage took the centre down (outages come
   at a rate per year and last a repair time, as in the Uptime Institute's tiers); the user pays
   nothing for a missed delivery and is compensated from the supplier's collateral;
5. **energy balance**: each centre draws what it used, market purchases first, the grid for the
   rest at retail; surplus goes back to the grid at the feed-in tariff, as does every supplier's
   unsold energy that is worth more there than it costs to make;
6. **settlement** of the round's orders and trades on the ledger, then **data collection**: prices,
   volumes, the welfare account (value, generation, network, operating and carbon costs),
   utilisation, green share, kg CO2, QoS violations, breaches, gas.

The calibration (demand, capacity, power, tariffs, intensities, outages) and its sources are in
``docs/economy.md``.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import mesa
import numpy as np
from scipy.special import ndtri

from agents.booking import RoundBook
from agents.environment import (
    HOURS_PER_YEAR,
    SOLAR_SHARE_2022,
    SolarSite,
    WindSite,
    demand_multiplier,
    grid_intensity_profile,
)
from agents.geography import CLUSTERS, Cluster, cluster, is_east, pue_target
from agents.model import MarketModel, Participant, Problems, param_names
from agents.optimum import HourRecord, RunRecord, welfare_upper_bound
from agents.strategies import Strategy, StrategyName, make_strategy
from market import allocation as alloc
from market.auctions import clear_double_auction
from market.bargaining import nash_bargaining_solution
from market.carbon import SOURCE_FACTORS, EnergySource
from market.guarantees import (
    AgreementRecord,
    CertificateTransfer,
    DeliveryRecord,
    DisputeOutcome,
    GenerationRecord,
    GuaranteeRound,
    GuaranteeSetup,
    Retirement,
    Role,
)
from market.metering import (
    NETWORK_WH_PER_GB,
    WATTS_PER_CORE,
    WATTS_PER_GPU,
    AnalyticalMeter,
    QosClass,
    TaskType,
)
from market.network import Link, backbone_graph, fibre_latency_ms, region_graph
from market.orders import AgentId, Resource, Side
from market.pricing import posted_price_micro

__all__ = [
    "TaskProfile",
    "Job",
    "ComputeCentre",
    "NetworkLink",
    "EnergySupplier",
    "ComputeUser",
    "Grid",
    "EnergyTradingPlatform",
    "SchedulingPlatform",
    "DemandParams",
    "SupplyParams",
    "MarketParams",
    "CarbonParams",
    "RoundStats",
    "EastWestModel",
    "ENERGY_MECHANISMS",
    "REFERENCE_USERS",
]

ENERGY_MECHANISMS = ("uniform", "pay-as-bid", "mcafee", "nash")
_WH_PER_KWH = 1000.0
_THERMAL_KG_PER_KWH = SOURCE_FACTORS[EnergySource.THERMAL]

#: The population the capacities in a scenario are stated for: with ``n_users`` users every data
#: centre, energy supplier and link has ``n_users / REFERENCE_USERS`` times its stated capacity, so
#: utilisation (and so the economy) stays the same as the population grows.
REFERENCE_USERS = 120

_KINDS = (TaskType.INFERENCE, TaskType.ANALYTICS, TaskType.TRAINING)

#: GPU work is sold in core-equivalents of equal power, so one resource (milli-core-hours) prices both.
CORES_PER_GPU = WATTS_PER_GPU / WATTS_PER_CORE

#: The probabilities at which a centre's demand curve cuts its forecast load into blocks: block j
#: holds the busy energy between the forecast's quantiles j/5 and (j+1)/5 and is needed with
#: probability 1 - (j + 1/2)/5.
_CURVE_BLOCKS = 5


@dataclass(frozen=True, slots=True)
class TaskProfile:
    """How tasks of a kind look: median size (in the metering unit), QoS class, deferral and value.

    Attributes:
        median_size: Median size in the task type's metering unit (see :mod:`market.metering`).
        qos: Service class; its latency bound applies unless the scenario sets one.
        flexible: Whether it may wait for a later (greener, cheaper) hour within the flexibility.
        value_micro: What users pay at most per milli-core-hour.
    """

    median_size: float
    qos: QosClass
    flexible: bool
    value_micro: int


#: Inference is small, interactive and served at once; analytics and training are large batch work
#: that may wait within the users' deadline flexibility.
PROFILES: dict[TaskType, TaskProfile] = {
    TaskType.INFERENCE: TaskProfile(50.0, QosClass.INTERACTIVE, False, 260),
    TaskType.ANALYTICS: TaskProfile(400.0, QosClass.BATCH, True, 180),
    TaskType.TRAINING: TaskProfile(100.0, QosClass.BATCH, True, 150),
}


# -- parameter records --------------------------------------------------------------------------------


def _unit(problems: Problems, record: object, *names: str) -> None:
    for name in names:
        value = getattr(record, name)
        if not 0.0 <= value <= 1.0:
            problems.append((name, f"must be in [0, 1], got {value}"))


def _non_negative(problems: Problems, record: object, *names: str) -> None:
    for name in names:
        value = getattr(record, name)
        if not value >= 0:
            problems.append((name, f"must not be negative, got {value}"))


@dataclass(frozen=True, slots=True)
class DemandParams:
    """The users and their tasks (see :class:`EastWestModel` for each field)."""

    n_users: int
    task_rate: float
    inference_share: float
    analytics_share: float
    deadline_flex_h: int
    inference_latency_ms: float
    green_preference: float
    budget_factor: float
    diurnal_amplitude: float
    weekend_factor: float

    def problems(self) -> Problems:
        out: Problems = []
        _non_negative(out, self, "n_users", "task_rate", "deadline_flex_h", "inference_latency_ms", "budget_factor", "weekend_factor")
        _unit(out, self, "inference_share", "analytics_share", "green_preference", "diurnal_amplitude")
        if self.inference_share + self.analytics_share > 1.0:
            total = f"{self.inference_share} + {self.analytics_share}"
            out.append((("inference_share", "analytics_share"), f"inference_share + analytics_share must not exceed 1 ({total})"))
        return out


@dataclass(frozen=True, slots=True)
class SupplyParams:
    """Data centres, energy suppliers and links: capacities (stated for :data:`REFERENCE_USERS`
    users), costs, power and reliability."""

    east_capacity_mcore_h: int
    west_capacity_mcore_h: int
    east_cost_micro: int
    west_cost_micro: int
    power_w_per_core: float
    idle_share: float
    solar_w: float
    wind_w: float
    thermal_w: float
    microgrid_w: float
    wind_scale_m_s: float
    cloudiness: float
    renewable_cost_micro: int
    thermal_cost_micro: int
    network_bandwidth_mb: int
    route_factor: float
    outage_per_year: float
    repair_h: float
    penalty_rate: float
    dispute_share: float
    guarantees: bool

    def problems(self) -> Problems:
        out: Problems = []
        _non_negative(
            out,
            self,
            "east_capacity_mcore_h",
            "west_capacity_mcore_h",
            "east_cost_micro",
            "west_cost_micro",
            "power_w_per_core",
            "solar_w",
            "wind_w",
            "thermal_w",
            "microgrid_w",
            "wind_scale_m_s",
            "renewable_cost_micro",
            "thermal_cost_micro",
            "network_bandwidth_mb",
            "penalty_rate",
        )
        _unit(out, self, "idle_share", "cloudiness", "dispute_share")
        if self.route_factor < 1.0:
            out.append(("route_factor", "no fibre route is shorter than the great circle (must be >= 1)"))
        if not 0.0 <= self.outage_per_year <= HOURS_PER_YEAR:
            out.append(("outage_per_year", f"must be in [0, {HOURS_PER_YEAR}] (at most one outage an hour), got {self.outage_per_year}"))
        if not self.repair_h >= 0:
            out.append(("repair_h", f"must not be negative, got {self.repair_h}"))
        return out

    @property
    def outage_chance(self) -> float:
        """The chance that a centre that is up fails in a given hour."""
        return self.outage_per_year / HOURS_PER_YEAR


@dataclass(frozen=True, slots=True)
class MarketParams:
    """Mechanism, strategies, tariffs and prices."""

    mechanism: str
    supplier_strategy: str
    supplier_bargaining_power: float
    surge: float
    green_premium: float
    grid_retail_micro: int
    grid_feed_in_micro: int
    grid_generation_micro: int
    network_price_micro_per_mb: int
    load_forecast_error: float
    search_passes: int

    def problems(self) -> Problems:
        out: Problems = []
        if self.mechanism not in ENERGY_MECHANISMS:
            out.append(("mechanism", f"unknown energy mechanism {self.mechanism!r} (one of: {', '.join(ENERGY_MECHANISMS)})"))
        if self.supplier_strategy not in {s.value for s in StrategyName}:
            out.append(("supplier_strategy", f"unknown strategy {self.supplier_strategy!r}"))
        _non_negative(out, self, "surge", "green_premium", "grid_retail_micro", "grid_feed_in_micro", "grid_generation_micro")
        _non_negative(out, self, "network_price_micro_per_mb", "load_forecast_error", "search_passes")
        if not self.supplier_bargaining_power > 0:
            out.append(("supplier_bargaining_power", f"must be positive, got {self.supplier_bargaining_power}"))
        if self.grid_feed_in_micro > self.grid_retail_micro:
            prices = f"{self.grid_feed_in_micro} > {self.grid_retail_micro}"
            out.append((("grid_feed_in_micro", "grid_retail_micro"), f"grid_feed_in_micro must not exceed grid_retail_micro ({prices})"))
        return out


@dataclass(frozen=True, slots=True)
class CarbonParams:
    """How carbon is weighed when scheduling and priced in the welfare account."""

    carbon_aware: bool
    carbon_price_micro_per_kg: float
    green_weight_micro_per_kg: float
    social_cost_micro_per_kg: int
    forecast_error: float

    def problems(self) -> Problems:
        out: Problems = []
        _non_negative(out, self, "carbon_price_micro_per_kg", "green_weight_micro_per_kg", "social_cost_micro_per_kg", "forecast_error")
        return out


@dataclass(slots=True)
class RoundStats:
    """One hour's figures; the data collector reads them (and the run's totals add them up).

    Money is in micro-tokens and exact: ``welfare_micro`` is ``value_micro`` less the four costs.
    """

    compute_mcore_h: int = 0
    compute_turnover_micro: int = 0
    network_mb: int = 0
    energy_wh: int = 0
    energy_turnover_micro: int = 0
    tasks_new: int = 0
    tasks_served: int = 0
    tasks_deferred: int = 0
    qos_violations: int = 0
    sla_breaches: int = 0
    value_micro: int = 0
    generation_cost_micro: int = 0
    network_cost_micro: int = 0
    operating_cost_micro: int = 0
    carbon_cost_micro: int = 0
    kwh: float = 0.0
    green_kwh: float = 0.0
    kg_co2: float = 0.0
    kg_co2_location: float = 0.0
    kg_co2_deferrable: float = 0.0
    kg_co2_deferrable_at_arrival: float = 0.0
    deferrable_mcore_h: int = 0
    deferrable_mb: int = 0
    utilisation_east: float = 0.0
    utilisation_mean: float = 0.0

    @property
    def welfare_micro(self) -> int:
        return self.value_micro - self.generation_cost_micro - self.network_cost_micro - self.operating_cost_micro - self.carbon_cost_micro

    @property
    def green_share(self) -> float:
        return self.green_kwh / self.kwh if self.kwh else math.nan

    @property
    def compute_price_micro(self) -> float:
        return self.compute_turnover_micro / self.compute_mcore_h if self.compute_mcore_h else math.nan

    @property
    def energy_price_micro(self) -> float:
        return self.energy_turnover_micro / self.energy_wh if self.energy_wh else math.nan


# -- the agents --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Job:
    """A user's task waiting to be scheduled.

    Attributes:
        task_id: Unique within the run.
        user: Who submitted it.
        kind: Inference, analytics or training.
        origin: The user's cluster, where the data comes from.
        compute_mcore_h: Compute needed.
        data_mb: Data moved from the origin to the data centre.
        latency_ms: One-way latency bound, or ``None``.
        arrival: Hour it arrived.
        deadline: Last hour it may run in.
        value_micro: The most the user pays per milli-core-hour.
    """

    task_id: int
    user: AgentId
    kind: TaskType
    origin: str
    compute_mcore_h: int
    data_mb: int
    latency_ms: float | None
    arrival: int
    deadline: int
    value_micro: int

    @property
    def deferrable(self) -> bool:
        return PROFILES[self.kind].flexible


class Grid(Participant):
    """The public grid: sells every shortfall at retail and buys every surplus at the feed-in tariff.

    Its cost is the generation behind the energy it delivers (``grid_generation_micro`` per Wh)
    less the generation it is spared by what is fed in.
    """


class ComputeCentre(Participant):
    """A compute supplier: a data centre in one of the ten clusters.

    Its servers follow the linear power model P(u) = P_idle + (P_peak − P_idle)·u, with P_idle the
    ``idle_share`` of P_peak (Fan, Weber & Barroso 2007; Barroso & Hölzle 2007).

    Args:
        site: Its cluster.
        capacity_mcore_h: Compute it can sell per hour.
        pue: Power usage effectiveness (facility energy over IT energy).
        cost_micro: Operating cost per milli-core-hour, energy excluded.
        power_w_per_core: IT power per busy core.
        idle_share: Share of full IT power drawn when idle.
        green_target: Share of renewable energy it aims for.
        quality: Resource-quality index for the base price.
        strategy: Its pricing strategy (a markup learner by default).
    """

    model: EastWestModel

    def __init__(
        self,
        model: EastWestModel,
        site: Cluster,
        capacity_mcore_h: int,
        pue: float,
        cost_micro: int,
        power_w_per_core: float,
        idle_share: float,
        green_target: float,
        quality: float,
        strategy: Strategy,
        initial_funds_micro: int,
    ) -> None:
        super().__init__(model, initial_funds_micro)
        self.site = site
        self.capacity_mcore_h = int(capacity_mcore_h)
        self.pue = pue
        self.cost_micro = int(cost_micro)
        self.power_w_per_core = power_w_per_core
        self.idle_share = idle_share
        self.green_target = green_target
        self.quality = quality
        self.strategy = strategy
        self.utilization = 0.5
        self.rigid_mcore_h = 0  # last hour's work that could not wait
        self.planned_mcore_h: int | None = None  # deferrable work the platform plans to run here next hour
        self.green_share = 0.0
        self.price_micro = cost_micro
        self.used_mcore_h = 0
        self.online = True
        self.repair_left_h = 0
        self.bought_green_wh = 0
        self.bought_thermal_wh = 0
        self.green_from: list[tuple[AgentId, int]] = []  # (green supplier, Wh) bought this hour
        self.energy_wh = 0
        self.revenue_micro = 0

    @property
    def wh_per_mcore_h(self) -> float:
        """Facility energy per milli-core-hour of work at full power (IT energy times PUE)."""
        return self.power_w_per_core / 1000.0 * self.pue

    def energy_for(self, used_mcore_h: int) -> int:
        """Facility energy in an hour with ``used_mcore_h`` of work, idle draw included (Wh)."""
        busy = used_mcore_h + self.idle_share * (self.capacity_mcore_h - used_mcore_h)
        return int(busy * self.wh_per_mcore_h)

    def marginal_wh(self, units: int) -> float:
        """Energy that ``units`` milli-core-hours add to the idle draw (Wh)."""
        return units * (1.0 - self.idle_share) * self.wh_per_mcore_h

    def forecast_load_mcore_h(self) -> int:
        """Next hour's load as it expects it: last hour's work that could not wait plus the
        deferrable work the scheduling platform planned for it in that hour, or, where the platform
        plans no further than the hour at hand, last hour's whole load."""
        if self.planned_mcore_h is None:
            return self.used_mcore_h
        return min(self.capacity_mcore_h, self.rigid_mcore_h + self.planned_mcore_h)

    def expected_energy_wh(self) -> int:
        """What it expects to draw next hour."""
        return self.energy_for(self.forecast_load_mcore_h())

    def energy_bids(self) -> list[tuple[int, int]]:
        """Its stepwise demand curve for next hour's energy: ``(price per Wh, Wh)`` steps, dearest first.

        The idle draw is certain to be needed and is worth the retail tariff (the grid's price is
        the alternative). The busy draw is uncertain: next hour's load is forecast
        (:meth:`forecast_load_mcore_h`) with a relative normal error (``load_forecast_error``) and cut into :data:`_CURVE_BLOCKS`
        blocks of equal probability. A block needed with probability ``q`` is worth ``q`` times
        what a needed Wh is worth, the retail tariff or, where lower, the compute margin per Wh
        after PUE (work that earns less than its energy costs is cut), plus ``1 − q`` times the
        feed-in tariff it fetches when resold unused.
        """
        m = self.model
        retail, feed_in = m.market.grid_retail_micro, m.market.grid_feed_in_micro
        idle = self.energy_for(0)
        steps = [(retail, idle)] if idle > 0 else []
        busy_per_unit = (1.0 - self.idle_share) * self.wh_per_mcore_h
        if busy_per_unit <= 0:
            return steps
        margin = (self.price_micro - self.cost_micro) / self.wh_per_mcore_h
        needed = min(retail, max(feed_in, margin))
        load = self.forecast_load_mcore_h()
        sigma = m.market.load_forecast_error * load
        edges = [min(self.capacity_mcore_h, max(0.0, load + sigma * q)) for q in m._curve_quantiles]
        for j in range(_CURVE_BLOCKS):
            wh = int((edges[j + 1] - edges[j]) * busy_per_unit)
            if wh > 0:
                q = 1.0 - (j + 0.5) / _CURVE_BLOCKS
                steps.append((int(q * needed + (1.0 - q) * feed_in), wh))
        return steps

    def post_price(self) -> None:
        """Posts this hour's price: base price from quality and energy type, load surcharge, markup."""
        m = self.model
        energy_cost = self.wh_per_mcore_h * m.market.grid_retail_micro
        reference = max(1, round(self.cost_micro + energy_cost))
        posted = posted_price_micro(
            reference,
            self.utilization,
            surge=m.market.surge,
            quality=self.quality,
            energy=self.green_share,
            green_premium=m.market.green_premium,
        )
        self.price_micro = max(1, self.strategy.quote(Side.SELL, posted, m.rng))

    def close_hour(self) -> None:
        self.utilization = self.used_mcore_h / self.capacity_mcore_h if self.capacity_mcore_h else 0.0
        self.strategy.observe_round(Side.SELL, self.used_mcore_h > 0)


class NetworkLink(Participant):
    """A network supplier's link between two clusters.

    Args:
        a, b: The clusters it joins.
        latency_ms: One-way latency (at least the fibre delay over the great-circle distance).
        bandwidth_mb: Data it carries per hour.
        price_micro_per_mb: Transit price.
    """

    def __init__(
        self,
        model: EastWestModel,
        a: str,
        b: str,
        latency_ms: float,
        bandwidth_mb: int,
        price_micro_per_mb: int,
    ) -> None:
        super().__init__(model, 0)
        self.a, self.b = a, b
        self.latency_ms = latency_ms
        self.bandwidth_mb = int(bandwidth_mb)
        self.price_micro_per_mb = int(price_micro_per_mb)
        self.carried_mb = 0

    @property
    def region(self) -> str:
        return f"{self.a}-{self.b}"


class EnergySupplier(Participant):
    """An energy supplier: a solar or wind farm, a thermal plant, or a microgrid with storage.

    A microgrid has solar and wind and a battery; it keeps half of its daytime generation in the
    battery and releases it when the sun is down, so it sells a steadier stream than a bare farm.
    Renewables generate what the weather gives; a thermal plant generates only what it sells.

    Args:
        site: Its cluster (region).
        kind: Its source (:class:`market.carbon.EnergySource`): solar, wind, thermal or microgrid.
        capacity_w: Rated power (solar plus wind for a microgrid).
        marginal_cost_micro: Cost per Wh generated.
        strategy: Its asking strategy.
    """

    model: EastWestModel

    def __init__(
        self,
        model: EastWestModel,
        site: Cluster,
        kind: EnergySource,
        capacity_w: float,
        marginal_cost_micro: int,
        strategy: Strategy,
        cloudiness: float,
        wind_scale_m_s: float,
    ) -> None:
        super().__init__(model, 0)
        self.site = site
        self.kind = kind
        self.capacity_w = capacity_w
        self.marginal_cost_micro = int(marginal_cost_micro)
        self.strategy = strategy
        share_solar = 0.5 if kind is EnergySource.MICROGRID else 1.0
        self.solar = SolarSite(site.lat, site.lon, capacity_w * share_solar, cloudiness=cloudiness)
        self.wind = WindSite(capacity_w * (1 - share_solar) if kind is EnergySource.MICROGRID else capacity_w, weibull_scale_m_s=wind_scale_m_s)
        self.battery_wh = int(capacity_w * 4) if kind is EnergySource.MICROGRID else 0
        self.soc_wh = 0
        self.available_wh = 0
        self.sold_wh = 0

    @property
    def green(self) -> bool:
        return self.kind.green

    @property
    def reservation_micro(self) -> int:
        """The least it takes per Wh: its marginal cost, or the feed-in tariff where it can sell to the grid for more."""
        return max(self.marginal_cost_micro, self.model.market.grid_feed_in_micro)

    def expected_wh(self, hour_of_year: int) -> float:
        """Energy it is expected to offer in ``hour_of_year``: the forecast the scheduling platform uses."""
        if self.kind is EnergySource.THERMAL:
            return self.capacity_w
        wind = self.wind.expected_wh()
        if self.kind is EnergySource.WIND:
            return wind
        solar = self.solar.expected_wh(hour_of_year)
        return solar + (wind if self.kind is EnergySource.MICROGRID else 0.0)

    def perceive(self) -> None:
        """Works out the energy it can sell this hour."""
        rng, hour = self.model.rng, self.model.hour_of_year
        if self.kind is EnergySource.THERMAL:
            self.available_wh = int(self.capacity_w)
        elif self.kind is EnergySource.SOLAR:
            self.available_wh = self.solar.energy_wh(hour, rng)
        elif self.kind is EnergySource.WIND:
            self.available_wh = self.wind.energy_wh(rng)
        else:
            solar = self.solar.energy_wh(hour, rng)
            stored = min(solar // 2, self.battery_wh - self.soc_wh)
            self.soc_wh += stored
            release = 0 if solar else min(self.soc_wh, int(self.capacity_w) // 4)
            self.soc_wh -= release
            self.available_wh = solar - stored + release + self.wind.energy_wh(rng)
        self.sold_wh = 0


class ComputeUser(Participant):
    """A user in an eastern hub with a stream of tasks.

    Args:
        home: The user's cluster.
        deadline_flex_h: Hours a deferrable task may wait.
        green_preference: 0 (indifferent) to 1 (pays the model's full green weight to avoid CO2).
        budget_factor: Scales the value users put on compute.
    """

    model: EastWestModel

    def __init__(
        self,
        model: EastWestModel,
        home: Cluster,
        deadline_flex_h: int,
        green_preference: float,
        budget_factor: float,
        initial_funds_micro: int,
    ) -> None:
        super().__init__(model, initial_funds_micro)
        self.home = home
        self.deadline_flex_h = deadline_flex_h
        self.green_preference = green_preference
        self.budget_factor = budget_factor
        self.pending: deque[Job] = deque()
        self.served = 0
        self.dropped = 0

    @property
    def site(self) -> Cluster:
        return self.home

    def new_task(self, kind: TaskType, compute_mcore_h: int, data_mb: int) -> Job:
        """Queues a task of ``kind`` needing ``compute_mcore_h`` and moving ``data_mb``.

        The model draws and meters every user's new tasks at once each hour (see
        :meth:`EastWestModel._perceive`) and hands each user its own; the user adds its QoS bound,
        deadline and budget.
        """
        m = self.model
        profile = PROFILES[kind]
        latency = m.demand.inference_latency_ms if kind is TaskType.INFERENCE else profile.qos.max_latency_ms
        now = m.steps
        # positional, in field order (id, user, kind, origin, compute, data, latency bound, arrival,
        # deadline, value): keywords would cost a dict per task
        task = Job(
            m.next_task_id(),
            self.agent_id,
            kind,
            self.home.name,
            compute_mcore_h,
            data_mb,
            None if latency == math.inf else latency,
            now,
            now + self.deadline_flex_h if profile.flexible else now,
            max(1, round(profile.value_micro * self.budget_factor)),
        )
        self.pending.append(task)
        if m.optimum_record is not None:
            m.optimum_record.jobs.append(task)
        return task


class EnergyTradingPlatform(Participant):
    """The energy trading platform (whitepaper Fig. 3-3): clears each region's energy market.

    It is a participant because, under pay-as-bid and McAfee's rule, buyers pay more than sellers
    receive and the platform collects the difference.
    """

    model: EastWestModel

    def clear(self, book: RoundBook) -> None:
        """Clears every region: data centres bid their demand curves, suppliers ask their reservation prices.

        Under ``nash`` the data centres and their region's suppliers bargain instead (whitepaper
        §3.4: compute centres and energy centres): the units that trade are those a truthful
        auction would trade (every Wh a centre values above the supplier's reservation, both
        sides' grid tariffs being their disagreement points), and each matched pair splits its
        surplus by the weighted Nash bargaining solution (Nash 1950; Kalai 1977).
        """
        m = self.model
        nash = m.market.mechanism == "nash"
        for region, centres in m.centres_by_region.items():
            suppliers = [s for s in m.suppliers_by_region.get(region, []) if s.available_wh > 0]
            if not suppliers:
                continue
            bidders: list[ComputeCentre] = []
            bids: list[tuple[int, int]] = []
            for dc in centres:
                for price, wh in dc.energy_bids():
                    bidders.append(dc)
                    bids.append((price, wh))
            if not bids:
                continue
            reservations = [s.reservation_micro for s in suppliers]
            if nash:
                asks = [(r, s.available_wh) for r, s in zip(reservations, suppliers, strict=True)]
            else:
                asks = [(s.strategy.quote(Side.SELL, r, m.rng), s.available_wh) for r, s in zip(reservations, suppliers, strict=True)]
            result = clear_double_auction(bids, asks, rule="uniform" if nash else m.market.mechanism)
            # the log records every step of every curve and every offer as placed, filled or not
            bid_orders = [book.submit(dc.agent_id, Side.BUY, Resource.ENERGY, wh, price) for dc, (price, wh) in zip(bidders, bids, strict=True)]
            ask_orders = [book.submit(s.agent_id, Side.SELL, Resource.ENERGY, wh, price) for s, (price, wh) in zip(suppliers, asks, strict=True)]
            traded = [0] * len(suppliers)
            stats = m.round_stats
            for fill in result.fills:
                dc, supplier, q = bidders[fill.bid], suppliers[fill.ask], fill.quantity
                buyer_price, seller_price = fill.buyer_price, fill.seller_price
                if nash:
                    surplus = (bids[fill.bid][0] - asks[fill.ask][0]) * q
                    _, seller_share = nash_bargaining_solution([0.0, 0.0], surplus, weights=[1.0, m.market.supplier_bargaining_power])
                    buyer_price = seller_price = asks[fill.ask][0] + seller_share / q
                seller_amount = math.floor(seller_price * q)
                buyer_amount = max(seller_amount, math.floor(buyer_price * q))
                records = m.guarantee_records
                if records is not None and supplier.kind is EnergySource.THERMAL and seller_amount > 0:
                    # a thermal plant's delivery is firm: it is covered by a guarantee contract and
                    # paid through it, not as a trade (a dispatchable plant delivers what it sold)
                    item = {"hour": m.hour_of_year, "wh": q, "amount_micro": seller_amount}
                    m.cover(supplier.agent_id, dc.agent_id, Resource.ENERGY, q, seller_amount, q, item)
                    m._book_sale(dc.agent_id, supplier.agent_id, Resource.ENERGY, q, seller_amount)
                else:
                    book.add(dc.agent_id, supplier.agent_id, Resource.ENERGY, q, seller_amount, bid_orders[fill.bid], ask_orders[fill.ask])
                if buyer_amount > seller_amount:
                    book.add(dc.agent_id, self.agent_id, Resource.ENERGY, q, buyer_amount - seller_amount)
                if supplier.green:
                    dc.bought_green_wh += q
                    dc.green_from.append((supplier.agent_id, q))
                    if records is not None:  # its certificates travel with the energy
                        records.transfers.append(CertificateTransfer(supplier.agent_id, dc.agent_id, q))
                else:
                    dc.bought_thermal_wh += q
                supplier.sold_wh += q
                traded[fill.ask] += q
                stats.energy_wh += q
                stats.energy_turnover_micro += buyer_amount
            for s, units in zip(suppliers, traded, strict=True):
                s.strategy.observe_round(Side.SELL, units > 0)


class SchedulingPlatform(Participant):
    """The compute-network scheduling platform (whitepaper §3.3): allocates tasks to bundles.

    Each hour it plans every pending task over a rolling horizon of the next ``deadline_flex_h + 1``
    hours (:func:`market.allocation.allocate_greedy`). A bundle's carbon in an hour is its centre's
    energy per milli-core-hour times the forecast intensity of that energy: the share not covered
    by the region's forecast renewable supply, at the region's forecast grid intensity for the
    hour (:func:`agents.environment.grid_intensity_profile`, with a forecast error that grows with
    the lead time, ``forecast_error``). Tasks planned for this hour run now; the rest stay pending
    and are planned again next hour with fresher information. Carbon-blind scheduling plans one
    hour at a time with no carbon price, so tasks run as soon as they can.
    """

    model: EastWestModel

    def schedule(self) -> list[tuple[Job, ComputeCentre, tuple[NetworkLink, ...]]]:
        """Plans the pending tasks; returns those that run this hour as (task, centre, path links)."""
        m = self.model
        now = m.steps
        aware = m.carbon.carbon_aware
        horizon = m.demand.deadline_flex_h + 1 if aware else 1
        waiting = [u for u in m.users if u.pending]
        pending = [t for u in waiting for t in u.pending]
        if not pending:
            return []
        intensity = m.intensity_forecast(horizon) if aware else {}
        inf, last, task = math.inf, horizon - 1, alloc.TaskDemand
        weight = m.carbon_weight_micro_per_kg if aware else 0.0
        # a deferrable task's data moves when it runs, at its origin's grid intensity then: the
        # platform lets it start no earlier than the greenest forecast hour of its origin within its
        # window (the allocation's carbon is per centre and hour, not per origin)
        greenest = m.greenest_hours(horizon) if aware and horizon > 1 else {}
        problem = alloc.AllocationProblem(
            # positional, in field order (id, origin, compute, data, value, latency bound, release,
            # deadline): keywords would cost a dict per task, every hour it waits. Moving the data
            # costs the same energy wherever the task runs (one end-to-end figure per GB), so the
            # routes carry no carbon; its timing is set by the release slot (greenest hours).
            tasks=tuple(
                task(
                    t.task_id,
                    t.origin,
                    t.compute_mcore_h,
                    t.data_mb,
                    t.value_micro * t.compute_mcore_h,
                    inf if t.latency_ms is None else t.latency_ms,
                    # runs in its origin's greenest forecast hour (where that is full, the next
                    # hour's plan tries again)
                    greenest[t.origin][min(t.deadline - now, last)] if greenest else 0,
                    greenest[t.origin][min(t.deadline - now, last)] if greenest else min(t.deadline - now, last),
                )
                for t in pending
            ),
            datacentres=tuple(
                alloc.CentreOffer(
                    name=str(dc.unique_id),
                    region=dc.site.name,
                    capacity_mcore_h=dc.capacity_mcore_h,
                    price_micro_per_mcore_h=dc.price_micro,
                    pue=dc.pue,
                    # the graph's nodes carry the fossil factor, an upper bound of every hourly
                    # intensity; a centre's "green share" in a slot scales it down to the forecast
                    # and by the busy share of power: only that much of the energy the allocation
                    # counts per milli-core-hour is the work's own (the idle draw is spent anyway)
                    green_share=tuple(1.0 - (1.0 - dc.idle_share) * x / _THERMAL_KG_PER_KWH for x in intensity[dc.unique_id]) if aware else 0.0,
                    watts_per_core=dc.power_w_per_core,
                )
                for dc in m.centres
            ),
            graph=m.graph,
            slots=horizon,
            carbon_price_micro_per_kg=weight,
            network_wh_per_gb_hop=0.0,
        )
        result = alloc.allocate_greedy(problem, passes=m.market.search_passes)
        waits = {t.task_id: t for t in pending}  # what does not start now
        if horizon > 1:  # what each centre should expect to run next hour (it bids for its energy)
            planned = dict.fromkeys(m.centres_by_name, 0)
            for a in result.assignments:
                if a.slot == 1:
                    planned[a.datacentre] += waits[a.task_id].compute_mcore_h
            for name, dc in m.centres_by_name.items():
                dc.planned_mcore_h = planned[name]
        centres = m.centres_by_name
        running = [(waits.pop(a.task_id), centres[a.datacentre], m.path_links(a.path)) for a in result.assignments if a.slot == 0]
        expired = deferred = 0
        for user in waiting:
            kept: deque[Job] = deque()
            for t in user.pending:
                if t.task_id not in waits:  # started
                    continue
                if t.deadline > now:
                    kept.append(t)
                else:  # its deadline passed unserved
                    user.dropped += 1
                    expired += 1
            user.pending = kept
            deferred += len(kept)
        m.round_stats.qos_violations += expired
        m.round_stats.tasks_deferred = deferred
        return running


def _link_pair(key: str) -> tuple[str, str]:
    """The two cluster names in a link key ``"a-b"``.

    Raises:
        KeyError: the key does not name two clusters.
    """
    names = [c.name for c in CLUSTERS]
    for a in names:
        if key.startswith(a + "-") and key[len(a) + 1 :] in names:
            return a, key[len(a) + 1 :]
    raise KeyError(f"{key!r} does not name a link between two clusters ('a-b', e.g. 'zhangjiakou-helinger')")


def _parse_link_latencies(table: dict[str, float]) -> dict[frozenset[str], float]:
    """``{"a-b": ms}`` to ``{frozenset({a, b}): ms}``."""
    return {frozenset(_link_pair(key)): float(ms) for key, ms in table.items()}


# -- the model ---------------------------------------------------------------------------------------


class EastWestModel(MarketModel):
    """The East-Data-West-Compute market: eastern demand, western resources, carbon-aware scheduling.

    Every argument has a keyword default, so ``mesa.batch_run`` and SolaraViz can rebuild the model.
    Inside, the arguments are grouped into four frozen, validated records: :class:`DemandParams`
    (``model.demand``), :class:`SupplyParams` (``model.supply``), :class:`MarketParams`
    (``model.market``) and :class:`CarbonParams` (``model.carbon``). The defaults and their sources
    are in ``docs/economy.md``.

    Args:
        n_users: Users, spread over the eastern clusters. Every capacity below is stated for
            :data:`REFERENCE_USERS` users and scales with ``n_users``.
        task_rate: Expected tasks per user per hour, on average over the day and week.
        inference_share, analytics_share: Task mix; training takes the rest.
        deadline_flex_h: Hours analytics and training tasks may wait.
        inference_latency_ms: One-way latency bound of inference tasks.
        link_latency_ms: Measured latencies replacing the geographic estimate of some backbone links,
            keyed ``"a-b"`` by cluster names; none may undercut the fibre delay over the great circle.
        green_preference: Users' mean green preference (0 to 1).
        green_weight_micro_per_kg: What a fully green-minded user pays to avoid a kg of CO2.
        carbon_price_micro_per_kg: Carbon price the platform charges itself when scheduling; users'
            mean green preference times ``green_weight_micro_per_kg`` is added to it.
        social_cost_micro_per_kg: Social cost of carbon, for the welfare account.
        carbon_aware: Whether the platform weighs carbon at all and defers tasks to greener hours.
        forecast_error: Relative error (standard deviation) of the intensity forecast one hour
            ahead; it grows with the square root of the lead time.
        budget_factor: Scales what users pay for compute.
        diurnal_amplitude: Relative swing of demand over the day (peak at 15:00 Beijing time).
        weekend_factor: Demand on Saturdays and Sundays over weekdays.
        east_capacity_mcore_h, west_capacity_mcore_h: Capacity per data centre per hour.
        east_cost_micro, west_cost_micro: Operating cost per milli-core-hour.
        power_w_per_core: IT power per busy core.
        idle_share: Idle draw as a share of full IT power.
        surge: Load surcharge at full utilisation.
        green_premium: Base-price premium for green energy.
        supplier_strategy: Pricing strategy of data centres and energy suppliers.
        mechanism: ``uniform``, ``pay-as-bid``, ``mcafee`` or ``nash``.
        supplier_bargaining_power: Energy suppliers' weight against data centres under ``nash``.
        solar_w, wind_w, thermal_w, microgrid_w: Rated power per supplier, west (east sites get half).
        wind_scale_m_s: Weibull scale of wind speeds.
        cloudiness: Mean cloud loss of solar.
        renewable_cost_micro: Marginal cost of solar, wind and microgrid energy per Wh.
        thermal_cost_micro: Fuel cost of thermal energy per Wh.
        grid_retail_micro: Grid price per Wh.
        grid_feed_in_micro: What the grid pays per Wh sold to it.
        grid_generation_micro: The grid's generation cost per Wh it delivers (or is spared).
        load_forecast_error: Relative error of a data centre's forecast of next hour's load,
            which shapes its energy demand curve.
        network_price_micro_per_mb: Transit price per MB per link.
        network_bandwidth_mb: Capacity per link per hour.
        route_factor: Fibre route length over great-circle distance.
        outage_per_year: Outages per data centre per year (their deliveries breach their guarantees).
        repair_h: Mean hours to repair an outage (each outage lasts a whole number of hours, at least one).
        penalty_rate: Compensation per breached delivery, as a share of its price.
        dispute_share: Share of breaches whose supplier disputes the oracle's attestation; of
            those, as many again are resolved by the operator as time out.
        guarantees: Cover the scheduling platform's matches and thermal plants' firm energy
            deliveries by guarantee contracts (``ServiceAgreements``) and issue, move and retire
            green certificates (``GreenCertificates``) on the ledger; off, a breach's
            compensation is booked as an ordinary trade and green energy is counted in Python.
        search_passes: Local-search passes after the scheduler's greedy placement
            (:func:`market.allocation.allocate_greedy`); the rolling horizon re-plans every hour, so
            the default 0 loses almost nothing at a fraction of the time.
        start_hour: Hour of the year (UTC) of the first step.
        initial_funds_micro: Each user's escrow deposit.
        track_optimum: Record every task and hour so that :meth:`summary_metrics` can report
            ``efficiency`` against the perfect-foresight optimum (:mod:`agents.optimum`); off in
            benchmarks, since the record grows with the run.
        seed: Seed of the model's generators.
        settler: Where each hour's trades settle.

    Raises:
        ValueError: a parameter out of range (the message names it).
    """

    def __init__(
        self,
        n_users: int = 120,
        task_rate: float = 0.25,
        inference_share: float = 0.6,
        analytics_share: float = 0.3,
        deadline_flex_h: int = 4,
        inference_latency_ms: float = 5.0,
        link_latency_ms: dict[str, float] | None = None,
        green_preference: float = 0.5,
        green_weight_micro_per_kg: float = 200_000.0,
        carbon_price_micro_per_kg: float = 1_000_000.0,
        social_cost_micro_per_kg: int = 1_000_000,
        carbon_aware: bool = True,
        forecast_error: float = 0.05,
        budget_factor: float = 1.0,
        diurnal_amplitude: float = 0.35,
        weekend_factor: float = 0.85,
        east_capacity_mcore_h: int = 30_000,
        west_capacity_mcore_h: int = 200_000,
        east_cost_micro: int = 110,
        west_cost_micro: int = 80,
        power_w_per_core: float = WATTS_PER_CORE,
        idle_share: float = 0.5,
        surge: float = 0.5,
        green_premium: float = 0.1,
        supplier_strategy: str = "markup",
        mechanism: str = "uniform",
        supplier_bargaining_power: float = 1.0,
        solar_w: float = 2_000.0,
        wind_w: float = 1_500.0,
        thermal_w: float = 1_500.0,
        microgrid_w: float = 800.0,
        wind_scale_m_s: float = 8.0,
        cloudiness: float = 0.3,
        renewable_cost_micro: int = 10,
        thermal_cost_micro: int = 300,
        grid_retail_micro: int = 700,
        grid_feed_in_micro: int = 280,
        grid_generation_micro: int = 280,
        load_forecast_error: float = 0.2,
        network_price_micro_per_mb: int = 2,
        network_bandwidth_mb: int = 20_000_000,
        route_factor: float = 1.5,
        outage_per_year: float = 0.8,
        repair_h: float = 2.0,
        penalty_rate: float = 0.5,
        dispute_share: float = 0.3,
        guarantees: bool = True,
        search_passes: int = 0,
        start_hour: int = 4_000,
        initial_funds_micro: int = 1_000_000_000_000,
        track_optimum: bool = False,
        seed: int | None = None,
        settler: Any = None,
    ) -> None:
        super().__init__(seed=seed, settler=settler)
        self.demand = DemandParams(
            n_users,
            task_rate,
            inference_share,
            analytics_share,
            deadline_flex_h,
            inference_latency_ms,
            green_preference,
            budget_factor,
            diurnal_amplitude,
            weekend_factor,
        )
        self.supply = SupplyParams(
            east_capacity_mcore_h,
            west_capacity_mcore_h,
            east_cost_micro,
            west_cost_micro,
            power_w_per_core,
            idle_share,
            solar_w,
            wind_w,
            thermal_w,
            microgrid_w,
            wind_scale_m_s,
            cloudiness,
            renewable_cost_micro,
            thermal_cost_micro,
            network_bandwidth_mb,
            route_factor,
            outage_per_year,
            repair_h,
            penalty_rate,
            dispute_share,
            guarantees,
        )
        self.market = MarketParams(
            mechanism,
            supplier_strategy,
            supplier_bargaining_power,
            surge,
            green_premium,
            grid_retail_micro,
            grid_feed_in_micro,
            grid_generation_micro,
            network_price_micro_per_mb,
            load_forecast_error,
            search_passes,
        )
        self.carbon = CarbonParams(carbon_aware, carbon_price_micro_per_kg, green_weight_micro_per_kg, social_cost_micro_per_kg, forecast_error)
        for record in (self.demand, self.supply, self.market, self.carbon):
            for key, message in record.problems():
                raise ValueError(f"{', '.join(param_names(key))}: {message}")
        self.start_hour = start_hour
        self.initial_funds_micro = initial_funds_micro
        self.optimum_record = RunRecord() if track_optimum else None
        self.meter = AnalyticalMeter()
        self._order_ids = itertools.count(1)
        self._task_ids = itertools.count(1)
        self._agreement_ids = itertools.count(1)
        self._covers: dict[tuple[AgentId, AgentId, Resource], list[Any]] = {}  # the round's covered matches by pair
        # disputes draw from a generator of their own, spawned without touching the model's
        # stream, so guarantees on or off the market sees the same tasks, weather and outages
        self._dispute_rng = np.random.default_rng(self.rng.bit_generator.seed_seq.spawn(1)[0])
        self.round_stats = RoundStats()
        self.totals = RoundStats()
        self.utilisation_east_peak = 0.0
        self._green_supply: dict[tuple[str, int], float] = {}
        # where the busy blocks of a centre's demand curve end, in forecast standard deviations
        self._curve_quantiles = [float(ndtri(min(max(j / _CURVE_BLOCKS, 0.005), 0.995))) for j in range(_CURVE_BLOCKS + 1)]
        self._intensity = {
            c.name: grid_intensity_profile(c.lat, c.lon, c.grid_factor_kg_per_kwh, SOLAR_SHARE_2022[c.grid_region], _THERMAL_KG_PER_KWH)
            for c in CLUSTERS
        }

        rng = self.rng
        # forecast errors come from a generator of their own, so runs that forecast more or fewer
        # hours ahead (or none: carbon-blind) still see the same tasks, weather and outages
        self._forecast_rng = np.random.default_rng(int(rng.integers(2**63)))
        scale = max(n_users, 1) / REFERENCE_USERS
        self.grid = Grid(self, initial_funds_micro)
        self.energy_platform = EnergyTradingPlatform(self, initial_funds_micro)
        self.scheduler = SchedulingPlatform(self, 0)
        funds = initial_funds_micro
        for c in CLUSTERS:
            east = is_east(c)
            ComputeCentre(
                self,
                site=c,
                capacity_mcore_h=round((east_capacity_mcore_h if east else west_capacity_mcore_h) * scale),
                pue=round(pue_target(c) - float(rng.uniform(0.0, 0.1)), 3),
                cost_micro=east_cost_micro if east else west_cost_micro,
                power_w_per_core=power_w_per_core,
                idle_share=idle_share,
                green_target=0.5 if east else 0.8,
                quality=1.0,
                strategy=make_strategy(supplier_strategy, rng, markup=0.15),
                initial_funds_micro=funds,
            )
            size = (0.5 if east else 1.0) * scale
            for kind, watts, cost in (
                (EnergySource.SOLAR, solar_w, renewable_cost_micro),
                (EnergySource.WIND, wind_w, renewable_cost_micro),
                (EnergySource.THERMAL, thermal_w, thermal_cost_micro),
                (EnergySource.MICROGRID, microgrid_w, renewable_cost_micro),
            ):
                if watts > 0:
                    EnergySupplier(
                        self,
                        site=c,
                        kind=kind,
                        capacity_w=watts * size,
                        marginal_cost_micro=cost,
                        strategy=make_strategy(supplier_strategy, rng, floor=grid_feed_in_micro, ceiling=grid_retail_micro, markup=0.1),
                        cloudiness=cloudiness,
                        wind_scale_m_s=wind_scale_m_s,
                    )
        backbone = backbone_graph(CLUSTERS, route_factor=route_factor)
        measured = _parse_link_latencies(link_latency_ms or {})
        bandwidth = round(network_bandwidth_mb * scale)
        for a, b, data in sorted(backbone.edges(data=True)):
            latency = measured.get(frozenset((a, b)), data["latency_ms"])
            NetworkLink(self, a, b, latency, bandwidth, network_price_micro_per_mb)
        eastern = [c for c in CLUSTERS if is_east(c)]
        mix = (inference_share, analytics_share, max(0.0, 1.0 - inference_share - analytics_share))
        self.task_mix = np.asarray(mix) / sum(mix)
        homes = rng.integers(len(eastern), size=n_users)
        prefs = np.clip(rng.normal(green_preference, 0.2, size=n_users), 0.0, 1.0)
        for i in range(n_users):
            ComputeUser(
                self,
                home=eastern[int(homes[i])],
                deadline_flex_h=deadline_flex_h,
                green_preference=float(prefs[i]),
                budget_factor=budget_factor,
                initial_funds_micro=funds,
            )
        self._index()
        mean_pref = float(np.mean(prefs)) if n_users else 0.0
        self.carbon_weight_micro_per_kg = carbon_price_micro_per_kg + green_weight_micro_per_kg * mean_pref
        self._links_by_pair = {frozenset((link.a, link.b)): link for link in self.links}
        self._path_links: dict[tuple[str, ...], tuple[NetworkLink, ...]] = {}
        # every node carries the fossil factor: the scheduler scales it down per centre and hour
        self.graph = region_graph(
            [Link(k.a, k.b, k.latency_ms, k.bandwidth_mb, k.price_micro_per_mb) for k in self.links],
            {c.name: _THERMAL_KG_PER_KWH for c in CLUSTERS},
        )
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)

    # -- set-up helpers ---------------------------------------------------------------------------

    def _index(self) -> None:
        by_type = self.agents_by_type
        self.users = list(by_type.get(ComputeUser, ()))
        self.centres = list(by_type.get(ComputeCentre, ()))
        self.links = list(by_type.get(NetworkLink, ()))
        self.suppliers = list(by_type.get(EnergySupplier, ()))
        self.centres_by_region: dict[str, list[ComputeCentre]] = {}
        for dc in self.centres:
            self.centres_by_region.setdefault(dc.site.name, []).append(dc)
        self.suppliers_by_region: dict[str, list[EnergySupplier]] = {}
        for s in self.suppliers:
            self.suppliers_by_region.setdefault(s.site.name, []).append(s)
        self.by_id = {a.unique_id: a for a in self.agents}
        self.centres_by_name = {str(dc.unique_id): dc for dc in self.centres}
        self.east_centres = [dc for dc in self.centres if is_east(dc.site)]

    #: The hour's figures the data collector records (each a field or property of :class:`RoundStats`).
    _REPORTED = (
        "compute_mcore_h",
        "compute_price_micro",
        "network_mb",
        "energy_wh",
        "energy_price_micro",
        "tasks_new",
        "tasks_served",
        "tasks_deferred",
        "qos_violations",
        "sla_breaches",
        "value_micro",
        "generation_cost_micro",
        "network_cost_micro",
        "operating_cost_micro",
        "carbon_cost_micro",
        "welfare_micro",
        "utilisation_east",
        "utilisation_mean",
        "green_share",
        "kg_co2",
        "kg_co2_deferrable",
        "kwh",
    )
    #: Running totals since the start, so ``mesa.batch_run``'s last-step row means the whole run.
    _CUMULATIVE = ("tasks_served", "sla_breaches", "value_micro", "welfare_micro", "carbon_cost_micro", "kg_co2", "kwh")

    def _reporters(self) -> dict[str, Any]:
        reporters: dict[str, Any] = {key: (lambda m, k=key: getattr(m.round_stats, k)) for key in self._REPORTED}
        for key in self._CUMULATIVE:
            reporters[f"cum_{key}"] = lambda m, k=key: getattr(m.totals, k)
        reporters["trades"] = lambda m: len(m.trades)
        reporters["gas_used"] = lambda m: m.last_outcome.gas_used
        return reporters

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> Problems:
        """Scenario checks beyond types: each parameter record's own, and the link latencies."""
        names = {record: [f.name for f in fields(record)] for record in (DemandParams, SupplyParams, MarketParams, CarbonParams)}
        problems: Problems = []
        for record, keys in names.items():
            problems += record(*(params[k] for k in keys)).problems()
        for key, ms in (params["link_latency_ms"] or {}).items():
            try:
                a, b = (cluster(n) for n in _link_pair(key))
            except KeyError as exc:
                problems.append(("link_latency_ms", str(exc.args[0])))
                continue
            floor = fibre_latency_ms(a.lat, a.lon, b.lat, b.lon, route_factor=1.0)
            if ms < floor:
                problems.append((f"link_latency_ms.{key}", f"{ms} ms is below the fibre delay between the sites ({floor:.2f} ms)"))
        return problems

    @property
    def participants(self) -> list[Participant]:
        return [a for a in self.agents if isinstance(a, Participant)]

    @property
    def hour_of_year(self) -> int:
        return self.start_hour + self.steps - 1

    def next_task_id(self) -> int:
        return next(self._task_ids)

    def agent_role(self, agent: Any) -> tuple[str, str]:
        if isinstance(agent, EnergySupplier):
            return f"{agent.kind.value} supplier", agent.site.name
        return super().agent_role(agent)

    # -- forecasts --------------------------------------------------------------------------------

    def grid_intensity(self, region: str, hour_of_year: int) -> float:
        """The region's grid emission factor in ``hour_of_year``, kg CO2/kWh."""
        return float(self._intensity[region][hour_of_year % HOURS_PER_YEAR])

    def intensity_forecast(self, hours: int) -> dict[int, list[float]]:
        """Each centre's forecast marginal emission factor for the next ``hours`` hours, kg CO2/kWh.

        Work added to a centre in an hour is met at the margin by its regional grid (its market
        purchases were made before the work was placed), so the factor is the region's grid
        intensity in that hour. The hour at hand is known; later hours carry a multiplicative
        error of ``forecast_error`` times the square root of the lead time (drawn from the
        model's forecast generator, one draw per region and hour ahead).
        """
        error = self.carbon.forecast_error
        out: dict[int, list[float]] = {}
        for region, centres in self.centres_by_region.items():
            grid = [self.grid_intensity(region, self.hour_of_year + k) for k in range(hours)]
            if error > 0 and hours > 1:
                noise = self._forecast_rng.standard_normal(hours - 1)
                grid = [grid[0]] + [
                    max(0.0, g * (1.0 + error * math.sqrt(k + 1) * float(z))) for k, (g, z) in enumerate(zip(grid[1:], noise, strict=True))
                ]
            factors = [min(_THERMAL_KG_PER_KWH, g) for g in grid]
            for dc in centres:
                out[dc.unique_id] = factors
        return out

    def greenest_hours(self, hours: int) -> dict[str, list[int]]:
        """For each region and each last slot ``d`` below ``hours``: the slot in ``0..d`` to run
        deferrable work from that region in, by the forecast grid intensity (as in
        :meth:`intensity_forecast`, from the forecast generator).

        It is the earliest slot whose forecast is within the forecast's own relative error of the
        lowest forecast up to ``d``: waiting is worth it only for a gain the forecast can tell
        from its noise (else the minimum of noisy forecasts would drift to the far end of flat
        nights).
        """
        error = self.carbon.forecast_error
        noise = self._forecast_rng.standard_normal((len(CLUSTERS), hours))
        out: dict[str, list[int]] = {}
        for i, c in enumerate(CLUSTERS):
            grid = [self.grid_intensity(c.name, self.hour_of_year + k) * (1.0 + error * math.sqrt(k) * float(noise[i, k])) for k in range(hours)]
            firsts = []
            for d in range(hours):
                lowest = min(grid[: d + 1])
                firsts.append(next(k for k in range(d + 1) if grid[k] <= lowest * (1.0 + error)))
            out[c.name] = firsts
        return out

    def green_forecast(self, hours: int) -> dict[int, list[float]]:
        """Each centre's expected renewable share for the next ``hours`` hours.

        Expected renewable supply in its region (clear-sky solar less mean cloud, wind at its mean
        capacity factor, microgrids' steadier output) over its expected energy draw, capped at 1.
        """
        out: dict[int, list[float]] = {}
        for region, centres in self.centres_by_region.items():
            supply = [self._green_supply_wh(region, self.hour_of_year + k) for k in range(hours)]
            demand = sum(dc.expected_energy_wh() for dc in centres)
            for dc in centres:
                out[dc.unique_id] = [min(1.0, x / demand) if demand else 0.0 for x in supply]
        return out

    def _green_supply_wh(self, region: str, hour_of_year: int) -> float:
        """A region's expected renewable supply in an hour: a forecast without draws, so each
        (region, hour) is worked out once, though the rolling horizon asks for it several hours running."""
        key = (region, hour_of_year)
        supply = self._green_supply.get(key)
        if supply is None:
            if len(self._green_supply) > 4096:  # hours long past: keep the memo small on long runs
                self._green_supply.clear()
            suppliers = self.suppliers_by_region.get(region, [])
            supply = self._green_supply[key] = sum(s.expected_wh(hour_of_year) for s in suppliers if s.green)
        return supply

    # -- the hourly loop --------------------------------------------------------------------------

    def step(self) -> None:
        """One hour: perceive, energy market, compute-network market, guarantees, energy balance,
        settlement, data."""
        self.round_stats = RoundStats()
        book = RoundBook(self._order_ids, self.steps)
        self.guarantee_records = GuaranteeRound() if self.supply.guarantees else None
        self._perceive()
        for dc in self.centres:
            dc.bought_green_wh = dc.bought_thermal_wh = 0
            dc.green_from.clear()
        self._meter_generation()
        self.energy_platform.clear(book)
        self.agents_by_type[ComputeCentre].do("post_price")
        scheduled = self.scheduler.schedule()  # the match
        self._deliver(scheduled, book)  # delivery, or breach
        self._balance_energy(book)
        if self.guarantee_records is not None:
            self._close_covers()
        self.orders, self.trades = book.close()
        self.settle_round()
        self.pay_trades(self.by_id)
        self.agents_by_type[ComputeCentre].do("close_hour")
        self._finish_stats()
        self.datacollector.collect(self)

    def _meter_generation(self) -> None:
        """The platform's meter reads each renewable supplier's generation this hour; certificates
        are issued for it (in Wh) when guarantees are on."""
        records = self.guarantee_records
        if records is None:
            return
        for s in self.suppliers:
            if s.green and s.available_wh > 0:
                records.generation.append(GenerationRecord(s.agent_id, s.available_wh))

    def cover(
        self, supplier: AgentId, buyer: AgentId, resource: Resource, units: int, payment_micro: int, delivered: int, item: dict[str, Any]
    ) -> None:
        """Covers a match by the round's guarantee contract between ``supplier`` and ``buyer`` for
        ``resource`` (whitepaper §3.5): one contract per pair and round holds all of their matches
        (``item`` describes this one in the confidential terms), so a party opens and accepts
        once a round, whatever its number of matches."""
        key = (supplier, buyer, resource)
        cover = self._covers.get(key)
        if cover is None:
            cover = self._covers[key] = [0, 0, 0, []]
        cover[0] += units
        cover[1] += payment_micro
        cover[2] += delivered
        cover[3].append(item)

    def _close_covers(self) -> None:
        """Opens the round's guarantee contracts and records what each delivered: the buyer escrows
        the payment, the supplier posts collateral covering a full breach at ``penalty_rate`` of
        the price; a shortfall is compensated from it, or the supplier disputes the attestation
        (a ``dispute_share`` of breaches; the operator resolves half of those, the rest time out)."""
        records = self.guarantee_records
        for (supplier, buyer, resource), (units, payment, delivered, items) in self._covers.items():
            penalty = math.floor(self.supply.penalty_rate * payment / units)
            key = next(self._agreement_ids)
            terms = {"matches": items, "penalty_micro_per_unit": penalty, "units": units, "payment_micro": payment}
            records.agreements.append(AgreementRecord(key, supplier, buyer, resource, units, payment, penalty, penalty * units, terms))  # type: ignore[union-attr]
            dispute = None
            if delivered < units:
                draw = self._dispute_rng.random(2).tolist()
                if draw[0] < self.supply.dispute_share:
                    dispute = DisputeOutcome.RESOLVED if draw[1] < 0.5 else DisputeOutcome.TIMED_OUT
                compensation = penalty * (units - delivered)
                self.book(buyer).received_micro += compensation
                self.book(supplier).paid_micro += compensation
            records.deliveries.append(DeliveryRecord(key, delivered, dispute))  # type: ignore[union-attr]
        self._covers.clear()

    def _book_sale(self, buyer: AgentId, seller: AgentId, resource: Resource, units: int, amount: int) -> None:
        """Books a delivery paid through its agreement in both parties' accounts (a trade books itself)."""
        b, s = self.book(buyer), self.book(seller)
        b.bought[resource] = b.bought.get(resource, 0) + units
        s.sold[resource] = s.sold.get(resource, 0) + units
        b.paid_micro += amount
        s.received_micro += amount

    def account_roles(self) -> dict[AgentId, Role]:
        """Data centres are compute suppliers, links network suppliers, energy suppliers and the grid
        energy suppliers, the two platforms operate the market; users are users."""
        roles: dict[AgentId, Role] = {dc.agent_id: Role.COMPUTE for dc in self.centres}
        roles.update({link.agent_id: Role.NETWORK for link in self.links})
        roles.update({s.agent_id: Role.ENERGY for s in self.suppliers})
        roles[self.grid.agent_id] = Role.ENERGY
        roles[self.energy_platform.agent_id] = Role.PLATFORM
        roles[self.scheduler.agent_id] = Role.PLATFORM
        return roles

    def guarantee_setup(self) -> GuaranteeSetup | None:
        """With guarantees on: the scheduling platform is the oracle and the meter; users, data
        centres and thermal plants (the parties of agreements) hold a token wallet as large as a
        user's escrow; the renewable suppliers are the certificates' generators."""
        if not self.supply.guarantees:
            return None
        parties = [*self.users, *self.centres, *(s for s in self.suppliers if s.kind is EnergySource.THERMAL)]
        funds = self.initial_funds_micro
        return GuaranteeSetup(
            oracle=self.scheduler.agent_id,
            wallets={p.agent_id: funds for p in parties},
            generators={s.agent_id: s.kind for s in self.suppliers if s.green},
        )

    def _perceive(self) -> None:
        self.agents_by_type[EnergySupplier].do("perceive")
        rng, d = self.rng, self.demand
        rate = d.task_rate * demand_multiplier(self.hour_of_year, d.diurnal_amplitude, d.weekend_factor)
        arrivals = rng.poisson(rate, size=len(self.users))
        total = int(arrivals.sum())
        kinds = rng.choice(3, size=total, p=self.task_mix)
        sizes = rng.lognormal(0.0, 0.5, size=total)
        owners = np.repeat(np.arange(len(self.users)), arrivals)
        # meter all of the hour's tasks kind by kind (market.metering), GPU work in core-equivalents
        compute = np.empty(total, dtype=np.int64)
        data = np.empty(total, dtype=np.int64)
        for k, kind in enumerate(_KINDS):
            mask = kinds == k
            profile = PROFILES[kind]
            cores, gpus, mb = self.meter.demand_many(kind, profile.median_size * sizes[mask], profile.qos)
            compute[mask] = np.maximum(1, cores + np.rint(gpus * CORES_PER_GPU).astype(np.int64))
            data[mask] = np.maximum(1, mb)
        users = self.users
        for owner, kind, c, data_mb in zip(owners.tolist(), kinds.tolist(), compute.tolist(), data.tolist(), strict=True):
            users[owner].new_task(_KINDS[kind], c, data_mb)
        self.round_stats.tasks_new = total

    def link_between(self, a: str, b: str) -> NetworkLink:
        """The backbone link joining clusters ``a`` and ``b``."""
        return self._links_by_pair[frozenset((a, b))]

    def path_links(self, path: tuple[str, ...]) -> tuple[NetworkLink, ...]:
        """The backbone links along ``path`` (a sequence of cluster names), in order."""
        links = self._path_links.get(path)
        if links is None:
            links = self._path_links[path] = tuple(self.link_between(a, b) for a, b in itertools.pairwise(path))
        return links

    def _outages(self) -> None:
        """Which centres are down this hour: a centre that is up fails with the hourly chance of
        ``outage_per_year`` and stays down for a repair time drawn around ``repair_h`` (exponential,
        rounded up to whole hours)."""
        chance, repair = self.supply.outage_chance, self.supply.repair_h
        draws = self.rng.random(len(self.centres))
        for dc, u in zip(self.centres, draws.tolist(), strict=True):
            if dc.repair_left_h > 0:
                dc.online = False
                dc.repair_left_h -= 1
            elif u < chance:
                dc.online = False
                dc.repair_left_h = max(1, math.ceil(self.rng.exponential(repair))) - 1 if repair > 0 else 0
            else:
                dc.online = True

    def _deliver(self, scheduled: list[tuple[Job, ComputeCentre, tuple[NetworkLink, ...]]], book: RoundBook) -> None:
        """Runs the scheduled tasks under their guarantee contracts; a centre hit by an outage breaches.

        Each delivered task adds its value to its user's account and its operating cost to its
        centre's; moving its data costs network energy (one end-to-end figure per GB,
        :data:`market.metering.NETWORK_WH_PER_GB`), drawn at the origin's grid intensity and
        costed at the grid's generation cost, booked to the links of its path (to the centre when
        it runs where its data is).
        """
        self._outages()
        if self.optimum_record is not None:
            renewable: dict[str, int] = {}
            thermal: dict[str, int] = {}
            for s in self.suppliers:
                into = renewable if s.green else thermal
                into[s.site.name] = into.get(s.site.name, 0) + s.available_wh
            self.optimum_record.hours.append(HourRecord(renewable, thermal, [dc.online for dc in self.centres]))
        for dc in self.centres:
            dc.used_mcore_h = dc.rigid_mcore_h = 0
        add, by_id, network, compute = book.add, self.by_id, Resource.NETWORK, Resource.COMPUTE
        stats, hour = self.round_stats, self.hour_of_year
        generation = self.market.grid_generation_micro
        penalty_rate = self.supply.penalty_rate
        records = self.guarantee_records
        for task, dc, path in scheduled:
            price, user, mb = dc.price_micro, task.user, task.data_mb
            units = task.compute_mcore_h
            if not dc.online:
                stats.sla_breaches += 1
                stats.qos_violations += 1
                if records is None:
                    # nothing is paid for the missed delivery and the supplier's collateral
                    # compensates the user (booked as the centre buying back the undelivered units)
                    add(dc.unique_id, user, compute, units, math.floor(penalty_rate * price * units))
                    continue
                # covered, nothing delivered: the oracle attests the shortfall (see _close_covers)
                self.cover(dc.agent_id, user, compute, units, units * price, 0, {"task": task.task_id, "kind": task.kind.value, "hour": hour})
                continue
            for link in path:
                add(user, link.unique_id, network, mb, mb * link.price_micro_per_mb)
                link.carried_mb += mb
            stats.network_mb += mb * len(path)
            network_wh = mb / 1024 * NETWORK_WH_PER_GB
            network_kg = network_wh / _WH_PER_KWH * self.grid_intensity(task.origin, hour)
            network_cost = round(network_wh * generation)
            carriers: tuple[Any, ...] = path or (dc,)
            share, rest = divmod(network_cost, len(carriers))
            for i, carrier in enumerate(carriers):
                account = self.book(carrier.unique_id)
                account.cost_micro += share + (rest if i == 0 else 0)
                account.wh += network_wh / len(carriers)
                account.kg_co2 += network_kg / len(carriers)
            stats.network_cost_micro += network_cost
            stats.kwh += network_wh / _WH_PER_KWH
            stats.kg_co2 += network_kg
            stats.kg_co2_location += network_kg
            if records is None:
                add(user, dc.unique_id, compute, units, units * price)
            else:  # paid through the agreement once the oracle attests the delivery
                self.cover(dc.agent_id, user, compute, units, units * price, units, {"task": task.task_id, "kind": task.kind.value, "hour": hour})
                self._book_sale(user, dc.agent_id, compute, units, units * price)
            dc.used_mcore_h += units
            dc.revenue_micro += units * price
            value, operating = task.value_micro * units, dc.cost_micro * units
            self.book(user).value_micro += value
            self.book(dc.unique_id).cost_micro += operating
            stats.value_micro += value
            stats.operating_cost_micro += operating
            stats.compute_mcore_h += units
            stats.compute_turnover_micro += units * price
            stats.tasks_served += 1
            by_id[user].served += 1
            if not task.deferrable:
                dc.rigid_mcore_h += units
            else:
                # the work's own emissions at the margin: its busy energy at the centre's grid
                # intensity and its data's at the origin's, now and had it run when it arrived
                arrived = self.start_hour + task.arrival - 1
                compute_kwh = dc.marginal_wh(units) / _WH_PER_KWH
                stats.kg_co2_deferrable += compute_kwh * self.grid_intensity(dc.site.name, hour) + network_kg
                stats.kg_co2_deferrable_at_arrival += compute_kwh * self.grid_intensity(
                    dc.site.name, arrived
                ) + network_wh / _WH_PER_KWH * self.grid_intensity(task.origin, arrived)
                stats.deferrable_mcore_h += units
                stats.deferrable_mb += mb

    def _balance_energy(self, book: RoundBook) -> None:
        """Each centre draws what it used: market purchases first, the grid for the rest; surplus
        goes back to the grid at the feed-in tariff, as does every supplier's unsold energy where
        the tariff covers its cost (a thermal plant only generates what it sells).

        Costs and emissions: each supplier's generation at its marginal cost (thermal at the
        fossil factor), the grid's generation behind what it delivers less what it is spared by
        what is fed in, and the grid energy a centre draws at its region's intensity this hour.
        """
        stats, hour, market = self.round_stats, self.hour_of_year, self.market
        retail, feed_in, generation = market.grid_retail_micro, market.grid_feed_in_micro, market.grid_generation_micro
        grid_id = self.grid.agent_id
        grid_net_wh = 0  # delivered less fed in
        for dc in self.centres:
            used = dc.energy_for(dc.used_mcore_h) if dc.online else 0
            bought = dc.bought_green_wh + dc.bought_thermal_wh
            green = min(used, dc.bought_green_wh)
            thermal = min(used - green, dc.bought_thermal_wh)
            from_grid = used - green - thermal
            if from_grid > 0:
                book.add(dc.agent_id, grid_id, Resource.ENERGY, from_grid, from_grid * retail)
            surplus = bought - green - thermal
            if surplus > 0:
                book.add(grid_id, dc.agent_id, Resource.ENERGY, surplus, surplus * feed_in)
            grid_net_wh += from_grid - surplus
            dc.energy_wh = used
            dc.green_share = green / used if used else dc.green_share
            # the centre's emissions: its grid draw at the hour's intensity and the thermal energy
            # it bought (what it resold included: that was generated for it)
            kg = from_grid / _WH_PER_KWH * self.grid_intensity(dc.site.name, hour) + dc.bought_thermal_wh / _WH_PER_KWH * _THERMAL_KG_PER_KWH
            account = self.book(dc.unique_id)
            account.wh += used
            account.kg_co2 += kg
            stats.kwh += used / _WH_PER_KWH
            stats.green_kwh += green / _WH_PER_KWH
            stats.kg_co2 += kg
            stats.kg_co2_location += used / _WH_PER_KWH * self.grid_intensity(dc.site.name, hour)
            if self.guarantee_records is not None and green > 0:
                self._retire(dc, green)
        for s in self.suppliers:
            unsold = s.available_wh - s.sold_wh
            fed = unsold if unsold > 0 and s.green and feed_in >= s.marginal_cost_micro else 0
            if fed:
                book.add(grid_id, s.agent_id, Resource.ENERGY, fed, fed * feed_in)
                grid_net_wh -= fed
            cost = (s.sold_wh + fed) * s.marginal_cost_micro
            self.book(s.unique_id).cost_micro += cost
            stats.generation_cost_micro += cost
        grid_cost = grid_net_wh * generation
        self.book(grid_id).cost_micro += grid_cost
        stats.generation_cost_micro += grid_cost

    def _retire(self, dc: ComputeCentre, wh: int) -> None:
        """The centre retires certificates for the ``wh`` of green energy it used, from what it
        bought this hour in the order it bought it (each certificate is claimed once; what it
        resold keeps its certificates unretired)."""
        records = self.guarantee_records
        left = wh
        for generator, bought in dc.green_from:
            take = min(left, bought)
            if take > 0:
                records.retirements.append(Retirement(dc.agent_id, generator, take))  # type: ignore[union-attr]
                left -= take
            if left == 0:
                break

    def _finish_stats(self) -> None:
        s, t = self.round_stats, self.totals
        s.carbon_cost_micro = round(s.kg_co2 * self.carbon.social_cost_micro_per_kg)
        east_capacity = sum(dc.capacity_mcore_h for dc in self.east_centres)
        s.utilisation_east = sum(dc.used_mcore_h for dc in self.east_centres) / east_capacity if east_capacity else 0.0
        s.utilisation_mean = float(np.mean([dc.used_mcore_h / dc.capacity_mcore_h if dc.capacity_mcore_h else 0.0 for dc in self.centres]))
        self.utilisation_east_peak = max(self.utilisation_east_peak, s.utilisation_east)
        for f in fields(RoundStats):
            setattr(t, f.name, getattr(t, f.name) + getattr(s, f.name))

    @property
    def carbon_cost_micro(self) -> int:
        """The run's carbon cost so far (the part of welfare no agent bears)."""
        return self.totals.carbon_cost_micro

    def summary_metrics(self) -> dict[str, Any]:
        """The run's totals for ``summary.json``: the welfare account, utilisation, carbon, QoS."""
        t = self.totals
        hours = max(self.steps, 1)
        return {
            "tasks_served": t.tasks_served,
            "qos_violations": t.qos_violations,
            "sla_breaches": t.sla_breaches,
            "kg_co2": round(t.kg_co2, 3),
            "kg_co2_location": round(t.kg_co2_location, 3),
            "kg_co2_market": round(t.kg_co2, 3),
            "kg_co2_deferrable": round(t.kg_co2_deferrable, 3),
            "kg_co2_deferrable_at_arrival": round(t.kg_co2_deferrable_at_arrival, 3),
            "temporal_saving": round(1.0 - t.kg_co2_deferrable / t.kg_co2_deferrable_at_arrival, 6) if t.kg_co2_deferrable_at_arrival else None,
            "deferrable_mcore_h": t.deferrable_mcore_h,
            "deferrable_mb": t.deferrable_mb,
            "kwh": round(t.kwh, 3),
            "green_share": round(t.green_kwh / t.kwh, 6) if t.kwh else None,
            "value_micro": t.value_micro,
            "generation_cost_micro": t.generation_cost_micro,
            "network_cost_micro": t.network_cost_micro,
            "operating_cost_micro": t.operating_cost_micro,
            "carbon_cost_micro": t.carbon_cost_micro,
            "welfare_micro": t.welfare_micro,
            "utilisation_peak": round(self.utilisation_east_peak, 6),
            "utilisation_mean": round(t.utilisation_mean / hours, 6),
            **self._efficiency(),
        }

    def _efficiency(self) -> dict[str, Any]:
        """``efficiency``: the run's welfare over the perfect-foresight optimum's upper bound (the
        LP relaxation, :func:`agents.optimum.welfare_upper_bound`), where the run recorded what it needs."""
        if self.optimum_record is None or not self.optimum_record.hours:
            return {}
        bound = welfare_upper_bound(self, self.optimum_record)
        return {
            "welfare_bound_micro": round(bound),
            "efficiency": round(self.totals.welfare_micro / bound, 6) if bound > 0 else None,
            "efficiency_bound": "lp-relaxation",
        }
