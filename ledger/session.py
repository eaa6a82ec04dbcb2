"""A ledger session: the settler a model is given. It writes every round to the trade log ahead of
settling it (flushed to disk first), then settles the round's batches on the back end.

What the log records, in order:

- ``deposit``: each agent's escrow deposit when accounts open (agent id, address, amount);
- ``order``: every order placed in a round (the market's facts: owner, side, resource, quantity,
  limit price), so the round can be re-cleared under another mechanism;
- ``authorization``: in a signed log, the first time a buy or a sell order takes part in a trade,
  its EIP-712 expiry and the owner's signature: both sides of every trade sign (a log written with
  signing off has none: the order line and the deposits give everything else, the expiry following
  from the round the order was placed in);
- ``trade``, ``payment`` and ``batch``: what settles, batch by batch (a payment carries its payer's
  signature over the EIP-712 payment, or null when signing is off);
- ``close``: the totals and the final balances digest, so a log can be verified on its own.

Signatures and expiries are deterministic (RFC 6979 signing; expiry from the round, see
:mod:`ledger.signing`), and nothing chain-specific goes into the log: transaction hashes, blocks
and gas go to ``settlements.jsonl``, one line per batch. So the same run writes the same
``trades.jsonl`` on the memory back end and on eth-tester.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from ledger.backends import MemoryBackend, SettlementBackend, balances_digest
from ledger.batch import (
    MAX_BATCH_PAYMENTS,
    MAX_BATCH_TRADES,
    SettlementBatch,
    batch_id,
    build_batch,
    sign_orders,
    sign_payments,
)
from ledger.errors import LedgerError
from ledger.guarantee_log import ROLE_CAPACITY, GuaranteeLog, deposit_fields
from ledger.keys import AddressBook, agent_signing_key, lab_secret
from ledger.signing import DEFAULT_TTL_ROUNDS, SignedOrder, SignedPayment
from ledger.tradelog import TradeLogWriter, trade_fields
from market.guarantees import GuaranteeRound, GuaranteeSetup, Role
from market.orders import AgentId, Order, OrderId, Payment, SettlementOutcome, Trade

__all__ = ["LedgerSession", "order_fields", "authorization_fields", "payment_fields"]


def order_fields(order: Order) -> dict[str, Any]:
    """An order's facts as they go into the log."""
    return {
        "order_id": int(order.order_id),
        "owner": int(order.owner),
        "side": order.side.value,
        "resource": order.resource.value,
        "quantity": order.quantity,
        "limit_price": order.limit_price,
        "placed": order.step,
    }


def payment_fields(payment: Payment, signed: SignedPayment, sign: bool) -> dict[str, Any]:
    """A payment as it goes into the log: the market's facts, its EIP-712 expiry and the payer's signature."""
    return {
        "payment_id": payment.payment_id,
        "payer": int(payment.payer),
        "payee": int(payment.payee),
        "amount": payment.amount,
        "memo": payment.memo,
        "expiry": signed.payment.expiry,
        "signature": "0x" + signed.signature.to_bytes().hex() if sign else None,
    }


def authorization_fields(order_id: OrderId, signed: SignedOrder, sign: bool) -> dict[str, Any]:
    """A signed order's (bid's or ask's) authorization as it goes into the log."""
    return {
        "order_id": int(order_id),
        "address": signed.order.owner,
        "expiry": signed.order.expiry,
        "signature": "0x" + signed.signature.to_bytes().hex() if sign else None,
    }


class LedgerSession:
    """Signs, logs, then settles each round's trades and payments.

    Args:
        backend: Where batches settle.
        log: The trade log writer.
        sign: Sign each order (both sides) with its owner's key and each payment with its payer's (default). ``False`` settles unsigned
            orders, which only a memory back end that skips signature checks accepts.
        ttl_rounds: Rounds a signed order stays valid after the round it was placed in (replay
            assumes the default, from which it derives the expiries of an unsigned log).
        settlements: Where to append one JSON line per settled batch (transaction, block, gas);
            ``None`` keeps no such record.
        terms: Where to append each guarantee contract's confidential terms and salt (the side
            file beside the log; only a hash goes on chain and into the log); ``None`` keeps none.

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
        terms: Path | None = None,
    ) -> None:
        if not sign and not (isinstance(backend, MemoryBackend) and not backend.verify_signatures):
            raise LedgerError(f"unsigned settlement needs the memory back end without signature checks, not {backend.name}")
        self.backend = backend
        self.log = log
        # The log is append-only and fsynced each round on every back end (the project's rule): on
        # a chain it is the write-ahead record of settlements that outlive the process; on memory
        # it is what the user keeps. ``TradeLogWriter.durable`` is the writer's, default on.
        self.sign = sign
        self._secret = lab_secret()
        self.ttl_rounds = ttl_rounds
        self.trades = 0
        self.payments = 0
        self.paid_micro = 0
        self.volume_micro = 0
        self.gas_used = 0
        self.transactions = 0
        self.last_batch: SettlementBatch | None = None
        self._address_of = AddressBook(backend.address).__getitem__
        self._orders: dict[OrderId, Order] = {}
        self._authorized: set[OrderId] = set()
        self._placed: deque[tuple[int, OrderId]] = deque()  # (round placed, order id), oldest first
        self._settlements: IO[str] | None = open(settlements, "a", encoding="utf-8") if settlements else None  # noqa: SIM115
        self._terms_path = terms
        #: The guarantee contracts' and certificates' log keeper (``None`` unless opened with them).
        self.guarantees: GuaranteeLog | None = None

    def guarantee_round(self, step: int, round_: GuaranteeRound) -> int:
        """Logs one round's guarantee operations (write-ahead, synced), then runs them on the back
        end; returns the transactions sent.

        Raises:
            SettlementRejected: the back end refused an operation.
            LedgerError: guarantees were not opened.
        """
        if self.guarantees is None:
            raise LedgerError("guarantee records but the accounts were opened without guarantees")
        plan, lines, side = self.guarantees.plan(step, round_)
        for kind, fields in lines:
            self.log.append(kind, step, **fields)
        self.log.sync()
        if side and self._terms_path is not None:
            with open(self._terms_path, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(row, sort_keys=True) + "\n" for row in side)
        return self.backend.apply_guarantees(plan) if plan else 0

    def open_accounts(
        self,
        deposits: Mapping[AgentId, int],
        roles: Mapping[AgentId, Role] | None = None,
        setup: GuaranteeSetup | None = None,
    ) -> None:
        """Logs each agent's deposit (with its role where it is not a plain user, and with what
        guarantees need: its token wallet, its certified source, the oracle), then opens the
        accounts on the back end, and the guarantee contracts with ``setup``."""
        roles = roles or {}
        for agent, amount in deposits.items():
            self.log.append("deposit", 0, **deposit_fields(agent, self._address_of(agent), amount, roles.get(agent, Role.USER), setup))
        self.log.sync()
        capacities = {agent: ROLE_CAPACITY[role] for agent, role in roles.items()}
        self.backend.open_accounts(deposits, capacities)
        if setup is not None:
            self.backend.open_guarantees(setup.oracle, setup.wallets, setup.generators, {a: ROLE_CAPACITY[roles.get(a, Role.USER)] for a in deposits})
            self.guarantees = GuaranteeLog(self, setup, {a: ROLE_CAPACITY[roles.get(a, Role.USER)] for a in deposits})

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

    def _key_of(self) -> Any:
        seed, secret = self.backend.seed, self._secret
        return (lambda agent: agent_signing_key(seed, int(agent), secret)) if self.sign else None

    def signed_orders(self, step: int, orders: list[Order], trades: list[Trade]) -> dict[OrderId, SignedOrder]:
        """The round's signed buy and sell orders (unsigned placeholders when ``sign`` is off).

        Raises:
            LedgerError: a trade fills an unknown order or one of another agent.
        """
        self._remember(step, orders)
        return sign_orders(trades, self._orders, self.backend.domain, self._address_of, self._key_of(), self.ttl_rounds)

    def settle(
        self,
        step: int,
        orders: list[Order],
        trades: list[Trade],
        payments: Sequence[Payment] = (),
        guarantees: GuaranteeRound | None = None,
    ) -> SettlementOutcome:
        """Signs the round's orders (both sides) and payments, logs the round and syncs the log,
        then settles its batches; then the round's guarantee contracts and certificates
        (:meth:`guarantee_round`), when the accounts were opened with them.

        A round with more trades (payments) than one batch may carry (``MAX_BATCH_TRADES``,
        ``MAX_BATCH_PAYMENTS``) settles as several batches, ``batch_id(step, 0)``,
        ``batch_id(step, 1)``, ... in order, batch ``k`` carrying the ``k``-th chunk of trades and
        of payments; all of them are in the log, flushed to disk, before the first is settled.

        Raises:
            SettlementRejected: the back end refused a batch.
            LedgerError: a trade fills an unknown order.
        """
        self.backend.begin_round(step)
        outcome = self._settle_batches(step, orders, trades, payments)
        if self.guarantees is not None:
            sent = self.guarantee_round(step, guarantees or GuaranteeRound())
            outcome = replace(outcome, transactions=outcome.transactions + sent)
        return outcome

    def _settle_batches(self, step: int, orders: list[Order], trades: list[Trade], payments: Sequence[Payment]) -> SettlementOutcome:
        signed = self.signed_orders(step, orders, trades)
        signed_payments = sign_payments(payments, self.backend.domain, self._address_of, self._key_of(), self.ttl_rounds)
        log = self.log
        log.extend("order", step, map(order_fields, orders))
        if not trades and not payments:
            return SettlementOutcome(batch_id=batch_id(step), trades=0)
        chunks = [trades[start : start + MAX_BATCH_TRADES] for start in range(0, len(trades), MAX_BATCH_TRADES)]
        pay_chunks = [list(range(start, min(start + MAX_BATCH_PAYMENTS, len(payments)))) for start in range(0, len(payments), MAX_BATCH_PAYMENTS)]
        count = max(len(chunks), len(pay_chunks))
        chunks += [[]] * (count - len(chunks))
        pay_chunks += [[]] * (count - len(pay_chunks))
        batches = [
            build_batch(batch_id(step, k), chunk, signed, self._address_of, [signed_payments[i] for i in pay])
            for k, (chunk, pay) in enumerate(zip(chunks, pay_chunks, strict=True))
        ]
        volumes = [batch.volume for batch in batches]
        for batch, chunk, pay, volume in zip(batches, chunks, pay_chunks, volumes, strict=True):
            if self.sign:
                log.extend("authorization", step, self._authorizations(chunk, signed))
            log.extend("trade", step, map(trade_fields, chunk))
            for i in pay:
                log.append("payment", step, **payment_fields(payments[i], signed_payments[i], self.sign))
            log.append(
                "batch", step, batch_id=batch.batch_id, trades=len(batch.trades), volume=volume, payments=len(pay), paid=batch.paid
            )
        log.sync()
        gas = transactions = 0
        for batch in batches:
            outcome = self.backend.settle_batch(batch)
            self._record(step, outcome)
            self.last_batch = batch
            gas += outcome.gas_used
            transactions += outcome.transactions
        self.trades += len(trades)
        self.payments += len(payments)
        self.paid_micro += sum(p.amount for p in payments)
        self.volume_micro += sum(volumes)
        self.gas_used += gas
        self.transactions += transactions
        return SettlementOutcome(batch_id=batches[0].batch_id, trades=len(trades), transactions=transactions, gas_used=gas)

    def _authorizations(self, trades: list[Trade], signed: Mapping[OrderId, SignedOrder]) -> Iterator[dict[str, Any]]:
        """The authorization lines (:func:`authorization_fields`) of the orders ``trades`` fill
        for the first time, each trade's bid before its ask (each is marked authorized as it is
        produced, so its line is never written twice)."""
        authorized, sign = self._authorized, self.sign
        for trade in trades:
            for order_id in (trade.buy_order, trade.sell_order):
                if order_id not in authorized:
                    authorized.add(order_id)
                    yield authorization_fields(order_id, signed[order_id], sign)

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
        if self.log.durable:  # as the log: a settlement on a node outlives the process
            os.fsync(self._settlements.fileno())

    def close(self, steps: int) -> dict[str, Any]:
        """Writes the closing entry (totals and the balances digest) and returns it."""
        digest = balances_digest(self.backend.balances_by_address())
        entry = self.log.append(
            "close",
            steps,
            trades=self.trades,
            volume=self.volume_micro,
            payments=self.payments,
            paid=self.paid_micro,
            total_supply=self.backend.total_supply(),
            balances_digest=digest,
        )
        self.log.sync()
        if self._settlements is not None:
            self._settlements.close()
            self._settlements = None
        return entry
