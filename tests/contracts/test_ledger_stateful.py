"""A hypothesis state machine over the whole suite: deposits, withdrawals, cancellations, signed
batches (settled on chain and in the memory back end side by side), SLAs and certificates.

Invariants: tokens are conserved (wallets + escrow + what the agreements hold = minted supply);
memory and chain agree on every outcome, balance and fill; no batch settles twice; no order fills
beyond its signed quantity; no certificate is retired twice; compensation never exceeds collateral.
Each example runs on a snapshot of the session chain and is reverted afterwards. The bounded
profile runs by default; the long one is marked ``slow``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import coincurve
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from onchain_helpers import SALT, SECRET

from ledger.backends import ChainBackend, MemoryBackend
from ledger.batch import Fill, assemble_batch
from ledger.chain import Chain
from ledger.contracts import AgreementState, AgreementTerms, ContractReverted, Service, ServiceAgreements
from ledger.errors import SettlementRejected
from ledger.pytest_plugin import PLUGIN_SEED, CceiAccounts
from ledger.merkle import memo_hash
from ledger.signing import (
    BUY,
    SELL,
    ZERO_ADDRESS,
    SettlementOrder,
    SettlementPayment,
    SignedOrder,
    order_expiry,
    sign_order,
    sign_payment,
)
from ledger.suite import Suite
from market.orders import AgentId

USERS = (0, 1, 2)  # agent ids of ccei_accounts.users under PLUGIN_SEED
SELLERS = (0, 1, 2, 3, 4, 5)  # users and the three suppliers
PERIOD_S = 600


def _outcome(action: Any) -> tuple[Any, ...]:
    """``("ok",)``, or the rejection's name and arguments, from either back end."""
    try:
        action()
    except SettlementRejected as exc:
        return (exc.reason, *exc.args_)
    except ContractReverted as exc:
        return (exc.error, *exc.error_args)
    return ("ok",)


@dataclass
class _Agreement:
    id: int
    terms: AgreementTerms
    attested: list[int] = field(default_factory=list)
    claimable: set[int] = field(default_factory=set)
    claimed: set[int] = field(default_factory=set)
    compensated: int = 0
    closed: bool = False


class LedgerMachine(RuleBasedStateMachine):
    """Drives the suite; the memory back end shadows the settlement contract."""

    chain: Chain
    suite: Suite
    accounts: CceiAccounts

    def __init__(self) -> None:
        super().__init__()
        self.snapshot = self.chain.snapshot()
        self.on_chain = ChainBackend(PLUGIN_SEED, self.chain, self.suite, sim_clock=False)
        self.memory = MemoryBackend(PLUGIN_SEED, domain=self.suite.domain, clock=lambda _: self.chain.next_timestamp())
        self.memory.open_accounts({AgentId(a): 0 for a in SELLERS})
        self.addresses = [self.on_chain.address(AgentId(a)) for a in range(8)]
        self.orders: dict[tuple[int, int], SignedOrder] = {}
        self.settled: set[int] = set()
        self.agreements: list[_Agreement] = []
        self.certificates: dict[int, int] = {}  # id -> MWh issued
        self.holders: dict[int, dict[str, int]] = {}
        self.retired: dict[int, dict[str, int]] = {}
        for user in USERS:
            self.suite.token.approve(self.suite.settlement.address, 2**256 - 1, sender=self.addresses[user])

    # -- settlement --------------------------------------------------------------------------

    @rule(user=st.sampled_from(USERS), amount=st.integers(0, 60_000))
    def deposit(self, user: int, amount: int) -> None:
        address = self.addresses[user]
        chain = _outcome(lambda: self.suite.settlement.deposit_for(address, amount, sender=address))
        memory = _outcome(lambda: self.memory.deposit(AgentId(user), amount))
        assert chain == memory

    @rule(user=st.sampled_from(SELLERS), amount=st.integers(0, 60_000))
    def withdraw(self, user: int, amount: int) -> None:
        address = self.addresses[user]
        chain = _outcome(lambda: self.suite.settlement.withdraw(amount, sender=address))
        memory = _outcome(lambda: self.memory.withdraw(AgentId(user), amount))
        assert chain == memory

    @rule(user=st.sampled_from(USERS), order_id=st.integers(1, 5))
    def cancel(self, user: int, order_id: int) -> None:
        self.suite.settlement.cancel_order(order_id, sender=self.addresses[user])
        self.memory.cancel_order(AgentId(user), order_id)

    def _order(self, data: st.DataObject, user: int, order_id: int, side: int = BUY) -> SignedOrder:
        if (user, order_id) not in self.orders:
            message = SettlementOrder(
                self.addresses[user],
                order_id,
                side,
                data.draw(st.integers(0, 2), label="resource"),
                data.draw(st.integers(1, 1_000), label="limit"),
                data.draw(st.integers(1, 60), label="quantity"),
                order_expiry(0),
            )
            key = coincurve.PrivateKey(self.accounts.key(self.addresses[user]))
            self.orders[(user, order_id)] = sign_order(key, self.suite.domain, message)
        return self.orders[(user, order_id)]

    @rule(data=st.data(), batch_id=st.integers(1, 8), size=st.integers(1, 3))
    def settle(self, data: st.DataObject, batch_id: int, size: int) -> None:
        fills = []
        for _ in range(size):
            bid = self._order(data, data.draw(st.sampled_from(USERS)), data.draw(st.integers(1, 5)))
            # asks take ids 11..13, so a user's bids and asks never share a fill record
            ask = self._order(data, data.draw(st.sampled_from(SELLERS)), data.draw(st.integers(11, 13)), SELL)
            fills.append(Fill(bid, ask, data.draw(st.integers(1, 1_000)), data.draw(st.integers(1, 30))))
        payments = []
        for _ in range(data.draw(st.integers(0, 2), label="payments")):
            payer, payee = data.draw(st.sampled_from(USERS)), data.draw(st.sampled_from(SELLERS))
            message = SettlementPayment(
                self.addresses[payer], self.addresses[payee], data.draw(st.integers(1, 3)), data.draw(st.integers(0, 5_000)), order_expiry(0), memo_hash("fee")
            )
            payments.append(sign_payment(coincurve.PrivateKey(self.accounts.key(self.addresses[payer])), self.suite.domain, message))
        batch = assemble_batch(batch_id, fills, payments)
        chain = _outcome(lambda: self.on_chain.settle_batch(batch))
        memory = _outcome(lambda: self.memory.settle_batch(batch))
        assert chain == memory
        if batch_id in self.settled:
            assert chain == ("BatchAlreadySettled", batch_id)
        if chain == ("ok",):
            self.settled.add(batch_id)

    # -- service agreements ------------------------------------------------------------------

    @rule(
        user=st.sampled_from(USERS),
        periods=st.integers(1, 3),
        penalty=st.integers(0, 50),
        collateral=st.integers(0, 40_000),
    )
    def open_agreement(self, user: int, periods: int, penalty: int, collateral: int) -> None:
        agreements = self.suite.agreements
        assert agreements is not None
        supplier, buyer = self.accounts.compute_supplier, self.addresses[user]
        terms = AgreementTerms(
            buyer, ZERO_ADDRESS, Service.COMPUTE, ServiceAgreements.commit(SECRET, SALT),
            self.chain.next_timestamp() + 10, periods, PERIOD_S, 1_000, 5_000, penalty, collateral, 3_600,
        )  # fmt: skip
        self.suite.token.approve(agreements.address, collateral, sender=supplier)
        agreement_id = agreements.offer(terms, sender=supplier)
        self.suite.token.approve(agreements.address, 5_000 * periods, sender=buyer)
        agreements.accept(agreement_id, sender=buyer)
        self.agreements.append(_Agreement(agreement_id, terms))

    def _travel(self, timestamp: int) -> None:
        self.chain.time_travel(max(timestamp, self.chain.next_timestamp()))

    @precondition(lambda self: any(not a.closed and len(a.attested) < a.terms.periods for a in self.agreements))
    @rule(data=st.data(), delivered=st.integers(0, 1_200))
    def attest(self, data: st.DataObject, delivered: int) -> None:
        open_ones = [a for a in self.agreements if not a.closed and len(a.attested) < a.terms.periods]
        a = data.draw(st.sampled_from(open_ones))
        period = len(a.attested)
        self._travel(a.terms.start + (period + 1) * PERIOD_S)
        agreements = self.suite.agreements
        assert agreements is not None
        before = agreements.agreement(a.id).collateral_left
        agreements.attest(a.id, period, delivered, sender=a.terms.buyer)
        record = agreements.period(a.id, period)
        expected = min(a.terms.penalty_per_unit * (1_000 - min(delivered, 1_000)), before)
        assert record.compensation == expected
        a.attested.append(period)
        a.compensated += record.compensation
        if expected:
            a.claimable.add(period)

    @precondition(lambda self: any(a.claimable for a in self.agreements))
    @rule(data=st.data(), again=st.booleans())
    def claim(self, data: st.DataObject, again: bool) -> None:
        a = data.draw(st.sampled_from([a for a in self.agreements if a.claimable]))
        period = data.draw(st.sampled_from(sorted(a.claimable)))
        agreements = self.suite.agreements
        assert agreements is not None
        agreements.claim_compensation(a.id, period, sender=a.terms.buyer)
        a.claimable.discard(period)
        a.claimed.add(period)
        if again:
            assert _outcome(lambda: agreements.claim_compensation(a.id, period, sender=a.terms.buyer)) == (
                "AlreadyClaimed",
                a.id,
                period,
            )

    @precondition(lambda self: any(not a.closed for a in self.agreements))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        a = data.draw(st.sampled_from([a for a in self.agreements if not a.closed]))
        self._travel(a.terms.end + a.terms.dispute_window)
        agreements = self.suite.agreements
        assert agreements is not None
        agreements.release(a.id, sender=self.accounts.outsider)
        a.closed = True
        assert agreements.agreement(a.id).state is AgreementState.CLOSED

    @rule(who=st.sampled_from(("supplier", "buyer")))
    def collect(self, who: str) -> None:
        agreements = self.suite.agreements
        assert agreements is not None
        account = self.accounts.compute_supplier if who == "supplier" else self.accounts.users[0]
        credit = agreements.credit(account)
        result = _outcome(lambda: agreements.withdraw(sender=account))
        assert result == (("ok",) if credit else ("NothingToWithdraw", account))

    # -- certificates ------------------------------------------------------------------------

    @rule(mwh=st.integers(1, 50))
    def issue(self, mwh: int) -> None:
        certs = self.suite.certificates
        assert certs is not None
        generator = self.accounts.energy_supplier
        # the meter (the admin) attests one more period of generation (in Wh)
        cid = certs.attest_generation(generator, len(self.certificates), mwh, sender=self.suite.admin)
        self.certificates[cid] = mwh
        self.holders[cid] = {generator: mwh}
        self.retired[cid] = {}

    @precondition(lambda self: bool(self.certificates))
    @rule(data=st.data(), amount=st.integers(1, 60))
    def move_or_retire(self, data: st.DataObject, amount: int) -> None:
        certs = self.suite.certificates
        assert certs is not None
        cid = data.draw(st.sampled_from(sorted(self.certificates)))
        holder = data.draw(st.sampled_from([self.accounts.energy_supplier, *self.accounts.users]))
        held = self.holders[cid].get(holder, 0)
        if data.draw(st.booleans(), label="retire"):
            result = _outcome(lambda: certs.retire(cid, amount, sender=holder))
            if result == ("ok",):
                self.retired[cid][holder] = self.retired[cid].get(holder, 0) + amount
        else:
            to = data.draw(st.sampled_from(self.accounts.users))
            result = _outcome(lambda: certs.safe_transfer_from(holder, to, cid, amount, sender=holder))
            if result == ("ok",):
                self.holders[cid][to] = self.holders[cid].get(to, 0) + amount
        if result == ("ok",):
            self.holders[cid][holder] = held - amount
        else:
            assert result == ("InsufficientCertificates", holder, cid, held, amount)

    # -- invariants ----------------------------------------------------------------------------
    # Cheap ones after every step (Python state only); the full books, which need dozens of chain
    # reads, at the end of every example, before the chain is reverted.

    @invariant()
    def nothing_filled_beyond_its_order(self) -> None:
        for (user, order_id), signed in self.orders.items():
            filled = self.memory.filled(self.addresses[user], order_id)
            assert filled <= signed.order.quantity or filled == 2**64 - 1  # or cancelled

    @invariant()
    def compensation_never_exceeds_collateral(self) -> None:
        for a in self.agreements:
            assert a.compensated <= a.terms.collateral
            assert a.claimed.isdisjoint(a.claimable)

    def teardown(self) -> None:
        try:
            self._check_books()
        finally:
            self.chain.set_automine(True)
            self.chain.revert(self.snapshot)

    def _check_books(self) -> None:
        token, settlement, agreements, certs = (
            self.suite.token, self.suite.settlement, self.suite.agreements, self.suite.certificates,
        )  # fmt: skip
        assert agreements is not None and certs is not None
        escrow = {a: settlement.balance_of(a) for a in self.addresses[:6]}
        assert escrow == {a: self.memory.escrow_of(a) for a in escrow}
        assert token.balance_of(settlement.address) == sum(escrow.values())
        wallets = sum(token.balance_of(a) for a in [*self.addresses, self.suite.admin])
        held = token.balance_of(agreements.address)
        assert wallets + token.balance_of(settlement.address) + held == token.total_supply()
        owed = 0
        for a in self.agreements:
            record = agreements.agreement(a.id)
            owed += record.collateral_left + record.payment_held + record.compensation_owed
            compensation = sum(agreements.period(a.id, p).compensation for p in a.attested)
            assert compensation == a.compensated and compensation + record.collateral_left <= a.terms.collateral
        credits = sum(agreements.credit(a) for a in {self.accounts.compute_supplier, *self.accounts.users})
        assert held == owed + credits
        for (user, order_id), _ in self.orders.items():
            owner = self.addresses[user]
            assert settlement.filled(owner, order_id) == self.memory.filled(owner, order_id)
        for cid, issued in self.certificates.items():
            retired = certs.total_retired(cid)
            assert retired == sum(self.retired[cid].values())
            assert certs.total_supply(cid) + retired == issued
            for holder, amount in self.retired[cid].items():
                assert certs.retired_of(cid, holder) == amount


BOUNDED = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
LONG = settings(BOUNDED, max_examples=200, stateful_step_count=40)


def _run(chain: Chain, suite: Suite, accounts: CceiAccounts, profile: settings) -> None:
    class Machine(LedgerMachine):
        pass

    Machine.chain, Machine.suite, Machine.accounts = chain, suite, accounts
    run_state_machine_as_test(Machine, settings=profile)


def test_ledger_state_machine(ccei_chain: Chain, ccei_suite: Suite, ccei_accounts: CceiAccounts) -> None:
    _run(ccei_chain, ccei_suite, ccei_accounts, BOUNDED)


@pytest.mark.slow
def test_ledger_state_machine_long(ccei_chain: Chain, ccei_suite: Suite, ccei_accounts: CceiAccounts) -> None:
    _run(ccei_chain, ccei_suite, ccei_accounts, LONG)
