"""Settlement back ends behind one interface: pure-Python ``memory`` and the contracts on a ``chain``.

Both take the same :class:`~ledger.batch.SettlementBatch` and apply the rules of
``contracts/Settlement.sol`` in the same order with the same error names and arguments (the
contract's NatSpec on ``settleBatch`` lists the order): a batch id settles at most once; a batch is
non-empty and within the size caps; participants are strictly ascending and registered; each
signed order belongs to its listed party, has not expired, carries a low-s signature by its owner;
each trade points at a listed bid and a listed ask, of one resource, at a price within both
limits; no order is filled beyond its signed quantity, counting earlier batches; each payment
names its listed payer and payee, has not expired, moves a non-zero amount, carries its payer's
low-s signature and was never paid before; and no participant's net debit exceeds their escrow.
A rejected batch changes nothing. So the same batches give the same balances, to the unit, and the same rejections on either back end.

One clock: the memory back end keeps time on the simulated clock (round ``n`` starts at
``SIM_EPOCH + n * 3600``, see :mod:`ledger.signing`) unless given another clock; a chain back end
sets each round's first block to that time (:meth:`SettlementBackend.begin_round`), one second
more per further block. The memory back end signs under the
domain a fresh eth-tester deployment gets (:data:`ledger.suite.EMBEDDED_DOMAIN`), so memory and
eth-tester runs sign byte-identical orders.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import heapq
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NoReturn

import requests
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ProviderConnectionError

from ledger.abi import checksum_address
from ledger.batch import (
    MAX_BATCH_ORDERS,
    MAX_BATCH_PARTICIPANTS,
    MAX_BATCH_PAYMENTS,
    MAX_BATCH_TRADES,
    SettlementBatch,
    batch_round,
)
from ledger.chain import EMBEDDED, EMBEDDED_DEPLOYER, REVM, Chain, connect
from ledger.contracts import (
    METER_ROLE,
    REGISTRAR_ROLE,
    Capacity,
    ContractReverted,
    GreenCertificates,
    ParticipantRegistry,
    ServiceAgreements,
    Settlement,
    SettlementToken,
    deploy,
)
from ledger.errors import ChainUnavailable, LedgerError, SettlementRejected
from ledger.guarantees import (
    ACCEPTS_PER_CALL,
    ATTESTS_PER_CALL,
    CERTIFIED_AS,
    OFFERS_PER_CALL,
    GuaranteePlan,
    GuaranteeState,
    accept_order,
    certificate_holders,
    grouped,
)
from ledger.keys import address_number, agent_address, agent_private_key
from ledger.signing import (
    BUY,
    SECP256K1_N,
    SELL,
    ZERO_ADDRESS,
    OrderDomain,
    recover_payment_signer,
    recover_signer,
    round_time,
)
from ledger.suite import EMBEDDED_DOMAIN, Suite, deploy_suite
from market.carbon import EnergySource
from market.orders import AgentId, SettlementOutcome

__all__ = [
    "SettlementBackend",
    "MemoryBackend",
    "ChainBackend",
    "open_backend",
    "attach_backend",
    "balances_digest",
]

_HALF_N = SECP256K1_N // 2
#: The topic of ``Settlement.BatchSettled`` (its batch id is the first indexed argument).
_BATCH_SETTLED = keccak(text="BatchSettled(uint256,bytes32,uint256,uint256,uint256,uint256)")
_REGISTER_CHUNK = 256


@contextlib.contextmanager
def node_guard(url: str) -> Iterator[None]:
    """Turns a node that stops answering mid-run into one :class:`ChainUnavailable` line."""
    try:
        yield
    except (requests.exceptions.RequestException, ProviderConnectionError, ConnectionError) as exc:
        raise ChainUnavailable(
            f"--chain {url}: the node stopped answering ({type(exc).__name__}); the log is safe: "
            "restart the node and continue with `ccei run --resume --out DIR`"
        ) from None


def batch_time(batch_id: int) -> int:
    """The simulated time a batch settles at: the start of its round (:func:`ledger.signing.round_time`)."""
    return round_time(batch_round(batch_id))


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

    @property
    def transactions(self) -> int:
        """Transactions sent so far (zero off chain)."""
        return 0

    def address(self, agent_id: AgentId) -> ChecksumAddress:
        """The agent's on-chain address (derived from the run seed and the agent id)."""
        return agent_address(self.seed, int(agent_id))

    @property
    @abc.abstractmethod
    def domain(self) -> OrderDomain:
        """The EIP-712 domain orders and payments must be signed under."""

    def begin_round(self, step: int) -> None:  # noqa: B027 - an optional hook: the memory back end needs nothing
        """Round ``step`` begins: a chain back end's next block gets the round's simulated time
        (:func:`ledger.signing.round_time`); the memory back end's clock already counts rounds."""

    @abc.abstractmethod
    def open_accounts(self, deposits: Mapping[AgentId, int], roles: Mapping[AgentId, Capacity] | None = None) -> None:
        """Registers each agent (as a user unless ``roles`` says otherwise) and escrows its deposit."""

    @abc.abstractmethod
    def settle_batch(self, batch: SettlementBatch) -> SettlementOutcome:
        """Settles one batch, all or nothing.

        Raises:
            SettlementRejected: the batch breaks a rule (named as the contract's custom error); nothing changed.
        """

    @abc.abstractmethod
    def escrow_of(self, account: str) -> int:
        """The escrow balance of an address, in micro-tokens."""

    @abc.abstractmethod
    def filled(self, owner: str, order_id: int) -> int:
        """Units of ``owner``'s order ``order_id`` filled so far."""

    @abc.abstractmethod
    def withdraw(self, agent_id: AgentId, amount: int) -> None:
        """The agent withdraws ``amount`` of its escrow.

        Raises:
            SettlementRejected: ``ZeroAmount`` or ``InsufficientEscrow``.
        """

    @abc.abstractmethod
    def cancel_order(self, agent_id: AgentId, order_id: int) -> None:
        """The agent cancels its order ``order_id``; no later batch fills it."""

    @abc.abstractmethod
    def total_supply(self) -> int:
        """Tokens minted so far, in micro-tokens."""

    def escrow_balance(self, agent_id: AgentId) -> int:
        """The agent's escrow balance in micro-tokens."""
        return self.escrow_of(self.address(agent_id))

    def balances(self, agents: Iterable[AgentId] | None = None) -> dict[AgentId, int]:
        """Escrow balances of ``agents`` (default: every opened account)."""
        return {a: self.escrow_balance(a) for a in (self.accounts if agents is None else agents)}

    def balances_by_address(self) -> dict[str, int]:
        """Escrow balances by address and, once guarantees are open, every holding in the
        agreements and certificates (:meth:`GuaranteeState.holdings` keys): what the balances
        digest covers."""
        out: dict[str, int] = {self.address(a): b for a, b in self.balances().items()}
        if self.guarantees is not None:
            out.update(self.holdings())
        return out

    #: The agreements' and certificates' state (``None`` until :meth:`open_guarantees`).
    guarantees: GuaranteeState | None = None

    def open_guarantees(
        self,
        oracle: AgentId,
        wallets: Mapping[AgentId, int],
        generators: Mapping[AgentId, EnergySource],
        roles: Mapping[AgentId, Capacity],
    ) -> None:
        """Opens guarantee contracts and certificates: ``oracle`` (a registered platform) attests
        deliveries and meters generation, each agent in ``wallets`` gets that many tokens in its
        wallet (approved for the agreements), each of ``generators`` registers its renewable source.
        ``roles`` are the capacities the accounts were opened with."""
        address = self.address
        self.guarantees = GuaranteeState.opened(
            {address(a): int(c) for a, c in roles.items()},
            self.operator_address,
            address(oracle),
            {address(a): amount for a, amount in wallets.items()},
            {address(a): source for a, source in generators.items()},
        )
        self.oracle = oracle

    @property
    def operator_address(self) -> str:
        """The market operator's account (resolves disputes)."""
        return EMBEDDED_DEPLOYER

    def apply_guarantees(self, plan: GuaranteePlan) -> int:
        """Runs one round's guarantee operations (:meth:`GuaranteeState.apply`); returns the
        transactions sent.

        Raises:
            SettlementRejected: an operation breaks a contract rule; the operations before it stand.
        """
        if self.guarantees is None:
            raise LedgerError("guarantee operations before open_guarantees")
        self.guarantees.apply(plan, self.operator_address, self.address(self.oracle))
        return 0

    def holdings(self) -> dict[str, int]:
        """Every non-zero holding in the agreements and certificates (empty before they open)."""
        return self.guarantees.holdings() if self.guarantees is not None else {}

    def close(self) -> None:  # noqa: B027 - an optional hook: the memory back end holds nothing
        """Releases what the back end holds (connections, processes)."""


_U64 = 2**64


class MemoryBackend(SettlementBackend):
    """Integer accounting in Python that mirrors ``Settlement.sol`` rule for rule.

    Args:
        seed: The run seed (derives the agents' addresses).
        domain: The EIP-712 domain signatures are checked under (default: a fresh eth-tester suite's).
        clock: Maps a batch id to the time the batch settles at (default: the simulated clock,
            :func:`batch_time`); expiry is checked against it.
        forget_expired: Forget the fill counts of expired orders (for long replays: no outcome
            changes, but :meth:`filled` of an expired order then reads 0).
        verify_signatures: False skips only the signature checks (for unsigned runs); every other
            rule still holds.
    """

    name = "memory"

    def __init__(
        self,
        seed: int,
        *,
        domain: OrderDomain = EMBEDDED_DOMAIN,
        clock: Callable[[int], int] = batch_time,
        verify_signatures: bool = True,
        forget_expired: bool = False,
    ) -> None:
        super().__init__(seed)
        self._domain = domain
        self.clock = clock
        self.verify_signatures = verify_signatures
        self.forget_expired = forget_expired
        self._expiries: list[int] = []  # distinct expiries of the fill keys in _expiring, a heap
        self._expiring: dict[int, list[tuple[str, int]]] = {}  # fill keys by expiry
        self._escrow: dict[str, int] = {}
        self._registered: set[str] = set()
        self._settled: set[int] = set()
        self._filled: dict[tuple[str, int], int] = {}
        self._paid: set[tuple[str, int]] = set()
        self._supply = 0

    @property
    def domain(self) -> OrderDomain:
        return self._domain

    def open_accounts(self, deposits: Mapping[AgentId, int], roles: Mapping[AgentId, Capacity] | None = None) -> None:
        for agent_id, amount in deposits.items():
            if amount < 0:
                raise LedgerError(f"negative deposit for agent {agent_id}")
            address = self.address(agent_id)
            self.accounts.append(agent_id)
            self._registered.add(address.lower())
            self._escrow[address.lower()] = self._escrow.get(address.lower(), 0) + amount
            self._supply += amount

    def deregister(self, account: str) -> None:
        """Removes ``account`` from the registry (mirrors ``ParticipantRegistry.deregister``)."""
        if account.lower() not in self._registered:
            raise SettlementRejected("NotRegistered", account)
        self._registered.discard(account.lower())

    def settle_batch(self, batch: SettlementBatch) -> SettlementOutcome:
        if batch.batch_id in self._settled:
            raise SettlementRejected("BatchAlreadySettled", batch.batch_id)
        if not batch.trades and not batch.payments:
            raise SettlementRejected("EmptyBatch")
        for size, cap in (
            (len(batch.trades), MAX_BATCH_TRADES),
            (len(batch.orders), MAX_BATCH_ORDERS),
            (len(batch.payments), MAX_BATCH_PAYMENTS),
            (len(batch.participants), MAX_BATCH_PARTICIPANTS),
        ):
            if size > cap:
                raise SettlementRejected("BatchTooLarge", size, cap)
        accounts = self._check_participants(batch.participants)
        now = self.clock(batch.batch_id)
        keys = self._check_orders(batch, now, accounts)
        fills, delta = self._apply_trades(batch)
        staged = self._stage_fills(batch, keys, fills)
        paid = self._apply_payments(batch, now, accounts, delta)
        balances = self._debit(batch.participants, accounts, delta)
        self._filled.update(staged)
        self._paid.update(paid)
        self._escrow.update(balances)
        self._settled.add(batch.batch_id)
        if self.forget_expired:
            self._forget_expired(batch, keys, staged)
        return SettlementOutcome(batch_id=batch.batch_id, trades=len(batch.trades))

    def _forget_expired(self, batch: SettlementBatch, keys: list[tuple[str, int]], staged: dict[tuple[str, int], int]) -> None:
        """Drops the fill counts of orders that have expired: the expiry check refuses them before
        their fills are read, so no outcome changes and memory stays flat over a long replay.

        A filled order's key waits in the bucket of its expiry (that of the batch's last order
        with the key, ``keys`` being the batch orders' keys); a heap holds the distinct expiries, so
        a round's orders, which share one expiry, are filed as one run, cost one heap entry and are
        dropped together.
        """
        expiry_of = dict(zip(keys, [bo.signed.order.expiry for bo in batch.orders], strict=True))
        waiting = self._expiring
        for expiry, run in itertools.groupby(staged, expiry_of.__getitem__):
            bucket = waiting.get(expiry)
            if bucket is None:
                bucket = waiting[expiry] = []
                heapq.heappush(self._expiries, expiry)
            bucket.extend(run)
        now = self.clock(batch.batch_id)
        filled = self._filled
        while self._expiries and self._expiries[0] < now:
            for key in waiting.pop(heapq.heappop(self._expiries)):
                filled.pop(key, None)

    def _check_participants(self, participants: Sequence[str]) -> list[str]:
        """Checks that participants are strictly ascending and registered, and returns them in
        lower case (the key of every book).

        The whole list is screened at once (numbers compared pairwise, keys against the registry);
        a list the screen finds fault with, or cannot read, goes through :meth:`_refuse_participants`,
        which names the first bad participant as the contract does.
        """
        try:
            numbers = list(map(address_number, participants))
            accounts = [account.lower() for account in participants]
            good = not any(map(operator.ge, numbers, itertools.islice(numbers, 1, None))) and self._registered.issuperset(accounts)
        except (AttributeError, TypeError, ValueError):
            good = False
        if not good:
            self._refuse_participants(participants)
        return accounts

    def _refuse_participants(self, participants: Sequence[str]) -> NoReturn:
        """Raises for the first participant that is not above the one before or not registered."""
        previous = -1
        for p, account in enumerate(participants):
            number = address_number(account)
            if number <= previous:
                raise SettlementRejected("ParticipantsNotSorted", p)
            previous = number
            if account.lower() not in self._registered:
                raise SettlementRejected("NotRegistered", account)
        raise AssertionError("participants passed the check they failed")  # pragma: no cover

    def _check_orders(self, batch: SettlementBatch, now: int, accounts: list[str]) -> list[tuple[str, int]]:
        """Checks each order's fields, party, expiry and (unless switched off) signature, and
        returns each order's fill key (owner in lower case, order id); ``accounts`` are the
        participants in lower case."""
        participants = batch.participants
        n = len(participants)
        verify = self.verify_signatures
        keys: list[tuple[str, int]] = []
        for i, bo in enumerate(batch.orders):
            o = bo.signed.order
            if not (
                0 <= o.order_id < _U64
                and 0 <= o.limit_price < _U64
                and 0 <= o.quantity < _U64
                and 0 <= o.expiry < _U64
                and 0 <= o.resource < 256
                and 0 <= o.side < 256
            ):
                raise SettlementRejected("OrderFieldOutOfRange", i)
            party = bo.party
            if not 0 <= party < n:  # a negative index, which no uint word holds, is out of range too
                raise SettlementRejected("PartyOutOfRange", i, party)
            # the owner is usually the very address listed, which spares lower-casing it
            if participants[party] != o.owner and accounts[party] != o.owner.lower():
                raise SettlementRejected("PartyMismatch", i, participants[party], o.owner)
            if now > o.expiry:
                raise SettlementRejected("OrderExpired", o.owner, o.order_id, o.expiry)
            keys.append((accounts[party], o.order_id))
            if not verify:
                continue
            sig = bo.signed.signature
            if sig.s > _HALF_N:
                raise SettlementRejected("SignatureMalleable", i)
            signer = recover_signer(self._domain, o, sig)
            if signer == ZERO_ADDRESS or signer.lower() != o.owner.lower():
                raise SettlementRejected("InvalidSigner", i, signer, o.owner)
        return keys

    @staticmethod
    def _apply_trades(batch: SettlementBatch) -> tuple[list[int], list[int]]:
        """Checks each trade's orders, sides, resource and both limits, and returns each order's
        fill and each participant's net balance change."""
        count = len(batch.orders)
        orders = [bo.signed.order for bo in batch.orders]
        parties = [bo.party for bo in batch.orders]
        fills = [0] * count
        delta = [0] * len(batch.participants)
        for i, t in enumerate(batch.trades):
            b, a, price = t.bid, t.ask, t.price
            if not 0 <= b < count:  # negative indices, which no uint word holds, are out of range too
                raise SettlementRejected("OrderOutOfRange", i, b)
            if not 0 <= a < count:
                raise SettlementRejected("OrderOutOfRange", i, a)
            bid, ask = orders[b], orders[a]
            if bid.side != BUY:
                raise SettlementRejected("WrongSide", i, b)
            if ask.side != SELL:
                raise SettlementRejected("WrongSide", i, a)
            if bid.resource != ask.resource:
                raise SettlementRejected("ResourceMismatch", i, bid.resource, ask.resource)
            if price > bid.limit_price:
                raise SettlementRejected("PriceAboveLimit", i, price, bid.limit_price)
            if price < ask.limit_price:
                raise SettlementRejected("PriceBelowLimit", i, price, ask.limit_price)
            if not (0 <= price < _U64 and 0 <= t.quantity < _U64):
                raise SettlementRejected("AmountOutOfRange", i)
            amount = price * t.quantity
            fills[b] += t.quantity
            fills[a] += t.quantity
            delta[parties[b]] -= amount
            delta[parties[a]] += amount
        return fills, delta

    def _apply_payments(self, batch: SettlementBatch, now: int, accounts: list[str], delta: list[int]) -> set[tuple[str, int]]:
        """Checks each payment's parties, expiry, amount, signature (unless switched off) and
        uniqueness, adds it to ``delta``, and returns the (payer, payment id) keys it pays."""
        participants = batch.participants
        n = len(participants)
        paid: set[tuple[str, int]] = set()
        for i, bp in enumerate(batch.payments):
            p = bp.signed.payment
            for party in (bp.payer_party, bp.payee_party):
                if not 0 <= party < n:
                    raise SettlementRejected("PaymentPartyOutOfRange", i, party)
            for party, account in ((bp.payer_party, p.payer), (bp.payee_party, p.payee)):
                if accounts[party] != account.lower():
                    raise SettlementRejected("PaymentPartyMismatch", i, participants[party], account)
            if now > p.expiry:
                raise SettlementRejected("PaymentExpired", p.payer, p.payment_id, p.expiry)
            if p.amount == 0:
                raise SettlementRejected("ZeroPayment", i)
            if not (0 <= p.payment_id < _U64 and 0 < p.amount < _U64 and 0 <= p.expiry < _U64):
                raise SettlementRejected("AmountOutOfRange", i)
            if self.verify_signatures:
                sig = bp.signed.signature
                if sig.s > _HALF_N:
                    raise SettlementRejected("PaymentSignatureMalleable", i)
                signer = recover_payment_signer(self._domain, p, sig)
                if signer == ZERO_ADDRESS or signer.lower() != p.payer.lower():
                    raise SettlementRejected("InvalidPaymentSigner", i, signer, p.payer)
            key = (accounts[bp.payer_party], p.payment_id)
            if key in self._paid or key in paid:
                raise SettlementRejected("PaymentAlreadySettled", p.payer, p.payment_id)
            paid.add(key)
            delta[bp.payer_party] -= p.amount
            delta[bp.payee_party] += p.amount
        return paid

    def _stage_fills(self, batch: SettlementBatch, keys: list[tuple[str, int]], fills: list[int]) -> dict[tuple[str, int], int]:
        """Each filled order's new fill count, refusing overfills (``keys`` as :meth:`_check_orders`
        returns them)."""
        staged: dict[tuple[str, int], int] = {}
        filled = self._filled
        for bo, key, fill in zip(batch.orders, keys, fills, strict=True):
            if fill == 0:
                continue
            total = staged[key] + fill if key in staged else filled.get(key, 0) + fill
            if total > bo.signed.order.quantity:
                o = bo.signed.order
                raise SettlementRejected("OrderOverfilled", o.owner, o.order_id, total, o.quantity)
            staged[key] = total
        return staged

    def _debit(self, participants: Sequence[str], accounts: list[str], delta: list[int]) -> list[tuple[str, int]]:
        """Each participant's balance after the batch, by key, refusing a debit beyond the escrow.

        Screened at once: only if some balance would go negative is each participant with a
        change checked in turn, naming the first short one as the contract does.
        """
        escrow = self._escrow
        after = [escrow.get(key, 0) + d for key, d in zip(accounts, delta, strict=True)]
        if min(after, default=0) < 0:
            for account, key, d in zip(participants, accounts, delta, strict=True):
                balance = escrow.get(key, 0)
                if d != 0 and balance + d < 0:
                    raise SettlementRejected("InsufficientEscrow", account, balance, -d)
        # a participant without a change is written back its own balance (registered accounts
        # all have one), which leaves the books as they were
        return list(zip(accounts, after, strict=True))

    def escrow_of(self, account: str) -> int:
        return self._escrow.get(account.lower(), 0)

    def filled(self, owner: str, order_id: int) -> int:
        return self._filled.get((owner.lower(), order_id), 0)

    def deposit(self, agent_id: AgentId, amount: int) -> None:
        """Mints ``amount`` and escrows it for the agent (mirrors mint + ``depositFor``)."""
        if amount == 0:
            raise SettlementRejected("ZeroAmount")
        key = self.address(agent_id).lower()
        self._escrow[key] = self._escrow.get(key, 0) + amount
        self._supply += amount

    def withdraw(self, agent_id: AgentId, amount: int) -> None:
        if amount == 0:
            raise SettlementRejected("ZeroAmount")
        account = self.address(agent_id)
        balance = self._escrow.get(account.lower(), 0)
        if balance < amount:
            raise SettlementRejected("InsufficientEscrow", account, balance, amount)
        self._escrow[account.lower()] = balance - amount

    def cancel_order(self, agent_id: AgentId, order_id: int) -> None:
        self._filled[(self.address(agent_id).lower(), order_id)] = 2**64 - 1

    def payment_settled(self, payer: str, payment_id: int) -> bool:
        """Whether ``payer``'s payment ``payment_id`` was paid."""
        return (payer.lower(), payment_id) in self._paid

    def total_supply(self) -> int:
        return self._supply

    def open_guarantees(
        self,
        oracle: AgentId,
        wallets: Mapping[AgentId, int],
        generators: Mapping[AgentId, EnergySource],
        roles: Mapping[AgentId, Capacity],
    ) -> None:
        super().open_guarantees(oracle, wallets, generators, roles)
        self._supply += sum(wallets.values())


class ChainBackend(SettlementBackend):
    """The token, registry and settlement contracts on eth-tester or a JSON-RPC node.

    The chain's first unlocked account deploys, mints, registers, deposits and operates. With
    ``sim_clock`` (the default) each round's first block gets the round's simulated time
    (:meth:`begin_round`); without it the chain keeps its own clock (for tests that drive it).
    Withdrawals and cancellations are sent from the agent's own key, which is unlocked on the
    chain and funded with gas money on first use.
    """

    name = "chain"

    def __init__(self, seed: int, chain: Chain, suite: Suite | None = None, *, sim_clock: bool = True) -> None:
        super().__init__(seed)
        self.chain = chain
        self.sim_clock = sim_clock
        self._start_nonce = chain.w3.eth.get_transaction_count(suite.admin if suite else chain.accounts[0])
        self.suite = suite or deploy_suite(chain, extras=False)
        self.operator = self.suite.admin
        self.token = self.suite.token
        self.registry = self.suite.registry
        self.settlement = self.suite.settlement
        self._domain = self.suite.domain
        self._unlocked: set[AgentId] = set()
        self._agents_by_address: dict[str, AgentId] | None = None
        self._agent_transactions = 0
        self._round: int | None = None
        #: The number of the current round's first block (``None`` before the first transaction of a round).
        self.round_first_block: int | None = None
        #: Set by :meth:`attach`: the suite already carries a run that was cut short, so accounts
        #: and batches that already landed are found on the chain instead of being sent again.
        self.resuming = False

    @classmethod
    def attach(cls, seed: int, chain: Chain, settlement: ChecksumAddress) -> ChainBackend:
        """A back end on the suite an earlier, interrupted run deployed (its Settlement at
        ``settlement``, operated by the chain's first account), to finish that run.

        Until the first batch it sends, :meth:`open_accounts` registers, mints and deposits only
        what is missing, and :meth:`settle_batch` does not resend a batch ``batchSettled`` says
        landed (its stored root must be the batch's).

        Raises:
            LedgerError: the chain's first account is not the suite's operator.
        """
        contract = Settlement(chain, settlement)
        token = SettlementToken(chain, contract.call("token"))
        registry = ParticipantRegistry(chain, contract.call("registry"))
        admin = chain.accounts[0]
        if not registry.has_roles(admin, Capacity.OPERATOR):
            raise LedgerError(f"{chain.url}: {admin} (the node's first account) does not operate the contract {settlement}")
        backend = cls(seed, chain, Suite(chain, admin, token, registry, contract, None, None))
        backend.resuming = True
        return backend

    def begin_round(self, step: int) -> None:
        """Makes the next block the first of round ``step``: its timestamp is the round's simulated
        time (:func:`ledger.signing.round_time`); each further block is one second later (as the
        chain mines them). A round that starts before the chain's clock (only after more blocks in
        the round before than the round has seconds) keeps the chain's next second.
        """
        if self._round == step or not self.sim_clock:
            return
        self._round = step
        with node_guard(self.chain.url):
            target = round_time(step)
            if target >= self.chain.next_timestamp():
                self.chain.time_travel(target)
            self.round_first_block = int(self.chain.w3.eth.block_number) + 1

    @property
    def transactions(self) -> int:
        """Transactions sent so far: the operator's (deployment included) and the agents'."""
        operator_sent = self.chain.w3.eth.get_transaction_count(self.operator) - self._start_nonce
        return operator_sent + self._agent_transactions

    @property
    def domain(self) -> OrderDomain:
        return self._domain

    def open_accounts(self, deposits: Mapping[AgentId, int], roles: Mapping[AgentId, Capacity] | None = None) -> None:
        with node_guard(self.chain.url):
            self._open_accounts(deposits, roles)

    def _open_accounts(self, deposits: Mapping[AgentId, int], roles: Mapping[AgentId, Capacity] | None) -> None:
        if self._round is None:  # accounts open in round 0 unless a round has begun
            self.begin_round(0)
        op = self.operator
        total = sum(deposits.values())
        if any(a < 0 for a in deposits.values()):
            raise LedgerError("negative deposit for agent " + str(next(k for k, v in deposits.items() if v < 0)))
        if self.resuming:
            self._reopen_accounts(deposits, roles)
            return
        by_roles: dict[Capacity, list[str]] = {}
        for agent_id in deposits:
            capacity = (roles or {}).get(agent_id, Capacity.USER)
            by_roles.setdefault(capacity, []).append(self.address(agent_id))
        for capacity, addresses in by_roles.items():
            for start in range(0, len(addresses), _REGISTER_CHUNK):
                self.registry.register_many(addresses[start : start + _REGISTER_CHUNK], capacity, sender=op)
        if total:
            self.token.mint(op, total, sender=op)
            self.token.approve(self.settlement.address, total, sender=op)
        for agent_id, amount in deposits.items():
            self.accounts.append(agent_id)
            if amount:
                self.settlement.deposit_for(self.address(agent_id), amount, sender=op)

    def _reopen_accounts(self, deposits: Mapping[AgentId, int], roles: Mapping[AgentId, Capacity] | None) -> None:
        """What :meth:`_open_accounts` had not done when the run was cut short: the agents not yet
        registered, the mint if none happened, the deposits not yet made (the operator still
        holds their tokens: accounts open before any batch settles, so an agent without escrow
        then has no deposit yet)."""
        op = self.operator
        for agent_id in deposits:
            self.accounts.append(agent_id)
            address = self.address(agent_id)
            if not self.registry.is_registered(address):
                self.registry.register(address, (roles or {}).get(agent_id, Capacity.USER), sender=op)
        total = sum(deposits.values())
        if self.token.total_supply() == 0 and total:
            self.token.mint(op, total, sender=op)
        if self.token.balance_of(op) == 0:
            return
        pending = {a: amount for a, amount in deposits.items() if amount and self.settlement.balance_of(self.address(a)) == 0}
        self.token.approve(self.settlement.address, sum(pending.values()), sender=op)
        for agent_id, amount in pending.items():
            self.settlement.deposit_for(self.address(agent_id), amount, sender=op)

    def _landed(self, batch: SettlementBatch) -> SettlementOutcome | None:
        """The outcome of ``batch`` if an interrupted run already settled it (its event's
        transaction), else ``None``.

        Raises:
            LedgerError: the chain holds another batch under this id (another root).
        """
        from ledger.merkle import batch_root

        if not self.settlement.batch_settled(batch.batch_id):
            return None
        if self.settlement.batch_root(batch.batch_id) != batch_root(batch):
            raise LedgerError(f"{self.chain.url}: batch {batch.batch_id} landed with another root than the log's: not this run's chain")
        topic = "0x" + batch.batch_id.to_bytes(32, "big").hex()
        event = "0x" + _BATCH_SETTLED.hex()
        logs = self.chain.w3.eth.get_logs({"address": self.settlement.address, "fromBlock": 0, "toBlock": "latest", "topics": [event, topic]})
        receipt = self.chain.w3.eth.get_transaction_receipt(logs[-1]["transactionHash"])
        return SettlementOutcome(
            batch_id=batch.batch_id,
            trades=len(batch.trades),
            transactions=1,
            gas_used=int(receipt["gasUsed"]),
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block=int(receipt["blockNumber"]),
        )

    def settle_batch(self, batch: SettlementBatch) -> SettlementOutcome:
        if self.resuming:
            with node_guard(self.chain.url):
                landed = self._landed(batch)
            if landed is not None:
                return landed
            self.resuming = False  # batches land in order: none after this one did
        self.begin_round(batch_round(batch.batch_id))
        try:
            with node_guard(self.chain.url):
                receipt = self.settlement.settle_batch(batch, sender=self.operator)
        except ContractReverted as exc:
            raise SettlementRejected(exc.error, *exc.error_args) from exc
        return SettlementOutcome(
            batch_id=batch.batch_id,
            trades=len(batch.trades),
            transactions=1,
            gas_used=int(receipt["gasUsed"]),
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block=int(receipt["blockNumber"]),
        )

    def _agent(self, agent_id: AgentId) -> ChecksumAddress:
        address = self.address(agent_id)
        if agent_id not in self._unlocked:
            self.chain.unlock(agent_private_key(self.seed, int(agent_id)).to_bytes())
            self.chain.fund(address)
            self._unlocked.add(agent_id)
        return address

    def withdraw(self, agent_id: AgentId, amount: int) -> None:
        try:
            self.settlement.withdraw(amount, sender=self._agent(agent_id))
        except ContractReverted as exc:
            raise SettlementRejected(exc.error, *exc.error_args) from exc
        self._agent_transactions += 1

    def cancel_order(self, agent_id: AgentId, order_id: int) -> None:
        self.settlement.cancel_order(order_id, sender=self._agent(agent_id))
        self._agent_transactions += 1

    def escrow_of(self, account: str) -> int:
        return self.settlement.balance_of(account)

    def filled(self, owner: str, order_id: int) -> int:
        return self.settlement.filled(owner, order_id)

    def payment_settled(self, payer: str, payment_id: int) -> bool:
        """Whether ``payer``'s payment ``payment_id`` was paid."""
        return self.settlement.payment_settled(payer, payment_id)

    def total_supply(self) -> int:
        return self.token.total_supply()

    @property
    def operator_address(self) -> str:
        return self.operator

    def open_guarantees(
        self,
        oracle: AgentId,
        wallets: Mapping[AgentId, int],
        generators: Mapping[AgentId, EnergySource],
        roles: Mapping[AgentId, Capacity],
    ) -> None:
        """Deploys ``ServiceAgreements`` and ``GreenCertificates`` beside the settlement (unless the
        suite has them), designates the oracle and meter, registers the generators, mints and
        approves the wallets (each account also names the oracle platform its broker for the
        agreements); the Python twin keeps the ids and which holdings to read back."""
        with node_guard(self.chain.url):
            super().open_guarantees(oracle, wallets, generators, roles)
            op, suite = self.operator, self.suite
            if suite.agreements is not None and suite.certificates is not None:
                self.agreements, self.certificates = suite.agreements, suite.certificates
            else:
                self.agreements = ServiceAgreements(
                    self.chain, deploy(self.chain, "ServiceAgreements", self.token.address, self.registry.address, op, sender=op)
                )
                self.certificates = GreenCertificates(self.chain, deploy(self.chain, "GreenCertificates", self.registry.address, op, sender=op))
                self.certificates.grant_role(REGISTRAR_ROLE, op, sender=op)
            oracle_address = self._agent(oracle)
            self.agreements.set_oracle(oracle_address, True, sender=op)
            self.certificates.grant_role(METER_ROLE, oracle_address, sender=op)
            for agent_id, source in generators.items():
                self.certificates.register_generator(self.address(agent_id), CERTIFIED_AS[source], sender=op)
                self._agent(agent_id)
            for agent_id, amount in wallets.items():
                address = self._agent(agent_id)
                if amount:
                    self.token.mint(address, amount, sender=op)
                self.token.approve(self.agreements.address, 2**256 - 1, sender=address)
                self.agreements.set_broker(oracle_address, True, sender=address)
                self._agent_transactions += 2
            holders = certificate_holders({self.address(a): int(c) for a, c in roles.items()}, {self.address(a): s for a, s in generators.items()})
            for holder in holders:
                self.certificates.set_approval_for_all(oracle_address, True, sender=self._sender(holder))
                self._agent_transactions += 1

    def apply_guarantees(self, plan: GuaranteePlan) -> int:
        """Checks the round on the Python twin, then sends it batched: one ``attestMany`` (per 128),
        one ``claimCompensationMany`` per buyer, ``openDispute`` + ``revealTerms`` per dispute,
        ``resolveDispute`` / ``expireDispute`` each, then one ``offerManyFor``, one
        ``acceptManyFor``, one ``attestGenerationMany``, one ``safeTransferFromMany`` and one
        ``retireMany`` (each per 256 items, offers per 64, attestations per 128), all sent by the
        oracle platform, which every party named its broker and every certificate holder approved."""
        state = self.guarantees
        if state is None:
            raise LedgerError("guarantee operations before open_guarantees")
        first = state.agreement_count + 1
        state.apply(plan, self.operator, self.address(self.oracle))
        self.begin_round(plan.step)
        sent = 0
        try:
            with node_guard(self.chain.url):
                sent = self._send_guarantees(plan, first)
        except ContractReverted as exc:
            raise SettlementRejected(exc.error, *exc.error_args) from exc
        self._agent_transactions += sent
        return sent

    def _sender(self, address: str) -> Any:
        """An agent's address, unlocked and funded for gas on first use."""
        if self._agents_by_address is None:
            self._agents_by_address = {self.address(a).lower(): a for a in self.accounts}
        return self._agent(self._agents_by_address[address.lower()])

    def _send_guarantees(self, plan: GuaranteePlan, first: int) -> int:
        sa, gc, op = self.agreements, self.certificates, self.operator
        oracle = self.address(self.oracle)
        by = self._sender
        sent = 0
        for start in range(0, len(plan.attests), ATTESTS_PER_CALL):
            chunk = plan.attests[start : start + ATTESTS_PER_CALL]
            sa.attest_many([a for a, _ in chunk], [0] * len(chunk), [d for _, d in chunk], sender=oracle)
            sent += 1
        for buyer, ids in grouped(plan.claims):
            sa.claim_compensation_many(ids, [0] * len(ids), sender=by(buyer))
            sent += 1
        for party, agreement_id, terms, salt in plan.disputes:
            sa.open_dispute(agreement_id, sender=by(party))
            sa.reveal_terms(agreement_id, terms, salt, sender=by(party))
            sent += 2
        for agreement_id, pay, coll in plan.resolves:
            sa.resolve_dispute(agreement_id, pay, coll, sender=op)
            sent += 1
        for agreement_id in plan.expires:
            sa.expire_dispute(agreement_id, sender=op)
            sent += 1
        for start in range(0, len(plan.offers), OFFERS_PER_CALL):
            # ids follow in offer order; one count at the end checks them (decoding every
            # receipt's events would cost more than the offers)
            offers = plan.offers[start : start + OFFERS_PER_CALL]
            suppliers = [checksum_address(t.supplier) for t in offers]
            sa.transact("offerManyFor", suppliers, [t.as_tuple() for t in offers], sender=oracle, gas=100_000 + 360_000 * len(offers))
            sent += 1
        if plan.offers and sa.agreement_count() != first + len(plan.offers) - 1:
            expected = first + len(plan.offers) - 1
            raise LedgerError(f"round {plan.step}: the chain holds {sa.agreement_count()} agreements, the ledger expected {expected}")
        accepts = [agreement_id for _, agreement_id in accept_order(plan.offers, first)]
        for start in range(0, len(accepts), ACCEPTS_PER_CALL):
            sa.accept_many_for(accepts[start : start + ACCEPTS_PER_CALL], sender=oracle)
            sent += 1
        if plan.issues:
            gc.transact(
                "attestGenerationMany",
                [g for g, _ in plan.issues],
                plan.step,
                [wh for _, wh in plan.issues],
                sender=oracle,
                gas=80_000 + 200_000 * len(plan.issues),
            )
            sent += 1
        if plan.transfers:
            gc.safe_transfer_from_many(*map(list, zip(*plan.transfers, strict=True)), sender=oracle)
            sent += 1
        if plan.retires:
            gc.retire_many(*map(list, zip(*plan.retires, strict=True)), sender=oracle)
            sent += 1
        return sent

    def holdings(self) -> dict[str, int]:
        """The holdings the Python twin knows of, each read back from the contracts (non-zero only)."""
        state = self.guarantees
        if state is None:
            return {}
        sa, gc, token = self.agreements, self.certificates, self.token
        by_key = {a.lower(): a for a in (*state.wallets, *state.credit)}
        out: dict[str, int] = {}
        with node_guard(self.chain.url):
            for account in state.wallets:
                out[f"wallet:{account}"] = token.balance_of(to_checksum_address(by_key[account]))
            for account in state.credit:
                out[f"credit:{account}"] = sa.credit(to_checksum_address(account))
            for agreement_id in state.agreements:
                a = sa.agreement(agreement_id)
                out[f"agreement:{agreement_id}"] = a.collateral_left + a.payment_held + a.compensation_owed
            for cid, account in state.cert_balance:
                out[f"certificate:{cid}:{account}"] = gc.balance_of(cid, to_checksum_address(account))
            for cid, account in state.cert_retired:
                out[f"retired:{cid}:{account}"] = gc.retired_of(cid, to_checksum_address(account))
        return {k: v for k, v in out.items() if v}


def attach_backend(spec: str, seed: int, domain: OrderDomain, *, verify_signatures: bool = True) -> SettlementBackend:
    """The back end to finish an interrupted run on ``spec``: the run's own contracts where the node
    still holds them (:meth:`ChainBackend.attach`), else a fresh back end (:func:`open_backend`:
    memory, an in-process chain, or a node restarted empty, where the suite lands at the same
    address again).

    Raises:
        ChainUnavailable: the node cannot be reached.
        LedgerError: the node holds the contract but its first account does not operate it.
    """
    if spec == "memory" or spec in (EMBEDDED, REVM):
        return open_backend(spec, seed, verify_signatures=verify_signatures)
    chain = connect(spec)
    with node_guard(spec):
        held = chain.chain_id == domain.chain_id and bool(chain.w3.eth.get_code(domain.verifying_contract))
    if held:
        return ChainBackend.attach(seed, chain, domain.verifying_contract)
    return ChainBackend(seed, chain)


def open_backend(spec: str, seed: int, *, verify_signatures: bool = True) -> SettlementBackend:
    """Opens the back end ``spec`` names: ``memory``, ``eth-tester`` or a node URL.

    Args:
        spec: ``memory``, ``eth-tester`` or a node URL.
        seed: The run's seed (agents' keys derive from it).
        verify_signatures: Whether the memory back end checks order signatures (chains always do).

    Raises:
        ChainUnavailable: the chain cannot be reached.
    """
    if spec == "memory":
        # a run never reads the fill count of an expired order, so forgetting them keeps memory
        # flat however long the run (and spares the garbage collector a dict that only grows)
        return MemoryBackend(seed, verify_signatures=verify_signatures, forget_expired=True)
    return ChainBackend(seed, connect(spec))
