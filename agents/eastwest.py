"""The East-Data-West-Compute economy: users, data centres, networks, energy and the two platforms.

The agents and their loop follow the whitepaper's scheduling system (§3.3, Fig. 3-3): users buy
compute and network services for tasks with QoS needs; compute suppliers (data centres) and network
suppliers serve them and buy energy through the energy trading platform from solar, wind, thermal
and microgrid suppliers; the compute-network scheduling platform matches tasks to (data centre,
network path) bundles. Each step is one hour:

1. **perceive**: energy suppliers see this hour's generation (clear-sky solar with cloud noise,
   Weibull wind, dispatchable thermal, microgrids with storage), users' new tasks arrive;
2. **energy market**: each data centre buys its expected energy in its region's market, cleared by
   the energy trading platform as a call auction (uniform, pay-as-bid, McAfee) or by Nash
   bargaining over each matched pair's surplus;
3. **compute-network market**: data centres post dynamic prices (quality, service, energy type,
   load; :func:`market.pricing.posted_price_micro`, marked up by their strategy), and the
   scheduling platform allocates pending tasks (:mod:`market.allocation`) weighing price against
   carbon; deferrable tasks may wait for greener hours or move west;
4. **guarantee contracts**: every scheduled task is covered by a guarantee contract (whitepaper
   §3.5); a data centre hit by an outage misses its deliveries, the user pays nothing for them and
   is compensated from the supplier's collateral at the agreed penalty rate;
5. **settlement**: the round's orders and trades go to the settler (the ledger);
6. **data collection**: prices, volumes, welfare, green share, kg CO2, QoS violations, breaches, gas.

Energy a data centre bought but did not use is sold back to the grid at the feed-in tariff, and a
shortfall is bought from the grid at its retail price and regional emission factor.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from agents.booking import RoundBook
from agents.environment import SolarSite, WindSite
from agents.geography import CLUSTERS, Cluster, cluster, is_east, pue_target
from agents.model import MarketModel, Participant
from agents.strategies import Strategy, StrategyName, make_strategy
from market import allocation as alloc
from market.auctions import clear_double_auction
from market.bargaining import nash_bargaining_solution
from market.carbon import SOURCE_FACTORS, EnergySource
from market.metering import WATTS_PER_CORE, WATTS_PER_GPU, AnalyticalMeter, QosClass, TaskType
from market.network import Link, backbone_graph, fibre_latency_ms, region_graph
from market.orders import AgentId, Resource, Side
from market.pricing import posted_price_micro

__all__ = [
    "TaskProfile",
    "Task",
    "DataCentre",
    "NetworkLink",
    "EnergySupplier",
    "User",
    "Grid",
    "EnergyTradingPlatform",
    "SchedulingPlatform",
    "EastWestModel",
    "ENERGY_MECHANISMS",
]

ENERGY_MECHANISMS = ("uniform", "pay-as-bid", "mcafee", "nash")
_WH_PER_KWH = 1000.0


_KINDS = (TaskType.INFERENCE, TaskType.ANALYTICS, TaskType.TRAINING)

#: GPU work is sold in core-equivalents of equal power, so one resource (milli-core-hours) prices both.
CORES_PER_GPU = WATTS_PER_GPU / WATTS_PER_CORE


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


@dataclass(slots=True)
class Task:
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


class Grid(Participant):
    """The public grid: balances every data centre's shortfall (retail) and surplus (feed-in)."""


class DataCentre(Participant):
    """A compute supplier: a data centre in one of the ten clusters.

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
        self.utilization = 0.3
        self.green_share = 0.0
        self.price_micro = cost_micro
        self.used_mcore_h = 0
        self.online = True
        self.bought_green_wh = 0
        self.bought_thermal_wh = 0
        self.energy_wh = 0
        self.revenue_micro = 0

    @property
    def wh_per_mcore_h(self) -> float:
        """Facility energy per milli-core-hour of work (IT energy times PUE)."""
        return self.power_w_per_core / 1000.0 * self.pue

    def energy_for(self, used_mcore_h: int) -> int:
        """Facility energy in an hour with ``used_mcore_h`` of work, idle draw included (Wh)."""
        busy = used_mcore_h + self.idle_share * (self.capacity_mcore_h - used_mcore_h)
        return int(busy * self.wh_per_mcore_h)

    def expected_energy_wh(self) -> int:
        """What it expects to draw next hour: last hour's load."""
        return self.energy_for(int(self.utilization * self.capacity_mcore_h))

    def carbon_kg_per_mcore_h(self) -> float:
        """Expected emissions per milli-core-hour, from its last energy mix and its grid."""
        grid = self.site.grid_factor_kg_per_kwh
        return self.wh_per_mcore_h / _WH_PER_KWH * (1.0 - self.green_share) * grid

    def post_price(self) -> None:
        """Posts this hour's price: base price from quality and energy type, load surcharge, markup."""
        energy_cost = self.wh_per_mcore_h * self.model.grid_retail_micro
        reference = max(1, round(self.cost_micro + energy_cost))
        posted = posted_price_micro(
            reference,
            self.utilization,
            surge=self.model.surge,
            quality=self.quality,
            energy=self.green_share,
            green_premium=self.model.green_premium,
        )
        self.price_micro = max(1, self.strategy.quote(Side.SELL, posted, self.model.rng))
        self.used_mcore_h = 0

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
        energy_wh_per_gb: Energy to carry a GB across it.
    """

    def __init__(
        self,
        model: EastWestModel,
        a: str,
        b: str,
        latency_ms: float,
        bandwidth_mb: int,
        price_micro_per_mb: int,
        energy_wh_per_gb: float,
    ) -> None:
        super().__init__(model, 0)
        self.a, self.b = a, b
        self.latency_ms = latency_ms
        self.bandwidth_mb = int(bandwidth_mb)
        self.price_micro_per_mb = int(price_micro_per_mb)
        self.energy_wh_per_gb = energy_wh_per_gb
        self.grid_factor_kg_per_kwh = cluster(a).grid_factor_kg_per_kwh  # the link is powered at its a end
        self.carried_mb = 0


class SupplyKind(enum.StrEnum):
    SOLAR = "solar"
    WIND = "wind"
    THERMAL = "thermal"
    MICROGRID = "microgrid"


class EnergySupplier(Participant):
    """An energy supplier: a solar or wind farm, a thermal plant, or a microgrid with storage.

    A microgrid has solar and wind and a battery; it keeps half of its daytime generation in the
    battery and releases it when the sun is down, so it sells a steadier stream than a bare farm.

    Args:
        site: Its cluster (region).
        kind: Solar, wind, thermal or microgrid.
        capacity_w: Rated power (solar plus wind for a microgrid).
        marginal_cost_micro: Cost per Wh.
        strategy: Its asking strategy.
    """

    model: EastWestModel

    def __init__(
        self,
        model: EastWestModel,
        site: Cluster,
        kind: SupplyKind,
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
        share_solar = 0.5 if kind is SupplyKind.MICROGRID else 1.0
        self.solar = SolarSite(site.lat, site.lon, capacity_w * share_solar, cloudiness=cloudiness)
        self.wind = WindSite(capacity_w * (1 - share_solar) if kind is SupplyKind.MICROGRID else capacity_w, weibull_scale_m_s=wind_scale_m_s)
        self.battery_wh = int(capacity_w * 4) if kind is SupplyKind.MICROGRID else 0
        self.soc_wh = 0
        self.available_wh = 0
        self.sold_wh = 0

    @property
    def source(self) -> EnergySource:
        return EnergySource.THERMAL if self.kind is SupplyKind.THERMAL else EnergySource.SOLAR if self.kind is SupplyKind.SOLAR else EnergySource.WIND

    @property
    def green(self) -> bool:
        return self.kind is not SupplyKind.THERMAL

    def expected_wh(self, hour_of_year: int) -> float:
        """Energy it is expected to offer in ``hour_of_year``: the forecast the scheduling platform uses."""
        if self.kind is SupplyKind.THERMAL:
            return self.capacity_w
        wind = self.wind.expected_wh()
        if self.kind is SupplyKind.WIND:
            return wind
        solar = self.solar.expected_wh(hour_of_year)
        return solar + (wind if self.kind is SupplyKind.MICROGRID else 0.0)

    def perceive(self) -> None:
        """Works out the energy it can sell this hour."""
        rng, hour = self.model.rng, self.model.hour_of_year
        if self.kind is SupplyKind.THERMAL:
            self.available_wh = int(self.capacity_w)
        elif self.kind is SupplyKind.SOLAR:
            self.available_wh = self.solar.energy_wh(hour, rng)
        elif self.kind is SupplyKind.WIND:
            self.available_wh = self.wind.energy_wh(rng)
        else:
            solar = self.solar.energy_wh(hour, rng)
            stored = min(solar // 2, self.battery_wh - self.soc_wh)
            self.soc_wh += stored
            release = 0 if solar else min(self.soc_wh, int(self.capacity_w) // 4)
            self.soc_wh -= release
            self.available_wh = solar - stored + release + self.wind.energy_wh(rng)
        self.sold_wh = 0


class User(Participant):
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
        self.pending: deque[Task] = deque()
        self.served = 0
        self.dropped = 0

    def new_task(self, kind: TaskType, compute_mcore_h: int, data_mb: int) -> Task:
        """Queues a task of ``kind`` needing ``compute_mcore_h`` and moving ``data_mb``.

        The model draws and meters every user's new tasks at once each hour (see
        :meth:`EastWestModel._perceive`) and hands each user its own; the user adds its QoS bound,
        deadline and budget.
        """
        m = self.model
        profile = PROFILES[kind]
        latency = m.inference_latency_ms if kind is TaskType.INFERENCE else profile.qos.max_latency_ms
        now = m.steps
        # positional, in field order (id, user, kind, origin, compute, data, latency bound, arrival,
        # deadline, value): keywords would cost a dict per task
        task = Task(
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
        return task


class EnergyTradingPlatform(Participant):
    """The energy trading platform (whitepaper Fig. 3-3): clears each region's energy market.

    It is a participant because, under pay-as-bid and McAfee's rule, buyers pay more than sellers
    receive and the platform collects the difference.
    """

    model: EastWestModel

    def clear(self, book: RoundBook) -> None:
        """Clears every region: data centres bid their expected energy, suppliers ask what they have."""
        m = self.model
        for region, centres in m.centres_by_region.items():
            suppliers = [s for s in m.suppliers_by_region.get(region, []) if s.available_wh > 0]
            bidders = [(dc, q) for dc in centres if (q := dc.expected_energy_wh()) > 0]
            if not suppliers or not bidders:
                continue
            bids = [(m.grid_retail_micro, q) for _, q in bidders]
            asks = [(s.strategy.quote(Side.SELL, s.marginal_cost_micro, m.rng), s.available_wh) for s in suppliers]
            rule = "uniform" if m.mechanism == "nash" else m.mechanism
            result = clear_double_auction(bids, asks, rule=rule)
            traded = {id(s): 0 for s in suppliers}
            for fill in result.fills:
                dc, _ = bidders[fill.bid]
                supplier = suppliers[fill.ask]
                buyer_price, seller_price = fill.buyer_price, fill.seller_price
                if m.mechanism == "nash":
                    # Nash bargaining over the pair's surplus at their true limits (Nash 1950; Kalai 1977)
                    surplus = (bids[fill.bid][0] - asks[fill.ask][0]) * fill.quantity
                    _, seller_share = nash_bargaining_solution([0.0, 0.0], surplus, weights=[1.0, m.supplier_bargaining_power])
                    buyer_price = seller_price = asks[fill.ask][0] + seller_share / fill.quantity
                seller_amount = round(seller_price * fill.quantity)
                buyer_amount = max(seller_amount, round(buyer_price * fill.quantity))
                book.add(dc.agent_id, supplier.agent_id, Resource.ENERGY, fill.quantity, seller_amount)
                if buyer_amount > seller_amount:
                    book.add(dc.agent_id, self.agent_id, Resource.ENERGY, fill.quantity, buyer_amount - seller_amount)
                if supplier.green:
                    dc.bought_green_wh += fill.quantity
                else:
                    dc.bought_thermal_wh += fill.quantity
                supplier.sold_wh += fill.quantity
                traded[id(supplier)] += fill.quantity
                m.round_stats["energy_wh"] += fill.quantity
                m.round_stats["energy_turnover_micro"] += buyer_amount
            for s in suppliers:
                s.strategy.observe_round(Side.SELL, traded[id(s)] > 0)


class SchedulingPlatform(mesa.Agent):
    """The compute-network scheduling platform (whitepaper §3.3): allocates tasks to bundles.

    Each hour it plans every pending task over a rolling horizon of the next ``deadline_flex_h + 1``
    hours (:func:`market.allocation.allocate_greedy`), with each data centre's green share forecast
    per hour from the region's expected renewable supply. Tasks planned for this hour run now; the
    rest stay pending and are planned again next hour with fresher information. Carbon-blind
    scheduling plans one hour at a time with no carbon price, so tasks run as soon as they can.
    """

    model: EastWestModel

    def schedule(self) -> list[tuple[Task, DataCentre, tuple[NetworkLink, ...]]]:
        """Plans the pending tasks; returns those that run this hour as (task, centre, path links)."""
        m = self.model
        now = m.steps
        horizon = m.deadline_flex_h + 1 if m.carbon_aware else 1
        waiting = [u for u in m.users if u.pending]
        pending = [t for u in waiting for t in u.pending]
        if not pending:
            return []
        forecast = m.green_forecast(horizon)
        inf, last, task = math.inf, horizon - 1, alloc.TaskDemand
        problem = alloc.AllocationProblem(
            # positional, in field order (id, origin, compute, data, value, latency bound, release,
            # deadline): keywords would cost a dict per task, every hour it waits
            tasks=tuple(
                task(
                    t.task_id,
                    t.origin,
                    t.compute_mcore_h,
                    t.data_mb,
                    t.value_micro * t.compute_mcore_h,
                    inf if t.latency_ms is None else t.latency_ms,
                    0,
                    min(t.deadline - now, last),
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
                    green_share=tuple(forecast[dc.unique_id]),
                    watts_per_core=dc.power_w_per_core,
                )
                for dc in m.centres
            ),
            graph=m.graph,
            slots=horizon,
            carbon_price_micro_per_kg=m.carbon_weight_micro_per_kg if m.carbon_aware else 0.0,
            network_wh_per_gb_hop=m.network_energy_wh_per_gb,
        )
        result = alloc.allocate_greedy(problem, passes=m.search_passes)
        waits = {t.task_id: t for t in pending}  # what does not start now
        centres = m.centres_by_name
        running = [
            (waits.pop(a.task_id), centres[a.datacentre], m.path_links(a.path)) for a in result.assignments if a.slot == 0
        ]
        expired = deferred = 0
        for user in waiting:
            kept: deque[Task] = deque()
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
        m.round_stats["qos_violations"] += expired
        m.round_stats["tasks_deferred"] = float(deferred)
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


class EastWestModel(MarketModel):
    """The East-Data-West-Compute market: eastern demand, western resources, carbon-aware scheduling.

    Every argument has a keyword default, so ``mesa.batch_run`` and SolaraViz can rebuild the model.

    Args:
        n_users: Users, spread over the eastern clusters.
        task_rate: Expected tasks per user per hour.
        inference_share, analytics_share: Task mix; training takes the rest.
        deadline_flex_h: Hours analytics and training tasks may wait.
        inference_latency_ms: One-way latency bound of inference tasks.
        link_latency_ms: Measured latencies replacing the geographic estimate of some backbone links,
            keyed ``"a-b"`` by cluster names; none may undercut the fibre delay over the great circle.
        green_preference: Users' mean green preference (0 to 1).
        green_weight_micro_per_kg: What a fully green-minded user pays to avoid a kg of CO2.
        carbon_price_micro_per_kg: Carbon price the platform charges itself when scheduling; users'
            mean green preference times ``green_weight_micro_per_kg`` is added to it.
        carbon_aware: Whether the platform weighs carbon at all and defers tasks to greener hours.
        budget_factor: Scales what users pay for compute.
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
        grid_retail_micro: Grid price per Wh.
        grid_feed_in_micro: What the grid pays per Wh sold back.
        network_price_micro_per_mb: Transit price per MB per link.
        network_bandwidth_mb: Capacity per link per hour.
        network_energy_wh_per_gb: Energy per GB per link.
        route_factor: Fibre route length over great-circle distance.
        outage_rate: Chance a data centre fails in an hour (its deliveries breach their guarantees).
        penalty_rate: Compensation per breached delivery, as a share of its price.
        search_passes: Local-search passes after the scheduler's greedy placement
            (:func:`market.allocation.allocate_greedy`); the rolling horizon re-plans every hour, so
            the default 0 loses almost nothing (0.001 % of welfare at 10k users) at 40 % of the time.
        start_hour: Hour of the year (UTC) of the first step.
        initial_funds_micro: Each user's escrow deposit.
        seed: Seed of the model's generators.
        settler: Where each hour's trades settle.
    """

    def __init__(
        self,
        n_users: int = 120,
        task_rate: float = 0.25,
        inference_share: float = 0.6,
        analytics_share: float = 0.3,
        deadline_flex_h: int = 4,
        inference_latency_ms: float = 30.0,
        link_latency_ms: dict[str, float] | None = None,
        green_preference: float = 0.5,
        green_weight_micro_per_kg: float = 200_000.0,
        carbon_price_micro_per_kg: float = 1_000_000.0,
        carbon_aware: bool = True,
        budget_factor: float = 1.0,
        east_capacity_mcore_h: int = 400_000,
        west_capacity_mcore_h: int = 1_500_000,
        east_cost_micro: int = 110,
        west_cost_micro: int = 80,
        power_w_per_core: float = WATTS_PER_CORE,
        idle_share: float = 0.3,
        surge: float = 0.5,
        green_premium: float = 0.1,
        supplier_strategy: str = "markup",
        mechanism: str = "uniform",
        supplier_bargaining_power: float = 1.0,
        solar_w: float = 15_000.0,
        wind_w: float = 10_000.0,
        thermal_w: float = 40_000.0,
        microgrid_w: float = 6_000.0,
        wind_scale_m_s: float = 8.0,
        cloudiness: float = 0.3,
        grid_retail_micro: int = 700,
        grid_feed_in_micro: int = 250,
        network_price_micro_per_mb: int = 2,
        network_bandwidth_mb: int = 20_000_000,
        network_energy_wh_per_gb: float = 5.0,
        route_factor: float = 1.5,
        outage_rate: float = 0.01,
        penalty_rate: float = 0.5,
        search_passes: int = 0,
        start_hour: int = 4_000,
        initial_funds_micro: int = 1_000_000_000_000,
        seed: int | None = None,
        settler: Any = None,
    ) -> None:
        super().__init__(seed=seed, settler=settler)
        if mechanism not in ENERGY_MECHANISMS:
            raise ValueError(f"unknown energy mechanism {mechanism!r} (one of: {', '.join(ENERGY_MECHANISMS)})")
        self.task_rate = task_rate
        self.deadline_flex_h = deadline_flex_h
        self.inference_latency_ms = inference_latency_ms
        self.meter = AnalyticalMeter()
        self.green_weight_micro_per_kg = green_weight_micro_per_kg
        self.carbon_price_micro_per_kg = carbon_price_micro_per_kg
        self.carbon_aware = carbon_aware
        self.surge = surge
        self.green_premium = green_premium
        self.mechanism = mechanism
        self.supplier_bargaining_power = supplier_bargaining_power
        self.grid_retail_micro = grid_retail_micro
        self.grid_feed_in_micro = grid_feed_in_micro
        self.outage_rate = outage_rate
        self.penalty_rate = penalty_rate
        self.search_passes = search_passes
        self.start_hour = start_hour
        self._order_ids = itertools.count(1)
        self._task_ids = itertools.count(1)
        self.round_stats: dict[str, float] = {}
        self._green_supply: dict[tuple[str, int], float] = {}

        rng = self.rng
        self.grid = Grid(self, initial_funds_micro)
        self.energy_platform = EnergyTradingPlatform(self, initial_funds_micro)
        self.scheduler = SchedulingPlatform(self)
        funds = initial_funds_micro
        for c in CLUSTERS:
            east = is_east(c)
            DataCentre(
                self,
                site=c,
                capacity_mcore_h=east_capacity_mcore_h if east else west_capacity_mcore_h,
                pue=round(pue_target(c) - float(rng.uniform(0.0, 0.1)), 3),
                cost_micro=east_cost_micro if east else west_cost_micro,
                power_w_per_core=power_w_per_core,
                idle_share=idle_share,
                green_target=0.5 if east else 0.8,
                quality=1.0,
                strategy=make_strategy(supplier_strategy, rng, markup=0.15),
                initial_funds_micro=funds,
            )
            scale = 0.5 if east else 1.0
            for kind, watts, cost in (
                (SupplyKind.SOLAR, solar_w, 60),
                (SupplyKind.WIND, wind_w, 50),
                (SupplyKind.THERMAL, thermal_w, 380),
                (SupplyKind.MICROGRID, microgrid_w, 120),
            ):
                if watts > 0:
                    EnergySupplier(
                        self,
                        site=c,
                        kind=kind,
                        capacity_w=watts * scale,
                        marginal_cost_micro=cost,
                        strategy=make_strategy(supplier_strategy, rng, markup=0.1),
                        cloudiness=cloudiness,
                        wind_scale_m_s=wind_scale_m_s,
                    )
        backbone = backbone_graph(CLUSTERS, route_factor=route_factor)
        measured = _parse_link_latencies(link_latency_ms or {})
        for a, b, data in sorted(backbone.edges(data=True)):
            latency = measured.get(frozenset((a, b)), data["latency_ms"])
            NetworkLink(self, a, b, latency, network_bandwidth_mb, network_price_micro_per_mb, network_energy_wh_per_gb)
        eastern = [c for c in CLUSTERS if is_east(c)]
        mix = (inference_share, analytics_share, max(0.0, 1.0 - inference_share - analytics_share))
        self.task_mix = np.asarray(mix) / sum(mix)
        homes = rng.integers(len(eastern), size=n_users)
        prefs = np.clip(rng.normal(green_preference, 0.2, size=n_users), 0.0, 1.0)
        for i in range(n_users):
            User(
                self,
                home=eastern[int(homes[i])],
                deadline_flex_h=deadline_flex_h,
                green_preference=float(prefs[i]),
                budget_factor=budget_factor,
                initial_funds_micro=funds,
            )
        self._index()
        self.network_energy_wh_per_gb = network_energy_wh_per_gb
        self.carbon_weight_micro_per_kg = carbon_price_micro_per_kg + green_weight_micro_per_kg * float(np.mean(prefs)) if n_users else carbon_price_micro_per_kg
        self._links_by_pair = {frozenset((link.a, link.b)): link for link in self.links}
        self._path_links: dict[tuple[str, ...], tuple[NetworkLink, ...]] = {}
        self.graph = region_graph(
            [Link(k.a, k.b, k.latency_ms, k.bandwidth_mb, k.price_micro_per_mb) for k in self.links],
            {c.name: c.grid_factor_kg_per_kwh for c in CLUSTERS},
        )
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)

    # -- set-up helpers ---------------------------------------------------------------------------

    def _index(self) -> None:
        by_type = self.agents_by_type
        self.users = list(by_type.get(User, ()))
        self.centres = list(by_type.get(DataCentre, ()))
        self.links = list(by_type.get(NetworkLink, ()))
        self.suppliers = list(by_type.get(EnergySupplier, ()))
        self.centres_by_region: dict[str, list[DataCentre]] = {}
        for dc in self.centres:
            self.centres_by_region.setdefault(dc.site.name, []).append(dc)
        self.suppliers_by_region: dict[str, list[EnergySupplier]] = {}
        for s in self.suppliers:
            self.suppliers_by_region.setdefault(s.site.name, []).append(s)
        self.by_id = {a.unique_id: a for a in self.agents}
        self.centres_by_name = {str(dc.unique_id): dc for dc in self.centres}

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
        "welfare_micro",
        "green_share",
        "kg_co2",
        "kwh",
    )

    def _reporters(self) -> dict[str, Any]:
        reporters: dict[str, Any] = {key: (lambda m, k=key: m.round_stats.get(k, np.nan)) for key in self._REPORTED}
        reporters["trades"] = lambda m: len(m.trades)
        reporters["gas_used"] = lambda m: m.last_outcome.gas_used
        return reporters

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> list[tuple[str, str]]:
        """Scenario checks beyond types."""
        problems = []
        if params["mechanism"] not in ENERGY_MECHANISMS:
            problems.append(("mechanism", f"unknown mechanism {params['mechanism']!r} (one of: {', '.join(ENERGY_MECHANISMS)})"))
        if params["supplier_strategy"] not in {s.value for s in StrategyName}:
            problems.append(("supplier_strategy", f"unknown strategy {params['supplier_strategy']!r}"))
        if params["inference_share"] + params["analytics_share"] > 1.0:
            problems.append(("analytics_share", "inference_share + analytics_share must not exceed 1"))
        for key in ("green_preference", "outage_rate", "idle_share", "cloudiness"):
            if not 0.0 <= params[key] <= 1.0:
                problems.append((key, f"must be in [0, 1], got {params[key]}"))
        if params["route_factor"] < 1.0:
            problems.append(("route_factor", "no fibre route is shorter than the great circle (must be >= 1)"))
        if params["grid_feed_in_micro"] > params["grid_retail_micro"]:
            problems.append(("grid_feed_in_micro", "must not exceed grid_retail_micro"))
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

    # -- the hourly loop --------------------------------------------------------------------------

    def step(self) -> None:
        """One hour: perceive, energy market, compute-network market, guarantees, settlement, data."""
        self.round_stats = dict.fromkeys((*self._REPORTED, "energy_turnover_micro", "compute_turnover_micro", "green_kwh"), 0.0)
        book = RoundBook(self._order_ids, self.steps)
        self._perceive()
        for dc in self.centres:
            dc.bought_green_wh = dc.bought_thermal_wh = 0
        self.energy_platform.clear(book)
        self.agents_by_type[DataCentre].do("post_price")
        scheduled = self.scheduler.schedule()
        self._deliver(scheduled, book)
        self._balance_energy(book)
        self.orders, self.trades = book.close()
        self.settle_round()
        self.pay_trades(self.by_id)
        self.agents_by_type[DataCentre].do("close_hour")
        self._finish_stats()
        self.datacollector.collect(self)

    def _perceive(self) -> None:
        self.agents_by_type[EnergySupplier].do("perceive")
        rng = self.rng
        arrivals = rng.poisson(self.task_rate, size=len(self.users))
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
        for owner, kind, c, mb in zip(owners.tolist(), kinds.tolist(), compute.tolist(), data.tolist(), strict=True):
            users[owner].new_task(_KINDS[kind], c, mb)
        self.round_stats["tasks_new"] = float(total)

    def link_between(self, a: str, b: str) -> NetworkLink:
        """The backbone link joining clusters ``a`` and ``b``."""
        return self._links_by_pair[frozenset((a, b))]

    def path_links(self, path: tuple[str, ...]) -> tuple[NetworkLink, ...]:
        """The backbone links along ``path`` (a sequence of cluster names), in order."""
        links = self._path_links.get(path)
        if links is None:
            links = self._path_links[path] = tuple(self.link_between(a, b) for a, b in itertools.pairwise(path))
        return links

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

    def _deliver(self, scheduled: list[tuple[Task, DataCentre, tuple[NetworkLink, ...]]], book: RoundBook) -> None:
        """Runs the scheduled tasks under their guarantee contracts; a centre hit by an outage breaches."""
        for dc in self.centres:
            dc.online = bool(self.rng.random() >= self.outage_rate)
        add, by_id, network, compute = book.add, self.by_id, Resource.NETWORK, Resource.COMPUTE
        kwh = kg_co2 = 0.0
        network_mb = compute_mcore_h = turnover = welfare = served = breaches = 0
        for task, dc, path in scheduled:
            price, user, mb = dc.price_micro, task.user, task.data_mb
            for link in path:
                add(user, link.unique_id, network, mb, mb * link.price_micro_per_mb)
                link.carried_mb += mb
                link_kwh = mb / 1024 * link.energy_wh_per_gb / _WH_PER_KWH
                kwh += link_kwh
                kg_co2 += link_kwh * link.grid_factor_kg_per_kwh
            network_mb += mb * len(path)
            units = task.compute_mcore_h
            if dc.online:
                add(user, dc.unique_id, compute, units, units * price)
                dc.used_mcore_h += units
                dc.revenue_micro += units * price
                compute_mcore_h += units
                turnover += units * price
                welfare += (task.value_micro - dc.cost_micro) * units
                served += 1
                by_id[user].served += 1
            else:
                # the guarantee contract: nothing is paid for the missed delivery and the supplier's
                # collateral compensates the user (booked as the centre buying back the undelivered units)
                penalty = math.floor(self.penalty_rate * price * units)
                add(dc.unique_id, user, compute, units, penalty)
                breaches += 1
        stats = self.round_stats
        stats["kwh"] += kwh
        stats["kg_co2"] += kg_co2
        stats["network_mb"] += network_mb
        stats["compute_mcore_h"] += compute_mcore_h
        stats["compute_turnover_micro"] += turnover
        stats["welfare_micro"] += welfare
        stats["tasks_served"] += served
        stats["sla_breaches"] += breaches
        stats["qos_violations"] += breaches

    def _balance_energy(self, book: RoundBook) -> None:
        """Each centre draws what it used: market purchases first, the grid for the rest; surplus goes back."""
        stats = self.round_stats
        for dc in self.centres:
            used = dc.energy_for(dc.used_mcore_h) if dc.online else 0
            bought = dc.bought_green_wh + dc.bought_thermal_wh
            green = min(used, dc.bought_green_wh)
            thermal = min(used - green, dc.bought_thermal_wh)
            from_grid = used - green - thermal
            if from_grid > 0:
                book.add(dc.agent_id, self.grid.agent_id, Resource.ENERGY, from_grid, from_grid * self.grid_retail_micro)
            surplus = bought - green - thermal
            if surplus > 0:
                book.add(self.grid.agent_id, dc.agent_id, Resource.ENERGY, surplus, surplus * self.grid_feed_in_micro)
            dc.energy_wh = used
            dc.green_share = green / used if used else dc.green_share
            kwh = used / _WH_PER_KWH
            stats["kwh"] += kwh
            stats["green_kwh"] += green / _WH_PER_KWH
            stats["kg_co2"] += (
                thermal / _WH_PER_KWH * SOURCE_FACTORS[EnergySource.THERMAL]
                + from_grid / _WH_PER_KWH * dc.site.grid_factor_kg_per_kwh
            )

    def _finish_stats(self) -> None:
        s = self.round_stats
        s["green_share"] = s.pop("green_kwh") / s["kwh"] if s["kwh"] else np.nan
        turnover = s.pop("compute_turnover_micro")  # what users paid the centres for compute
        s["compute_price_micro"] = turnover / s["compute_mcore_h"] if s["compute_mcore_h"] else np.nan
        s["energy_price_micro"] = s.pop("energy_turnover_micro") / s["energy_wh"] if s["energy_wh"] else np.nan

    def summary_metrics(self) -> dict[str, Any]:
        frame = self.datacollector.get_model_vars_dataframe().iloc[1:]
        served = float(frame["tasks_served"].sum())
        return {
            "tasks_served": int(served),
            "qos_violations": int(frame["qos_violations"].sum()),
            "sla_breaches": int(frame["sla_breaches"].sum()),
            "kg_co2": round(float(frame["kg_co2"].sum()), 3),
            "kwh": round(float(frame["kwh"].sum()), 3),
            "green_share": round(float((frame["green_share"] * frame["kwh"]).sum() / frame["kwh"].sum()), 6) if frame["kwh"].sum() else None,
            "welfare_micro": int(frame["welfare_micro"].sum()),
        }
