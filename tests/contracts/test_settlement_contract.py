"""Settlement.sol: escrow, signed-order batches with netting, fills, and every revert by its custom error."""

from __future__ import annotations

from collections import Counter

import pytest
from eth_abi import encode as abi_encode
from onchain_helpers import ESCROW_MICRO, Market, storage_writes

from ledger.batch import (
    MAX_BATCH_ORDERS,
    MAX_BATCH_PARTICIPANTS,
    MAX_BATCH_PAYMENTS,
    MAX_BATCH_TRADES,
    BatchOrder,
    BatchPayment,
    BatchTrade,
    SettlementBatch,
)
from ledger.contracts import Capacity, ContractReverted
from ledger.pytest_plugin import assert_reverts
from ledger.reverts import (
    BatchAlreadySettled,
    InsufficientEscrow,
    NotOperator,
    ZeroAmount,
)
from ledger.merkle import batch_root
from ledger.signing import SELL, Signature, SignedOrder


def test_batch_pays_net_amounts_records_fills_and_emits_events(funded_market: Market) -> None:
    m = funded_market
    u0, u1, _ = m.accounts.users
    compute, network = m.accounts.compute_supplier, m.accounts.network_supplier
    o1 = m.order(u0, 1, limit_price=500, quantity=100)
    o2 = m.order(u1, 7, limit_price=450, quantity=300, resource=1)
    a1 = m.order(compute, 2, side=SELL, limit_price=400, quantity=100)
    a2 = m.order(network, 8, side=SELL, limit_price=450, quantity=500, resource=1)
    batch = m.batch(5, (o1, a1, 400, 60), (o1, a1, 420, 40), (o2, a2, 450, 300))
    receipt = m.settle(batch)
    assert m.balance(u0) == ESCROW_MICRO - 400 * 60 - 420 * 40
    assert m.balance(u1) == ESCROW_MICRO - 450 * 300
    assert m.balance(compute) == 400 * 60 + 420 * 40
    assert m.balance(network) == 450 * 300
    settlement = m.suite.settlement
    assert settlement.filled(u0, 1) == 100 and settlement.filled(u1, 7) == 300
    assert settlement.filled(compute, 2) == 100 and settlement.filled(network, 8) == 300
    assert settlement.batch_settled(5) and not settlement.batch_settled(6)
    trades = settlement.events(receipt, "TradeSettled")
    assert [(t.buyer, t.seller, t.bid_order_id, t.ask_order_id, t.resource, t.price, t.quantity) for t in trades] == [
        (u0, compute, 1, 2, 0, 400, 60),
        (u0, compute, 1, 2, 0, 420, 40),
        (u1, network, 7, 8, 1, 450, 300),
    ]
    assert all(t.batch_id == 5 for t in trades)
    (event,) = settlement.events(receipt, "BatchSettled")
    assert (event.batch_id, event.trades, event.payments, event.volume, event.paid) == (5, 3, 0, 400 * 60 + 420 * 40 + 450 * 300, 0)
    # the batch root: stored, emitted, and the one ledger.merkle computes
    assert bytes(event.root) == settlement.batch_root(5) == batch_root(batch)
    assert settlement.batch_root(6) == b"\0" * 32


def test_each_participant_balance_is_written_once_per_batch(funded_market: Market) -> None:
    m = funded_market
    if m.suite.chain.kind != "eth-tester":
        pytest.skip("counts storage writes through py-evm's state hook; revm has no such hook")
    u0, u1, _ = m.accounts.users
    seller = m.accounts.compute_supplier
    ask = m.order(seller, 500, side=SELL, limit_price=1, quantity=10**6)
    orders = [m.order(u0 if i % 2 else u1, 100 + i, quantity=10) for i in range(12)]
    batch = m.batch(3, *[(o, ask, 300, 10) for o in orders])
    with storage_writes() as writes:
        m.settle(batch)
    on_settlement = Counter(slot for address, slot in writes if address == m.suite.settlement.address)
    # one batch root, one fill per order (12 bids, 1 ask), one balance per participant: 1 + 13 + 3, each slot once
    assert sum(on_settlement.values()) == 1 + 13 + 3
    assert set(on_settlement.values()) == {1}


def test_deposit_and_withdraw_move_tokens_and_emit(market: Market) -> None:
    user = market.accounts.users[0]
    token, settlement = market.suite.token, market.suite.settlement
    token.approve(settlement.address, 5_000, sender=user)
    receipt = settlement.deposit_for(user, 5_000, sender=user)
    (event,) = settlement.events(receipt, "Deposited")
    assert (event.from_, event.account, event.amount) == (user, user, 5_000)
    assert settlement.balance_of(user) == 5_000
    receipt = settlement.withdraw(2_000, sender=user)
    (event,) = settlement.events(receipt, "Withdrawn")
    assert (event.account, event.amount) == (user, 2_000)
    assert settlement.balance_of(user) == 3_000
    assert token.balance_of(settlement.address) == 3_000


def test_deposit_and_withdraw_errors(market: Market) -> None:
    user = market.accounts.users[0]
    settlement = market.suite.settlement
    assert_reverts(settlement.function("depositFor", user, 0), "ZeroAmount", sender=user)
    assert_reverts(settlement.function("depositFor", "0x" + "00" * 20, 1), "ZeroAddress", sender=user)
    assert_reverts(settlement.function("depositFor", user, 1), "ERC20InsufficientAllowance", settlement.address, 0, 1, sender=user)
    assert_reverts(settlement.function("withdraw", 0), "ZeroAmount", sender=user)
    assert_reverts(settlement.function("withdraw", 1), "InsufficientEscrow", user, 0, 1, sender=user)
    with pytest.raises(ZeroAmount):
        settlement.withdraw(0, sender=user)


def test_cancelled_order_cannot_fill(funded_market: Market) -> None:
    m = funded_market
    user = m.accounts.users[0]
    receipt = m.suite.settlement.cancel_order(9, sender=user)
    (event,) = m.suite.settlement.events(receipt, "OrderCancelled")
    assert (event.owner, event.order_id) == (user, 9)
    order = m.order(user, 9, quantity=10)
    assert_reverts(
        lambda: m.settle(m.batch(1, (order, m.accounts.compute_supplier, 100, 1))),
        "OrderOverfilled",
        user,
        9,
        2**64 - 1 + 1,
        10,
    )


def test_views_domain_and_digest_agree_with_python(market: Market) -> None:
    settlement = market.suite.settlement
    order = market.order(market.accounts.users[0], 4)
    from ledger.signing import domain_separator, order_digest

    assert bytes(settlement.call("domainSeparator")) == domain_separator(settlement.domain)
    assert settlement.order_digest(order.order.as_tuple()) == order_digest(settlement.domain, order.order)
    assert settlement.call("MAX_BATCH_TRADES") == MAX_BATCH_TRADES
    assert settlement.call("MAX_BATCH_PARTICIPANTS") == MAX_BATCH_PARTICIPANTS
    assert settlement.call("token") == market.suite.token.address
    assert settlement.call("registry") == market.suite.registry.address


def test_only_an_operator_settles(funded_market: Market) -> None:
    m = funded_market
    user, outsider = m.accounts.users[0], m.accounts.outsider
    batch = m.batch(1, (m.order(user, 1), m.accounts.compute_supplier, 100, 1))
    with pytest.raises(NotOperator) as caught:
        m.settle(batch, sender=outsider)
    assert caught.value.fields == {"caller": outsider}
    m.suite.registry.register(outsider, Capacity.OPERATOR, sender=m.admin)
    m.settle(batch, sender=outsider)


def test_batch_id_settles_once(funded_market: Market) -> None:
    m = funded_market
    user, seller = m.accounts.users[0], m.accounts.compute_supplier
    m.settle(m.batch(8, (m.order(user, 1), seller, 100, 1)))
    with pytest.raises(BatchAlreadySettled) as caught:
        m.settle(m.batch(8, (m.order(user, 2), seller, 100, 1)))
    assert caught.value.error_args == (8,)


def test_structural_errors_in_rule_order(funded_market: Market) -> None:
    m = funded_market
    u0, u1, _ = m.accounts.users
    seller, outsider = m.accounts.compute_supplier, m.accounts.outsider
    ask = m.order(seller, 50, side=SELL, limit_price=10, quantity=10**7)
    good = m.batch(1, (m.order(u0, 1), ask, 100, 1))
    bid_bo, ask_bo = good.orders

    def settle(batch: SettlementBatch) -> ContractReverted:
        with pytest.raises(ContractReverted) as caught:
            m.settle(batch)
        return caught.value

    def with_trades(*trades: BatchTrade) -> SettlementBatch:
        return SettlementBatch(1, good.participants, good.orders, trades)

    empty = SettlementBatch(1, good.participants, good.orders, ())
    assert settle(empty).error == "EmptyBatch"
    reversed_participants = SettlementBatch(1, good.participants[::-1], good.orders, good.trades)
    assert (settle(reversed_participants).error, settle(reversed_participants).error_args) == ("ParticipantsNotSorted", (1,))
    duplicate = SettlementBatch(1, (good.participants[0],) * 2, good.orders, good.trades)
    assert settle(duplicate).error == "ParticipantsNotSorted"
    stranger_ask = m.order(outsider, 51, side=SELL, limit_price=10)
    stranger = m.batch(1, (m.order(u0, 1), stranger_ask, 100, 1))
    assert (settle(stranger).error, settle(stranger).error_args) == ("NotRegistered", (outsider,))
    out_of_range = SettlementBatch(1, good.participants, (BatchOrder(bid_bo.signed, 2), ask_bo), good.trades)
    assert (settle(out_of_range).error, settle(out_of_range).error_args) == ("PartyOutOfRange", (0, 2))
    mismatch = SettlementBatch(1, good.participants, (BatchOrder(bid_bo.signed, ask_bo.party), ask_bo), good.trades)
    assert settle(mismatch).error_args == (0, good.participants[ask_bo.party], u0)
    assert (settle(with_trades(BatchTrade(2, 1, 100, 1))).error_args, settle(with_trades(BatchTrade(0, 2, 100, 1))).error_args) == (
        (0, 2),
        (0, 2),
    )
    assert settle(with_trades(BatchTrade(0, 2, 100, 1))).error == "OrderOutOfRange"
    # a bid where the ask belongs, or an ask where the bid belongs
    assert (settle(with_trades(BatchTrade(1, 1, 100, 1))).error, settle(with_trades(BatchTrade(1, 1, 100, 1))).error_args) == (
        "WrongSide",
        (0, 1),
    )
    assert settle(with_trades(BatchTrade(0, 0, 100, 1))).error_args == (0, 0)
    network_ask = m.order(seller, 52, side=SELL, limit_price=10, resource=1)
    crossed = m.batch(1, (m.order(u0, 1), network_ask, 100, 1))
    assert (settle(crossed).error, settle(crossed).error_args) == ("ResourceMismatch", (0, 0, 1))
    over_limit = m.batch(1, (m.order(u0, 1, limit_price=99), ask, 100, 1))
    assert (settle(over_limit).error, settle(over_limit).error_args) == ("PriceAboveLimit", (0, 100, 99))
    under_ask = m.batch(1, (m.order(u0, 1), ask, 9, 1))
    assert (settle(under_ask).error, settle(under_ask).error_args) == ("PriceBelowLimit", (0, 9, 10))
    over_fill = m.batch(1, (m.order(u1, 3, quantity=5), ask, 100, 3), (m.order(u1, 3, quantity=5), ask, 100, 3))
    assert (settle(over_fill).error, settle(over_fill).error_args) == ("OrderOverfilled", (u1, 3, 6, 5))
    small_ask = m.order(seller, 53, side=SELL, limit_price=10, quantity=2)
    over_sold = m.batch(1, (m.order(u1, 3), small_ask, 100, 3))
    assert (settle(over_sold).error, settle(over_sold).error_args) == ("OrderOverfilled", (seller, 53, 3, 2))
    too_dear = m.batch(1, (m.order(u0, 4, limit_price=10**9, quantity=10**6), ask, 10**9, 10**6))
    assert settle(too_dear).error_args == (u0, ESCROW_MICRO, 10**15)
    assert not m.suite.settlement.batch_settled(1)


def test_batch_caps(funded_market: Market) -> None:
    m = funded_market
    user, seller = m.accounts.users[0], m.accounts.compute_supplier
    order = m.order(user, 1, quantity=10**6)
    ask = m.order(seller, 2, side=SELL, limit_price=1, quantity=10**6)
    base = m.batch(1, (order, ask, 1, 1))
    too_many_trades = SettlementBatch(1, base.participants, base.orders, base.trades * (MAX_BATCH_TRADES + 1))
    with pytest.raises(ContractReverted) as caught:
        m.settle(too_many_trades)
    assert (caught.value.error, caught.value.error_args) == ("BatchTooLarge", (MAX_BATCH_TRADES + 1, MAX_BATCH_TRADES))
    too_many_orders = SettlementBatch(1, base.participants, base.orders * (MAX_BATCH_ORDERS // 2 + 1), base.trades)
    with pytest.raises(ContractReverted) as caught:
        m.settle(too_many_orders)
    assert caught.value.error_args == (MAX_BATCH_ORDERS + 2, MAX_BATCH_ORDERS)
    payment = BatchPayment(m.payment(user, seller, 1, 1), base.orders[0].party, base.orders[1].party)
    too_many_payments = SettlementBatch(1, base.participants, base.orders, base.trades, (payment,) * (MAX_BATCH_PAYMENTS + 1))
    with pytest.raises(ContractReverted) as caught:
        m.settle(too_many_payments)
    assert caught.value.error_args == (MAX_BATCH_PAYMENTS + 1, MAX_BATCH_PAYMENTS)
    crowd = tuple(f"0x{n:040x}" for n in range(1, MAX_BATCH_PARTICIPANTS + 2))
    with pytest.raises(ContractReverted) as caught:
        m.settle(SettlementBatch(1, crowd, base.orders, base.trades))  # type: ignore[arg-type]  # made-up addresses
    assert caught.value.error_args == (MAX_BATCH_PARTICIPANTS + 1, MAX_BATCH_PARTICIPANTS)
    full = SettlementBatch(1, base.participants, base.orders, base.trades * MAX_BATCH_TRADES)
    receipt = m.settle(full)
    assert receipt["gasUsed"] < 30_000_000 // 2
    assert m.suite.settlement.filled(user, 1) == MAX_BATCH_TRADES == m.suite.settlement.filled(seller, 2)


def test_amounts_beyond_64_bits_are_refused_by_the_abi_decoder(funded_market: Market) -> None:
    m = funded_market
    good = m.batch(1, (m.order(m.accounts.users[0], 1), m.accounts.compute_supplier, 1, 1))
    settlement = m.suite.settlement
    # A hand-made calldata whose price word does not fit uint64 (web3 would refuse to encode it):
    # Solidity's ABI decoder refuses it (a revert without data) before any rule runs.
    selector = settlement.encode_fast("settleBatch", *good.call_args())[:4]
    order = "((address,uint64,uint8,uint8,uint64,uint64,uint64),uint32,uint8,bytes32,bytes32)[]"
    payment = "((address,address,uint64,uint64,uint64,bytes32),uint32,uint32,uint8,bytes32,bytes32)[]"
    types = ["uint256", "address[]", order, "(uint32,uint32,uint256,uint64)[]", payment]
    args = good.call_args()
    data = selector + abi_encode(types, [*args[:3], [(0, 1, 2**64, 1)], args[4]])
    with pytest.raises(ContractReverted) as caught:
        settlement.send("settleBatch", data, sender=m.admin, gas=2_000_000)
    assert (caught.value.error, caught.value.data) == ("Unknown", b"")
    assert not settlement.batch_settled(1)
    # the same calldata with the price in range settles
    settlement.send("settleBatch", selector + abi_encode(types, [*args[:3], [(0, 1, 1, 1)], args[4]]), sender=m.admin, gas=2_000_000)
    assert settlement.batch_settled(1)


def test_unsigned_order_is_refused(funded_market: Market) -> None:
    m = funded_market
    user = m.accounts.users[0]
    order = m.order(user, 1)
    blank = SignedOrder(order.order, Signature(27, 1, 1))
    batch = m.batch(1, (blank, m.accounts.compute_supplier, 1, 1))
    with pytest.raises(ContractReverted) as caught:
        m.settle(batch)
    assert caught.value.error == "InvalidSigner"
    assert caught.value.error_args[0] == 0 and caught.value.error_args[2] == user


def test_insufficient_escrow_names_the_account(market: Market) -> None:
    user = market.accounts.users[0]
    batch = market.batch(1, (market.order(user, 1), market.accounts.compute_supplier, 2, 3))
    with pytest.raises(InsufficientEscrow) as caught:
        market.settle(batch)
    assert caught.value.fields == {"account": user, "balance": 0, "needed": 6}
