"""Settlement back ends behind one interface: pure-Python ``memory`` and the contracts on a ``chain``.

Both apply the same rules as ``contracts/Settlement.sol``, in the same order, with the same error
names: a batch id settles at most once; at most ``MAX_BATCH_TRADES`` trades a batch; each trade's
``price * quantity`` moves from buyer to seller; the moves are netted per participant (participants
in ascending agent id) and a participant whose net debit exceeds their escrow fails the whole batch
with ``InsufficientEscrow``. So the same trades give the same balances, to the unit, on either.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from eth_typing import ChecksumAddress

from ledger.chain import Chain, connect
from ledger.contracts import ContractReverted, Settlement, SettlementToken, SettlementTrade, deploy
from ledger.errors import LedgerError, SettlementRejected
from ledger.keys import agent_address
from market.orders import AgentId, Order, SettlementOutcome, Trade

__all__ = [
    "MAX_BATCH_TRADES",
    "NettedBatch",
    "net_batch",
    "SettlementBackend",
    "MemoryBackend",
    "ChainBackend",
    "open_backend",
    "balances_digest",
]

MAX_BATCH_TRADES = 256
_MAX_GAS_PER_TX = 25_000_000


@dataclass(frozen=True, slots=True)
class NettedBatch:
    """A batch as the contract takes it: sorted participants, indexed trades and net deltas."""

    participants: tuple[AgentId, ...]
    trades: tuple[SettlementTrade, ...]
    deltas: tuple[int, ...]
    volume: int


def net_batch(trades: Sequence[Trade]) -> NettedBatch:
    """Indexes ``trades`` into a sorted participant list and nets each participant's payments."""
    participants = tuple(sorted({t.buyer for t in trades} | {t.seller for t in trades}))
    index = {p: i for i, p in enumerate(participants)}
    deltas = [0] * len(participants)
    indexed = []
    volume = 0
    for t in trades:
        b, s = index[t.buyer], index[t.seller]
        deltas[b] -= t.amount
        deltas[s] += t.amount
        volume += t.amount
        indexed.append(SettlementTrade(b, s, t.price, t.quantity))
    return NettedBatch(participants, tuple(indexed), tuple(deltas), volume)


def balances_digest(balances: Mapping[str, int]) -> str:
    """SHA-256 over ``address:balance`` lines sorted by (lower-case) address."""
    lines = "".join(f"{a.lower()}:{balances[a]}\n" for a in sorted(balances, key=str.lower))
    return hashlib.sha256(lines.encode()).hexdigest()


class SettlementBackend(abc.ABC):
    """Where batches settle. Accounts are opened once, then one batch per market round."""

    name: str

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.accounts: list[AgentId] = []

    def address(self, agent_id: AgentId) -> ChecksumAddress:
        """The agent's on-chain address (derived from the run seed and the agent id)."""
        return agent_address(self.seed, int(agent_id))

    @abc.abstractmethod
    def open_accounts(self, deposits: Mapping[AgentId, int]) -> None:
        """Mints each agent's deposit and puts it in the agent's escrow balance."""

    @abc.abstractmethod
    def settle_batch(self, batch_id: int, trades: Sequence[Trade]) -> SettlementOutcome:
        """Settles one batch, all or nothing.

        Raises:
            SettlementRejected: the batch breaks a rule; nothing changed.
        """

    @abc.abstractmethod
    def escrow_balance(self, agent_id: AgentId) -> int:
        """The agent's escrow balance in micro-tokens."""

    @abc.abstractmethod
    def total_supply(self) -> int:
        """Tokens minted so far, in micro-tokens."""

    def settle(self, step: int, orders: list[Order], trades: list[Trade]) -> SettlementOutcome:
        """The model's settler hook: settles round ``step`` as batch ``step``."""
        return self.settle_batch(step, trades)

    def balances(self, agents: Iterable[AgentId] | None = None) -> dict[AgentId, int]:
        """Escrow balances of ``agents`` (default: every opened account)."""
        return {a: self.escrow_balance(a) for a in (self.accounts if agents is None else agents)}

    def balances_by_address(self) -> dict[str, int]:
        return {self.address(a): b for a, b in self.balances().items()}

    def close(self) -> None:
        """Releases what the back end holds (connections, processes)."""


class MemoryBackend(SettlementBackend):
    """Integer accounting in Python that mirrors ``Settlement.sol`` rule for rule."""

    name = "memory"

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self._escrow: dict[AgentId, int] = {}
        self._settled: set[int] = set()
        self._supply = 0

    def open_accounts(self, deposits: Mapping[AgentId, int]) -> None:
        for agent_id, amount in deposits.items():
            if amount < 0:
                raise LedgerError(f"negative deposit for agent {agent_id}")
            self.accounts.append(agent_id)
            self._escrow[agent_id] = self._escrow.get(agent_id, 0) + amount
            self._supply += amount

    def settle_batch(self, batch_id: int, trades: Sequence[Trade]) -> SettlementOutcome:
        if not trades:  # like ChainBackend: an empty round sends no batch
            return SettlementOutcome(batch_id=batch_id, trades=0)
        if batch_id in self._settled:
            raise SettlementRejected("BatchAlreadySettled", batch_id)
        if len(trades) > MAX_BATCH_TRADES:
            raise SettlementRejected("BatchTooLarge", len(trades), MAX_BATCH_TRADES)
        batch = net_batch(trades)
        updated = {}
        for agent_id, delta in zip(batch.participants, batch.deltas, strict=True):
            balance = self._escrow.get(agent_id, 0)
            if balance + delta < 0:
                raise SettlementRejected("InsufficientEscrow", self.address(agent_id), balance, -delta)
            updated[agent_id] = balance + delta
        self._escrow.update(updated)
        self._settled.add(batch_id)
        return SettlementOutcome(batch_id=batch_id, trades=len(trades))

    def escrow_balance(self, agent_id: AgentId) -> int:
        return self._escrow.get(agent_id, 0)

    def total_supply(self) -> int:
        return self._supply


class ChainBackend(SettlementBackend):
    """The token and settlement contracts on eth-tester or a JSON-RPC node.

    The chain's first unlocked account deploys, mints, deposits and operates.
    """

    name = "chain"

    def __init__(self, seed: int, chain: Chain) -> None:
        super().__init__(seed)
        self.chain = chain
        self.operator = chain.accounts[0]
        token_address = deploy(chain, "SettlementToken", self.operator, sender=self.operator)
        self.token = SettlementToken(chain, token_address)
        settlement_address = deploy(chain, "Settlement", token_address, self.operator, sender=self.operator)
        self.settlement = Settlement(chain, settlement_address)
        self.token.transact("setMinter", self.operator, True, sender=self.operator, gas=100_000)
        self.settlement.transact("setOperator", self.operator, True, sender=self.operator, gas=100_000)
        self.transactions = 4

    def open_accounts(self, deposits: Mapping[AgentId, int]) -> None:
        total = sum(deposits.values())
        op = self.operator
        self.token.transact("mint", op, total, sender=op, gas=100_000)
        self.token.transact("approve", self.settlement.address, total, sender=op, gas=100_000)
        for agent_id, amount in deposits.items():
            self.accounts.append(agent_id)
            if amount:
                self.settlement.transact("depositFor", self.address(agent_id), amount, sender=op, gas=120_000)
        self.transactions += 2 + sum(1 for a in deposits.values() if a)

    def settle_batch(self, batch_id: int, trades: Sequence[Trade]) -> SettlementOutcome:
        if not trades:
            return SettlementOutcome(batch_id=batch_id, trades=0)
        batch = net_batch(trades)
        addresses = [self.address(p) for p in batch.participants]
        gas = min(_MAX_GAS_PER_TX, 80_000 + 12_000 * len(trades) + 30_000 * len(addresses))
        try:
            receipt = self.settlement.transact(
                "settleBatch",
                batch_id,
                addresses,
                [t.as_tuple() for t in batch.trades],
                sender=self.operator,
                gas=gas,
            )
        except ContractReverted as exc:
            raise SettlementRejected(exc.error, *exc.error_args) from exc
        self.transactions += 1
        return SettlementOutcome(batch_id=batch_id, trades=len(trades), transactions=1, gas_used=int(receipt["gasUsed"]))

    def escrow_balance(self, agent_id: AgentId) -> int:
        return self.settlement.balance_of(self.address(agent_id))

    def total_supply(self) -> int:
        return self.token.total_supply()


def open_backend(spec: str, seed: int) -> SettlementBackend:
    """Opens the back end ``spec`` names: ``memory``, ``eth-tester`` or a node URL.

    Raises:
        ChainUnavailable: the chain cannot be reached.
    """
    if spec == "memory":
        return MemoryBackend(seed)
    return ChainBackend(seed, connect(spec))
