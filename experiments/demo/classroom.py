"""A class of people trading in one double auction: seats, quotes, rounds, the shared picture and the export.

:class:`Classroom` holds what a class session needs besides the market itself (a
:class:`~experiments.demo.live.DemoMarket` on its own ledger and trade log):

- **seats**: a person gets a seat with a short join code (kept by their browser, typed again on
  another device), a role assigned so buyers and sellers stay balanced, and one private value or
  cost (induced values, Smith 1962). Names are compared as UTS #39 skeletons folded to Latin
  (``confusable-homoglyphs`` carries the Unicode confusables data) and case-folded, so ``maria``,
  ``Maria`` and a Cyrillic ``Мaria`` are one name;
- **quotes**: one bid or ask per seat and period, typed in the market's unit (a decimal comma
  reads as a point), never at a loss (a bid above one's value, an ask below one's cost; Smith's
  subjects were told the same), changed or withdrawn until the period runs;
- **the teacher's actions**: run a period, reset into a new round (optionally with another
  treatment) keeping every seat and its value, remove a seat;
- **the picture** every page draws (:meth:`Classroom.snapshot`): computed once per change of the
  class's state and shared as the same bytes by every viewer, so serving thirty pages costs what
  serving one does; a person's own view (:meth:`Classroom.seat_view`) is a few numbers;
- **the export**: every trade of every round with the people's names and prices in the page's
  unit, written as CSV next to the trade logs after each period (atomically), so it outlives the server.

A seat counts as present while a page of it is connected or it was seen in the last
:data:`PRESENT_S` seconds. The equilibrium and efficiency the class sees are those of the agents
and the seats present ("with N people"): a seat left empty trades nothing and moves nothing.

References:
    Smith, V. L. (1962), "An experimental study of competitive market behavior", J. Political
    Economy 70(2). Unicode Technical Standard #39, "Unicode Security Mechanisms" (confusable detection).
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from confusable_homoglyphs import confusables

from agents.auction import MECHANISMS, AuctionModel, QuoteRejected, Trader, max_surplus
from agents.strategies import StrategyName
from experiments.demo.live import DemoError, DemoMarket, PriceUnit, demo_class
from experiments.scenarios import Scenario
from market.auctions import clear_double_auction
from market.orders import Side

__all__ = [
    "Classroom", "Seat", "SeatTrade", "ClassTrade", "PeriodRecord", "RoundRecord", "SeatError",
    "normalise_name", "parse_price", "NAME_MAX", "PRESENT_S", "CODE_ALPHABET",
]

#: Longest name a seat takes, in characters.
NAME_MAX = 24
#: A seat with no page open still counts as present this long after it was last seen (a phone asleep), seconds.
PRESENT_S = 90.0
#: Join codes: no 0/O, 1/I/L to misread on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LEN = 5
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


class SeatError(DemoError):
    """A person's input cannot be used (name, join code, price); the message says what to type instead."""


def normalise_name(name: str) -> tuple[str, str]:
    """The name as shown (spaces collapsed) and the key it is compared by.

    The key is the NFKC form with each character that is confusable with a Latin one replaced by
    it (UTS #39 data), then case-folded: ``Maria``, ``maria`` and ``Мaria`` (Cyrillic М) share it.

    Raises:
        SeatError: empty, longer than :data:`NAME_MAX` characters, or with control characters.
    """
    shown = " ".join(name.split())
    if not shown:
        raise SeatError("type your name to take a seat")
    if len(shown) > NAME_MAX:
        raise SeatError(f"a name has at most {NAME_MAX} characters; yours has {len(shown)}")
    if any(unicodedata.category(c).startswith("C") for c in shown):
        raise SeatError("a name cannot contain control characters")
    folded = []
    for char in unicodedata.normalize("NFKC", shown):
        found = confusables.is_confusable(char, greedy=False, preferred_aliases=["latin"]) if not char.isascii() else False
        folded.append(found[0]["homoglyphs"][0]["c"] if isinstance(found, list) and found else char)
    return shown, "".join(folded).casefold()


def parse_price(text: str, unit: PriceUnit, floor_micro: int, ceiling_micro: int) -> int:
    """A price typed by a person, in ``unit``, as integer micro-tokens within the market's range.

    Accepts digits with at most ``unit.decimals`` decimals after a point or a comma (``1,5`` is 1.5);
    refuses exponents (``1e5000``), text, zero, negatives and prices outside [floor, ceiling],
    each with one line in ``unit``.

    Raises:
        SeatError: the price cannot be used.
    """
    typed = text.strip().replace(" ", "")
    example = unit.show(ceiling_micro / 2)
    if not typed:
        raise SeatError(f"type a price in {unit.label}, e.g. {example}")
    if not _PLAIN_NUMBER.fullmatch(typed):
        raise SeatError(f"{text.strip()[:20]!r} is not a price: type a number of {unit.label}, e.g. {example}")
    try:
        value = Decimal(typed.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise SeatError(f"{typed!r} is not a price in {unit.label}") from None
    if value <= 0:
        raise SeatError(f"a price must be more than 0 {unit.label}")
    if -int(value.normalize().as_tuple().exponent) > unit.decimals:
        raise SeatError(f"{typed}: at most {unit.decimals} decimals in {unit.label}" if unit.decimals else f"{typed}: whole {unit.label} only")
    micro = int(value * unit.scale)
    if micro < floor_micro:
        raise SeatError(f"{typed} {unit.label} is below the lowest price, {unit.show(floor_micro)} {unit.label}")
    if micro > ceiling_micro:
        raise SeatError(f"{typed} {unit.label} is above the highest price, {unit.show(ceiling_micro)} {unit.label}")
    return micro


@dataclass(slots=True)
class SeatTrade:
    """One trade of a seat: the round and period, the price and the seat's profit, micro-tokens."""

    round: int
    period: int
    price_micro: int
    profit_micro: int


@dataclass(slots=True)
class Seat:
    """A person's place in the class; it outlives rounds (its trader is rebuilt in each round's market).

    Attributes:
        code: The join code.
        name: The name as shown.
        key: The name's comparison key (:func:`normalise_name`).
        side: Buyer or seller.
        limit_micro: The private value (buyer) or cost (seller) of the seat's one unit.
        trader: Its trader in the current round's market.
        quote_micro: The bid or ask queued for the next period, if any.
        trades: Its trades, every round.
        last_seen: When a page of the seat last reached the server (clock seconds).
        pages: Pages of the seat connected now.
    """

    code: str
    name: str
    key: str
    side: Side
    limit_micro: int
    trader: Trader
    quote_micro: int | None = None
    trades: list[SeatTrade] = field(default_factory=list)
    last_seen: float = 0.0
    pages: int = 0

    @property
    def profit_micro(self) -> int:
        return sum(t.profit_micro for t in self.trades)


@dataclass(frozen=True, slots=True)
class ClassTrade:
    """A trade of the class's market: period, price (micro-tokens), and the people's names ("" for an agent)."""

    period: int
    price_micro: int
    buyer: str
    seller: str


@dataclass(frozen=True, slots=True)
class PeriodRecord:
    """What one period produced, against the benchmarks of the agents and the seats present when it ran.

    Attributes:
        period: The period's number in its round.
        mean_price_micro: Mean trade price (None without trades).
        volume: Units traded.
        surplus_micro: Surplus realised.
        best_micro: Largest surplus possible.
        eq_price_micro: Equilibrium price (None when no unit can trade).
        eq_volume: Equilibrium volume.
        people: Seats present.
    """

    period: int
    mean_price_micro: float | None
    volume: int
    surplus_micro: int
    best_micro: int
    eq_price_micro: float | None
    eq_volume: int
    people: int

    @property
    def efficiency(self) -> float | None:
        return self.surplus_micro / self.best_micro if self.best_micro else None


@dataclass(slots=True)
class RoundRecord:
    """One round: its treatment, trade log and what each period produced (for the price path and the debrief)."""

    number: int
    strategy: str
    mechanism: str
    log: str
    trades: list[ClassTrade] = field(default_factory=list)
    periods: list[PeriodRecord] = field(default_factory=list)


class Classroom:
    """One class session on one double-auction scenario.

    Args:
        scenario: A double-auction scenario.
        chain, seed, out: As ``ccei demo`` takes them (the trade logs and the class CSV go to ``out``).
        join_url: The address students open (shown with its QR code on the projector).
        clock: Seconds, monotonic (tests pass a fake one).

    Raises:
        DemoError: not a double-auction scenario.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        chain: str = "memory",
        seed: int = 1,
        out: str | Path = "runs/demo",
        join_url: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not issubclass(scenario.model_class, AuctionModel):
            raise DemoError(
                f"scenario {scenario.name}: a class trades in a double auction (smith-1962, gode-sunder), not in a {scenario.model} market"
            )
        self.scenario = scenario
        self.chain, self.seed, self.out = chain, seed, Path(out)
        self.join_url = join_url
        self.teacher_token = secrets.token_urlsafe(18)
        self.clock = clock
        self.lock = threading.RLock()
        self.version = 0
        self.seats: dict[str, Seat] = {}
        self.removed: list[Seat] = []  # seats the teacher removed: their trades stay in the export
        self._present: frozenset[str] = frozenset()  # the seats present when last checked
        self.rounds: list[RoundRecord] = []
        self.period_ends: float | None = None  # clock time the running period timer steps the market
        self.period_s: float | None = None
        self.treatment = {"strategy": str(scenario.params.get("strategy", "zi-c")), "mechanism": str(scenario.params.get("mechanism", "cda"))}
        self.csv_path = self.out / f"{Path(scenario.name).stem}-seed{seed}-class.csv"
        self.market: DemoMarket = self._new_market()
        self._snapshot: tuple[int, bytes] = (-1, b"")

    # -- building -----------------------------------------------------------------------------------

    def _new_market(self) -> DemoMarket:
        params = {**self.scenario.params, **self.treatment}
        cls = demo_class(self.scenario.model_class)
        market: DemoMarket = cls(**params, chain=self.chain, log_dir=str(self.out), scenario=self.scenario.name, seed=self.seed)
        self.rounds.append(RoundRecord(len(self.rounds) + 1, self.treatment["strategy"], self.treatment["mechanism"], str(market.log_path)))
        return market

    @property
    def model(self) -> AuctionModel:
        return self.market  # a DemoMarket mixed into an AuctionModel

    @property
    def unit(self) -> PriceUnit:
        return self.market.price_unit

    def _changed(self) -> None:
        self.version += 1

    # -- seats --------------------------------------------------------------------------------------

    def join(self, name: str) -> Seat:
        """Seats a person: a join code, the side with fewer people, and one value or cost.

        The value (cost) is drawn like the scenario's: one of its listed values (costs), or one
        from its range, from a generator seeded by the run's seed and the seat's number.

        Raises:
            SeatError: the name is unusable or taken.
        """
        shown, key = normalise_name(name)
        with self.lock:
            if any(s.key == key for s in self.seats.values()):
                raise SeatError(f"the name {shown!r} is taken: if it is yours, type your join code; otherwise add an initial")
            buyers = sum(s.side is Side.BUY for s in self.seats.values())
            side = Side.BUY if buyers <= len(self.seats) - buyers else Side.SELL
            rng = np.random.default_rng([self.seed, 7_919, len(self.seats) + len(self.removed)])  # the seat's number, removed ones counted
            p = self.scenario.params
            listed = p.get("buyer_values" if side is Side.BUY else "seller_costs") or []
            if listed:
                limit = int(rng.choice(listed))
            else:
                low, high = (p.get("value_min", 60), p.get("value_max", 200)) if side is Side.BUY else (p.get("cost_min", 1), p.get("cost_max", 140))
                limit = int(rng.integers(low, high + 1))
            code = self._new_code()
            seat = Seat(code, shown, key, side, limit, self._seat_trader(side, limit, shown), last_seen=self.clock())
            self.seats[code] = seat
            self._changed()
            return seat

    def _new_code(self) -> str:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(_CODE_LEN))
            if code not in self.seats:
                return code

    def _seat_trader(self, side: Side, limit: int, name: str) -> Trader:
        with self.market.lock:
            trader = self.model.add_human(side, [limit], name)
            self.market.session.open_accounts({trader.agent_id: trader.initial_funds_micro})
            self.market.tail.poll()
        return trader

    def seat(self, code: str) -> Seat:
        """The seat with join code ``code`` (spaces and case ignored); seen now.

        Raises:
            SeatError: no such seat (never given, or removed by the teacher).
        """
        seat = self.seats.get("".join(code.split()).upper())
        if seat is None:
            raise SeatError(f"no seat has the join code {code.strip()[:12]!r}: check it, or take a new seat with your name")
        seat.last_seen = self.clock()
        return seat

    def attach(self, code: str) -> Seat:
        """A page of the seat connected; :meth:`detach` when it goes."""
        with self.lock:
            seat = self.seat(code)
            seat.pages += 1
            if seat.pages == 1:
                self._changed()
            return seat

    def detach(self, seat: Seat) -> None:
        with self.lock:
            seat.pages = max(0, seat.pages - 1)
            seat.last_seen = self.clock()

    def present(self, seat: Seat) -> bool:
        """A page of the seat is open, or it was seen in the last :data:`PRESENT_S` seconds."""
        return seat.code in self.seats and (seat.pages > 0 or self.clock() - seat.last_seen <= PRESENT_S)

    def check_presence(self) -> bool:
        """Notes whether the seats present changed since the last call (a page gone for :data:`PRESENT_S`
        seconds, or back); if so the class's state changed too. The server calls this every tick."""
        with self.lock:
            present = frozenset(code for code, s in self.seats.items() if self.present(s))
            if present == self._present:
                return False
            self._present = present
            self._changed()
            return True

    def quote(self, code: str, text: str) -> int:
        """Queues (or replaces) the seat's bid or ask for the next period; returns it in micro-tokens.

        Raises:
            SeatError: unknown seat or unusable price (one line in the page's unit).
        """
        with self.lock:
            seat = self.seat(code)
            model = self.model
            price = parse_price(text, self.unit, model.price_floor, model.price_ceiling)
            unit, limit = self.unit, seat.limit_micro
            if seat.side is Side.BUY and price > limit:
                raise SeatError(f"a bid above your value ({unit.show(limit)} {unit.label}) would lose you money if it traded")
            if seat.side is Side.SELL and price < limit:
                raise SeatError(f"an ask below your cost ({unit.show(limit)} {unit.label}) would lose you money if it traded")
            with self.market.lock:
                seat.trader.quotes = []
                try:
                    model.submit_quote(seat.trader, price)
                except QuoteRejected as exc:  # e.g. a buyer out of money; the market's own words
                    raise SeatError(str(exc)) from None
            seat.quote_micro = price
            self._changed()
            return price

    def withdraw(self, code: str) -> None:
        """Takes the seat's queued bid or ask back."""
        with self.lock:
            seat = self.seat(code)
            with self.market.lock:
                seat.trader.quotes = []
            seat.quote_micro = None
            self._changed()

    def remove(self, code: str) -> Seat:
        """The teacher removes a seat: it leaves the market; its code no longer works; its trades stay in the export.

        Raises:
            SeatError: no such seat.
        """
        with self.lock:
            seat = self.seat(code)
            with self.market.lock:
                seat.trader.quotes = []
                seat.trader.remove()
            del self.seats[seat.code]
            self.removed.append(seat)
            self._changed()
            return seat

    # -- the teacher's actions ------------------------------------------------------------------------

    def step(self) -> None:
        """Runs one period with the quotes of the seats present; records prices, efficiency and each seat's trades; writes the CSV."""
        with self.lock:
            live = [s for s in self.seats.values() if self.present(s)]
            with self.market.lock:
                for seat in self.seats.values():
                    if seat not in live:  # an empty seat trades nothing, even a bid sent before its page went
                        seat.trader.quotes = []
            eq_price, eq_volume, best = self._benchmarks(live)
            self.market.step()
            model, record = self.model, self.rounds[-1]
            period = model.steps
            by_agent = {s.trader.agent_id: s for s in self.seats.values()}
            names = {a: s.name for a, s in by_agent.items()}
            for t in model.trades:
                record.trades.append(ClassTrade(period, t.price, names.get(t.buyer, ""), names.get(t.seller, "")))
                for party in (by_agent.get(t.buyer), by_agent.get(t.seller)):
                    if party is not None:
                        profit = party.limit_micro - t.price if party.side is Side.BUY else t.price - party.limit_micro
                        party.trades.append(SeatTrade(record.number, period, t.price, profit))
            prices = [t.price for t in model.trades]
            record.periods.append(
                PeriodRecord(
                    period=period,
                    mean_price_micro=float(np.mean(prices)) if prices else None,
                    volume=sum(t.quantity for t in model.trades),
                    surplus_micro=model.period_surplus_micro,
                    best_micro=best,
                    eq_price_micro=eq_price,
                    eq_volume=eq_volume,
                    people=len(live),
                )
            )
            for seat in self.seats.values():
                seat.quote_micro = None
            if self.period_s is not None:
                self.period_ends = self.clock() + self.period_s
            self._changed()
            self.write_csv()

    def reset(self, strategy: str | None = None, mechanism: str | None = None) -> None:
        """A new round in a new market (and trade log), with the agents' strategy and market rule given
        (default: as before); every seat keeps its code, side and value, queued quotes are dropped.

        Raises:
            DemoError: unknown strategy or mechanism.
        """
        strategies = [s.value for s in StrategyName]
        if strategy is not None and strategy not in strategies:
            raise DemoError(f"strategy {strategy!r}: one of {', '.join(strategies)}")
        if mechanism is not None and mechanism not in MECHANISMS:
            raise DemoError(f"market rule {mechanism!r}: one of {', '.join(MECHANISMS)}")
        with self.lock:
            self.treatment = {"strategy": strategy or self.treatment["strategy"], "mechanism": mechanism or self.treatment["mechanism"]}
            old, self.market = self.market, self._new_market()
            old.close()
            for seat in self.seats.values():
                seat.trader = self._seat_trader(seat.side, seat.limit_micro, seat.name)
                seat.quote_micro = None
            self.period_ends = self.clock() + self.period_s if self.period_s is not None else None
            self._changed()

    def set_timer(self, seconds: float | None) -> None:
        """Timed periods of ``seconds`` each (the server steps the market when one ends), or none.

        Raises:
            DemoError: not between 10 s and 10 minutes.
        """
        if seconds is not None and not 10 <= seconds <= 600:
            raise DemoError(f"a period lasts 10 to 600 seconds, not {seconds:g}")
        with self.lock:
            self.period_s = seconds
            self.period_ends = None if seconds is None else self.clock() + seconds
            self._changed()

    def due(self) -> bool:
        """The running period timer has run out."""
        return self.period_ends is not None and self.clock() >= self.period_ends

    def close(self) -> None:
        """Closes the market's ledger and trade log; the CSV stays."""
        with self.lock:
            self.write_csv()
            self.market.close()

    # -- what the pages show --------------------------------------------------------------------------

    def _benchmarks(self, live: list[Seat]) -> tuple[float | None, int, int]:
        """Equilibrium price, volume and the largest surplus per period of the agents and the seats in ``live``."""
        values, costs = self._limits(live)
        eq = clear_double_auction([(v, 1) for v in values], [(c, 1) for c in costs], rule="uniform")
        return eq.clearing_price, eq.volume, max_surplus(values, costs)

    def _limits(self, live: list[Seat]) -> tuple[list[int], list[int]]:
        agents = [t for t in self.model.agents if isinstance(t, Trader) and not t.human]
        values = [v for t in agents if t.side is Side.BUY for v in t.limits] + [s.limit_micro for s in live if s.side is Side.BUY]
        costs = [c for t in agents if t.side is Side.SELL for c in t.limits] + [s.limit_micro for s in live if s.side is Side.SELL]
        return values, costs

    def snapshot(self) -> bytes:
        """The class's state as JSON bytes, built once per change and shared by every page.

        Everything is public: names, who has bid (not what), the supply and demand of the agents
        and the seats present, the round's prices and efficiency, the earlier rounds (for the debrief).
        """
        with self.lock:
            if self._snapshot[0] == self.version:
                return self._snapshot[1]
            unit = self.unit
            seats = list(self.seats.values())
            live = [s for s in seats if self.present(s)]
            values, costs = self._limits(live)
            eq_price, eq_volume, _ = self._benchmarks(live)
            model = self.model
            scale = unit.scale
            data = {
                "version": self.version,
                "scenario": self.scenario.name,
                "unit": {"label": unit.label, "scale": scale, "decimals": unit.decimals},
                "join_url": self.join_url,
                "round": len(self.rounds),
                "period": model.steps,
                "treatment": self.treatment,
                "timer": None if self.period_ends is None else {"seconds": self.period_s, "left": max(0.0, self.period_ends - self.clock())},
                "floor": model.price_floor / scale,
                "ceiling": model.price_ceiling / scale,
                "demand": sorted((v / scale for v in values), reverse=True),
                "supply": sorted(c / scale for c in costs),
                "equilibrium": {"price": None if eq_price is None else eq_price / scale, "volume": eq_volume, "people": len(live)},
                "seats": [{"name": s.name, "side": s.side.value, "bid": s.quote_micro is not None, "present": self.present(s)} for s in seats],
                "rounds": [self._round_json(r, scale) for r in self.rounds],
            }
            payload = orjson.dumps(data)
            self._snapshot = (self.version, payload)
            return payload

    @staticmethod
    def _round_json(record: RoundRecord, scale: int) -> dict[str, Any]:
        return {
            "number": record.number,
            "strategy": record.strategy,
            "mechanism": record.mechanism,
            "trades": [[t.period, t.price_micro / scale, bool(t.buyer or t.seller)] for t in record.trades],
            "periods": [
                {
                    "period": p.period,
                    "mean": None if p.mean_price_micro is None else p.mean_price_micro / scale,
                    "volume": p.volume,
                    "efficiency": p.efficiency,
                    "surplus": p.surplus_micro,
                    "best": p.best_micro,
                    "eq_price": None if p.eq_price_micro is None else p.eq_price_micro / scale,
                    "eq_volume": p.eq_volume,
                    "people": p.people,
                }
                for p in record.periods
            ],
        }

    def seat_view(self, seat: Seat) -> dict[str, Any]:
        """What only this seat's person sees: role, value or cost, queued quote, own trades and profit (in the page's unit)."""
        unit = self.unit
        return {
            "code": seat.code,
            "name": seat.name,
            "side": seat.side.value,
            "limit": unit.show(seat.limit_micro),
            "quote": None if seat.quote_micro is None else unit.show(seat.quote_micro),
            "trades": [
                {"round": t.round, "period": t.period, "price": unit.show(t.price_micro), "profit": unit.show(t.profit_micro)}
                for t in seat.trades[-8:]
            ],
            "profit": unit.show(seat.profit_micro),
            "seated": seat.code in self.seats,
        }

    # -- export -----------------------------------------------------------------------------------------

    def csv_text(self) -> str:
        """Every trade of every round: round, treatment, period, buyer, seller (names; agents as ``agent``), price in the page's unit."""
        unit = self.unit
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["round", "strategy", "mechanism", "period", "buyer", "seller", f"price_{unit.label.replace('µ', 'micro')}"])
        for r in self.rounds:
            for t in r.trades:
                writer.writerow(
                    [r.number, r.strategy, r.mechanism, t.period, t.buyer or "agent", t.seller or "agent", unit.show(t.price_micro).replace(",", "")]
                )
        writer.writerow([])
        writer.writerow(["seat", "name", "side", "value_or_cost", "trades", "profit"])
        for s in [*self.seats.values(), *self.removed]:
            writer.writerow(
                [s.code, s.name, s.side.value, unit.show(s.limit_micro).replace(",", ""), len(s.trades), unit.show(s.profit_micro).replace(",", "")]
            )
        return buffer.getvalue()

    def write_csv(self) -> Path:
        """Writes :meth:`csv_text` to :attr:`csv_path` atomically (temporary file, fsync, rename)."""
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.csv_path.with_name(f".{self.csv_path.name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(self.csv_text())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.csv_path)
        return self.csv_path
