"""A ledger session: the settler a model is given. It writes every round to the trade log ahead of
settling it (flushed to disk first), then settles the round's batches on the back end.

What the log records, in order:

- ``deposit``: each agent's escrow deposit when accounts open (agent id, address, amount);
- ``order``: every order placed in a round (the market's facts: owner, side, resource, quantity,
  limit price), so the round can be re-cleared under another mechanism;
- ``authorization``: in a signed log, the first time a buy order pays for a trade, its EIP-712
  expiry and the owner's signature (a log written with signing off has none: the order line and the
  deposits give everything else, the expiry following from the round the order was placed in);
- ``trade`` and ``batch``: what settles, batch by batch;
- ``close``: the totals and the final balances digest, so a log can be verified on its own.

Signatures and expiries are deterministic (RFC 6979 signing; expiry from the round, see
:mod:`ledger.signing`), and nothing chain-specific goes into the log: transaction hashes, blocks
and gas go to ``settlements.jsonl``, one line per batch. So the same run writes the same
``trades.jsonl`` on the memory back end and on eth-tester.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ledger.backends import MemoryBackend, SettlementBackend, balances_digest
from ledger.batch import MAX_BATCH_TRADES, SettlementBatch, batch_id, build_batch, sign_orders
from ledger.errors import LedgerError
from ledger.keys import AddressBook, agent_signing_key
from ledger.signing import DEFAULT_TTL_ROUNDS, SignedOrder
from ledger.tradelog import TradeLogWriter, line_template, trade_body
from market.orders import AgentId, Order, OrderId, Payment, Resource, SettlementOutcome, Side, Trade

__all__ = ["LedgerSession", "order_fields", "authorization_fields", "order_body", "authorization_body"]


def order_fields(order: Order) -> dict[str, Any]:
    """An order's facts as they go into the log."""
    return {
        "order_id": int(order.order_id),
        "owner": int(order.owner),
        # ``_value_`` is what ``.value`` returns, read without the property call that costs more,
        # on Python 3.11, than any other field of a line.
        "side": order.side._value_,
        "resource": order.resource._value_,
        "quantity": order.quantity,
        "limit_price": order.limit_price,
        "placed": order.step,
    }


def authorization_fields(order_id: OrderId, signed: SignedOrder, sign: bool) -> dict[str, Any]:
    """A signed buy order's authorization as it goes into the log."""
    return {
        "order_id": int(order_id),
        "address": signed.order.owner,
        "expiry": signed.order.expiry,
        "signature": "0x" + signed.signature.to_bytes().hex() if sign else None,
    }


_ORDER_BODY = line_template(
    "order",
    {"order_id": "%d", "owner": "%d", "side": '"%s"', "resource": '"%s"', "quantity": "%d", "limit_price": "%d", "placed": "%d"},
)
_AUTHORIZATION_BODY = line_template("authorization", {"order_id": "%d", "address": '"%s"', "expiry": "%d", "signature": "%s"})


def order_body(order: Order, prev: str, seq: int, step: int) -> bytes:
    """The body of ``order``'s line: :func:`order_fields` as :meth:`TradeLogWriter.extend_formatted` takes it."""
    return (
        _ORDER_BODY
        % (order.limit_price, order.order_id, order.owner, order.step, prev, order.quantity, order.resource._value_, seq, order.side._value_, step)
    ).encode()


def authorization_body(authorization: tuple[OrderId, SignedOrder, bool], prev: str, seq: int, step: int) -> bytes:
    """The body of the line of :func:`authorization_fields` ``(*authorization)``, for
    :meth:`TradeLogWriter.extend_formatted`."""
    order_id, signed, sign = authorization
    message = signed.order
    signature = f'"0x{signed.signature.to_bytes().hex()}"' if sign else "null"
    return (_AUTHORIZATION_BODY % (message.owner, message.expiry, order_id, prev, seq, signature, step)).encode()


class LedgerSession:
    """Signs, logs, then settles each round's trades.

    Args:
        backend: Where batches settle.
        log: The trade log writer.
        sign: Sign each buy order with its owner's key (default). ``False`` settles unsigned
            orders, which only a memory back end that skips signature checks accepts.
        ttl_rounds: Rounds a signed order stays valid after the round it was placed in (replay
            assumes the default, from which it derives the expiries of an unsigned log).
        settlements: Where to append one JSON line per settled batch (transaction, block, gas);
            ``None`` keeps no such record.

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
        settlements: Path | None = None,
    ) -> None:
        if not sign and not (isinstance(backend, MemoryBackend) and not backend.verify_signatures):
            raise LedgerError(f"unsigned settlement needs the memory back end without signature checks, not {backend.name}")
        self.backend = backend
        self.log = log
        # Write-ahead protects settlements that outlive the process. The memory back end's do not:
        # a resumed run rebuilds them, and the log, from the model, so flushing to the OS suffices.
        log.durable = not isinstance(backend, MemoryBackend)
        self.sign = sign
        self.ttl_rounds = ttl_rounds
        self.trades = 0
        self.volume_micro = 0
        self.gas_used = 0
        self.transactions = 0
        self.last_batch: SettlementBatch | None = None
        self._address_of = AddressBook(backend.address).__getitem__
        self._orders: dict[OrderId, Order] = {}
        self._authorized: set[OrderId] = set()
        self._placed: deque[tuple[int, OrderId]] = deque()  # (round placed, order id), oldest first
        self._settlements: IO[str] | None = open(settlements, "a", encoding="utf-8") if settlements else None  # noqa: SIM115

    def open_accounts(self, deposits: Mapping[AgentId, int], **kwargs: Any) -> None:
        """Logs each agent's deposit, then opens the accounts on the back end."""
        for agent, amount in deposits.items():
            self.log.append("deposit", 0, agent=int(agent), address=self._address_of(agent), amount=amount)
        self.log.sync()
        self.backend.open_accounts(deposits, **kwargs)

    def _remember(self, step: int, orders: list[Order]) -> None:
        """Keeps orders until they expire, so a trade may fill an order placed in an earlier round."""
        horizon = step - self.ttl_rounds
        placed = self._placed
        while placed and placed[0][0] < horizon:  # oldest first: no pass over every live order
            _, order_id = placed.popleft()
            self._orders.pop(order_id, None)
            self._authorized.discard(order_id)
        for o in orders:
            self._orders[o.order_id] = o
            placed.append((o.step, o.order_id))

    def signed_orders(self, step: int, orders: list[Order], trades: list[Trade]) -> dict[OrderId, SignedOrder]:
        """The round's signed buy orders (unsigned placeholders when ``sign`` is off).

        Raises:
            LedgerError: a trade fills an unknown buy order or one of another agent.
        """
        self._remember(step, orders)
        seed = self.backend.seed
        key_of = (lambda agent: agent_signing_key(seed, int(agent))) if self.sign else None
        return sign_orders(trades, self._orders, self.backend.domain, self._address_of, key_of, self.ttl_rounds)

    def settle(self, step: int, orders: list[Order], trades: list[Trade], *, payments: Sequence[Payment] = ()) -> SettlementOutcome:
        """Signs the round's buy orders, logs the round and syncs the log, then settles its batches.

        ``payments`` are transfers that buy nothing (bargaining settlements, fees).

        A round with more trades than one batch may carry (``MAX_BATCH_TRADES``) settles as several
        batches, ``batch_id(step, 0)``, ``batch_id(step, 1)``, ... in trade order; all of them are in
        the log, flushed to disk, before the first is settled.

        Raises:
            SettlementRejected: the back end refused a batch.
            LedgerError: a trade fills an unknown buy order.
        """
        if payments:
            orders, trades = _payments_as_trades_stub(step, orders, trades, payments)
        signed = self.signed_orders(step, orders, trades)
        log = self.log
        log.extend_formatted(step, orders, order_body)
        if not trades:
            return SettlementOutcome(batch_id=batch_id(step), trades=0)
        chunks = [trades[start : start + MAX_BATCH_TRADES] for start in range(0, len(trades), MAX_BATCH_TRADES)]
        batches = [build_batch(batch_id(step, k), chunk, signed, self._address_of) for k, chunk in enumerate(chunks)]
        volumes = [batch.volume for batch in batches]
        for batch, chunk, volume in zip(batches, chunks, volumes, strict=True):
            if self.sign:
                log.extend_formatted(step, self._authorizations(chunk, signed), authorization_body)
            log.extend_formatted(step, chunk, trade_body)
            log.append("batch", step, batch_id=batch.batch_id, trades=len(batch.trades), volume=volume)
        log.sync()
        gas = transactions = 0
        for batch in batches:
            outcome = self.backend.settle_batch(batch)
            self._record(step, outcome)
            self.last_batch = batch
            gas += outcome.gas_used
            transactions += outcome.transactions
        self.trades += len(trades)
        self.volume_micro += sum(volumes)
        self.gas_used += gas
        self.transactions += transactions
        return SettlementOutcome(batch_id=batches[0].batch_id, trades=len(trades), transactions=transactions, gas_used=gas)

    def _authorizations(self, trades: list[Trade], signed: Mapping[OrderId, SignedOrder]) -> Iterator[tuple[OrderId, SignedOrder, bool]]:
        """The authorizations (order id, signed order, signed or not) of the buy orders ``trades``
        fill for the first time (each is marked authorized as it is produced, so its line is never
        written twice)."""
        authorized, sign = self._authorized, self.sign
        for trade in trades:
            if trade.buy_order not in authorized:
                authorized.add(trade.buy_order)
                yield trade.buy_order, signed[trade.buy_order], sign

    def _record(self, step: int, outcome: SettlementOutcome) -> None:
        if self._settlements is None:
            return
        record = {
            "batch_id": outcome.batch_id,
            "step": step,
            "backend": self.backend.name,
            "trades": outcome.trades,
            "tx_hash": outcome.tx_hash or None,
            "block": outcome.block or None,
            "gas_used": outcome.gas_used,
        }
        self._settlements.write(json.dumps(record, sort_keys=True) + "\n")
        self._settlements.flush()

    def close(self, steps: int) -> dict[str, Any]:
        """Writes the closing entry (totals and the balances digest) and returns it."""
        digest = balances_digest(self.backend.balances_by_address())
        entry = self.log.append(
            "close",
            steps,
            trades=self.trades,
            volume=self.volume_micro,
            total_supply=self.backend.total_supply(),
            balances_digest=digest,
        )
        self.log.sync()
        if self._settlements is not None:
            self._settlements.close()
            self._settlements = None
        return entry


# THROWAWAY STUB (branch `bargain`, issue 16): the contracts branch (issue 14) adds the real payment
# entry to ``settle``; until then each payment is booked the old way, as one 1-unit energy trade
# between a buy order of the payer and a sell order of the payee, both limited at the amount. The
# lead replaces this function and its call in ``settle`` with the real entry at merge time.
_STUB_ORDER_BASE = 1 << 60  # order ids far above any model's, so the stub's never collide with them


def _payments_as_trades_stub(
    step: int, orders: list[Order], trades: list[Trade], payments: Sequence[Payment]
) -> tuple[list[Order], list[Trade]]:
    orders, trades = list(orders), list(trades)
    for p in payments:
        buy = Order(OrderId(_STUB_ORDER_BASE + 2 * p.payment_id), p.payer, Side.BUY, Resource.ENERGY, 1, p.amount, step)
        sell = Order(OrderId(_STUB_ORDER_BASE + 2 * p.payment_id + 1), p.payee, Side.SELL, Resource.ENERGY, 1, p.amount, step)
        orders += [buy, sell]
        trades.append(Trade(step, p.payer, p.payee, Resource.ENERGY, p.amount, 1, buy.order_id, sell.order_id))
    return orders, trades
