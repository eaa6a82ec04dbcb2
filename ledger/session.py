"""A ledger session: the settler a model is given. It writes each round to the trade log ahead of
settling it (flushed to disk first), then settles the batch on the back end."""

from __future__ import annotations

from market.orders import Order, SettlementOutcome, Trade
from ledger.backends import SettlementBackend
from ledger.tradelog import TradeLogWriter, trade_fields

__all__ = ["LedgerSession"]


class LedgerSession:
    """Logs then settles each round's trades.

    Args:
        backend: Where batches settle.
        log: The trade log writer.
    """

    def __init__(self, backend: SettlementBackend, log: TradeLogWriter) -> None:
        self.backend = backend
        self.log = log
        self.trades = 0
        self.volume_micro = 0
        self.gas_used = 0
        self.transactions = 0

    def settle(self, step: int, orders: list[Order], trades: list[Trade]) -> SettlementOutcome:
        """Writes the round's trades and batch entry, syncs the log, then settles the batch."""
        if not trades:
            return SettlementOutcome(batch_id=step, trades=0)
        for trade in trades:
            self.log.append("trade", step, **trade_fields(trade))
        volume = sum(t.amount for t in trades)
        self.log.append("batch", step, batch_id=step, trades=len(trades), volume=volume)
        self.log.sync()
        outcome = self.backend.settle_batch(step, trades)
        self.trades += len(trades)
        self.volume_micro += volume
        self.gas_used += outcome.gas_used
        self.transactions += outcome.transactions
        return outcome
