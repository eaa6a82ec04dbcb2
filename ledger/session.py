"""A ledger session: the settler a model is given. Each round it signs the buy orders the round's
trades fill with their owners' keys, writes the trades to the trade log ahead of settling them
(flushed to disk first), then settles the round as one batch on the back end.

Signatures and expiries are deterministic (RFC 6979 signing; expiry from the round, see
:mod:`ledger.signing`), and nothing chain-specific (transaction hashes, gas) goes into the log, so
the same run writes the same ``trades.jsonl`` on every back end.
"""

from __future__ import annotations

from ledger.backends import MemoryBackend, SettlementBackend
from ledger.batch import SettlementBatch, build_batch, sign_orders
from ledger.errors import LedgerError
from ledger.keys import agent_signing_key
from ledger.signing import DEFAULT_TTL_ROUNDS, SignedOrder
from ledger.tradelog import TradeLogWriter, trade_fields
from market.orders import Order, OrderId, SettlementOutcome, Trade

__all__ = ["LedgerSession"]


class LedgerSession:
    """Signs, logs, then settles each round's trades.

    Args:
        backend: Where batches settle.
        log: The trade log writer.
        sign: Sign each buy order with its owner's key (default). ``False`` settles unsigned
            orders, which only a memory back end that skips signature checks accepts.
        ttl_rounds: Rounds a signed order stays valid after the round it was placed in.

    Raises:
        LedgerError: ``sign=False`` with a back end that checks signatures.
    """

    def __init__(
        self,
        backend: SettlementBackend,
        log: TradeLogWriter,
        *,
        sign: bool = True,
        ttl_rounds: int = DEFAULT_TTL_ROUNDS,
    ) -> None:
        if not sign and not (isinstance(backend, MemoryBackend) and not backend.verify_signatures):
            raise LedgerError(f"unsigned settlement needs the memory back end without signature checks, not {backend.name}")
        self.backend = backend
        self.log = log
        self.sign = sign
        self.ttl_rounds = ttl_rounds
        self.trades = 0
        self.volume_micro = 0
        self.gas_used = 0
        self.transactions = 0
        self.last_batch: SettlementBatch | None = None
        self._orders: dict[OrderId, Order] = {}

    def _remember(self, step: int, orders: list[Order]) -> None:
        """Keeps orders until they expire, so a trade may fill an order placed in an earlier round."""
        horizon = step - self.ttl_rounds
        self._orders = {k: o for k, o in self._orders.items() if o.step >= horizon}
        self._orders.update((o.order_id, o) for o in orders)

    def signed_orders(self, step: int, orders: list[Order], trades: list[Trade]) -> dict[OrderId, SignedOrder]:
        """The round's signed buy orders (unsigned placeholders when ``sign`` is off).

        Raises:
            LedgerError: a trade fills an unknown buy order or one of another agent.
        """
        self._remember(step, orders)
        seed = self.backend.seed
        key_of = (lambda agent: agent_signing_key(seed, int(agent))) if self.sign else None
        return sign_orders(trades, self._orders, self.backend.domain, self.backend.address, key_of, self.ttl_rounds)

    def settle(self, step: int, orders: list[Order], trades: list[Trade]) -> SettlementOutcome:
        """Signs the round's buy orders, writes the trades and batch entry, syncs the log, then settles.

        Raises:
            SettlementRejected: the back end refused the batch.
            LedgerError: a trade fills an unknown buy order.
        """
        signed = self.signed_orders(step, orders, trades)
        if not trades:
            return SettlementOutcome(batch_id=step, trades=0)
        batch = build_batch(step, trades, signed, self.backend.address)
        for trade in trades:
            self.log.append("trade", step, **trade_fields(trade))
        volume = batch.volume
        self.log.append("batch", step, batch_id=step, trades=len(trades), volume=volume)
        self.log.sync()
        outcome = self.backend.settle_batch(batch)
        self.last_batch = batch
        self.trades += len(trades)
        self.volume_micro += volume
        self.gas_used += outcome.gas_used
        self.transactions += outcome.transactions
        return outcome
