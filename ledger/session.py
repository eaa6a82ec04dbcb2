"""A ledger session: the settler a model is given. Each round it signs the buy orders the round's
trades fill with their owners' keys, writes the trades to the trade log ahead of settling them
(flushed to disk first), then settles the round as one batch on the back end.

Signatures and expiries are deterministic (RFC 6979 signing; expiry from the round, see
:mod:`ledger.signing`), and nothing chain-specific (transaction hashes, gas) goes into the log, so
the same run writes the same ``trades.jsonl`` on every back end.
"""

from __future__ import annotations

from ledger.backends import MemoryBackend, SettlementBackend
from ledger.batch import MAX_BATCH_TRADES, SettlementBatch, batch_id, build_batch, sign_orders
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
        """Signs the round's buy orders, writes the trades and batch entries, syncs the log, then settles.

        A round with more trades than one batch may carry (``MAX_BATCH_TRADES``) settles as several
        batches, ``batch_id(step, 0)``, ``batch_id(step, 1)``, ... in trade order; all of them are in
        the log, flushed to disk, before the first is settled.

        Raises:
            SettlementRejected: the back end refused a batch.
            LedgerError: a trade fills an unknown buy order.
        """
        signed = self.signed_orders(step, orders, trades)
        if not trades:
            return SettlementOutcome(batch_id=batch_id(step), trades=0)
        batches = [
            build_batch(batch_id(step, k), trades[start : start + MAX_BATCH_TRADES], signed, self.backend.address)
            for k, start in enumerate(range(0, len(trades), MAX_BATCH_TRADES))
        ]
        for k, batch in enumerate(batches):
            for trade in trades[k * MAX_BATCH_TRADES : (k + 1) * MAX_BATCH_TRADES]:
                self.log.append("trade", step, **trade_fields(trade))
            self.log.append("batch", step, batch_id=batch.batch_id, trades=len(batch.trades), volume=batch.volume)
        self.log.sync()
        gas = transactions = 0
        for batch in batches:
            outcome = self.backend.settle_batch(batch)
            self.last_batch = batch
            gas += outcome.gas_used
            transactions += outcome.transactions
        volume = sum(b.volume for b in batches)
        self.trades += len(trades)
        self.volume_micro += volume
        self.gas_used += gas
        self.transactions += transactions
        return SettlementOutcome(batch_id=batches[0].batch_id, trades=len(trades), transactions=transactions, gas_used=gas)
