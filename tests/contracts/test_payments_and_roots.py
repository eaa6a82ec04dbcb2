"""Settlement.sol's payment entry (a payer-signed transfer inside a batch) and its batch roots
(RFC 9162 over the trades, then the payments), the roots checked against ``ledger.merkle``."""

from __future__ import annotations

import pytest
from onchain_helpers import ESCROW_MICRO, Market

from ledger.merkle import EMPTY_ROOT, batch_root, memo_hash, merkle_root_recursive
from ledger.pytest_plugin import assert_reverts
from ledger.signing import SELL, SignedPayment, malleable_twin, payment_digest


def test_a_payment_moves_the_signed_amount_once_and_is_emitted(funded_market: Market) -> None:
    m = funded_market
    u0, u1, _ = m.accounts.users
    settlement = m.suite.settlement
    payment = m.payment(u0, u1, 7, 1_234, memo="nash-bargain")
    batch = m.batch(1, payments=[payment])
    receipt = m.settle(batch)
    assert (m.balance(u0), m.balance(u1)) == (ESCROW_MICRO - 1_234, ESCROW_MICRO + 1_234)
    (paid,) = settlement.events(receipt, "PaymentSettled")
    assert (paid.batch_id, paid.payer, paid.payee, paid.payment_id, paid.amount) == (1, u0, u1, 7, 1_234)
    assert bytes(paid.memo) == memo_hash("nash-bargain")
    (event,) = settlement.events(receipt, "BatchSettled")
    assert (event.trades, event.payments, event.volume, event.paid) == (0, 1, 0, 1_234)
    assert settlement.payment_settled(u0, 7) and not settlement.payment_settled(u1, 7)
    # the same signed payment again, in another batch: refused
    assert_reverts(lambda: m.settle(m.batch(2, payments=[payment])), "PaymentAlreadySettled", u0, 7)
    assert settlement.payment_digest(payment.payment.as_tuple()) == payment_digest(settlement.domain, payment.payment)


def test_payment_rules_each_refuse_with_their_error(funded_market: Market) -> None:
    m = funded_market
    u0, u1, u2 = m.accounts.users
    good = m.payment(u0, u1, 1, 10)
    forged = m.payment(u0, u1, 1, 10, signer=u2)
    assert_reverts(lambda: m.settle(m.batch(1, payments=[forged])), "InvalidPaymentSigner", 0, u2, u0)
    twin = SignedPayment(good.payment, malleable_twin(good.signature))
    assert_reverts(lambda: m.settle(m.batch(1, payments=[twin])), "PaymentSignatureMalleable", 0)
    assert_reverts(lambda: m.settle(m.batch(1, payments=[m.payment(u0, u1, 2, 0)])), "ZeroPayment", 0)
    assert_reverts(
        lambda: m.settle(m.batch(1, payments=[m.payment(u0, u1, 3, 1, expiry=1)])), "PaymentExpired", u0, 3, 1
    )
    assert_reverts(
        lambda: m.settle(m.batch(1, payments=[m.payment(u0, u1, 4, ESCROW_MICRO + 1)])),
        "InsufficientEscrow",
        u0,
        ESCROW_MICRO,
        ESCROW_MICRO + 1,
    )
    assert_reverts(lambda: m.settle(m.batch(1, payments=[good, good])), "PaymentAlreadySettled", u0, 1)
    # a cancelled payment is never paid
    m.suite.settlement.cancel_payment(1, sender=u0)
    assert_reverts(lambda: m.settle(m.batch(1, payments=[good])), "PaymentAlreadySettled", u0, 1)
    assert_reverts(m.suite.settlement.function("cancelPayment", 1), "PaymentAlreadySettled", u0, 1, sender=u0)
    assert not m.suite.settlement.batch_settled(1)


@pytest.mark.parametrize(("trades", "payments"), [(1, 0), (0, 1), (2, 1), (3, 0), (4, 1), (5, 2), (8, 1)])
def test_the_stored_root_is_the_rfc_9162_root_ledger_merkle_computes(funded_market: Market, trades: int, payments: int) -> None:
    m = funded_market
    u0, u1, u2 = m.accounts.users
    seller = m.accounts.compute_supplier
    ask = m.order(seller, 900, side=SELL, limit_price=1, quantity=10**6)
    fills = [(m.order((u0, u1)[n % 2], n + 1, quantity=10), ask, 10 + n, 1 + n % 3) for n in range(trades)]
    pays = [m.payment(u2, (u0, u1)[n % 2], n + 1, 5 + n) for n in range(payments)]
    batch = m.batch(4, *fills, payments=pays)
    receipt = m.settle(batch)
    stored = m.suite.settlement.batch_root(4)
    (event,) = m.suite.settlement.events(receipt, "BatchSettled")
    assert stored == bytes(event.root) == batch_root(batch) == merkle_root_recursive(batch.leaf_data())
    assert stored not in (EMPTY_ROOT, b"\0" * 32)
    assert m.suite.settlement.batch_settled(4)
