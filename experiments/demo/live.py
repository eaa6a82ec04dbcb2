"""The demo's market: a scenario's model settled on a ledger, a ticker read from its trade log, classroom seats.

:func:`demo_class` turns a model class into one that wires itself to a ledger when built, so
Mesa's SolaraViz can rebuild it from keyword arguments alone (its reset button does
``type(model)(**params)``). The wiring is the one ``ccei run`` uses (:func:`experiments.run.run_header`,
:func:`experiments.run.open_accounts`): a back end (``memory`` by default, or the embedded chain),
a hash-chained trade log, and a :class:`ledger.session.LedgerSession` as the model's settler.

A :class:`Room` holds the one market every browser session of a demo server shows, so a class
sees and trades in the same market; each step and each seat taken bumps the model's ``version``,
which the sessions watch. Steps, seats and quotes take the model's lock, so several people and
the play loop can act at once.

Classroom mode (auction scenarios): :meth:`DemoMarket.join` gives a person a trader with induced
values or costs drawn like the agents' (Smith 1962; Gode & Sunder 1993) and opens their ledger
account; :meth:`DemoMarket.quote` queues their bid or ask for the next period.

References:
    Smith, V. L. (1962), "An experimental study of competitive market behavior", J. Political
    Economy 70(2). Gode, D. K. & Sunder, S. (1993), "Allocative efficiency of markets with
    zero-intelligence traders", J. Political Economy 101(1).
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from agents import MODELS, MarketModel
from agents.auction import AuctionModel, Trader
from experiments.run import open_accounts, run_header
from experiments.scenarios import Scenario
from ledger.backends import SettlementBackend, open_backend
from ledger.session import LedgerSession
from ledger.tradelog import GENESIS, TradeLogWriter, entry_hash
from market.errors import CceiError
from market.orders import UNIT, Resource, Side

__all__ = [
    "DemoError",
    "PriceUnit",
    "TickerRow",
    "LedgerStats",
    "LogTail",
    "DemoMarket",
    "Room",
    "demo_class",
    "agent_label",
]

_CLASS_CACHE: dict[type[MarketModel], type[DemoMarket]] = {}
_LOG_NAMES = threading.Lock()


class DemoError(CceiError):
    """The demo cannot start, or a person's input cannot be used; the message says what to fix."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class PriceUnit:
    """How prices are shown and typed: whole tokens with two decimals, or micro-tokens.

    Attributes:
        scale: Micro-tokens per displayed unit.
        label: The unit's name.
        decimals: Digits after the point.
    """

    scale: int
    label: str
    decimals: int

    @classmethod
    def for_prices(cls, ceiling_micro: int) -> PriceUnit:
        """Tokens when prices reach a hundredth of a token, else micro-tokens (e.g. Gode & Sunder's 1..200)."""
        return cls(1_000_000, "tokens", 2) if ceiling_micro >= 10_000 else cls(1, "µtokens", 0)

    def show(self, micro: float) -> str:
        """``micro`` micro-tokens in this unit, e.g. ``2.05`` or ``150``."""
        return f"{micro / self.scale:,.{self.decimals}f}"

    def parse(self, text: str) -> int:
        """A typed price in this unit as integer micro-tokens.

        Raises:
            DemoError: not a number, negative, or finer than the unit allows.
        """
        try:
            value = Decimal(text.strip().replace(",", ""))
        except InvalidOperation:
            raise DemoError(f"price {text.strip()!r} is not a number of {self.label}") from None
        if not value.is_finite() or value < 0:
            raise DemoError(f"price {text.strip()!r} must be a positive number of {self.label}")
        if int(value.normalize().as_tuple().exponent) < -self.decimals:
            raise DemoError(f"price {text.strip()!r} has more than {self.decimals} decimals")
        return int(value * self.scale)


@dataclass(frozen=True, slots=True)
class TickerRow:
    """One trade as the ticker shows it."""

    step: int
    buyer: str
    seller: str
    resource: str
    quantity: int
    unit: str
    price_micro: int


@dataclass(frozen=True, slots=True)
class LedgerStats:
    """What the ledger has done so far.

    Attributes:
        backend: ``memory`` or ``chain``.
        trades: Trades settled.
        volume_micro: Money moved by them.
        settlement_transactions: Transactions that settled a round's batch (0 on the memory back end).
        gas_used: Gas they used.
        transactions: Every transaction sent (deployment, registrations and deposits included).
        log_entries: Lines in the trade log.
        log_head: Hash of its last line.
    """

    backend: str
    trades: int
    volume_micro: int
    settlement_transactions: int
    gas_used: int
    transactions: int
    log_entries: int
    log_head: str


class LogTail:
    """Follows a trade log as it grows, checking each new line's hash chain, and keeps the last trades.

    Args:
        path: The ``trades.jsonl`` a :class:`ledger.tradelog.TradeLogWriter` writes.
        keep: How many trades to keep, newest last.
    """

    def __init__(self, path: Path, keep: int = 12) -> None:
        self.path = Path(path)
        self.trades: deque[dict[str, Any]] = deque(maxlen=keep)
        self.lines = 0
        self.head = GENESIS
        self._offset = 0

    def poll(self) -> int:
        """Reads the complete lines written since the last poll; returns how many.

        Raises:
            DemoError: a line does not chain to the one before (the log was altered).
        """
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1
        new = 0
        for raw in data[:end].splitlines():
            entry = json.loads(raw)
            if entry.get("prev") != self.head or entry.get("hash") != entry_hash(entry):
                raise DemoError(f"{self.path}: line {self.lines + 1} does not chain to the one before")
            self.head = entry["hash"]
            self.lines += 1
            new += 1
            if entry["kind"] == "trade":
                self.trades.append(entry)
        self._offset += end
        return new


def agent_label(agent: mesa.Agent) -> str:
    """A short name for an agent in the ticker: a person's name, a data centre's site, an agent's role."""
    if isinstance(agent, Trader):
        if agent.human:
            return agent.name or f"person #{agent.unique_id}"
        return f"{'buyer' if agent.side is Side.BUY else 'seller'} #{agent.unique_id}"
    kind = type(agent).__name__
    site = getattr(getattr(agent, "site", None), "name", None)
    if kind == "ComputeCentre":
        return f"DC {site}"
    if kind == "EnergySupplier":
        return f"{agent.kind} {site}"
    if kind == "NetworkLink":
        return f"link {agent.a}–{agent.b}"
    if kind in ("User", "ComputeUser"):
        return f"user #{agent.unique_id}"
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in kind).strip()
    return words if site is None else f"{words} {site}"


class DemoMarket(MarketModel):
    """Mixed into a model class by :func:`demo_class`: the model settles on its own ledger.

    Args:
        chain: ``memory`` (default), ``eth-tester`` or a node URL.
        log_dir: Where the trade log goes (``<scenario>-seed<S>-<n>.jsonl``, the first free ``n``).
        scenario: The scenario's name (for the log's file name and header).
        room: The room this market is shown in; a new model replaces the room's old one.
        seed: The model's seed.
        **kwargs: The model's own parameters.

    Raises:
        ChainUnavailable: the chain cannot be reached.
    """

    def __init__(
        self,
        *,
        chain: str = "memory",
        log_dir: str = "runs/demo",
        scenario: str = "demo",
        room: Room | None = None,
        seed: int = 1,
        **kwargs: Any,
    ) -> None:
        self.lock = threading.RLock()
        self.version = 0
        self.retired = False
        self.chain = chain
        self.demo_params = dict(kwargs)
        self.demo_seed = seed
        self.log_path = _free_log_path(Path(log_dir), f"{Path(scenario).stem}-seed{seed}")
        self.backend: SettlementBackend = open_backend(chain, seed)
        header = run_header(Scenario(scenario, "ccei demo", _model_key(type(self)), 1, kwargs), seed, 0)
        self.log = TradeLogWriter(self.log_path, header)
        self.session = LedgerSession(self.backend, self.log)
        try:
            super().__init__(**kwargs, seed=seed, settler=self.session)
            open_accounts(self.session, self)
        except BaseException:
            self.log.close()
            self.backend.close()
            raise
        self.log.sync()
        self.tail = LogTail(self.log_path)
        self.tail.poll()
        self.model_key = _model_key(type(self))
        self.price_unit = PriceUnit.for_prices(int(self._param("price_ceiling", 0)))
        self._labels: dict[int, str] = {}
        advance = self.step

        def locked_step() -> None:
            with self.lock:
                if self.retired:
                    return
                advance()
                self.tail.poll()
                self.version += 1

        self.step = locked_step  # type: ignore[method-assign]
        if room is not None:
            room.adopt(self)

    def _param(self, name: str, fallback: Any = None) -> Any:
        """A model parameter as built: given, else the model's default."""
        if name in self.demo_params:
            return self.demo_params[name]
        for cls in type(self).__mro__:
            p = inspect.signature(cls.__init__).parameters.get(name) if "__init__" in vars(cls) else None
            if p is not None and p.default is not inspect.Parameter.empty:
                return p.default
        return fallback

    # -- what the dashboard reads -------------------------------------------------------------------

    def label(self, agent_id: int) -> str:
        """How the ticker names the agent ``agent_id`` (see :func:`agent_label`)."""
        if agent_id not in self._labels:
            agent = next((a for a in self.agents if a.unique_id == agent_id), None)
            self._labels[agent_id] = agent_label(agent) if agent is not None else f"#{agent_id}"
        return self._labels[agent_id]

    def ticker(self) -> list[TickerRow]:
        """The latest trades from the trade log, newest first."""
        with self.lock:
            entries = list(self.tail.trades)
        return [
            TickerRow(
                step=e["step"],
                buyer=self.label(e["buyer"]),
                seller=self.label(e["seller"]),
                resource=e["resource"],
                quantity=e["quantity"],
                unit=UNIT[Resource(e["resource"])],
                price_micro=e["price"],
            )
            for e in reversed(entries)
        ]

    def ledger_stats(self) -> LedgerStats:
        """What the ledger has settled so far, read under the market's lock."""
        with self.lock:
            s = self.session
            return LedgerStats(
                backend=self.backend.name,
                trades=s.trades,
                volume_micro=s.volume_micro,
                settlement_transactions=s.transactions,
                gas_used=s.gas_used,
                transactions=self.backend.transactions,
                log_entries=self.tail.lines,
                log_head=self.tail.head,
            )

    # -- classroom mode -------------------------------------------------------------------------------

    def join(self, name: str, side: Side | str) -> Trader:
        """Seats a person as a buyer or seller with induced values (costs) drawn like the agents'.

        A scenario with explicit values (Smith's) gives the person one unit valued like one of its
        buyers (sellers), drawn at random; one with drawn values gives ``units_per_trader`` units
        from the same ranges. The draws come from a generator seeded by the run's seed and the
        seat's number, so the agents' own draws are untouched.

        Raises:
            DemoError: not an auction scenario, no name, or the name is taken.
        """
        if not isinstance(self, AuctionModel):
            raise DemoError("classroom mode needs a double-auction scenario (smith-1962, gode-sunder)")
        name = " ".join(name.split())
        if not name:
            raise DemoError("type your name to take a seat")
        side = Side(side)
        with self.lock:
            if any(h.name == name for h in self.humans):
                raise DemoError(f"{name!r} is taken; choose another name")
            seat = len(self.humans)
            rng = np.random.default_rng([self.demo_seed, 7_919, seat])
            listed = self._param("buyer_values" if side is Side.BUY else "seller_costs") or []
            if listed:
                limits = [int(rng.choice(listed))]
            else:
                low, high = (
                    (self._param("value_min"), self._param("value_max"))
                    if side is Side.BUY
                    else (self._param("cost_min"), self._param("cost_max"))
                )
                limits = [int(v) for v in rng.integers(low, high + 1, size=int(self._param("units_per_trader")))]
            trader = self.add_human(side, limits, name)
            self.session.open_accounts({trader.agent_id: trader.initial_funds_micro})
            self.tail.poll()
            self.version += 1
            return trader

    def quote(self, trader: Trader, text: str) -> int:
        """Queues the person's bid or ask, typed in the market's price unit, for the next period.

        Returns:
            The price in micro-tokens.

        Raises:
            DemoError: the price cannot be read.
            QuoteRejected: the market refuses it (outside the price range, no unit left, no money).
        """
        price = self.price_unit.parse(text)
        with self.lock:
            self.submit_quote(trader, price)
            self.version += 1
        return price

    def seat(self, agent_id: int | None) -> Trader | None:
        """The person's trader with ``agent_id`` in this market, if any."""
        if agent_id is None or not isinstance(self, AuctionModel):
            return None
        return next((h for h in self.humans if h.unique_id == agent_id), None)

    def close(self) -> None:
        """Stops the market: later steps do nothing; the trade log gets its closing entry; all is released."""
        with self.lock:
            if self.retired:
                return
            self.retired = True
            self.session.close(self.steps)
            self.log.close()
            self.backend.close()


def _model_key(cls: type) -> str:
    return next((k for k, v in MODELS.items() if issubclass(cls, v)), cls.__name__)


def _free_log_path(directory: Path, stem: str) -> Path:
    """``directory/stem-<n>.jsonl`` with the first ``n`` not taken, created empty so no other market takes it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"--out {directory}: cannot create it ({exc.strerror or exc})") from None
    with _LOG_NAMES:
        n = 1
        while (directory / f"{stem}-{n}.jsonl").exists():
            n += 1
        path = directory / f"{stem}-{n}.jsonl"
        try:
            path.touch(exist_ok=False)
        except OSError as exc:
            raise DemoError(f"--out {directory}: cannot write there ({exc.strerror or exc})") from None
        return path


def demo_class(model_class: type[MarketModel]) -> type[DemoMarket]:
    """``model_class`` with :class:`DemoMarket` mixed in (one class per model class)."""
    if model_class not in _CLASS_CACHE:
        _CLASS_CACHE[model_class] = type(f"Demo{model_class.__name__}", (DemoMarket, model_class), {"__doc__": model_class.__doc__})
    return _CLASS_CACHE[model_class]


class Room:
    """The one market every browser session of a demo server shows.

    Args:
        build: Builds the first market (later ones come from SolaraViz's reset, which passes the
            room to the new model).
    """

    def __init__(self, build: Callable[[Room], DemoMarket]) -> None:
        self._build = build
        self._model: DemoMarket | None = None
        self._lock = threading.Lock()
        self._building = threading.Lock()

    @property
    def model(self) -> DemoMarket:
        """The current market (built on first use)."""
        with self._building:
            if self._model is None:
                self.adopt(self._build(self))
        with self._lock:
            return self._model  # type: ignore[return-value]  # set above

    def adopt(self, model: DemoMarket) -> None:
        """Makes ``model`` the room's market and stops the one before."""
        with self._lock:
            old, self._model = self._model, model
        if old is not None and old is not model:
            old.close()
