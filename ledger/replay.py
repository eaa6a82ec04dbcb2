"""Replaying a trade log: re-executing every settlement on a fresh back end and checking it all.

:func:`replay` streams the log (:func:`ledger.tradelog.read_log` checks the hash chain line by
line), opens the logged deposits on a fresh back end, rebuilds each batch from the logged orders,
authorizations (signed logs only), trades and payments, checks every signature against the agent's address, settles the batch,
and at the closing entry compares the resulting balances with the logged digest. It stops at the
first line that does not check out and names it. Memory stays flat: only the orders that can still
be filled (within their time to live) and the balances are held.

The economist's what-if (re-clearing the logged orders under another rule) lives in
:mod:`experiments.counterfactual`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from eth_typing import ChecksumAddress
from eth_utils import is_checksum_address

from ledger.backends import (
    ChainBackend,
    MemoryBackend,
    SettlementBackend,
    balances_digest,
    open_backend,
)
from ledger.batch import UNSIGNED, Fill, SettlementBatch, assemble_batch, batch_id
from ledger.chain import EMBEDDED, REVM, connect
from ledger.contracts import Settlement
from ledger.errors import LedgerError, SettlementRejected
from ledger.guarantee_log import ROLE_CAPACITY
from ledger.guarantee_replay import GuaranteeReplay, deposit_extras
from ledger.keys import AddressBook
from ledger.merkle import batch_root, memo_hash
from ledger.signing import (
    DEFAULT_TTL_ROUNDS,
    RESOURCE_CODES,
    SIDE_CODES,
    OrderDomain,
    SettlementOrder,
    SettlementPayment,
    Signature,
    SignedOrder,
    SignedPayment,
    order_expiry,
    recover_payment_signer,
    recover_signer,
)
from ledger.suite import deploy_suite_at
from ledger.tradelog import SIGNED_FORMAT, LogTampered, LogTruncated, verified_log
from market.carbon import EnergySource
from market.guarantees import Role
from market.orders import AgentId

#: The lines of guarantee contracts and certificates (:mod:`ledger.guarantee_log`).
GUARANTEE_KINDS = frozenset({"agreement", "delivery", "breach", "claim", "dispute", "certificate", "retire"})

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
    operator: str | None = None
    authenticated: bool = False

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
            "operator": self.operator,
            "authenticated": self.authenticated,
        }


def _int(log: Path, line: int, entry: dict[str, Any], name: str, low: int = 0) -> int:
    """``entry[name]``, which must be an integer of at least ``low``."""
    value = entry.get(name)
    if type(value) is not int or value < low:
        raise LogTampered(log, line, name, f"{value!r} is not an integer of at least {low}")
    return value


def _ints(log: Path, line: int, entry: dict[str, Any], names: tuple[str, ...]) -> list[int]:
    """``entry``'s fields ``names``, each a non-negative integer (one pass; the first that is not
    is named, as :func:`_int` names it)."""
    values = [entry.get(name) for name in names]
    for name, value in zip(names, values, strict=True):
        if type(value) is not int or value < 0:
            _int(log, line, entry, name)
    return values  # type: ignore[return-value]


_ORDER_INTS = ("order_id", "owner", "quantity", "limit_price")
_TRADE_INTS = ("buyer", "seller", "price", "quantity")
_PAYMENT_INTS = ("payment_id", "payer", "payee", "amount", "expiry")


@dataclass
class _Order:
    """A logged order that may still be filled, the line it was placed on, and what is left of it."""

    entry: dict[str, Any]
    line: int
    remaining: int
    signed: SignedOrder | None = None


@dataclass
class _Book:
    """Orders that may still be filled, and the fills (with their lines) of the batch being read.

    Orders are forgotten once they can no longer be filled (placed more than their time to live
    ago), oldest first, so memory does not grow with the log.
    """

    orders: dict[int, _Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    payments: list[SignedPayment] = field(default_factory=list)
    fill_lines: list[int] = field(default_factory=list)
    _placed: deque[tuple[int, int]] = field(default_factory=deque)

    def add(self, order: _Order) -> None:
        self.orders[order.entry["order_id"]] = order
        self._placed.append((order.entry["placed"], order.entry["order_id"]))

    def forget_before(self, step: int) -> None:
        placed = self._placed
        while placed and placed[0][0] < step:
            _, oid = placed.popleft()
            self.orders.pop(oid, None)


class _Replayer:
    """Reads a log's entries in order, checking what each means, and settles its batches.

    What is checked beyond the hash chain (:func:`ledger.tradelog.verified_log` refuses unknown
    kinds and lines after the close): deposits come first (in a format-3 log a participant may
    join later, its deposit opening its account then), once per agent, at the agent's address;
    orders name a known resource and side, are placed in the round they are logged in, and no id
    is used twice; a trade fills a live buy order of its buyer and a live sell order of its seller,
    of its resource, at a price within both limits, for no more than either has left; each round's
    payments are signed by their payer; batches are numbered ``batch_id(step, 0), batch_id(step, 1),
    ...`` and hold exactly the trades and payments before them, every one lying in a batch; the
    close recomputes the trades, volume, payments, amount paid, total supply (the deposits' sum) and
    balances.
    """

    def __init__(self, log: Path, backend: SettlementBackend, signed: bool, result: ReplayResult, domain: OrderDomain | None = None) -> None:
        self.log = log
        self.backend = backend
        self.signed = signed
        self.result = result
        self.domain = domain or backend.domain
        self.sealed = domain is not None
        if self.sealed:
            # the participants are the deposit lines' addresses, which the operator signed: the
            # back end settles for them, whatever its own key derivation would give
            self.address: dict[int, ChecksumAddress] = {}
            backend.address = self._logged_address  # type: ignore[method-assign, assignment]
        else:
            self.address = AddressBook(backend.address)
        self.book = _Book()
        self.ttl = DEFAULT_TTL_ROUNDS
        self.deposits: dict[AgentId, int] | None = {}
        self.supply = 0
        self.volume = 0
        self.payments = 0
        self.paid = 0
        self.step = -1
        self.batches_this_round = 0
        #: Called with each batch line and the batch it settled (``--against``: the chain's root).
        self.on_batch: Callable[[int, SettlementBatch], None] | None = None
        # guarantee contracts and certificates: what the deposit lines say, then their own lines
        self.roles: dict[int, Role] = {}
        self.wallets: dict[int, int] = {}
        self.generators: dict[int, EnergySource] = {}
        self.oracle: int | None = None
        self.guarantees: GuaranteeReplay | None = None
        self._handlers = {
            "order": self._order,
            "authorization": self._authorization,
            "trade": self._trade,
            "payment": self._payment,
            "batch": self._batch,
            "close": self._close,
        }

    def _logged_address(self, agent: AgentId) -> ChecksumAddress:
        return self.address[int(agent)]

    def entry(self, line: int, entry: dict[str, Any]) -> None:
        kind = entry["kind"]
        if kind == "deposit":
            self._deposit(line, entry)
            return
        if self.deposits is not None:
            self._open()
            self.deposits = None
        step = entry.get("step")
        if type(step) is not int or step < 0:
            step = _int(self.log, line, entry, "step")  # raises, naming the field
        if step < self.step:
            raise LogTampered(self.log, line, "step", f"step {step} comes after step {self.step}: the rounds are out of order")
        if step != self.step:
            if self.book.fill_lines:
                self._unbatched()
            self._end_guarantee_round()
            self.step, self.batches_this_round = step, 0
            self.book.forget_before(step - self.ttl)
        if kind in GUARANTEE_KINDS:
            if self.guarantees is None:
                raise LogTampered(self.log, line, "kind", f"a {kind} line, but no deposit names the oracle of guarantee contracts")
            self.guarantees.handle(kind, line, entry, step)
            return
        self._handlers[kind](line, entry)

    def _open(self) -> None:
        """Opens the deposits' accounts in their roles, and the guarantee contracts when a deposit names the oracle."""
        deposits = self.deposits or {}
        capacities = {AgentId(agent): ROLE_CAPACITY[role] for agent, role in self.roles.items()}
        self.backend.open_accounts(deposits, capacities)
        if self.oracle is None:
            return
        everyone = {agent: ROLE_CAPACITY[self.roles.get(agent, Role.USER)] for agent in deposits}
        self.backend.open_guarantees(AgentId(self.oracle), self.wallets, self.generators, everyone)  # type: ignore[arg-type]
        roles = {agent: self.roles.get(agent, Role.USER) for agent in deposits}
        operator = self.backend.operator_address
        self.guarantees = GuaranteeReplay(self.log, self.backend.address, roles, self.wallets, self.generators, self.oracle, operator)

    def _end_guarantee_round(self) -> None:
        """Runs the round just read's guarantee operations on the back end."""
        if self.guarantees is None:
            return
        first = self.guarantees.first_line
        plan = self.guarantees.end_round()
        if plan:
            try:
                self.backend.apply_guarantees(plan)
            except SettlementRejected as exc:
                raise LogTampered(
                    self.log, first, "kind", f"the back end refused the guarantee operations of step {plan.step} from here on: {exc.reason}"
                ) from None

    def _deposit(self, line: int, entry: dict[str, Any]) -> None:
        # a participant who joins later (a classroom seat) deposits between rounds: in a format-3
        # log that line is covered by the operator's next signed root like any other
        late = self.deposits is None
        if late and not self.sealed:
            raise LogTampered(
                self.log, line, "kind", "a deposit after trading began (only an operator-signed, format-3 log seats a participant later)"
            )
        agent = AgentId(_int(self.log, line, entry, "agent"))
        amount = _int(self.log, line, entry, "amount")
        if agent in (self.address if self.sealed else self.deposits):  # type: ignore[operator]
            raise LogTampered(self.log, line, "agent", f"agent {agent} deposits twice")
        if self.sealed:
            address = entry.get("address")
            if not isinstance(address, str) or not is_checksum_address(address) or address in self.address.values():
                raise LogTampered(self.log, line, "address", f"{address!r} is no checksummed address of its own")
            self.address[agent] = cast(ChecksumAddress, address)  # checked just above
        elif entry.get("address") != self.address[agent]:
            raise LogTampered(self.log, line, "address", f"is not agent {agent}'s address")
        self.supply += amount
        role, wallet, source, oracle = deposit_extras(self.log, line, entry)
        if self.deposits is None:  # a late seat: its account opens now (guarantee contracts opened with the first round)
            if wallet or source is not None or oracle:
                raise LogTampered(self.log, line, "wallet", "a participant who joins later takes no part in guarantee contracts")
            self.backend.open_accounts({agent: amount}, {agent: ROLE_CAPACITY[role]} if role is not Role.USER else None)
            return
        self.deposits[agent] = amount
        if role is not Role.USER:
            self.roles[agent] = role
        if wallet:
            self.wallets[agent] = wallet
            self.supply += wallet
        if source is not None:
            self.generators[agent] = source
        if oracle:
            if self.oracle is not None:
                raise LogTampered(self.log, line, "oracle", f"agent {self.oracle} is the oracle already")
            self.oracle = agent

    def _order(self, line: int, entry: dict[str, Any]) -> None:
        oid = _ints(self.log, line, entry, _ORDER_INTS)[0]
        if entry.get("resource") not in RESOURCE_CODES:  # Resource is a StrEnum: its names find its members
            raise LogTampered(self.log, line, "resource", f"{entry.get('resource')!r} is no resource of the market")
        if entry.get("side") not in ("buy", "sell"):
            raise LogTampered(self.log, line, "side", f"{entry.get('side')!r} is neither buy nor sell")
        if entry.get("placed") != self.step:
            raise LogTampered(self.log, line, "placed", f"an order logged in step {self.step} says it was placed in step {entry.get('placed')!r}")
        if oid in self.book.orders:
            raise LogTampered(self.log, line, "order_id", f"order {oid} was already placed on line {self.book.orders[oid].line}")
        self.book.add(_Order(entry, line, entry["quantity"]))

    def _authorization(self, line: int, entry: dict[str, Any]) -> None:
        oid = entry.get("order_id")
        order = self.book.orders.get(oid) if type(oid) is int else None
        if order is None:
            raise LogTampered(self.log, line, "order_id", f"authorizes order {oid!r}, which is no live order of the log")
        if order.signed is not None:
            raise LogTampered(self.log, line, "order_id", f"order {oid} is authorized twice")
        order.signed = _authorization(self.log, line, entry, order.entry, self.address, self.domain, self.signed)

    def _trade(self, line: int, entry: dict[str, Any]) -> None:
        log = self.log
        buyer, seller, price, quantity = _ints(log, line, entry, _TRADE_INTS)
        if quantity < 1:
            _int(log, line, entry, "quantity", 1)
        buy, sell = self._filled(line, entry, "buy_order", "buy", buyer), self._filled(line, entry, "sell_order", "sell", seller)
        for order in (buy, sell):
            if entry.get("resource") != order.entry["resource"]:
                raise LogTampered(
                    log, line, "resource", f"{entry.get('resource')!r} is not the resource of order {order.entry['order_id']} (line {order.line})"
                )
            if quantity > order.remaining:
                raise LogTampered(
                    log,
                    line,
                    "quantity",
                    f"{quantity} is more than the {order.remaining} left of order {order.entry['order_id']} (line {order.line})",
                )
        if not sell.entry["limit_price"] <= price <= buy.entry["limit_price"]:
            raise LogTampered(
                log, line, "price", f"{price} lies outside the orders' limits (sell {sell.entry['limit_price']}, buy {buy.entry['limit_price']})"
            )
        bid, ask = self._signed(line, "buy_order", buy, buyer), self._signed(line, "sell_order", sell, seller)
        buy.remaining -= quantity
        sell.remaining -= quantity
        self.book.fills.append(Fill(bid, ask, price, quantity))
        self.book.fill_lines.append(line)

    def _signed(self, line: int, name: str, order: _Order, owner: int) -> SignedOrder:
        """The signed order a trade fills: its authorization (a signed log must have one before the
        trade) or, in an unsigned log, the order line made into an unsigned settlement order."""
        if order.signed is None:
            if self.signed:
                raise LogTampered(self.log, line, name, f"order {order.entry['order_id']} has no authorization before it")
            order.signed = _unsigned(order.entry, self.address[owner], self.ttl)
        return order.signed

    def _payment(self, line: int, entry: dict[str, Any]) -> None:
        payment_id, payer, payee, amount, expiry = _ints(self.log, line, entry, _PAYMENT_INTS)
        if amount < 1:
            _int(self.log, line, entry, "amount", 1)
        if payer == payee:
            raise LogTampered(self.log, line, "payee", "a payment to its own payer")
        for name, agent in (("payer", payer), ("payee", payee)):
            if self.sealed and agent not in self.address:
                raise LogTampered(self.log, line, name, f"agent {agent} made no deposit")
        message = SettlementPayment(self.address[payer], self.address[payee], payment_id, amount, expiry, memo_hash(str(entry.get("memo"))))
        signature = UNSIGNED
        if self.signed:
            try:
                signature = Signature.from_bytes(bytes.fromhex(str(entry.get("signature")).removeprefix("0x")))
            except ValueError:
                raise LogTampered(self.log, line, "signature", "is not a 65-byte hex signature") from None
            if not signature.is_low_s or recover_payment_signer(self.domain, message, signature) != message.payer:
                raise LogTampered(self.log, line, "signature", f"was not made by {message.payer} over this payment")
        self.book.payments.append(SignedPayment(message, signature))
        self.book.fill_lines.append(line)

    def _filled(self, line: int, trade: dict[str, Any], name: str, side: str, party: int) -> _Order:
        """The live ``side`` order of ``party`` that ``trade[name]`` names."""
        oid = trade.get(name)
        order = self.book.orders.get(oid) if type(oid) is int else None
        if order is None or order.entry["side"] != side:
            raise LogTampered(self.log, line, name, f"fills order {oid!r}, which is no live {side} order of the log")
        if order.entry["owner"] != party:
            raise LogTampered(self.log, line, "buyer" if side == "buy" else "seller", f"is not the owner of the {side} order (line {order.line})")
        return order

    def _batch(self, line: int, entry: dict[str, Any]) -> None:
        log, book = self.log, self.book
        expected = batch_id(self.step, self.batches_this_round)
        if entry.get("batch_id") != expected:
            raise LogTampered(log, line, "batch_id", f"{entry.get('batch_id')!r} is not the next batch of step {self.step} ({expected})")
        if not book.fill_lines:
            raise LogTampered(log, line, "trades", "a batch without trades or payments")
        span = f"lines {book.fill_lines[0]}-{book.fill_lines[-1]}" if len(book.fill_lines) > 1 else f"line {book.fill_lines[0]}"
        try:
            batch = assemble_batch(expected, book.fills, book.payments)
        except LedgerError as exc:
            raise LogTampered(log, line, "batch_id", f"the trades and payments on {span} make no batch: {exc}") from None
        if entry.get("trades") != len(batch.trades) or entry.get("volume") != batch.volume:
            raise LogTampered(log, line, "volume", f"the batch's trades ({span}) add up to {len(batch.trades)} trades and {batch.volume}")
        if entry.get("payments", 0) != len(batch.payments) or entry.get("paid", 0) != batch.paid:
            raise LogTampered(log, line, "paid", f"the batch's payments ({span}) add up to {len(batch.payments)} payments and {batch.paid}")
        try:
            self.backend.settle_batch(batch)
        except SettlementRejected as exc:
            raise LogTampered(log, line, "batch_id", f"the back end refused the batch of the trades on {span}: {exc.reason}") from None
        if self.on_batch is not None:
            self.on_batch(line, batch)
        book.fills, book.payments, book.fill_lines = [], [], []
        self.batches_this_round += 1
        self.volume += batch.volume
        self.payments += len(batch.payments)
        self.paid += batch.paid
        self.result.batches += 1
        self.result.trades += len(batch.trades)

    def _unbatched(self) -> None:
        raise LogTampered(self.log, self.book.fill_lines[0], "kind", "a trade or payment that no batch line settles")

    def _close(self, line: int, entry: dict[str, Any]) -> None:
        if self.book.fill_lines:
            self._unbatched()
        self._end_guarantee_round()
        result = self.result
        totals = (("trades", result.trades), ("volume", self.volume), ("payments", self.payments), ("paid", self.paid), ("total_supply", self.supply))
        for name, value in totals:
            if entry.get(name, 0 if name in ("payments", "paid") else None) != value:
                raise LogTampered(self.log, line, name, f"the log's lines add up to {value}, not {entry.get(name)!r}")
        if self.backend.total_supply() != self.supply:
            raise LogTampered(
                self.log, line, "total_supply", f"the replayed supply is {self.backend.total_supply()}, not the deposits' {self.supply}"
            )
        result.balances_digest = balances_digest(self.backend.balances_by_address())
        result.expected_digest = entry.get("balances_digest")
        if result.balances_digest != result.expected_digest:
            raise LogTampered(self.log, line, "balances_digest", "the replayed balances differ from the logged ones")
        result.verified = True

    def finish(self) -> None:
        if self.deposits:
            self._open()
        if self.guarantees is not None and self.guarantees.plan is not None:  # stopped mid-round (``until``)
            self._end_guarantee_round()
        if not self.result.balances_digest:
            self.result.balances_digest = balances_digest(self.backend.balances_by_address())


def replay(
    log: Path,
    chain: str = "memory",
    *,
    until: int | None = None,
    on_entry: Callable[[int], None] | None = None,
    operator: str | None = None,
    against: str | None = None,
) -> ReplayResult:
    """Re-executes every settlement of ``log`` on a fresh back end and checks everything.

    A format-3 log is signed by its operator (:mod:`ledger.logsigning`): the header, every batch
    line (a Merkle root over the lines since the batch before) and the close (a signed tree head
    over every line). Each signature must recover to the operator the header names; the log is
    *authenticated* when that is ``operator``. The orders' signatures are checked off chain
    against the EIP-712 domain in the header, and the participants' addresses are those of the
    deposit lines (which the operator's signatures cover), so a log verifies on any back end.

    Args:
        log: The trade log.
        chain: ``memory``, ``eth-tester`` or a node URL (whose chain id must be the header's).
        until: Stop after the line whose ``seq`` is this (batches complete by then are settled).
        on_entry: Called with each line's ``seq`` (for a progress display).
        operator: The address the log must be signed by; ``None`` checks consistency only.
        against: A node URL whose Settlement contract (at the header's address) must hold, for
            every batch of the log, the root of the batch the log's lines make
            (:func:`ledger.merkle.batch_root`; ``batchRoot(batchId)``, zero for a batch never settled).

    Returns:
        The result; ``verified`` only when the closing entry was reached and matched.

    Raises:
        LogTampered: at the first line that does not check out (hash chain, kind, address,
            signature, a trade's orders, limits, resource or step, batch totals, a settlement the
            back end refuses, the close totals or the final balances).
        LogTruncated: the log ends without its close line before ``until`` (naming its last line).
        ReplayRefused: an unsigned log on a chain back end; ``against`` for a log without a
            domain, a node of another chain id or without the contract.
        LogUnreadable, ChainUnavailable: as the message says.
    """
    entries = verified_log(log)
    header = next(entries)
    signed = bool(header.get("signed", True))
    if not signed and chain != "memory":
        raise ReplayRefused(f"{log} was written with signing off (--no-sign); only --chain memory can replay it")
    seed = header.get("seed")
    if type(seed) is not int or seed < 0:
        raise LogTampered(log, 1, "seed", f"{seed!r} is not a seed")
    sealed = header.get("format") == SIGNED_FORMAT
    domain = _header_checks(log, header, operator) if sealed else None
    # signatures are checked here, line by line, so the memory back end need not check them again
    roots = _chain_roots(log, against, domain) if against is not None else None
    if chain == "memory":
        backend: SettlementBackend = MemoryBackend(seed, verify_signatures=False, forget_expired=True)
    elif domain is None:
        backend = open_backend(chain, seed)
    else:
        backend = _chain_for(chain, seed, domain)
    result = ReplayResult(entries=1, log_head=header["hash"], backend=backend.name)
    try:
        replayer = _Replayer(log, backend, signed, result, domain)
        replayer.on_batch = roots
        if sealed:
            result.operator = header["operator"]
        _replay_entries(replayer, entries, until, on_entry)
        result.authenticated = sealed and result.verified and operator is not None
    finally:
        backend.close()
    return result


def _chain_roots(log: Path, url: str, domain: OrderDomain | None) -> Callable[[int, SettlementBatch], None]:
    """A check that the Settlement contract at ``url`` stored each batch's root as the log has it.

    Raises:
        ReplayRefused: the log names no contract (not format 3), the node is on another chain,
            or holds no code at the contract's address.
    """
    if domain is None:
        raise ReplayRefused(f"--against {url}: {log} is no format-3 log, whose header names the contract to compare with")
    node = connect(url)
    if node.chain_id != domain.chain_id:
        raise ReplayRefused(f"--against {url}: its chain id is {node.chain_id}, the log's is {domain.chain_id}: not the chain the log was settled on")
    if not node.w3.eth.get_code(domain.verifying_contract):
        raise ReplayRefused(f"--against {url}: no contract at the log's address {domain.verifying_contract}: not the chain the log was settled on")
    settlement = Settlement(node, domain.verifying_contract)

    def check(line: int, batch: SettlementBatch) -> None:
        logged, stored = batch_root(batch), settlement.batch_root(batch.batch_id)
        if stored != logged:
            held = "nothing (the batch was never settled there)" if stored == bytes(32) else f"root 0x{stored.hex()}"
            raise LogTampered(
                log,
                line,
                "batch_id",
                f"batch {batch.batch_id} differs from the chain: {url} holds {held}, the log's lines make root 0x{logged.hex()}",
            )

    return check


def _chain_for(spec: str, seed: int, domain: OrderDomain) -> ChainBackend:
    """A chain back end whose Settlement contract has the log's EIP-712 domain, so the contract
    accepts the orders' signatures as the chain they were written on did.

    An in-process chain (eth-tester, revm) starts with the log's chain id; a node must already
    run on it. The suite is deployed so the contract lands at the log's address
    (:func:`ledger.suite.deploy_suite_at`).

    Raises:
        ReplayRefused: a node on another chain id, or no known deployer can create the log's
            contract address there.
    """
    in_process = spec in (EMBEDDED, REVM)
    node = connect(spec, chain_id=domain.chain_id if in_process else None)
    if node.chain_id != domain.chain_id:
        raise ReplayRefused(
            f"--chain {spec}: its chain id is {node.chain_id}, the log's is {domain.chain_id}; "
            f"replay on memory, or on a node started with chain id {domain.chain_id}"
        )
    suite = deploy_suite_at(node, domain.verifying_contract)
    if suite is None:
        raise ReplayRefused(
            f"--chain {spec}: the log's contract {domain.verifying_contract} cannot be deployed there "
            "(no known deployer's unused nonce creates it); replay on memory, or on a fresh node"
        )
    return ChainBackend(seed, node, suite)


def _header_checks(log: Path, header: dict[str, Any], operator: str | None) -> OrderDomain:
    """The EIP-712 domain of a format-3 log, after checking the header's operator signature.

    Raises:
        LogTampered: a malformed domain or operator, a signature not the operator's, or an
            operator other than ``operator``.
    """
    claimed = header["operator"]  # checked, with the header's signature, by verified_log
    if operator is not None and claimed != operator:
        raise LogTampered(log, 1, "operator", f"the log is signed by {claimed}, not by the operator {operator}")
    raw = header.get("domain")
    if not isinstance(raw, dict) or type(raw.get("chain_id")) is not int or not is_checksum_address(raw.get("verifying_contract")):
        raise LogTampered(log, 1, "domain", f"{raw!r} is not an EIP-712 domain (chain_id, verifying_contract)")
    return OrderDomain(raw["chain_id"], raw["verifying_contract"])


def _replay_entries(replayer: _Replayer, entries: Iterator[dict[str, Any]], until: int | None, on_entry: Callable[[int], None] | None) -> None:
    result = replayer.result
    if until is not None and until < 1:
        replayer.finish()
        return
    try:
        for entry in entries:
            seq = entry["seq"]
            result.entries += 1
            result.log_head = entry["hash"]
            if on_entry:
                on_entry(seq)
            replayer.entry(seq + 1, entry)
            if until is not None and seq >= until:
                break
    except LogTruncated:
        if until is None or result.entries <= until:
            raise
    replayer.finish()


def _settlement_order(order: dict[str, Any], owner: ChecksumAddress, expiry: int) -> SettlementOrder:
    """The EIP-712 order of the logged order ``order`` (its side and resource checked when it was read)."""
    # positional, in field order (owner, order id, side, resource, limit price, quantity, expiry)
    return SettlementOrder(
        owner, order["order_id"], SIDE_CODES[order["side"]], RESOURCE_CODES[order["resource"]], order["limit_price"], order["quantity"], expiry
    )


def _unsigned(order: dict[str, Any], owner: ChecksumAddress, ttl: int) -> SignedOrder:
    """The unsigned settlement order of an order of an unsigned log (an unsigned log has no
    authorization lines: the expiry follows from the round placed)."""
    return SignedOrder(_settlement_order(order, owner, order_expiry(order["placed"], ttl)), UNSIGNED)


def _authorization(
    log: Path, line: int, entry: dict[str, Any], order: dict[str, Any], address: Mapping[int, str], domain: OrderDomain, signed: bool
) -> SignedOrder:
    if entry.get("address") != address[order["owner"]]:
        raise LogTampered(log, line, "address", f"is not agent {order['owner']}'s address")
    expiry = _int(log, line, entry, "expiry")
    message = _settlement_order(order, entry["address"], expiry)
    if not signed:  # a format-1 unsigned log: authorizations with a null signature
        return SignedOrder(message, UNSIGNED)
    try:
        signature = Signature.from_bytes(bytes.fromhex(str(entry.get("signature")).removeprefix("0x")))
    except ValueError:
        raise LogTampered(log, line, "signature", "is not a 65-byte hex signature") from None
    if not signature.is_low_s or recover_signer(domain, message, signature) != entry["address"]:
        raise LogTampered(log, line, "signature", f"was not made by {entry['address']} over this order")
    return SignedOrder(message, signature)
