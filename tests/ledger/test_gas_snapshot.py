"""The committed gas snapshot (tests/gas-snapshot.json): a fixed scenario calls every state-changing
function of every contract once or more; the test fails when any function's gas grows more than 5 %
over the committed figure, or a function is missing from it.

After an intended change: ``CCEI_UPDATE_GAS_SNAPSHOT=1 .venv/bin/pytest tests/ledger/test_gas_snapshot.py``
rewrites the file; commit it with the change.
"""

from __future__ import annotations

from pathlib import Path

import coincurve

from ledger.batch import Fill, assemble_batch
from ledger.chain import Chain
from ledger.contracts import (
    MINTER_ROLE,
    AgreementTerms,
    Capacity,
    Service,
    ServiceAgreements,
)
from ledger.gas import check_snapshot, recording
from ledger.merkle import memo_hash
from ledger.pytest_plugin import CceiAccounts
from ledger.signing import BUY, SELL, ZERO_ADDRESS, SettlementOrder, SettlementPayment, order_expiry, sign_order, sign_payment
from ledger.suite import deploy_suite
from market.carbon import EnergySource

SNAPSHOT = Path(__file__).resolve().parents[1] / "gas-snapshot.json"


def test_gas_stays_within_the_snapshot(ccei_chain: Chain, ccei_accounts: CceiAccounts) -> None:
    acc = ccei_accounts
    u0, u1, u2 = acc.users
    with recording() as recorder:
        suite = deploy_suite(ccei_chain)  # a fresh suite, so the constructors are measured too
        admin, token, registry, settlement = suite.admin, suite.token, suite.registry, suite.settlement
        agreements, certs = suite.agreements, suite.certificates
        assert agreements is not None and certs is not None

        registry.register_many([u0, u1, u2], Capacity.USER, sender=admin)
        registry.register(acc.compute_supplier, Capacity.COMPUTE_SUPPLIER, sender=admin)
        registry.register(acc.energy_supplier, Capacity.ENERGY_SUPPLIER, sender=admin)
        registry.register(acc.outsider, Capacity.USER, sender=admin)
        registry.deregister(acc.outsider, sender=admin)
        for user in (u0, u1, u2, acc.compute_supplier):
            token.mint(user, 10**9, sender=admin)
        token.transfer(u1, 5, sender=u0)
        token.approve(u2, 10, sender=u0)
        token.transfer_from(u0, u2, 10, sender=u2)
        token.grant_role(MINTER_ROLE, u0, sender=admin)
        token.revoke_role(MINTER_ROLE, u0, sender=admin)
        token.grant_role(MINTER_ROLE, u1, sender=admin)
        token.renounce_role(MINTER_ROLE, sender=u1)

        for user in (u0, u1, u2):
            token.approve(settlement.address, 10**8, sender=user)
            settlement.deposit_for(user, 10**8, sender=user)
        settlement.withdraw(10, sender=u0)
        settlement.cancel_order(99, sender=u0)
        settlement.cancel_payment(98, sender=u0)
        orders = [
            sign_order(coincurve.PrivateKey(acc.key(u)), suite.domain, SettlementOrder(u, n, BUY, 0, 500, 100, order_expiry(0)))
            for n, u in enumerate((u0, u1, u2, u0, u1), start=1)
        ]
        asks = [
            sign_order(coincurve.PrivateKey(acc.key(s)), suite.domain, SettlementOrder(s, n, SELL, 0, 300, 1_000, order_expiry(0)))
            for n, s in ((50, acc.compute_supplier), (51, u2))
        ]
        payments = [
            sign_payment(coincurve.PrivateKey(acc.key(u0)), suite.domain, SettlementPayment(u0, u1, 1, 777, order_expiry(0), memo_hash("fee")))
        ]
        batch = assemble_batch(1, [Fill(o, a, 400, 20) for o in orders for a in asks], payments)  # 10 trades, 7 orders, 1 payment, 4 participants
        settlement.settle_batch(batch, sender=admin)
        settlement.pause(sender=admin)
        settlement.unpause(sender=admin)

        agreements.set_oracle(acc.oracle, True, sender=admin)
        token.approve(agreements.address, 10**8, sender=acc.compute_supplier)
        token.approve(agreements.address, 10**8, sender=u0)
        start = ccei_chain.next_timestamp() + 100

        def terms(**change: object) -> AgreementTerms:
            base = dict(
                buyer=u0, oracle=ZERO_ADDRESS, service=Service.COMPUTE, terms_hash=ServiceAgreements.commit(b"t", b"\x01" * 32),
                start=start, periods=2, period_seconds=600, units_per_period=100, payment_per_period=1_000,
                penalty_per_unit=20, collateral=5_000, dispute_window=3_600, dispute_timeout=3_600,
            )  # fmt: skip
            return AgreementTerms(**{**base, **change})  # type: ignore[arg-type]

        first = agreements.offer(terms(), sender=acc.compute_supplier)
        second = agreements.offer(terms(), sender=acc.compute_supplier)
        third = agreements.offer(terms(), sender=acc.compute_supplier)
        fourth, fifth = agreements.offer_many([terms(), terms()], sender=acc.compute_supplier)
        for party in (acc.compute_supplier, u0):
            agreements.set_broker(acc.oracle, True, sender=party)
        sixth, seventh = agreements.offer_many_for([acc.compute_supplier] * 2, [terms(), terms()], sender=acc.oracle)
        agreements.cancel_offer(third, sender=acc.compute_supplier)
        agreements.accept(first, sender=u0)
        agreements.accept(second, sender=u0)
        agreements.accept_many([fourth, fifth], sender=u0)
        agreements.accept_many_for([sixth, seventh], sender=acc.oracle)
        ccei_chain.time_travel(start + 600)
        agreements.attest(first, 0, 60, sender=u0)
        agreements.attest_many([fourth, fifth], [0, 0], [50, 100], sender=u0)
        agreements.claim_compensation(first, 0, sender=u0)
        agreements.claim_compensation_many([fourth], [0], sender=u0)
        agreements.open_dispute(second, sender=u0)
        agreements.reveal_terms(second, b"t", b"\x01" * 32, sender=u0)
        agreements.resolve_dispute(second, 500, 500, sender=admin)
        agreements.open_dispute(fifth, sender=acc.compute_supplier)
        ccei_chain.time_travel(ccei_chain.timestamp() + 3_600)
        agreements.expire_dispute(fifth, sender=u0)
        ccei_chain.time_travel(start + 1_200 + 3_601)
        agreements.release(first, sender=u0)
        agreements.withdraw(sender=u0)
        agreements.pause(sender=admin)
        agreements.unpause(sender=admin)

        certs.register_generator(acc.energy_supplier, EnergySource.WIND, sender=admin)
        cid = certs.attest_generation(acc.energy_supplier, 1, 100, sender=admin)
        certs.attest_generation_many([acc.energy_supplier], 2, [250], sender=admin)
        certs.set_approval_for_all(u1, True, sender=acc.energy_supplier)
        certs.safe_transfer_from(acc.energy_supplier, u0, cid, 40, sender=u1)
        certs.retire(cid, 15, sender=u0)
        certs.revoke_generator(acc.energy_supplier, sender=admin)
    measured = {f"{r.contract}.{r.function}": r.max for r in recorder.rows()}
    assert len(measured) >= 40
    check_snapshot(measured, SNAPSHOT)
