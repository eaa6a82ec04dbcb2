"""Adversarial signed orders: replay (same batch, another batch, another chain id, another contract),
malleable and wrong signatures, and expiry deadlines at -1/0/+1 seconds with time travel."""

from __future__ import annotations

import dataclasses

from eth_typing import ChecksumAddress

import pytest
from onchain_helpers import Market

from ledger.chain import Chain
from ledger.contracts import ContractReverted, Settlement, deploy
from ledger.pytest_plugin import assert_reverts
from ledger.signing import SELL, ZERO_ADDRESS, OrderDomain, Signature, SignedOrder, malleable_twin


def _reverted(m: Market, *fills: tuple[SignedOrder, SignedOrder | ChecksumAddress, int, int], batch_id: int = 1) -> ContractReverted:
    with pytest.raises(ContractReverted) as caught:
        m.settle(m.batch(batch_id, *fills))
    return caught.value


def test_replaying_a_settled_batch_is_refused(funded_market: Market) -> None:
    m = funded_market
    batch = m.batch(1, (m.order(m.accounts.users[0], 1), m.accounts.compute_supplier, 100, 10))
    m.settle(batch)
    assert_reverts(lambda: m.settle(batch), "BatchAlreadySettled", 1)


def test_replaying_an_order_in_another_batch_stops_at_its_signed_quantity(funded_market: Market) -> None:
    m = funded_market
    user, seller = m.accounts.users[0], m.accounts.compute_supplier
    order = m.order(user, 1, quantity=100)
    m.settle(m.batch(1, (order, seller, 100, 60)))
    m.settle(m.batch(2, (order, seller, 100, 40)))  # a partial fill may be completed later
    error = _reverted(m, (order, seller, 100, 1), batch_id=3)
    assert (error.error, error.error_args) == ("OrderOverfilled", (user, 1, 101, 100))
    assert m.suite.settlement.filled(user, 1) == 100


def test_a_new_order_id_is_a_new_order(funded_market: Market) -> None:
    m = funded_market
    user, seller = m.accounts.users[0], m.accounts.compute_supplier
    m.settle(m.batch(1, (m.order(user, 1, quantity=5), seller, 1, 5)))
    m.settle(m.batch(2, (m.order(user, 2, quantity=5), seller, 1, 5)))
    assert m.suite.settlement.filled(user, 2) == 5


def test_a_signature_for_another_chain_id_is_refused(funded_market: Market) -> None:
    m = funded_market
    user = m.accounts.users[0]
    domain = m.suite.domain
    foreign = m.order(user, 1, domain=dataclasses.replace(domain, chain_id=domain.chain_id + 1))
    error = _reverted(m, (foreign, m.accounts.compute_supplier, 1, 1))
    assert error.error == "InvalidSigner"
    index, recovered, owner = error.error_args
    assert (index, owner) == (0, user) and recovered not in (user, ZERO_ADDRESS)


def test_a_signature_for_another_settlement_contract_is_refused(
    funded_market: Market, ccei_chain: Chain
) -> None:
    m = funded_market
    user = m.accounts.users[0]
    suite = m.suite
    other = Settlement(
        ccei_chain, deploy(ccei_chain, "Settlement", suite.token.address, suite.registry.address, m.admin, sender=m.admin)
    )
    assert other.domain != suite.domain
    for_other = m.order(user, 1, domain=other.domain)
    error = _reverted(m, (for_other, m.accounts.compute_supplier, 1, 1))
    assert error.error == "InvalidSigner" and error.error_args[2] == user
    ask_there = m.order(m.accounts.compute_supplier, 7, side=SELL, limit_price=0, domain=other.domain)
    there = m.batch(1, (for_other, ask_there, 1, 1))
    # On its own contract the signature passes and only the empty escrow there stops the batch.
    assert_reverts(lambda: other.settle_batch(there, sender=m.admin), "InsufficientEscrow", user, 0, 1)


def test_the_malleable_twin_of_a_valid_signature_is_refused(funded_market: Market) -> None:
    m = funded_market
    order = m.order(m.accounts.users[0], 1)
    twin = SignedOrder(order.order, malleable_twin(order.signature))
    error = _reverted(m, (twin, m.accounts.compute_supplier, 1, 1))
    assert (error.error, error.error_args) == ("SignatureMalleable", (0,))
    m.settle(m.batch(1, (order, m.accounts.compute_supplier, 1, 1)))


def test_an_order_signed_by_someone_else_is_refused(funded_market: Market) -> None:
    m = funded_market
    owner, forger = m.accounts.users[0], m.accounts.users[1]
    forged = m.order(owner, 1, signer=forger)
    error = _reverted(m, (forged, m.accounts.compute_supplier, 1, 1))
    assert (error.error, error.error_args) == ("InvalidSigner", (0, forger, owner))


def test_an_invalid_v_recovers_no_one(funded_market: Market) -> None:
    m = funded_market
    order = m.order(m.accounts.users[0], 1)
    broken = SignedOrder(order.order, Signature(29, order.signature.r, order.signature.s))
    error = _reverted(m, (broken, m.accounts.compute_supplier, 1, 1))
    assert error.error_args[:2] == (0, ZERO_ADDRESS)


def test_a_tampered_order_field_invalidates_the_signature(funded_market: Market) -> None:
    m = funded_market
    order = m.order(m.accounts.users[0], 1, limit_price=100)
    raised = SignedOrder(order.order._replace(limit_price=10_000), order.signature)
    error = _reverted(m, (raised, m.accounts.compute_supplier, 5_000, 1))
    assert error.error == "InvalidSigner"


@pytest.mark.parametrize(("offset", "expired"), [(-1, False), (0, False), (1, True)])
def test_expiry_deadline(funded_market: Market, ccei_chain: Chain, offset: int, expired: bool) -> None:
    m = funded_market
    user = m.accounts.users[0]
    expiry = ccei_chain.timestamp() + 1_000
    order = m.order(user, 1, expiry=expiry)
    batch = m.batch(1, (order, m.accounts.compute_supplier, 1, 1))
    ccei_chain.time_travel(expiry + offset)
    if expired:
        assert_reverts(lambda: m.settle(batch), "OrderExpired", user, 1, expiry)
    else:
        receipt = m.settle(batch)
        assert ccei_chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] == expiry + offset


def test_domain_is_bound_to_chain_and_contract(funded_market: Market, ccei_chain: Chain) -> None:
    domain = funded_market.suite.domain
    assert domain == OrderDomain(ccei_chain.chain_id, funded_market.suite.settlement.address)
