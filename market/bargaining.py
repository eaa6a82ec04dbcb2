"""Nash bargaining: the transferable-utility solution and two-stage energy trading among microgrids.

:func:`nash_bargaining_solution` is the (asymmetric) Nash bargaining solution when utility is
transferable: maximising ``prod (u_i - d_i) ** w_i`` subject to ``sum u_i = total`` gives every
party its disagreement utility plus a share of the surplus proportional to its bargaining power.

:func:`microgrid_trading` follows the two stages of Wang and Huang (2018) for interconnected
microgrids (whitepaper §3.4): stage one minimises the microgrids' total energy cost over energy
trades among them, their storage and the grid (a linear programme solved by HiGHS); stage two
splits the saving against every microgrid running alone by the Nash bargaining solution. The
payments are rounded to whole micro-tokens so that they cancel exactly, and decomposed into
pairwise payments by a minimum-cost flow that prefers paying the microgrids one bought energy from.

References:
    J. F. Nash, "The bargaining problem", Econometrica 18(2), pp. 155–162, 1950.
    E. Kalai, "Nonsymmetric Nash solutions and replications of 2-person bargaining",
    International Journal of Game Theory 6(3), pp. 129–133, 1977.
    H. Wang and J. Huang, "Incentivizing energy trading for interconnected microgrids", IEEE
    Transactions on Smart Grid 9(4), pp. 2647–2657, 2018 (arXiv:1609.07576).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from market.errors import MechanismError
from market.rounding import round_preserving_sum

__all__ = [
    "nash_bargaining_solution",
    "Microgrid",
    "Transfer",
    "SidePayment",
    "MicrogridOutcome",
    "microgrid_trading",
    "DayPlan",
    "day_ahead_bargain",
]

#: Relative tolerance for "the surplus is not negative" (LP solutions carry solver noise).
_TOL = 1e-7


def nash_bargaining_solution(
    disagreement: Sequence[float], total: float, weights: Sequence[float] | None = None
) -> list[float]:
    """Each party's utility under the (weighted) Nash bargaining solution with transferable utility.

    The solution of ``max prod_i (u_i - d_i) ** w_i`` subject to ``sum_i u_i = total`` is
    ``u_i = d_i + w_i / sum(w) * (total - sum(d))``: Pareto efficient, individually rational,
    symmetric for equal weights and disagreement points, and invariant to affine rescaling of
    any party's utility (Nash, 1950; weights after Kalai, 1977).

    Args:
        disagreement: Each party's utility if bargaining fails.
        total: The utility the parties share if they agree (at least ``sum(disagreement)``).
        weights: Bargaining powers, positive; equal when omitted.

    Returns:
        Each party's utility, in the order of ``disagreement``.

    Raises:
        MechanismError: no parties, non-finite input, weights of the wrong length or not
            positive, or a total below the disagreement utilities' sum (no agreement is better
            for everyone than failing).
    """
    n = len(disagreement)
    if n == 0:
        raise MechanismError("nash_bargaining_solution needs at least one party")
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    if len(w) != n:
        raise MechanismError(f"nash_bargaining_solution: {len(w)} weights for {n} parties")
    if not all(math.isfinite(x) for x in (*disagreement, total, *w)):
        raise MechanismError("nash_bargaining_solution: every input must be finite")
    if any(x <= 0 for x in w):
        raise MechanismError("nash_bargaining_solution: bargaining weights must be positive")
    surplus = total - math.fsum(disagreement)
    if surplus < -_TOL * max(1.0, abs(total)):
        raise MechanismError(
            f"nash_bargaining_solution: total {total} is below the disagreement sum {math.fsum(disagreement)}"
        )
    surplus = max(surplus, 0.0)
    wsum = math.fsum(w)
    return [d + wi / wsum * surplus for d, wi in zip(disagreement, w, strict=True)]


@dataclass(frozen=True, slots=True)
class Microgrid:
    """A microgrid over a horizon of periods: what it generates and consumes, its storage and its grid tariffs.

    Energy is in Wh per period and prices in micro-tokens per Wh; a price may be one number for
    every period or one per period.

    Attributes:
        name: Unique among the microgrids traded together.
        generation_wh: Local generation per period.
        load_wh: Demand per period.
        grid_buy_price_micro: Price of importing from the grid.
        grid_sell_price_micro: Price the grid pays for exports (at most the import price).
        storage_capacity_wh: Storage energy capacity (0 for none).
        storage_initial_wh: Energy stored at the start; the horizon must end with at least as much.
        storage_power_wh: Most energy charged or discharged in one period.
        storage_efficiency: Share of charged energy that can later be discharged, in (0, 1].
        storage_final_wh: Least energy stored at the end of the horizon; ``None``: the initial level.
    """

    name: str
    generation_wh: Sequence[float]
    load_wh: Sequence[float]
    grid_buy_price_micro: float | Sequence[float]
    grid_sell_price_micro: float | Sequence[float]
    storage_capacity_wh: float = 0.0
    storage_initial_wh: float = 0.0
    storage_power_wh: float = 0.0
    storage_efficiency: float = 1.0
    storage_final_wh: float | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Energy ``seller`` delivers to ``buyer`` in ``period`` in the cooperative schedule."""

    seller: str
    buyer: str
    period: int
    energy_wh: float


@dataclass(frozen=True, slots=True)
class SidePayment:
    """``payer`` pays ``payee`` ``amount_micro`` micro-tokens for the horizon's trades."""

    payer: str
    payee: str
    amount_micro: int


@dataclass(frozen=True, slots=True)
class MicrogridOutcome:
    """The two-stage outcome: every microgrid's cost before and after, the energy and the payments.

    Attributes:
        names: The microgrids, in input order; the per-microgrid tuples follow it.
        cost_before_micro: Energy cost when operating alone (the disagreement point).
        energy_cost_micro: Grid bill in the cooperative schedule, before payments.
        payment_micro: Net payment to the other microgrids (negative: received); sums to zero.
        cost_after_micro: ``energy_cost_micro + payment_micro``.
        saving_micro: Total cost before minus total cost after (never negative).
        transfers: Energy moving between microgrids, by period.
        payments: Pairwise payments that add up to ``payment_micro``.
    """

    names: tuple[str, ...]
    cost_before_micro: tuple[float, ...]
    energy_cost_micro: tuple[float, ...]
    payment_micro: tuple[int, ...]
    cost_after_micro: tuple[float, ...]
    saving_micro: float
    transfers: tuple[Transfer, ...]
    payments: tuple[SidePayment, ...]

    @property
    def budget_balanced(self) -> bool:
        """Whether the payments among microgrids cancel exactly."""
        return sum(self.payment_micro) == 0 and sum(p.amount_micro for p in self.payments) == sum(
            max(x, 0) for x in self.payment_micro
        )

    @property
    def individually_rational(self) -> bool:
        """Whether no microgrid pays more than alone (allowing the one micro-token of rounding)."""
        return all(a <= b + 1.0 for a, b in zip(self.cost_after_micro, self.cost_before_micro, strict=True))


def _series(value: float | Sequence[float], periods: int, what: str) -> np.ndarray:
    """A per-period array from a scalar or a sequence of the horizon's length."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(periods, float(arr))
    if arr.shape != (periods,):
        raise MechanismError(f"{what}: expected {periods} periods, got {arr.shape[0] if arr.ndim else 1}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise MechanismError(f"{what}: values must be finite and non-negative")
    return arr


@dataclass(frozen=True, slots=True)
class _Data:
    """The microgrids' data as arrays, validated."""

    gen: np.ndarray  # (n, T)
    load: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    cap: np.ndarray  # (n,)
    init: np.ndarray
    power: np.ndarray
    eff: np.ndarray
    final: np.ndarray  # least level at the horizon's end


def _validate(microgrids: Sequence[Microgrid]) -> _Data:
    """Checks the microgrids and stacks their data."""
    if not microgrids:
        raise MechanismError("microgrid_trading needs at least one microgrid")
    names = [m.name for m in microgrids]
    if len(set(names)) != len(names):
        raise MechanismError(f"microgrid names must be unique, got {names}")
    periods = len(microgrids[0].load_wh)
    if periods == 0:
        raise MechanismError(f"microgrid {names[0]}: the horizon has no periods")
    rows: dict[str, list[np.ndarray]] = {"gen": [], "load": [], "buy": [], "sell": []}
    for m in microgrids:
        rows["gen"].append(_series(m.generation_wh, periods, f"microgrid {m.name} generation_wh"))
        rows["load"].append(_series(m.load_wh, periods, f"microgrid {m.name} load_wh"))
        rows["buy"].append(_series(m.grid_buy_price_micro, periods, f"microgrid {m.name} grid_buy_price_micro"))
        rows["sell"].append(_series(m.grid_sell_price_micro, periods, f"microgrid {m.name} grid_sell_price_micro"))
        if np.any(rows["sell"][-1] > rows["buy"][-1]):
            raise MechanismError(f"microgrid {m.name}: the grid's sell price exceeds its buy price")
        storage = (m.storage_capacity_wh, m.storage_initial_wh, m.storage_power_wh)
        if not all(math.isfinite(x) and x >= 0 for x in storage) or m.storage_initial_wh > m.storage_capacity_wh:
            raise MechanismError(f"microgrid {m.name}: storage needs 0 <= initial <= capacity and power >= 0")
        if not 0 < m.storage_efficiency <= 1:
            raise MechanismError(f"microgrid {m.name}: storage efficiency {m.storage_efficiency} is not in (0, 1]")
        final = m.storage_final_wh
        if final is not None and not (math.isfinite(final) and 0 <= final <= m.storage_capacity_wh):
            raise MechanismError(f"microgrid {m.name}: storage_final_wh {final} is not in [0, capacity]")
    return _Data(
        gen=np.vstack(rows["gen"]),
        load=np.vstack(rows["load"]),
        buy=np.vstack(rows["buy"]),
        sell=np.vstack(rows["sell"]),
        cap=np.array([m.storage_capacity_wh for m in microgrids], dtype=float),
        init=np.array([m.storage_initial_wh for m in microgrids], dtype=float),
        power=np.array([m.storage_power_wh for m in microgrids], dtype=float),
        eff=np.array([m.storage_efficiency for m in microgrids], dtype=float),
        final=np.array(
            [m.storage_initial_wh if m.storage_final_wh is None else m.storage_final_wh for m in microgrids], dtype=float
        ),
    )


def _schedule(
    data: _Data, members: Sequence[int], links: Mapping[tuple[int, int], float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage one for a coalition: the least-cost schedule of ``members`` trading over ``links``.

    Variables per member and period: import, export, charge, discharge, state of charge; per
    directed link and period, the energy sent. Returns each member's grid bill, the energy sent
    per (link, period) and each member's net charge (charge minus discharge) per period.
    """
    n, periods = len(members), data.gen.shape[1]
    pos = {g: k for k, g in enumerate(members)}
    arcs = [(a, b) for a, b in links if a in pos and b in pos]
    per_member = 5 * periods
    n_vars = n * per_member + len(arcs) * periods

    def var(k: int, kind: int, t: int) -> int:  # kind: 0 import, 1 export, 2 charge, 3 discharge, 4 soc
        return k * per_member + kind * periods + t

    def arc(a: int, t: int) -> int:
        return n * per_member + a * periods + t

    cost = np.zeros(n_vars)
    upper = np.full(n_vars, np.inf)
    entries: list[tuple[int, int, float]] = []  # (row, column, coefficient) of the equality constraints
    rhs: list[float] = []
    balance_row: dict[tuple[int, int], int] = {}  # (member, period) -> its energy-balance row
    for k, g in enumerate(members):
        for t in range(periods):
            cost[var(k, 0, t)] = data.buy[g, t]
            cost[var(k, 1, t)] = -data.sell[g, t]
            upper[var(k, 2, t)] = upper[var(k, 3, t)] = data.power[g]
            upper[var(k, 4, t)] = data.cap[g]
            # balance: import + discharge + inflow - export - charge - outflow = load - generation
            row = balance_row[(g, t)] = len(rhs)
            entries += [(row, var(k, 0, t), 1.0), (row, var(k, 1, t), -1.0)]
            entries += [(row, var(k, 2, t), -1.0), (row, var(k, 3, t), 1.0)]
            rhs.append(data.load[g, t] - data.gen[g, t])
            # storage: soc_t - soc_{t-1} - eff * charge + discharge = 0 (soc_{-1} is the initial level)
            row = len(rhs)
            entries += [(row, var(k, 4, t), 1.0), (row, var(k, 2, t), -data.eff[g]), (row, var(k, 3, t), 1.0)]
            if t > 0:
                entries.append((row, var(k, 4, t - 1), -1.0))
            rhs.append(data.init[g] if t == 0 else 0.0)
    # A negligible wheeling charge breaks ties towards sending no energy that changes nobody's cost.
    tie_break = 1e-6 * max(1.0, float(data.buy.max()))
    for a, (src, dst) in enumerate(arcs):
        for t in range(periods):
            entries += [(balance_row[(dst, t)], arc(a, t), 1.0), (balance_row[(src, t)], arc(a, t), -1.0)]
            upper[arc(a, t)] = links[(src, dst)]
            cost[arc(a, t)] = tie_break
    lower_soc = np.zeros(n_vars)
    for k, g in enumerate(members):
        lower_soc[var(k, 4, periods - 1)] = data.final[g]  # end the horizon no emptier than asked
    r, c, v = zip(*entries, strict=True)
    a_eq = sparse.csr_array((v, (r, c)), shape=(len(rhs), n_vars))
    res = linprog(cost, A_eq=a_eq, b_eq=np.array(rhs), bounds=np.column_stack([lower_soc, upper]), method="highs")
    if res.status != 0:
        raise MechanismError(f"microgrid schedule LP failed: {res.message}")
    x = res.x
    bills = np.array(
        [sum(cost[var(k, kind, t)] * x[var(k, kind, t)] for kind in (0, 1) for t in range(periods)) for k in range(n)]
    )
    sent = np.zeros((len(arcs), periods))
    for a in range(len(arcs)):
        sent[a] = x[n * per_member + a * periods : n * per_member + (a + 1) * periods]
    storage = np.array([x[var(k, 2, 0) : var(k, 2, 0) + periods] - x[var(k, 3, 0) : var(k, 3, 0) + periods] for k in range(n)])
    return bills, sent, storage


def _links(names: Sequence[str], line_limits_wh: Mapping[tuple[str, str], float] | None) -> dict[tuple[int, int], float]:
    """Directed links with their per-period limits: every pair unlimited, or the pairs listed."""
    index = {name: i for i, name in enumerate(names)}
    if line_limits_wh is None:
        return {(a, b): math.inf for a, b in itertools.permutations(range(len(names)), 2)}
    links: dict[tuple[int, int], float] = {}
    for (a, b), limit in line_limits_wh.items():
        if a not in index or b not in index or a == b:
            raise MechanismError(f"line ({a!r}, {b!r}) must join two different known microgrids")
        if not limit >= 0:
            raise MechanismError(f"line ({a!r}, {b!r}): limit {limit} must be non-negative")
        links[(index[a], index[b])] = links[(index[b], index[a])] = float(limit)
    return links


def _pairwise(names: Sequence[str], net: Sequence[int], bought_from: set[tuple[int, int]]) -> tuple[SidePayment, ...]:
    """Splits integer net payments into pairwise ones by a minimum-cost flow.

    Paying a microgrid one bought energy from costs 2 per micro-token and any other pair 3, so
    the money follows the energy where it can and never passes through a third microgrid (two
    hops cost at least 4); flows are integral because the demands are.
    """
    graph = nx.DiGraph()
    for i, amount in enumerate(net):
        graph.add_node(i, demand=-amount)
    for i, j in itertools.permutations(range(len(names)), 2):
        graph.add_edge(i, j, weight=2 if (i, j) in bought_from else 3)
    flow = nx.min_cost_flow(graph)
    return tuple(
        SidePayment(names[i], names[j], int(flow[i][j])) for i, j in itertools.permutations(range(len(names)), 2) if flow[i][j] > 0
    )


def microgrid_trading(
    microgrids: Sequence[Microgrid],
    *,
    weights: Sequence[float] | None = None,
    line_limits_wh: Mapping[tuple[str, str], float] | None = None,
) -> MicrogridOutcome:
    """Two-stage energy trading among microgrids after Wang and Huang (2018).

    Stage one solves, for each microgrid alone and then for all together, the least-cost schedule
    of grid imports and exports, storage and (together) energy sent between microgrids. Stage two
    gives every microgrid that exchanges energy its standalone cost minus its Nash-bargaining share
    of those microgrids' saving (:func:`nash_bargaining_solution`), paid for by integer transfers
    among them; a microgrid that exchanges nothing pays and receives nothing.

    Args:
        microgrids: The microgrids, all over the same horizon.
        weights: Bargaining powers (positive), one per microgrid; equal when omitted.
        line_limits_wh: Most energy per period on each line between two microgrids, keyed by
            their names; only the pairs listed are connected. ``None`` connects every pair
            without limit.

    Returns:
        Costs before and after, net and pairwise payments, and the energy transfers. The outcome
        is budget balanced exactly and individually rational up to one micro-token of rounding.

    Raises:
        MechanismError: invalid microgrid data (see :class:`Microgrid`), unknown or negative
            lines, bad weights, or connected microgrids whose tariffs would let them arbitrage the
            grid (one's export price above the other's import price in some period).
    """
    data = _validate(microgrids)
    names = tuple(m.name for m in microgrids)
    n = len(names)
    if weights is not None and len(weights) != n:
        raise MechanismError(f"microgrid_trading: {len(weights)} weights for {n} microgrids")
    links = _links(names, line_limits_wh)
    for src, dst in links:
        if np.any(data.sell[dst] > data.buy[src]):
            raise MechanismError(
                f"microgrid {names[dst]} sells to the grid above what {names[src]} pays for it: "
                "trading between them would arbitrage the grid"
            )
    alone = np.array([_schedule(data, [i], {})[0][0] for i in range(n)])
    together, sent, _ = _schedule(data, list(range(n)), links)
    arcs = list(links)
    arc_index = {key: a for a, key in enumerate(arcs)}
    transfers: list[Transfer] = []
    bought_from: set[tuple[int, int]] = set()
    for a, (src, dst) in enumerate(arcs):
        if src > dst:
            continue
        back = arc_index[(dst, src)]
        for t, wh in enumerate(sent[a] - sent[back]):
            if abs(wh) > 1e-6:
                seller, buyer = (src, dst) if wh > 0 else (dst, src)
                transfers.append(Transfer(names[seller], names[buyer], t, float(abs(wh))))
                bought_from.add((buyer, seller))
    # only microgrids that exchange energy bargain: one that exchanges nothing adds nothing to the
    # coalition's saving, and the Nash solution would still hand it a share (it is not in the core)
    members = sorted({i for pair in bought_from for i in pair})
    payment = [0] * n
    if members:
        member_weights = None if weights is None else [weights[i] for i in members]
        after = nash_bargaining_solution([-alone[i] for i in members], -float(together[members].sum()), member_weights)
        paid = round_preserving_sum([-u - together[i] for u, i in zip(after, members, strict=True)], 0)
        for i, p in zip(members, paid, strict=True):
            payment[i] = p
    cost_after = tuple(float(e) + p for e, p in zip(together, payment, strict=True))
    transfers.sort(key=lambda x: (x.period, x.seller, x.buyer))
    return MicrogridOutcome(
        names=names,
        cost_before_micro=tuple(float(c) for c in alone),
        energy_cost_micro=tuple(float(e) for e in together),
        payment_micro=tuple(payment),
        cost_after_micro=cost_after,
        saving_micro=max(float(alone.sum()) - sum(cost_after), 0.0),
        transfers=tuple(transfers),
        payments=_pairwise(names, payment, bought_from),
    )


@dataclass(frozen=True, slots=True)
class DayPlan:
    """Microgrids' day-ahead agreement in whole Wh and micro-tokens (:func:`day_ahead_bargain`).

    Per-microgrid tuples follow ``names``; per-period ones hold one entry per period.

    Attributes:
        names: The microgrids, in input order.
        members: Those that exchange energy: the bargaining set (the others operate alone).
        storage_wh: Net energy charged (negative: discharged) per period.
        soc_wh: Energy stored at the end of each period.
        position_wh: Generation minus load minus net charge per period: what a microgrid offers
            (positive) or bids for (negative) before any exchange.
        transfers: Whole Wh sent between microgrids, by period.
        grid_wh: Exported (positive) or imported (negative) per period, after the exchanges.
        alone_grid_wh: The same, operating alone (the disagreement point's schedule).
        cost_alone_micro: Grid bill operating alone (the disagreement point).
        grid_cost_micro: Grid bill in the plan.
        share_micro: Each member's share of the saving (0 for the others).
        cost_after_micro: ``cost_alone_micro - share_micro``: the grid bill plus what the
            microgrid pays for energy from the others, minus what it is paid, plus its payment.
        exchange_price_micro: Price per Wh of energy exchanged between microgrids.
        payment_micro: Net payment to the other members (negative: received); sums to zero.
        payments: Pairwise payments among members that add up to ``payment_micro``.
    """

    names: tuple[str, ...]
    members: tuple[str, ...]
    storage_wh: tuple[tuple[int, ...], ...]
    soc_wh: tuple[tuple[float, ...], ...]
    position_wh: tuple[tuple[int, ...], ...]
    transfers: tuple[Transfer, ...]
    grid_wh: tuple[tuple[int, ...], ...]
    alone_grid_wh: tuple[tuple[int, ...], ...]
    cost_alone_micro: tuple[int, ...]
    grid_cost_micro: tuple[int, ...]
    share_micro: tuple[int, ...]
    cost_after_micro: tuple[int, ...]
    exchange_price_micro: int
    payment_micro: tuple[int, ...]
    payments: tuple[SidePayment, ...]

    @property
    def saving_micro(self) -> int:
        """What the members save together against operating alone."""
        return sum(self.share_micro)


def _whole_storage(data: _Data, g: int, net_charge: np.ndarray) -> tuple[list[int], list[float]]:
    """The LP's net charge of microgrid ``g`` in whole Wh, kept within the battery's power and level."""
    soc = float(data.init[g])
    whole, levels = [], []
    for want in net_charge:
        s = int(round(float(want)))
        if s > 0:
            s = min(s, int(math.floor(data.power[g] + 1e-9)), int(math.floor((data.cap[g] - soc) / data.eff[g] + 1e-9)))
            soc += data.eff[g] * max(s, 0)
        elif s < 0:
            s = -min(-s, int(math.floor(data.power[g] + 1e-9)), int(math.floor(soc + 1e-9)))
            soc += s
        whole.append(s)
        levels.append(soc)
    return whole, levels


def _bill(data: _Data, g: int, grid: Sequence[int]) -> int:
    """Microgrid ``g``'s grid bill for whole-Wh exports (positive) and imports (negative)."""
    return int(sum(-q * data.buy[g, t] if q < 0 else -q * data.sell[g, t] for t, q in enumerate(grid)))


def day_ahead_bargain(
    microgrids: Sequence[Microgrid],
    *,
    weights: str = "equal",
    exchange_price_micro: int | None = None,
    line_limits_wh: Mapping[tuple[str, str], float] | None = None,
) -> DayPlan:
    """Wang and Huang's two stages over a day, in whole Wh and micro-tokens.

    Stage one schedules every microgrid's storage and the exchanges among them jointly over the
    whole horizon (one linear programme over all periods, :func:`microgrid_trading`'s), and each
    microgrid alone (its disagreement point). The joint schedule is rounded to whole Wh within the
    batteries' limits; a microgrid that exchanges no whole Wh operates on its own schedule and is
    no party to the bargain. Stage two splits the members' saving by the Nash bargaining solution
    with transferable utility (:func:`nash_bargaining_solution`): member ``i`` gets
    ``w_i / sum(w)`` of it, with equal weights or weights proportional to the energy it exchanges
    (Kalai's asymmetric solution). Shares are exact integers, so the plan is individually
    rational (nobody's cost rises above operating alone) and budget balanced (the payments among
    members cancel) to the micro-token. Should rounding leave the members no saving, everyone
    operates alone.

    Energy exchanged between microgrids is paid at ``exchange_price_micro`` per Wh (default: the
    mid-point of the first microgrid's first-period tariffs); the payments make up the rest.

    Args:
        microgrids: Whole-Wh generation and load, whole micro-token tariffs, storage.
        weights: ``"equal"`` or ``"energy"``.
        exchange_price_micro: Price of exchanged energy per Wh.
        line_limits_wh: As for :func:`microgrid_trading`; ``{}`` connects nobody (all alone).

    Returns:
        The plan.

    Raises:
        MechanismError: as :func:`microgrid_trading`, an unknown weighting, or an exchange price
            outside every pair's tariffs (a seller would get less than its feed-in tariff or a
            buyer pay more than its retail price).

    References:
        H. Wang and J. Huang (2018); E. Kalai (1977); J. F. Nash (1950).
    """
    if weights not in ("equal", "energy"):
        raise MechanismError(f"day_ahead_bargain: weights {weights!r} must be 'equal' or 'energy'")
    data = _validate(microgrids)
    names = tuple(m.name for m in microgrids)
    n, periods = len(names), data.gen.shape[1]
    links = _links(names, line_limits_wh)
    price = int((data.buy[0, 0] + data.sell[0, 0]) // 2) if exchange_price_micro is None else int(exchange_price_micro)
    if links and (np.any(price < data.sell) or np.any(price > data.buy)):
        raise MechanismError(f"day_ahead_bargain: exchange price {price} lies outside a microgrid's grid tariffs")
    gen, load = np.rint(data.gen).astype(int), np.rint(data.load).astype(int)

    def rounded(g: int, net_charge: np.ndarray) -> tuple[list[int], list[float], list[int]]:
        storage, levels = _whole_storage(data, g, net_charge)
        return storage, levels, [int(gen[g, t] - load[g, t] - storage[t]) for t in range(periods)]

    alone = [rounded(i, _schedule(data, [i], {})[2][0]) for i in range(n)]
    cost_alone = [_bill(data, i, alone[i][2]) for i in range(n)]
    if links:
        _, sent, net_charge = _schedule(data, list(range(n)), links)
        joint = [rounded(i, row) for i, row in enumerate(net_charge)]
    else:
        sent, joint = np.zeros((0, periods)), alone

    # whole-Wh flows, from a microgrid with a surplus to one with a deficit, within both
    arcs = list(links)
    flows: dict[tuple[int, int, int], int] = {}
    for t in range(periods):
        room_out = [max(joint[i][2][t], 0) for i in range(n)]
        room_in = [max(-joint[i][2][t], 0) for i in range(n)]
        for a, (src, dst) in enumerate(arcs):
            wh = min(int(math.floor(sent[a, t] + 1e-6)), room_out[src], room_in[dst])
            if wh > 0:
                flows[(t, src, dst)] = flows.get((t, src, dst), 0) + wh
                room_out[src] -= wh
                room_in[dst] -= wh
    sold = [0] * n
    bought = [0] * n
    for (_, src, dst), wh in flows.items():
        sold[src] += wh
        bought[dst] += wh
    members = [i for i in range(n) if sold[i] or bought[i]]
    grid = [list(alone[i][2]) for i in range(n)]
    for i in members:
        grid[i] = list(joint[i][2])
    for (t, src, dst), wh in flows.items():
        grid[src][t] -= wh
        grid[dst][t] += wh
    grid_cost = [_bill(data, i, grid[i]) for i in range(n)]
    saving = sum(cost_alone[i] - grid_cost[i] for i in members)
    if saving <= 0:  # rounding ate the gain (or nobody exchanges): everyone alone
        members, flows, sold, bought, grid, grid_cost = [], {}, [0] * n, [0] * n, [list(a[2]) for a in alone], cost_alone[:]
        saving = 0
    plan = [joint[i] if i in members else alone[i] for i in range(n)]

    share = [0] * n
    if members:
        w = {i: 1 if weights == "equal" else sold[i] + bought[i] for i in members}
        total = sum(w.values())
        exact = {i: divmod(saving * w[i], total) for i in members}
        for i in members:
            share[i] = exact[i][0]
        # the largest remainders take the micro-tokens left over, ties to the earlier microgrid
        for i in sorted(members, key=lambda i: (-exact[i][1], i))[: saving - sum(share)]:
            share[i] += 1
    cost_after = [cost_alone[i] - share[i] for i in range(n)]
    payment = [cost_after[i] - grid_cost[i] - price * (bought[i] - sold[i]) for i in range(n)]
    bought_from = {(dst, src) for (_, src, dst) in flows}
    pos = {g: k for k, g in enumerate(members)}
    pairwise = (
        _pairwise([names[i] for i in members], [payment[i] for i in members], {(pos[b], pos[s]) for b, s in bought_from})
        if members
        else ()
    )
    transfers = tuple(Transfer(names[s], names[b], t, float(wh)) for (t, s, b), wh in sorted(flows.items()))
    return DayPlan(
        names=names,
        members=tuple(names[i] for i in members),
        storage_wh=tuple(tuple(p[0]) for p in plan),
        soc_wh=tuple(tuple(p[1]) for p in plan),
        position_wh=tuple(tuple(p[2]) for p in plan),
        transfers=transfers,
        grid_wh=tuple(tuple(g) for g in grid),
        alone_grid_wh=tuple(tuple(a[2]) for a in alone),
        cost_alone_micro=tuple(cost_alone),
        grid_cost_micro=tuple(grid_cost),
        share_micro=tuple(share),
        cost_after_micro=tuple(cost_after),
        exchange_price_micro=price,
        payment_micro=tuple(payment),
        payments=pairwise,
    )
