"""ServiceAgreements.sol (guarantee contracts / SLAs): offer, accept, attest, compensate, dispute,
release, pull payments, pause; every revert by its custom error."""

from __future__ import annotations

import dataclasses
from typing import Any

from eth_typing import ChecksumAddress

import pytest
from onchain_helpers import SALT, SECRET, Market

from ledger.chain import Chain
from ledger.contracts import AgreementState, AgreementTerms, ContractReverted, Service, ServiceAgreements
from ledger.pytest_plugin import assert_reverts
from ledger.signing import ZERO_ADDRESS

PERIOD_S = 3_600
UNITS = 1_000
PAYMENT = 10_000
PENALTY = 30
COLLATERAL = 50_000
WINDOW_S = 3_600


class Sla:
    """One supplier (the compute supplier) and one buyer (the first user) on the suite's agreements."""

    def __init__(self, market: Market, chain: Chain) -> None:
        self.m = market
        self.chain = chain
        assert market.suite.agreements is not None
        self.c: ServiceAgreements = market.suite.agreements
        self.supplier = market.accounts.compute_supplier
        self.buyer = market.accounts.users[0]
        self.oracle = market.accounts.oracle
        self.token = market.suite.token

    def terms(self, **changes: Any) -> AgreementTerms:
        base = AgreementTerms(
            buyer=self.buyer,
            oracle=ZERO_ADDRESS,
            service=Service.COMPUTE,
            terms_hash=ServiceAgreements.commit(SECRET, SALT),
            start=self.chain.next_timestamp() + 100,  # the next block may be far past the latest after a revert
            periods=3,
            period_seconds=PERIOD_S,
            units_per_period=UNITS,
            payment_per_period=PAYMENT,
            penalty_per_unit=PENALTY,
            collateral=COLLATERAL,
            dispute_window=WINDOW_S,
        )
        return dataclasses.replace(base, **changes)

    def offer(self, sender: ChecksumAddress | None = None, **changes: Any) -> tuple[int, AgreementTerms]:
        terms = self.terms(**changes)
        sender = sender or self.supplier
        self.token.approve(self.c.address, terms.collateral, sender=sender)
        return self.c.offer(terms, sender=sender), terms

    def active(self, **changes: Any) -> tuple[int, AgreementTerms]:
        agreement_id, terms = self.offer(**changes)
        self.token.approve(self.c.address, terms.payment_per_period * terms.periods, sender=self.buyer)
        self.c.accept(agreement_id, sender=self.buyer)
        return agreement_id, terms

    def after_period(self, terms: AgreementTerms, period: int) -> None:
        self.chain.time_travel(max(self.chain.timestamp() + 1, terms.start + (period + 1) * terms.period_seconds))

    def after_window(self, terms: AgreementTerms) -> None:
        self.chain.time_travel(max(self.chain.timestamp() + 1, terms.end + terms.dispute_window))

    def held(self) -> int:
        return self.token.balance_of(self.c.address)


@pytest.fixture()
def sla(market: Market, ccei_chain: Chain) -> Sla:
    return Sla(market, ccei_chain)


def test_full_lifecycle_pays_per_period_compensates_once_and_releases_the_rest(sla: Sla) -> None:
    c = sla.c
    wallet_supplier, wallet_buyer = sla.token.balance_of(sla.supplier), sla.token.balance_of(sla.buyer)
    agreement_id, terms = sla.offer()
    assert sla.held() == COLLATERAL and c.agreement_count() == 1
    assert c.agreement(agreement_id).state is AgreementState.OFFERED
    sla.token.approve(c.address, 3 * PAYMENT, sender=sla.buyer)
    receipt = c.accept(agreement_id, sender=sla.buyer)
    (accepted,) = c.events(receipt, "AgreementAccepted")
    assert (accepted.id, accepted.payment_escrowed) == (agreement_id, 3 * PAYMENT)
    assert sla.held() == COLLATERAL + 3 * PAYMENT

    sla.after_period(terms, 0)
    c.attest(agreement_id, 0, UNITS, sender=sla.buyer)
    sla.after_period(terms, 1)
    receipt = c.attest(agreement_id, 1, 400, sender=sla.buyer)
    (attested,) = c.events(receipt, "PeriodAttested")
    shortfall_pay = PENALTY * (UNITS - 400)
    assert (attested.delivered, attested.to_supplier, attested.refund, attested.compensation) == (
        400,
        PAYMENT * 400 // UNITS,
        PAYMENT - PAYMENT * 400 // UNITS,
        shortfall_pay,
    )
    record = c.period(agreement_id, 1)
    assert (record.attested, record.claimed, record.delivered, record.compensation) == (True, False, 400, shortfall_pay)
    c.claim_compensation(agreement_id, 1, sender=sla.buyer)
    assert_reverts(lambda: c.claim_compensation(agreement_id, 1, sender=sla.buyer), "AlreadyClaimed", agreement_id, 1)

    assert_reverts(c.function("release", agreement_id), "DisputeWindowOpen", agreement_id, terms.end + WINDOW_S)
    sla.after_window(terms)
    receipt = c.release(agreement_id, sender=sla.m.accounts.outsider)  # anyone may release
    (released,) = c.events(receipt, "AgreementReleased")
    assert released.to_supplier == PAYMENT + COLLATERAL - shortfall_pay  # unattested period 2 + collateral left
    agreement = c.agreement(agreement_id)
    assert agreement.state is AgreementState.CLOSED and agreement.attested == 2
    assert (agreement.collateral_left, agreement.payment_held, agreement.compensation_owed) == (0, 0, 0)

    supplier_credit, buyer_credit = c.credit(sla.supplier), c.credit(sla.buyer)
    assert supplier_credit == PAYMENT + 4_000 + PAYMENT + COLLATERAL - shortfall_pay
    assert buyer_credit == 6_000 + shortfall_pay
    c.withdraw(sender=sla.supplier)
    c.withdraw(sender=sla.buyer)
    assert sla.held() == 0
    assert sla.token.balance_of(sla.supplier) == wallet_supplier - COLLATERAL + supplier_credit
    assert sla.token.balance_of(sla.buyer) == wallet_buyer - 3 * PAYMENT + buyer_credit


def test_compensation_is_capped_by_the_collateral_left(sla: Sla) -> None:
    agreement_id, terms = sla.active(penalty_per_unit=40, collateral=30_000)
    sla.after_period(terms, 1)
    sla.c.attest(agreement_id, 0, 500, sender=sla.buyer)  # 20,000 of 30,000
    sla.c.attest(agreement_id, 1, 0, sender=sla.buyer)  # wants 40,000, gets the 10,000 left
    assert sla.c.period(agreement_id, 0).compensation == 20_000
    assert sla.c.period(agreement_id, 1).compensation == 10_000
    sla.after_period(terms, 2)
    sla.c.attest(agreement_id, 2, 0, sender=sla.buyer)
    assert sla.c.period(agreement_id, 2).compensation == 0
    assert_reverts(sla.c.function("claimCompensation", agreement_id, 2), "NothingToClaim", agreement_id, 2, sender=sla.buyer)
    assert sla.c.agreement(agreement_id).collateral_left == 0


def test_over_delivery_counts_as_promised(sla: Sla) -> None:
    agreement_id, terms = sla.active()
    sla.after_period(terms, 0)
    sla.c.attest(agreement_id, 0, UNITS * 5, sender=sla.buyer)
    record = sla.c.period(agreement_id, 0)
    assert (record.delivered, record.compensation) == (UNITS, 0)
    assert sla.c.credit(sla.supplier) == PAYMENT


def test_a_designated_oracle_attests_instead_of_the_buyer(sla: Sla) -> None:
    agreement_id, terms = sla.active(oracle=sla.oracle)
    sla.after_period(terms, 0)
    assert_reverts(sla.c.function("attest", agreement_id, 0, 1), "NotAttester", agreement_id, sla.buyer, sender=sla.buyer)
    sla.c.attest(agreement_id, 0, UNITS, sender=sla.oracle)
    sla.c.set_oracle(sla.oracle, False, sender=sla.m.admin)  # removed oracles attest no more
    sla.after_period(terms, 1)
    assert_reverts(sla.c.function("attest", agreement_id, 1, 1), "NotAttester", agreement_id, sla.oracle, sender=sla.oracle)


def test_offer_checks(sla: Sla) -> None:
    c, m = sla.c, sla.m
    network, outsider = m.accounts.network_supplier, m.accounts.outsider
    sla.token.approve(c.address, 10**9, sender=sla.supplier)

    def offer(sender: ChecksumAddress = sla.supplier, **changes: Any) -> ContractReverted:
        with pytest.raises(ContractReverted) as caught:
            c.offer(sla.terms(**changes), sender=sender)
        return caught.value

    assert offer(sender=sla.buyer).error_args == (sla.buyer, Service.COMPUTE)
    assert offer(service=Service.NETWORK).error == "NotSupplier"
    assert offer(buyer=outsider).error_args == (outsider,)
    assert offer(buyer=sla.supplier).error == "SelfDealing"
    assert offer(periods=0).error_args == (0, PERIOD_S, UNITS)
    assert offer(periods=8_785).error == "InvalidSchedule"
    assert offer(period_seconds=0).error == "InvalidSchedule"
    assert offer(units_per_period=0).error == "InvalidSchedule"
    now = sla.chain.timestamp()
    assert offer(start=now).error == "StartInPast"
    assert (offer(oracle=outsider).error, offer(oracle=outsider).error_args) == ("OracleNotDesignated", (outsider,))
    assert offer(dispute_window=PERIOD_S - 1).error_args == (PERIOD_S - 1, PERIOD_S)
    assert offer(period_seconds=2 * PERIOD_S, dispute_window=PERIOD_S).error_args == (PERIOD_S, 2 * PERIOD_S)
    assert offer(dispute_timeout=3_599).error_args == (3_599, 3_600)
    assert offer(sender=network, service=Service.NETWORK).error == "ERC20InsufficientAllowance"
    sla.token.approve(c.address, 0, sender=network)
    agreement_id = c.offer(sla.terms(service=Service.NETWORK, collateral=0), sender=network)
    assert c.agreement(agreement_id).supplier == network


def test_cancel_and_accept_checks(sla: Sla) -> None:
    c = sla.c
    agreement_id, terms = sla.offer()
    assert_reverts(c.function("cancelOffer", agreement_id), "NotParty", agreement_id, sla.buyer, sender=sla.buyer)
    assert_reverts(c.function("accept", agreement_id), "NotParty", agreement_id, sla.supplier, sender=sla.supplier)
    assert_reverts(c.function("accept", 99), "UnknownAgreement", 99, sender=sla.buyer)
    assert_reverts(c.function("accept", agreement_id), "ERC20InsufficientAllowance", sender=sla.buyer)
    receipt = c.cancel_offer(agreement_id, sender=sla.supplier)
    (event,) = c.events(receipt, "AgreementCancelled")
    assert event.collateral_refunded == COLLATERAL and c.credit(sla.supplier) == COLLATERAL
    assert_reverts(c.function("accept", agreement_id), "WrongState", agreement_id, AgreementState.CANCELLED, sender=sla.buyer)
    lapsed, terms = sla.offer()
    sla.chain.time_travel(terms.start)
    # time-dependent checks are sent as transactions: a simulated call runs on the previous block's time
    assert_reverts(lambda: c.accept(lapsed, sender=sla.buyer), "OfferLapsed", lapsed, terms.start)


def test_attest_checks(sla: Sla) -> None:
    c = sla.c
    offered, _ = sla.offer()
    assert_reverts(c.function("attest", offered, 0, 1), "WrongState", offered, AgreementState.OFFERED, sender=sla.buyer)
    agreement_id, terms = sla.active()
    assert_reverts(c.function("attest", agreement_id, 0, 1), "NotAttester", agreement_id, sla.supplier, sender=sla.supplier)
    assert_reverts(c.function("attest", agreement_id, 3, 1), "PeriodOutOfRange", agreement_id, 3, sender=sla.buyer)
    assert_reverts(c.function("attest", agreement_id, 0, 1), "PeriodNotOver", agreement_id, 0, terms.start + PERIOD_S, sender=sla.buyer)
    sla.after_period(terms, 0)
    c.attest(agreement_id, 0, 1, sender=sla.buyer)
    assert_reverts(c.function("attest", agreement_id, 0, 1), "AlreadyAttested", agreement_id, 0, sender=sla.buyer)
    assert_reverts(c.function("claimCompensation", agreement_id, 0), "NotParty", agreement_id, sla.supplier, sender=sla.supplier)


def test_dispute_reveal_and_resolution(sla: Sla) -> None:
    c, m = sla.c, sla.m
    agreement_id, terms = sla.active()
    assert_reverts(c.function("revealTerms", agreement_id, SECRET, SALT), "WrongState", sender=sla.buyer)
    outsider = m.accounts.outsider
    assert_reverts(c.function("openDispute", agreement_id), "NotParty", agreement_id, outsider, sender=outsider)
    sla.after_period(terms, 0)
    c.attest(agreement_id, 0, 0, sender=sla.buyer)  # compensation 30,000 set aside
    receipt = c.open_dispute(agreement_id, sender=sla.supplier)
    assert c.events(receipt, "DisputeOpened")[0].by == sla.supplier
    assert_reverts(c.function("release", agreement_id), "WrongState", agreement_id, AgreementState.DISPUTED)
    assert_reverts(c.function("revealTerms", agreement_id, SECRET, SALT), "NotParty", sender=outsider)
    assert_reverts(c.function("revealTerms", agreement_id, SECRET + b"!", SALT), "TermsMismatch", agreement_id, sender=sla.buyer)
    receipt = c.reveal_terms(agreement_id, SECRET, SALT, sender=m.admin)  # the operator may reveal too
    (revealed,) = c.events(receipt, "TermsRevealed")
    assert (revealed.by, revealed.terms) == (m.admin, SECRET)

    held = c.agreement(agreement_id)
    assert (held.payment_held, held.collateral_left) == (2 * PAYMENT, COLLATERAL - 30_000)
    assert_reverts(c.function("resolveDispute", agreement_id, 0, 0), "NotOperator", sla.buyer, sender=sla.buyer)
    assert_reverts(
        c.function("resolveDispute", agreement_id, 2 * PAYMENT + 1, 0), "ExceedsHeld", agreement_id, 2 * PAYMENT + 1, 2 * PAYMENT, sender=m.admin
    )
    assert_reverts(c.function("resolveDispute", agreement_id, 0, 20_001), "ExceedsHeld", agreement_id, 20_001, 20_000, sender=m.admin)
    receipt = c.resolve_dispute(agreement_id, 5_000, 7_000, sender=m.admin)
    (resolved,) = c.events(receipt, "DisputeResolved")
    assert (resolved.to_buyer, resolved.to_supplier) == (12_000, 2 * PAYMENT - 5_000 + 20_000 - 7_000)
    assert c.agreement(agreement_id).state is AgreementState.CLOSED
    c.claim_compensation(agreement_id, 0, sender=sla.buyer)  # set-aside compensation survives the dispute
    assert c.credit(sla.buyer) == PAYMENT + 12_000 + 30_000  # period-0 refund + award + compensation
    assert_reverts(c.function("openDispute", agreement_id), "WrongState", sender=sla.buyer)


def test_disputes_close_with_the_window(sla: Sla) -> None:
    agreement_id, terms = sla.active()
    sla.after_window(terms)
    assert_reverts(lambda: sla.c.open_dispute(agreement_id, sender=sla.buyer), "DisputeWindowClosed", agreement_id, terms.end + WINDOW_S)


def test_withdraw_and_oracle_checks(sla: Sla) -> None:
    c, m = sla.c, sla.m
    assert_reverts(c.function("withdraw"), "NothingToWithdraw", sla.buyer, sender=sla.buyer)
    assert_reverts(c.function("setOracle", sla.oracle, True), "NotOperator", sla.buyer, sender=sla.buyer)
    assert_reverts(c.function("setOracle", ZERO_ADDRESS, True), "ZeroAddress", sender=m.admin)
    receipt = c.set_oracle(m.accounts.outsider, True, sender=m.admin)
    assert c.events(receipt, "OracleSet")[0].enabled is True and c.is_oracle(m.accounts.outsider)


def test_pause_stops_new_obligations_but_never_refunds_or_withdrawals(sla: Sla) -> None:
    c, m = sla.c, sla.m
    offered, _ = sla.offer()
    agreement_id, terms = sla.active()
    sla.after_period(terms, 0)
    c.attest(agreement_id, 0, 0, sender=sla.buyer)
    c.pause(sender=m.admin)
    assert c.paused()
    sla.token.approve(c.address, 10**9, sender=sla.supplier)
    assert_reverts(lambda: c.offer(sla.terms(start=sla.chain.timestamp() + 100), sender=sla.supplier), "EnforcedPause")
    assert_reverts(c.function("accept", offered), "EnforcedPause", sender=sla.buyer)
    c.cancel_offer(offered, sender=sla.supplier)
    c.claim_compensation(agreement_id, 0, sender=sla.buyer)
    c.withdraw(sender=sla.buyer)
    c.withdraw(sender=sla.supplier)
    sla.after_window(terms)
    c.release(agreement_id, sender=sla.buyer)
    c.unpause(sender=m.admin)
    assert not c.paused()


def test_a_dispute_the_operator_leaves_alone_times_out_and_claims_are_not_paid_twice(sla: Sla) -> None:
    c = sla.c
    agreement_id, terms = sla.active()
    sla.after_period(terms, 0)
    c.attest(agreement_id, 0, UNITS // 2, sender=sla.buyer)  # a shortfall: a claim of PENALTY * UNITS // 2
    receipt = c.open_dispute(agreement_id, sender=sla.buyer)
    opened = sla.chain.timestamp()
    assert c.agreement(agreement_id).disputed_at == opened
    until = opened + terms.dispute_timeout
    assert_reverts(c.function("expireDispute", agreement_id), "DisputeNotTimedOut", agreement_id, until, sender=sla.buyer)
    sla.chain.time_travel(until)
    before_buyer, before_supplier = c.credit(sla.buyer), c.credit(sla.supplier)
    receipt = c.expire_dispute(agreement_id, sender=sla.m.accounts.outsider)
    (event,) = c.events(receipt, "DisputeTimedOut")
    claim = PENALTY * (UNITS // 2)
    assert (event.to_buyer, event.to_supplier) == (2 * PAYMENT + claim, COLLATERAL - claim)
    assert c.credit(sla.buyer) - before_buyer == event.to_buyer
    assert c.credit(sla.supplier) - before_supplier == event.to_supplier
    assert c.agreement(agreement_id).state is AgreementState.CLOSED
    # the claim was paid with the split: claiming it again finds nothing
    assert_reverts(c.function("claimCompensation", agreement_id, 0), "NothingToClaim", agreement_id, 0, sender=sla.buyer)
    assert_reverts(c.function("expireDispute", agreement_id), "WrongState", agreement_id, AgreementState.CLOSED, sender=sla.buyer)
    # the operator can no longer resolve it either
    assert_reverts(c.function("resolveDispute", agreement_id, 0, 0), "WrongState", agreement_id, AgreementState.CLOSED, sender=sla.m.admin)


def test_many_agreements_are_offered_accepted_attested_and_claimed_in_one_transaction_each(sla: Sla) -> None:
    c = sla.c
    terms = [sla.terms(periods=1), sla.terms(periods=1, payment_per_period=2 * PAYMENT)]
    sla.token.approve(c.address, 2 * COLLATERAL, sender=sla.supplier)
    ids = c.offer_many(terms, sender=sla.supplier)
    assert len(ids) == 2 and ids[1] == ids[0] + 1
    sla.token.approve(c.address, 3 * PAYMENT, sender=sla.buyer)
    c.accept_many(ids, sender=sla.buyer)
    assert [c.agreement(i).payment_held for i in ids] == [PAYMENT, 2 * PAYMENT]
    sla.after_period(terms[0], 0)
    receipt = c.attest_many(ids, [0, 0], [UNITS, UNITS - 10], sender=sla.buyer)
    assert len(c.events(receipt, "PeriodAttested")) == 2
    receipt = c.claim_compensation_many([ids[1]], [0], sender=sla.buyer)
    assert c.events(receipt, "CompensationClaimed")[0].amount == 10 * PENALTY
    assert_reverts(c.function("attestMany", ids, [0], [1, 1]), "LengthMismatch", 2, 1, sender=sla.buyer)
    assert_reverts(c.function("claimCompensationMany", ids, [0]), "LengthMismatch", 2, 1, sender=sla.buyer)
    assert_reverts(c.function("acceptMany", [0] * 257), "BatchTooLarge", 257, 256, sender=sla.buyer)


def test_a_broker_offers_and_accepts_for_the_parties_that_named_it(sla: Sla) -> None:
    c, token, broker = sla.c, sla.token, sla.oracle
    network, other_buyer = sla.m.accounts.network_supplier, sla.m.accounts.users[1]
    offers = [
        sla.terms(periods=1),
        sla.terms(periods=1, buyer=other_buyer, collateral=2 * COLLATERAL),
        sla.terms(periods=1, service=Service.NETWORK, payment_per_period=3 * PAYMENT),
    ]
    suppliers = [sla.supplier, sla.supplier, network]
    for account, amount in ((sla.supplier, 3 * COLLATERAL), (network, COLLATERAL), (sla.buyer, 4 * PAYMENT), (other_buyer, PAYMENT)):
        token.approve(c.address, amount, sender=account)
    assert_reverts(c.function("offerManyFor", suppliers, [t.as_tuple() for t in offers]), "NotBroker", sla.supplier, broker, sender=broker)
    assert_reverts(c.function("setBroker", ZERO_ADDRESS, True), "ZeroAddress", sender=sla.supplier)
    for account in (sla.supplier, network, sla.buyer):
        (event,) = c.events(c.set_broker(broker, True, sender=account), "BrokerSet")
        assert (event.account, event.broker, event.enabled) == (account, broker, True) and c.is_broker(account, broker)
    assert_reverts(c.function("offerManyFor", suppliers[:2], [t.as_tuple() for t in offers]), "LengthMismatch", 2, 3, sender=broker)
    held, supplier_before, network_before = sla.held(), token.balance_of(sla.supplier), token.balance_of(network)
    ids = c.offer_many_for(suppliers, offers, sender=broker)
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    assert [c.agreement(i).supplier for i in ids] == suppliers
    # each supplier's collateral is drawn from its own wallet
    assert supplier_before - token.balance_of(sla.supplier) == 3 * COLLATERAL and network_before - token.balance_of(network) == COLLATERAL
    assert sla.held() - held == 4 * COLLATERAL
    # the second buyer never named the broker: the whole batch reverts, nothing is accepted
    by_buyer = [ids[0], ids[2], ids[1]]
    assert_reverts(lambda: c.accept_many_for(by_buyer, sender=broker), "NotBroker", other_buyer, broker)
    assert [c.agreement(i).state for i in ids] == [AgreementState.OFFERED] * 3
    # a party may use the batched call for itself without naming anybody
    c.accept_many_for([ids[1]], sender=other_buyer)
    buyer_before = token.balance_of(sla.buyer)
    c.accept_many_for([ids[0], ids[2]], sender=broker)
    assert buyer_before - token.balance_of(sla.buyer) == 4 * PAYMENT
    assert [c.agreement(i).payment_held for i in ids] == [PAYMENT, PAYMENT, 3 * PAYMENT]
    assert [c.agreement(i).state for i in ids] == [AgreementState.ACTIVE] * 3
    assert_reverts(c.function("acceptManyFor", [ids[0]]), "WrongState", ids[0], AgreementState.ACTIVE, sender=broker)
    assert_reverts(c.function("acceptManyFor", [0] * 257), "BatchTooLarge", 257, 256, sender=broker)
    # revoked, the broker can no longer draw on the supplier
    c.set_broker(broker, False, sender=sla.supplier)
    assert not c.is_broker(sla.supplier, broker)
    later = sla.terms(periods=1)
    assert_reverts(c.function("offerManyFor", [sla.supplier], [later.as_tuple()]), "NotBroker", sla.supplier, broker, sender=broker)


def test_brokered_batches_draw_all_or_nothing_and_stop_with_the_pause(sla: Sla) -> None:
    c, token, broker = sla.c, sla.token, sla.oracle
    other_buyer = sla.m.accounts.users[1]
    for account in (sla.supplier, sla.buyer, other_buyer):
        c.set_broker(broker, True, sender=account)
    token.approve(c.address, 2 * COLLATERAL, sender=sla.supplier)
    ids = c.offer_many_for([sla.supplier] * 2, [sla.terms(periods=1), sla.terms(periods=1, buyer=other_buyer)], sender=broker)
    token.approve(c.address, PAYMENT, sender=sla.buyer)  # the other buyer approved nothing
    held = sla.held()
    assert_reverts(lambda: c.accept_many_for(ids, sender=broker), "ERC20InsufficientAllowance")
    assert sla.held() == held and [c.agreement(i).state for i in ids] == [AgreementState.OFFERED] * 2
    c.pause(sender=sla.m.admin)
    assert_reverts(c.function("acceptManyFor", ids), "EnforcedPause", sender=broker)
    assert_reverts(c.function("offerManyFor", [sla.supplier], [sla.terms(periods=1).as_tuple()]), "EnforcedPause", sender=broker)
