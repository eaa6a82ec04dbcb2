"""Replaying a trade log: re-executing every settlement on a fresh back end and checking it all.

:func:`replay` streams the log (:func:`ledger.tradelog.read_log` checks the hash chain line by
line), opens the logged deposits on a fresh back end, rebuilds each batch from the logged orders,
authorizations (signed logs only) and trades, checks every signature against the agent's address, settles the batch,
and at the closing entry compares the resulting balances with the logged digest. It stops at the
first line that does not check out and names it. Memory stays flat: only the orders that can still
be filled (within their time to live) and the balances are held.

The economist's what-if (re-clearing the logged orders under another rule) lives in
:mod:`experiments.counterfactual`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.backends import MemoryBackend, SettlementBackend, balances_digest, open_backend
from ledger.batch import UNSIGNED, Fill, assemble_batch
from ledger.errors import LedgerError, SettlementRejected
from ledger.keys import AddressBook
from ledger.signing import DEFAULT_TTL_ROUNDS, RESOURCE_CODES, SettlementOrder, Signature, SignedOrder, order_expiry, recover_signer
from ledger.tradelog import LogTampered, read_log

__all__ = ["ReplayRefused", "ReplayResult", "replay"]


class ReplayRefused(LedgerError):
    """The log cannot be replayed on the back end asked for (e.g. an unsigned log on a chain)."""

    exit_code = 2


@dataclass
class ReplayResult:
    """What a replay found.

    Attributes:
        entries: Log lines read (header included).
        trades: Trades settled.
        batches: Batches settled.
        log_head: Hash of the last line read.
        balances_digest: SHA-256 over the replayed final balances (see :func:`ledger.backends.balances_digest`).
        expected_digest: The digest the log's closing entry holds (``None`` when the replay stopped before it).
        verified: True when the chain, every signature, every batch and the final balances all checked out.
        backend: The back end used.
    """

    entries: int = 0
    trades: int = 0
    batches: int = 0
    log_head: str = ""
    balances_digest: str = ""
    expected_digest: str | None = None
    verified: bool = False
    backend: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "trades": self.trades,
            "batches": self.batches,
            "log_head": self.log_head,
            "balances_digest": self.balances_digest,
            "expected_digest": self.expected_digest,
            "verified": self.verified,
            "backend": self.backend,
        }


@dataclass
class _Round:
    """Orders that may still be filled, their authorizations, and the fills of the batch being read.

    Orders are forgotten once they can no longer be filled (placed more than their time to live
    ago), oldest first, so memory does not grow with the log.
    """

    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    signed: dict[int, SignedOrder] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    _placed: deque[tuple[int, int]] = field(default_factory=deque)

    def add(self, order: dict[str, Any]) -> None:
        self.orders[order["order_id"]] = order
        self._placed.append((order["placed"], order["order_id"]))

    def forget_before(self, step: int) -> None:
        placed = self._placed
        while placed and placed[0][0] < step:
            _, oid = placed.popleft()
            self.orders.pop(oid, None)
            self.signed.pop(oid, None)


def replay(
    log: Path,
    chain: str = "memory",
    *,
    until: int | None = None,
    on_entry: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Re-executes every settlement of ``log`` on a fresh back end and checks everything.

    Args:
        log: The trade log.
        chain: ``memory``, ``eth-tester`` or a node URL.
        until: Stop after the line whose ``seq`` is this (batches complete by then are settled).
        on_entry: Called with each line's ``seq`` (for a progress display).

    Returns:
        The result; ``verified`` only when the closing entry was reached and matched.

    Raises:
        LogTampered: at the first line that does not check out (hash chain, address, signature,
            batch totals, a settlement the back end refuses, or the final balances).
        ReplayRefused: an unsigned log on a chain back end.
        LogUnreadable, ChainUnavailable: as the message says.
    """
    entries = read_log(log)
    header = next(entries)
    signed = bool(header.get("signed", True))
    if not signed and chain != "memory":
        raise ReplayRefused(f"{log} was written with signing off (--no-sign); only --chain memory can replay it")
    # signatures are checked here, line by line, so the memory back end need not check them again
    seed = int(header["seed"])
    backend = MemoryBackend(seed, verify_signatures=False, forget_expired=True) if chain == "memory" else open_backend(chain, seed)
    result = ReplayResult(entries=1, log_head=header["hash"], backend=backend.name)
    try:
        _replay_entries(log, entries, backend, signed, until, on_entry, result)
    finally:
        backend.close()
    return result


def _replay_entries(
    log: Path,
    entries: Iterator[dict[str, Any]],
    backend: SettlementBackend,
    signed: bool,
    until: int | None,
    on_entry: Callable[[int], None] | None,
    result: ReplayResult,
) -> None:
    deposits: dict[int, int] | None = {}
    state = _Round()
    ttl = DEFAULT_TTL_ROUNDS
    current_step = -1
    address = AddressBook(backend.address)
    for entry in entries:
        seq, kind, line = entry["seq"], entry["kind"], entry["seq"] + 1
        result.entries += 1
        result.log_head = entry["hash"]
        if on_entry:
            on_entry(seq)
        if kind == "deposit":
            if deposits is None:
                raise LogTampered(log, line, "kind", "a deposit after trading began")
            if entry["address"] != address[entry["agent"]]:
                raise LogTampered(log, line, "address", f"is not agent {entry['agent']}'s address")
            deposits[entry["agent"]] = entry["amount"]
        else:
            if deposits is not None:
                backend.open_accounts(deposits)
                deposits = None
            if entry["step"] != current_step:
                current_step = entry["step"]
                state.forget_before(current_step - ttl)
            if kind == "order":
                if entry["resource"] not in RESOURCE_CODES:  # Resource is a StrEnum: its names find its members
                    raise LogTampered(log, line, "resource", f"{entry['resource']!r} is no resource of the market")
                state.add(entry)
            elif kind == "authorization":
                state.signed[entry["order_id"]] = _authorization(log, line, entry, state, backend, signed)
            elif kind == "trade":
                so = state.signed.get(entry["buy_order"])
                if so is None:
                    if signed:
                        raise LogTampered(log, line, "buy_order", f"order {entry['buy_order']} has no authorization before it")
                    so = state.signed[entry["buy_order"]] = _unsigned(log, line, entry, state, address, ttl)
                if so.order.owner != address[entry["buyer"]]:
                    raise LogTampered(log, line, "buyer", "is not the owner of the buy order")
                state.fills.append(Fill(so, address[entry["seller"]], entry["price"], entry["quantity"]))
            elif kind == "batch":
                _settle(log, line, entry, state, backend, result)
            elif kind == "close":
                result.balances_digest = balances_digest(backend.balances_by_address())
                result.expected_digest = entry["balances_digest"]
                if result.balances_digest != result.expected_digest:
                    raise LogTampered(log, line, "balances_digest", "the replayed balances differ from the logged ones")
                if entry["trades"] != result.trades:
                    raise LogTampered(log, line, "trades", f"the log settled {result.trades} trades, not {entry['trades']}")
                result.verified = True
        if until is not None and seq >= until:
            break
    if deposits is not None and deposits:
        backend.open_accounts(deposits)
    if not result.balances_digest:
        result.balances_digest = balances_digest(backend.balances_by_address())


def _settlement_order(order: dict[str, Any], owner: str, expiry: int) -> SettlementOrder:
    """The EIP-712 order of the logged buy order ``order`` (its resource checked when it was read)."""
    # positional, in field order (owner, order id, resource, limit price, quantity, expiry)
    return SettlementOrder(owner, order["order_id"], RESOURCE_CODES[order["resource"]], order["limit_price"], order["quantity"], expiry)


def _unsigned(log: Path, line: int, trade: dict[str, Any], state: _Round, address: AddressBook, ttl: int) -> SignedOrder:
    """The unsigned settlement order a trade of an unsigned log fills, made from its order line (a
    format-2 unsigned log has no authorization lines: the expiry follows from the round placed)."""
    order = state.orders.get(trade["buy_order"])
    if order is None or order["side"] != "buy":
        raise LogTampered(log, line, "buy_order", f"fills order {trade['buy_order']}, which is no buy order of the log")
    return SignedOrder(_settlement_order(order, address[order["owner"]], order_expiry(order["placed"], ttl)), UNSIGNED)


def _authorization(
    log: Path, line: int, entry: dict[str, Any], state: _Round, backend: SettlementBackend, signed: bool
) -> SignedOrder:
    order = state.orders.get(entry["order_id"])
    if order is None or order["side"] != "buy":
        raise LogTampered(log, line, "order_id", f"authorizes order {entry['order_id']}, which is no buy order of the log")
    if entry["address"] != backend.address(order["owner"]):
        raise LogTampered(log, line, "address", f"is not agent {order['owner']}'s address")
    message = _settlement_order(order, entry["address"], entry["expiry"])
    if not signed:  # a format-1 unsigned log: authorizations with a null signature
        return SignedOrder(message, UNSIGNED)
    try:
        signature = Signature.from_bytes(bytes.fromhex(str(entry["signature"]).removeprefix("0x")))
    except ValueError:
        raise LogTampered(log, line, "signature", "is not a 65-byte hex signature") from None
    if not signature.is_low_s or recover_signer(backend.domain, message, signature) != entry["address"]:
        raise LogTampered(log, line, "signature", f"was not made by {entry['address']} over this order")
    return SignedOrder(message, signature)


def _settle(log: Path, line: int, entry: dict[str, Any], state: _Round, backend: SettlementBackend, result: ReplayResult) -> None:
    batch = assemble_batch(entry["batch_id"], state.fills)
    state.fills = []
    if len(batch.trades) != entry["trades"] or batch.volume != entry["volume"]:
        raise LogTampered(log, line, "volume", f"the batch's trades add up to {len(batch.trades)} trades and {batch.volume}")
    try:
        backend.settle_batch(batch)
    except SettlementRejected as exc:
        raise LogTampered(log, line, "batch_id", f"the back end refused the batch: {exc.reason}") from None
    result.batches += 1
    result.trades += len(batch.trades)

