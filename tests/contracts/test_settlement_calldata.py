"""Hand-crafted ``settleBatch`` / ``orderDigest`` calldata against Settlement.sol's inline-assembly reads.

The hot loops read participants, signed orders and trades word by word with ``calldataload``,
skipping the per-element validation Solidity's decoder does on each access. These tests send
calldata web3 would never encode and check that the contract still refuses it, or treats it as
the ABI decoder would:

* dirty high bits in every narrow field (address, uint8, uint32, uint64): each one is refused by a
  range check (signed order fields: ``OrderFieldOutOfRange``; trade amounts), the EIP-712
  signature, or the registry's decoder (participants);
* array offsets and lengths that point past the end of the calldata;
* a non-canonical but in-bounds layout (tails reordered, junk between them), which must settle
  exactly as the canonical encoding does.

The "wide" encoding below is the canonical ABI layout with every narrow type widened to 256 bits,
so any word can carry a value its declared type could not.
"""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from onchain_helpers import ESCROW_MICRO, Market

from ledger.batch import SettlementBatch
from ledger.contracts import ContractReverted
from ledger.signing import order_digest

ORDER_TYPE = "(address,uint64,uint8,uint64,uint64,uint64)"
CANONICAL_TYPES = ["uint256", "address[]", f"({ORDER_TYPE},uint32,uint8,bytes32,bytes32)[]", "(uint32,uint32,uint64,uint64)[]"]
WIDE_ORDER = "(uint256,uint256,uint256,uint256,uint256,uint256)"
WIDE_TYPES = ["uint256", "uint256[]", f"({WIDE_ORDER},uint256,uint256,bytes32,bytes32)[]", "(uint256,uint256,uint256,uint256)[]"]
SETTLE_SELECTOR = keccak(text=f"settleBatch({','.join(CANONICAL_TYPES)})")[:4]
DIGEST_SELECTOR = keccak(text=f"orderDigest({ORDER_TYPE})")[:4]
# Field positions inside the wide tuples.
ORDER_FIELDS = {"owner": 0, "orderId": 1, "resource": 2, "limitPrice": 3, "quantity": 4, "expiry": 5}
WIDTH = {"owner": 160, "orderId": 64, "resource": 8, "limitPrice": 64, "quantity": 64, "expiry": 64}
GAS = 3_000_000


def _wide_args(batch: SettlementBatch) -> list:
    """``batch``'s arguments with addresses as integers, ready for :data:`WIDE_TYPES`."""
    batch_id, participants, orders, trades = batch.call_args()
    return [
        batch_id,
        [int(p, 16) for p in participants],
        [[[int(o[0][0], 16), *o[0][1:]], *o[1:]] for o in orders],
        [list(t) for t in trades],
    ]


def _encode(args: list) -> bytes:
    return SETTLE_SELECTOR + abi_encode(WIDE_TYPES, args)


def _settle(m: Market, data: bytes) -> ContractReverted | None:
    """Sends ``data`` to settleBatch as the operator: the revert, or None when it settled."""
    try:
        m.suite.settlement.send("settleBatch", data, sender=m.admin, gas=GAS)
    except ContractReverted as exc:
        return exc
    return None


def _word(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 32], "big")


def _put(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + value.to_bytes(32, "big") + data[at + 32 :]


def _head(data: bytes, arg: int) -> int:
    """Calldata position of argument ``arg``'s head word."""
    return 4 + 32 * arg


def _tail(data: bytes, arg: int) -> int:
    """Calldata position of dynamic argument ``arg``'s length word."""
    return 4 + _word(data, _head(data, arg))


@pytest.fixture()
def simple(funded_market: Market) -> tuple[Market, SettlementBatch]:
    """A one-trade batch: user 0 buys 1 unit at 100 from the compute supplier."""
    m = funded_market
    return m, m.batch(1, (m.order(m.accounts.users[0], 1, limit_price=500, quantity=100), m.accounts.compute_supplier, 100, 1))


def _assert_untouched(m: Market, batch: SettlementBatch) -> None:
    settlement = m.suite.settlement
    assert not settlement.batch_settled(batch.batch_id)
    assert settlement.filled(m.accounts.users[0], 1) == 0
    assert m.balance(m.accounts.users[0]) == ESCROW_MICRO
    assert m.balance(m.accounts.compute_supplier) == 0


def test_wide_encoding_of_clean_values_is_the_canonical_calldata(simple: tuple[Market, SettlementBatch]) -> None:
    m, batch = simple
    canonical = m.suite.settlement.encode_fast("settleBatch", *batch.call_args())
    assert _encode(_wide_args(batch)) == canonical
    assert _settle(m, canonical) is None  # and the untampered call settles
    assert m.suite.settlement.filled(m.accounts.users[0], 1) == 1


# --- dirty high bits --------------------------------------------------------------------------


@pytest.mark.parametrize("bit", [160, 255])
def test_participant_alias_with_high_bits_is_refused(simple: tuple[Market, SettlementBatch], bit: int) -> None:
    """``seller | 2**bit`` sorts after every clean address, so the raw-word sort check passes and
    the same account would appear twice; the registry's decoder must reject the word before
    ``_applyNet`` uses it (uncleaned) as a mapping key."""
    m, batch = simple
    args = _wide_args(batch)
    seller = batch.trades[0].seller
    args[1].append(args[1][seller] | (1 << bit))
    args[3][0][1] = len(args[1]) - 1  # pay the alias
    error = _settle(m, _encode(args))
    assert error is not None and error.data == b""  # ParticipantRegistry's decoder: revert(0, 0)
    _assert_untouched(m, batch)


def test_buyer_word_with_high_bits_is_refused(simple: tuple[Market, SettlementBatch]) -> None:
    m, batch = simple
    args = _wide_args(batch)
    party = batch.orders[0].party
    args[1][party] |= 1 << 200
    error = _settle(m, _encode(args))
    assert error is not None
    _assert_untouched(m, batch)


def test_order_owner_with_high_bits_mismatches_its_party(simple: tuple[Market, SettlementBatch]) -> None:
    m, batch = simple
    args = _wide_args(batch)
    args[2][0][0][0] |= 1 << 160
    error = _settle(m, _encode(args))
    assert error is not None and error.error == "PartyMismatch"
    _assert_untouched(m, batch)


@pytest.mark.parametrize("field", ["orderId", "resource", "limitPrice", "quantity", "expiry"])
@pytest.mark.parametrize("high", ["next", "top"])
def test_signed_field_with_high_bits_is_refused(simple: tuple[Market, SettlementBatch], field: str, high: str) -> None:
    """A signed word wider than its type is refused before the signature is even checked, as
    Solidity's decoder would refuse it."""
    m, batch = simple
    args = _wide_args(batch)
    args[2][0][0][ORDER_FIELDS[field]] |= 1 << (WIDTH[field] if high == "next" else 255)
    error = _settle(m, _encode(args))
    assert error is not None and (error.error, error.error_args) == ("OrderFieldOutOfRange", (0,))
    _assert_untouched(m, batch)


def test_expired_order_cannot_be_revived_by_a_dirty_expiry(funded_market: Market) -> None:
    """``expiry | 2**64`` would pass an expiry check on the raw word; the range check comes first."""
    m = funded_market
    user = m.accounts.users[0]
    expiry = m.suite.settlement.chain.timestamp() - 10
    batch = m.batch(1, (m.order(user, 1, expiry=expiry), m.accounts.compute_supplier, 100, 1))
    assert _settle(m, _encode(_wide_args(batch))).error == "OrderExpired"
    args = _wide_args(batch)
    args[2][0][0][ORDER_FIELDS["expiry"]] |= 1 << 64
    error = _settle(m, _encode(args))
    assert error is not None and error.error == "OrderFieldOutOfRange"
    _assert_untouched(m, batch)


def test_dirty_limit_price_cannot_lift_the_limit(funded_market: Market) -> None:
    m = funded_market
    user = m.accounts.users[0]
    batch = m.batch(1, (m.order(user, 1, limit_price=100), m.accounts.compute_supplier, 100, 1))
    args = _wide_args(batch)
    args[2][0][0][ORDER_FIELDS["limitPrice"]] |= 1 << 64
    args[3][0][2] = 2**64 - 1  # the most a trade price may be
    error = _settle(m, _encode(args))
    assert error is not None and error.error == "OrderFieldOutOfRange"
    _assert_untouched(m, batch)


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        ("party", 1 << 32, "PartyOutOfRange"),
        ("v", 1 << 8, "InvalidSigner"),
        ("trade.order", 1 << 32, "OrderOutOfRange"),
        ("trade.seller", 1 << 32, "SellerOutOfRange"),
        ("trade.price", 1 << 64, "AmountOutOfRange"),
        ("trade.quantity", 1 << 64, "AmountOutOfRange"),
        ("trade.quantity", 1 << 255, "AmountOutOfRange"),
    ],
)
def test_unsigned_narrow_words_with_high_bits_are_refused(
    simple: tuple[Market, SettlementBatch], where: str, value: int, expected: str
) -> None:
    """Words outside the signature (party, v, every trade field) with bits above their width."""
    m, batch = simple
    args = _wide_args(batch)
    if where == "party":
        args[2][0][1] |= value
    elif where == "v":
        args[2][0][2] |= value
    else:
        args[3][0][["trade.order", "trade.seller", "trade.price", "trade.quantity"].index(where)] |= value
    error = _settle(m, _encode(args))
    assert error is not None and error.error == expected
    if where == "v":
        assert error.error_args[1] == "0x" + "00" * 20  # the precompile takes v only as 27 or 28
    _assert_untouched(m, batch)


# --- offsets and lengths ----------------------------------------------------------------------


def _tampered(data: bytes, how: str) -> bytes:
    end = len(data)
    if how == "truncated":
        return data[:-32]
    if how.endswith(".offset"):
        arg = {"participants": 1, "orders": 2, "trades": 3}[how.split(".")[0]]
        return _put(data, _head(data, arg), end)  # length word would be past the end
    if how.endswith(".offset_huge"):
        arg = {"participants": 1, "orders": 2, "trades": 3}[how.split(".")[0]]
        return _put(data, _head(data, arg), 2**255)
    arg = {"participants": 1, "orders": 2, "trades": 3}[how.split(".")[0]]
    at = _tail(data, arg)
    stride = {1: 32, 2: 0x140, 3: 0x80}[arg]
    if how.endswith(".length_overrun"):
        # the smallest length whose elements run past the calldata's end
        return _put(data, at, (end - (at + 32)) // stride + 1)
    assert how.endswith(".length_huge")
    return _put(data, at, 2**64)


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        *(f"{a}.{t}" for a in ("participants", "orders", "trades") for t in ("offset", "offset_huge", "length_overrun", "length_huge")),
    ],
)
def test_out_of_bounds_offsets_and_lengths_are_refused(simple: tuple[Market, SettlementBatch], how: str) -> None:
    """The assembly trusts ``x.offset + x.length * stride <= calldatasize``; the decoder must
    enforce it before any loop runs (revert with no data)."""
    m, batch = simple
    data = _tampered(m.suite.settlement.encode_fast("settleBatch", *batch.call_args()), how)
    error = _settle(m, data)
    assert error is not None and error.data == b"", error
    _assert_untouched(m, batch)


def test_participants_length_overlapping_the_orders_is_read_as_the_decoder_reads_it(
    simple: tuple[Market, SettlementBatch],
) -> None:
    """One more participant than encoded is still inside the calldata: it is the orders array's
    length word (1), which the sort check then refuses, just as a Solidity loop over the array would."""
    m, batch = simple
    data = m.suite.settlement.encode_fast("settleBatch", *batch.call_args())
    at = _tail(data, 1)
    data = _put(data, at, _word(data, at) + 1)
    error = _settle(m, data)
    assert error is not None and error.error == "ParticipantsNotSorted"
    _assert_untouched(m, batch)


def test_non_canonical_layout_settles_like_the_canonical_one(funded_market: Market) -> None:
    """Tails in reverse order with junk words between them: offsets are followed, nothing is
    assumed about where the arrays sit."""
    m = funded_market
    u0, u1, _ = m.accounts.users
    compute = m.accounts.compute_supplier
    o1, o2 = m.order(u0, 1, limit_price=500, quantity=100), m.order(u1, 7, limit_price=450, quantity=300)
    batch = m.batch(5, (o1, compute, 400, 60), (o2, compute, 450, 200), (o1, compute, 420, 40))
    batch_id, participants, orders, trades = _wide_args(batch)
    tails = [abi_encode(["uint256[]"], [participants])[32:], abi_encode([WIDE_TYPES[2]], [orders])[32:], abi_encode([WIDE_TYPES[3]], [trades])[32:]]
    junk = (2**256 - 1).to_bytes(32, "big") * 2
    body, offsets, at = b"", [0, 0, 0], 4 * 32
    for i in (2, 1, 0):  # trades, orders, participants
        body += junk
        at += len(junk)
        offsets[i] = at
        body += tails[i]
        at += len(tails[i])
    data = SETTLE_SELECTOR + abi_encode(["uint256"] * 4, [batch_id, *offsets]) + body
    assert _settle(m, data) is None
    settlement = m.suite.settlement
    assert settlement.filled(u0, 1) == 100 and settlement.filled(u1, 7) == 200
    assert m.balance(u0) == ESCROW_MICRO - 400 * 60 - 420 * 40
    assert m.balance(u1) == ESCROW_MICRO - 450 * 200
    assert m.balance(compute) == 400 * 60 + 420 * 40 + 450 * 200


# --- orderDigest --------------------------------------------------------------------------------


def test_order_digest_refuses_short_calldata(market: Market) -> None:
    order = market.order(market.accounts.users[0], 4).order
    data = DIGEST_SELECTOR + abi_encode([WIDE_ORDER], [[int(order.owner, 16), *order.as_tuple()[1:]]])
    w3 = market.suite.settlement.chain.w3
    to = market.suite.settlement.address
    assert w3.eth.call({"to": to, "data": data}) == order_digest(market.suite.settlement.domain, order)
    with pytest.raises(Exception):  # noqa: B017 - any revert; eth-tester's exception types vary
        w3.eth.call({"to": to, "data": data[:-1]})


@pytest.mark.parametrize("field", ["orderId", "resource", "limitPrice", "quantity", "expiry"])
def test_order_digest_refuses_words_wider_than_their_type(market: Market, field: str) -> None:
    """No digest for a non-canonical order: a signer trusting the view cannot be led to sign one."""
    order = market.order(market.accounts.users[0], 4).order
    words = [int(order.owner, 16), *order.as_tuple()[1:]]
    words[ORDER_FIELDS[field]] |= 1 << WIDTH[field]
    data = DIGEST_SELECTOR + abi_encode([WIDE_ORDER], [words])
    with pytest.raises(Exception) as caught:  # noqa: B017 - eth-tester's exception types vary
        market.suite.settlement.chain.w3.eth.call({"to": market.suite.settlement.address, "data": data})
    revert = keccak(text="OrderFieldOutOfRange(uint256)")[:4] + (0).to_bytes(32, "big")
    assert str(revert) in str(caught.value) or revert.hex() in str(caught.value)


# --- orders whose owner signed a non-canonical encoding -----------------------------------------


def _sign_raw(m: Market, owner: str, words: list[int]) -> tuple[int, bytes, bytes]:
    """``owner``'s signature over the EIP-712 digest of the raw ``words``, hashed as the contract
    hashes them: what a careless signer that encodes the struct word by word would sign."""
    import coincurve

    from ledger.signing import Signature, domain_separator

    settlement = m.suite.settlement
    type_hash = keccak(text="Order(address owner,uint64 orderId,uint8 resource,uint64 limitPrice,uint64 quantity,uint64 expiry)")
    struct_hash = keccak(type_hash + b"".join(w.to_bytes(32, "big") for w in words))
    digest = keccak(b"\x19\x01" + domain_separator(settlement.domain) + struct_hash)
    raw = coincurve.PrivateKey(m.accounts.key(owner)).sign_recoverable(digest, hasher=None)
    sig = Signature.from_bytes(raw)
    return sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big")


def test_signed_quantity_above_64_bits_is_refused_like_the_decoder_would(funded_market: Market) -> None:
    """Even with the owner's signature over it, a quantity word of 2**64 + 5 is refused, so the
    uint64 fill record cannot wrap (here it would have turned a cancelled order's fill of
    2**64 - 1 into 5 and let the order trade again)."""
    m = funded_market
    user, seller = m.accounts.users[0], m.accounts.compute_supplier
    settlement = m.suite.settlement
    template = m.batch(1, (m.order(user, 9, limit_price=0, quantity=1), seller, 0, 1))
    args = _wide_args(template)
    args[2][0][0][ORDER_FIELDS["quantity"]] = 2**64 + 5
    args[2][0][2:] = _sign_raw(m, user, args[2][0][0])
    settlement.cancel_order(9, sender=user)  # filled = 2**64 - 1, "no further fills"
    args[3][0][3] = 6  # price 0: no escrow needed to show the bookkeeping
    error = _settle(m, _encode(args))
    assert error is not None and (error.error, error.error_args) == ("OrderFieldOutOfRange", (0,))
    assert settlement.filled(user, 9) == 2**64 - 1
    # the same words with the quantity in range and its own signature are accepted up to the check
    # that matters here: the cancelled order takes no further fill
    args[2][0][0][ORDER_FIELDS["quantity"]] = 5
    args[2][0][2:] = _sign_raw(m, user, args[2][0][0])
    assert _settle(m, _encode(args)).error == "OrderOverfilled"
