"""Hand-crafted ``settleBatch`` / ``orderDigest`` calldata: Settlement.sol decodes its structs through
Solidity's ABI decoder, which refuses what web3 would never encode.

* dirty high bits in any narrow field (address, uint8, uint32, uint64) of a participant, a signed
  order, a trade or a signed payment: the decoder reverts without data before any rule runs;
* array offsets and lengths that point past the end of the calldata: reverted the same way;
* the same values, clean, in the "wide" encoding (every narrow type widened to 256 bits) are the
  canonical calldata byte for byte, and settle.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from onchain_helpers import Market

from ledger.batch import SettlementBatch
from ledger.contracts import ContractReverted

ORDER = "(address,uint64,uint8,uint8,uint64,uint64,uint64)"
PAYMENT = "(address,address,uint64,uint64,uint64,bytes32)"
CANONICAL_TYPES = [
    "uint256",
    "address[]",
    f"({ORDER},uint32,uint8,bytes32,bytes32)[]",
    "(uint32,uint32,uint64,uint64)[]",
    f"({PAYMENT},uint32,uint32,uint8,bytes32,bytes32)[]",
]
W = "uint256"
WIDE_TYPES = [
    W,
    f"{W}[]",
    f"(({','.join([W] * 7)}),{W},{W},bytes32,bytes32)[]",
    f"({W},{W},{W},{W})[]",
    f"(({W},{W},{W},{W},{W},bytes32),{W},{W},{W},bytes32,bytes32)[]",
]
SETTLE_SELECTOR = keccak(text=f"settleBatch({','.join(CANONICAL_TYPES)})")[:4]
DIGEST_SELECTOR = keccak(text=f"orderDigest({ORDER})")[:4]
GAS = 3_000_000

# (name, path into the wide arguments, bit width of the declared type)
NARROW_FIELDS = [
    ("participant", (1, 0), 160),
    ("order.owner", (2, 0, 0, 0), 160),
    ("order.orderId", (2, 0, 0, 1), 64),
    ("order.side", (2, 0, 0, 2), 8),
    ("order.resource", (2, 0, 0, 3), 8),
    ("order.limitPrice", (2, 0, 0, 4), 64),
    ("order.quantity", (2, 0, 0, 5), 64),
    ("order.expiry", (2, 0, 0, 6), 64),
    ("order.party", (2, 0, 1), 32),
    ("order.v", (2, 0, 2), 8),
    ("trade.bid", (3, 0, 0), 32),
    ("trade.ask", (3, 0, 1), 32),
    ("trade.price", (3, 0, 2), 64),
    ("trade.quantity", (3, 0, 3), 64),
    ("payment.payer", (4, 0, 0, 0), 160),
    ("payment.payee", (4, 0, 0, 1), 160),
    ("payment.paymentId", (4, 0, 0, 2), 64),
    ("payment.amount", (4, 0, 0, 3), 64),
    ("payment.expiry", (4, 0, 0, 4), 64),
    ("payment.payerParty", (4, 0, 1), 32),
    ("payment.payeeParty", (4, 0, 2), 32),
    ("payment.v", (4, 0, 3), 8),
]


def _int(value: object) -> Any:
    return int(value, 16) if isinstance(value, str) and value.startswith("0x") else value


def _wide(value: object) -> Any:
    """``value`` as nested lists with addresses as integers (for :data:`WIDE_TYPES`)."""
    if isinstance(value, list | tuple):
        return [_wide(v) for v in value]
    return _int(value)


def _batch(m: Market) -> SettlementBatch:
    user, seller = m.accounts.users[0], m.accounts.compute_supplier
    return m.batch(1, (m.order(user, 1), seller, 100, 2), payments=[m.payment(user, seller, 1, 50)])


def _settle(m: Market, data: bytes) -> ContractReverted | None:
    """Sends ``data`` to settleBatch as the operator: the revert, or None when it settled."""
    try:
        m.suite.settlement.send("settleBatch", data, sender=m.admin, gas=GAS)
    except ContractReverted as exc:
        return exc
    return None


def test_wide_encoding_of_clean_values_is_the_canonical_calldata(funded_market: Market) -> None:
    m = funded_market
    batch = _batch(m)
    canonical = m.suite.settlement.encode_fast("settleBatch", *batch.call_args())
    assert canonical[:4] == SETTLE_SELECTOR
    wide = SETTLE_SELECTOR + abi_encode(WIDE_TYPES, _wide(batch.call_args()))
    assert wide == canonical
    assert _settle(m, wide) is None and m.suite.settlement.batch_settled(1)


@pytest.mark.parametrize(("field", "path", "bits"), NARROW_FIELDS, ids=[f for f, _, _ in NARROW_FIELDS])
@pytest.mark.parametrize("high", ["next", "top"])
def test_a_narrow_word_with_high_bits_is_refused_by_the_decoder(
    funded_market: Market, field: str, path: tuple[int, ...], bits: int, high: str
) -> None:
    m = funded_market
    args = _wide(_batch(m).call_args())
    assert isinstance(args, list)
    holder = args
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] |= 1 << (bits if high == "next" else 255)
    reverted = _settle(m, SETTLE_SELECTOR + abi_encode(WIDE_TYPES, args))
    assert reverted is not None and (reverted.error, reverted.data) == ("Unknown", b"")
    assert not m.suite.settlement.batch_settled(1)


def test_an_array_reaching_past_the_calldata_is_refused(funded_market: Market) -> None:
    m = funded_market
    data = bytearray(m.suite.settlement.encode_fast("settleBatch", *_batch(m).call_args()))
    # the trades array's length word, made huge
    trades_offset = int.from_bytes(data[4 + 3 * 32 : 4 + 4 * 32], "big")
    data[4 + trades_offset : 4 + trades_offset + 32] = (2**32).to_bytes(32, "big")
    reverted = _settle(m, bytes(data))
    assert reverted is not None and reverted.data == b""
    truncated = m.suite.settlement.encode_fast("settleBatch", *_batch(m).call_args())[:-64]
    reverted = _settle(m, truncated)
    assert reverted is not None and reverted.data == b""


def test_order_digest_refuses_words_wider_than_their_type(funded_market: Market) -> None:
    m = funded_market
    order = m.order(m.accounts.users[0], 1).order
    w3, settlement = m.suite.chain.w3, m.suite.settlement
    clean = [_int(v) for v in order.as_tuple()]
    assert bytes(w3.eth.call({"to": settlement.address, "data": DIGEST_SELECTOR + abi_encode([W] * 7, clean)})) == (
        settlement.order_digest(order.as_tuple())
    )
    for field, bits in enumerate((160, 64, 8, 8, 64, 64, 64)):
        dirty = list(clean)
        dirty[field] |= 1 << bits
        with pytest.raises(Exception):  # noqa: B017, PT011 - a revert without data, whatever web3 calls it
            w3.eth.call({"to": settlement.address, "data": DIGEST_SELECTOR + abi_encode([W] * 7, dirty)})
