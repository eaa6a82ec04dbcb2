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

A class trading in an auction scenario is seated by :mod:`experiments.demo.classroom`, which
builds its markets with :func:`demo_class` too.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa

from agents import MODELS, MarketModel
from agents.auction import Trader
from experiments.run import open_accounts, run_header
from experiments.scenarios import Scenario
from ledger.backends import SettlementBackend, open_backend
from ledger.keys import operator_private_key
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
    """How prices are shown (and typed, see :func:`experiments.demo.classroom.parse_price`): whole tokens with two decimals, or micro-tokens.

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
        self.previous_frame: Any = None  # the DataCollector frame of the market this one replaced (Room.adopt)
        self.chain = chain
        self.demo_params = dict(kwargs)
        self.demo_seed = seed
        self.log_path = _free_log_path(Path(log_dir), f"{Path(scenario).stem}-seed{seed}")
        self.backend: SettlementBackend = open_backend(chain, seed)
        header = run_header(Scenario(scenario, "ccei demo", _model_key(type(self)), 1, kwargs), seed, 0, domain=self.backend.domain)
        # format 3 as ``ccei run`` writes it: signed by this lab's operator, the orders' domain in the header
        self.log = TradeLogWriter(self.log_path, header, operator=operator_private_key())
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
        advance: Callable[[], None] = self.step

        def locked_step() -> None:
            with self.lock:
                if self.retired:
                    return
                advance()
                self.tail.poll()
                self.version += 1

        self.step: Callable[[], None] = locked_step
        if room is not None:
            room.adopt(self)

    def _param(self, name: str, fallback: Any = None) -> Any:
        """A model parameter as built: given, else the model's default."""
        if name in self.demo_params:
            return self.demo_params[name]
        for cls in type(self).__mro__:
            p = inspect.signature(vars(cls)["__init__"]).parameters.get(name) if "__init__" in vars(cls) else None
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
        """Makes ``model`` the room's market and stops the one before, whose series ``model`` keeps to compare against."""
        with self._lock:
            old, self._model = self._model, model
        if old is not None and old is not model:
            with old.lock:
                model.previous_frame = old.datacollector.get_model_vars_dataframe().copy()
            old.close()
