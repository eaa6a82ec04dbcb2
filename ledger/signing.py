"""Orders and payments as EIP-712 typed data: hashing, deterministic signing and ecrecover-exact recovery.

Both sides of a trade sign: a buy order (bid) and a sell order (ask) each become a
:class:`SettlementOrder` (the Solidity struct ``Settlement.Order``, ``side`` :data:`BUY` or
:data:`SELL`) signed by its owner; a payment (a bargaining settlement, a penalty, a fee) becomes a
:class:`SettlementPayment` (``Settlement.Payment``) signed by its payer. Both are signed under the
domain ``{name: "CCEI Settlement", version: "1", chainId, verifyingContract}``.
The digest is computed here directly (domain separator cached per domain), and signed with
libsecp256k1 through ``coincurve``. Measured on the development machine: eth-account's
``Account.sign_typed_data`` ≈ 0.69 ms per order, eth-keys with its native backend ≈ 2.3 ms (recovery
≈ 7 ms), eth-keys on coincurve ≈ 0.13 ms, coincurve directly ≈ 0.04 ms (recovery ≈ 0.08 ms); the
tests prove the digests and signatures equal eth-account's typed-data signing byte for byte.

Signatures are deterministic (RFC 6979), and an order's expiry is derived from its market round,
never from a clock (:func:`order_expiry`), so the same run signs the same bytes every time.

References:
    EIP-712, "Typed structured data hashing and signing" (Bloemen, Logvinov, Evans, 2017).
    EIP-2, "Homestead hard-fork changes" (Buterin, 2015): signatures with s > n/2 are refused.
    RFC 6979, "Deterministic usage of DSA and ECDSA" (Pornin, 2013).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import coincurve
from eth_abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address

from market.orders import Resource, Side

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "SIM_EPOCH",
    "ROUND_SECONDS",
    "DEFAULT_TTL_ROUNDS",
    "SECP256K1_N",
    "ZERO_ADDRESS",
    "RESOURCE_CODES",
    "BUY",
    "SELL",
    "SIDE_CODES",
    "ORDER_TYPE",
    "PAYMENT_TYPE",
    "OrderDomain",
    "SettlementOrder",
    "Signature",
    "SignedOrder",
    "SettlementPayment",
    "SignedPayment",
    "order_expiry",
    "round_time",
    "domain_separator",
    "order_digest",
    "sign_order",
    "recover_signer",
    "payment_digest",
    "sign_payment",
    "recover_payment_signer",
    "typed_data",
    "malleable_twin",
]

DOMAIN_NAME = "CCEI Settlement"
DOMAIN_VERSION = "1"
#: 2030-01-01T00:00:00Z: the simulated clock's round 0. Far enough ahead that a real chain's
#: block time never reaches a simulated expiry unless a test travels there on purpose.
SIM_EPOCH = 1_893_456_000
#: One market round lasts a simulated hour.
ROUND_SECONDS = 3_600
#: How many rounds a signed order stays valid after the round it was placed in.
DEFAULT_TTL_ROUNDS = 24
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2
ZERO_ADDRESS: ChecksumAddress = to_checksum_address("0x" + "00" * 20)

#: ``Settlement.Order.resource`` codes.
RESOURCE_CODES: dict[Resource, int] = {Resource.COMPUTE: 0, Resource.NETWORK: 1, Resource.ENERGY: 2}
#: ``Settlement.Order.side`` of a bid.
BUY = 0
#: ``Settlement.Order.side`` of an ask.
SELL = 1
#: ``Settlement.Order.side`` codes.
SIDE_CODES: dict[Side, int] = {Side.BUY: BUY, Side.SELL: SELL}

#: The EIP-712 type of ``Settlement.Order``, as eth-account's typed-data signing takes it.
ORDER_TYPE: list[dict[str, str]] = [
    {"name": "owner", "type": "address"},
    {"name": "orderId", "type": "uint64"},
    {"name": "side", "type": "uint8"},
    {"name": "resource", "type": "uint8"},
    {"name": "limitPrice", "type": "uint64"},
    {"name": "quantity", "type": "uint64"},
    {"name": "expiry", "type": "uint64"},
]
#: The EIP-712 type of ``Settlement.Payment``.
PAYMENT_TYPE: list[dict[str, str]] = [
    {"name": "payer", "type": "address"},
    {"name": "payee", "type": "address"},
    {"name": "paymentId", "type": "uint64"},
    {"name": "amount", "type": "uint64"},
    {"name": "expiry", "type": "uint64"},
    {"name": "memo", "type": "bytes32"},
]
_ORDER_TYPEHASH = keccak(
    b"Order(address owner,uint64 orderId,uint8 side,uint8 resource,uint64 limitPrice,uint64 quantity,uint64 expiry)"
)
_PAYMENT_TYPEHASH = keccak(b"Payment(address payer,address payee,uint64 paymentId,uint64 amount,uint64 expiry,bytes32 memo)")
_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_ORDER_ABI = ["bytes32", "address", "uint64", "uint8", "uint8", "uint64", "uint64", "uint64"]
_PAYMENT_ABI = ["bytes32", "address", "address", "uint64", "uint64", "uint64", "bytes32"]


def round_time(step: int) -> int:
    """The simulated unix time at which market round ``step`` starts."""
    return SIM_EPOCH + step * ROUND_SECONDS


def order_expiry(step: int, ttl_rounds: int = DEFAULT_TTL_ROUNDS) -> int:
    """The expiry of an order placed in round ``step``: the start of round ``step + ttl_rounds``
    (:func:`round_time`, written out: every filled order of a round computes its expiry)."""
    return SIM_EPOCH + (step + ttl_rounds) * ROUND_SECONDS


@dataclass(frozen=True, slots=True)
class OrderDomain:
    """The EIP-712 domain orders are signed under: one Settlement contract on one chain."""

    chain_id: int
    verifying_contract: ChecksumAddress
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def as_typed_data(self) -> dict[str, Any]:
        """The domain as eth-account's ``sign_typed_data`` takes it."""
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


class SettlementOrder(NamedTuple):
    """``Settlement.Order``: a bid (``side`` :data:`BUY`) pays at most, an ask (:data:`SELL`) takes
    at least, ``limit_price`` per unit for at most ``quantity`` units of ``resource`` until
    ``expiry`` (inclusive, unix seconds).

    Attributes:
        owner: The owner's address.
        order_id: The owner's order id; fills are tracked per (owner, order id).
        side: :data:`BUY` or :data:`SELL`.
        resource: A :data:`RESOURCE_CODES` value.
        limit_price: Micro-tokens per unit.
        quantity: Units.
        expiry: Unix seconds.
    """

    owner: ChecksumAddress
    order_id: int
    side: int
    resource: int
    limit_price: int
    quantity: int
    expiry: int

    def as_tuple(self) -> tuple[ChecksumAddress, int, int, int, int, int, int]:
        """The order as the contract's ABI takes the struct."""
        return (self.owner, self.order_id, self.side, self.resource, self.limit_price, self.quantity, self.expiry)

    def as_typed_data(self) -> dict[str, Any]:
        """The order as an EIP-712 message (field names as in Solidity)."""
        return dict(zip((f["name"] for f in ORDER_TYPE), self.as_tuple(), strict=True))


class Signature(NamedTuple):
    """An ECDSA signature in Ethereum's ``(v, r, s)`` form, ``v`` in {27, 28}."""

    v: int
    r: int
    s: int

    def to_bytes(self) -> bytes:
        """The 65-byte ``r || s || v`` form."""
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.v])

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Parses the 65-byte ``r || s || v`` form (``v`` 0/1 or 27/28)."""
        if len(data) != 65:
            raise ValueError(f"a signature is 65 bytes, got {len(data)}")
        v = data[64]
        return cls(v + 27 if v < 27 else v, int.from_bytes(data[:32], "big"), int.from_bytes(data[32:64], "big"))

    @property
    def is_low_s(self) -> bool:
        """Whether ``s`` is in the lower half of the curve order (EIP-2)."""
        return self.s <= _HALF_N


class SignedOrder(NamedTuple):
    """An order and its owner's signature."""

    order: SettlementOrder
    signature: Signature


class SettlementPayment(NamedTuple):
    """``Settlement.Payment``: ``payer`` pays ``amount`` micro-tokens to ``payee``, once per
    (payer, ``payment_id``), until ``expiry``; ``memo`` is ``keccak256`` of what it is for
    (:func:`ledger.merkle.memo_hash`)."""

    payer: ChecksumAddress
    payee: ChecksumAddress
    payment_id: int
    amount: int
    expiry: int
    memo: bytes

    def as_tuple(self) -> tuple[ChecksumAddress, ChecksumAddress, int, int, int, bytes]:
        """The payment as the contract's ABI takes the struct."""
        return (self.payer, self.payee, self.payment_id, self.amount, self.expiry, self.memo)

    def as_typed_data(self) -> dict[str, Any]:
        """The payment as an EIP-712 message (field names as in Solidity)."""
        return dict(zip((f["name"] for f in PAYMENT_TYPE), self.as_tuple(), strict=True))


class SignedPayment(NamedTuple):
    """A payment and its payer's signature."""

    payment: SettlementPayment
    signature: Signature


@lru_cache(maxsize=64)
def domain_separator(domain: OrderDomain) -> bytes:
    """``hashStruct(EIP712Domain)`` of ``domain``."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                _DOMAIN_TYPEHASH,
                keccak(domain.name.encode()),
                keccak(domain.version.encode()),
                domain.chain_id,
                domain.verifying_contract,
            ],
        )
    )


def order_digest(domain: OrderDomain, order: SettlementOrder) -> bytes:
    """The EIP-712 digest ``keccak256(0x1901 || domainSeparator || hashStruct(order))``."""
    struct_hash = keccak(abi_encode(_ORDER_ABI, [_ORDER_TYPEHASH, *order.as_tuple()]))
    return keccak(b"\x19\x01" + domain_separator(domain) + struct_hash)


def sign_order(key: coincurve.PrivateKey, domain: OrderDomain, order: SettlementOrder) -> SignedOrder:
    """Signs ``order`` under ``domain`` with ``key`` (deterministic, low-s).

    Args:
        key: The owner's key (see :func:`ledger.keys.agent_signing_key`).
        domain: The Settlement contract's domain.
        order: The order; its ``owner`` should be ``key``'s address.

    Returns:
        The order with its signature.
    """
    raw = key.sign_recoverable(order_digest(domain, order), hasher=None)
    return SignedOrder(order, Signature(raw[64] + 27, int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")))


def payment_digest(domain: OrderDomain, payment: SettlementPayment) -> bytes:
    """The EIP-712 digest ``keccak256(0x1901 || domainSeparator || hashStruct(payment))``."""
    struct_hash = keccak(abi_encode(_PAYMENT_ABI, [_PAYMENT_TYPEHASH, *payment.as_tuple()]))
    return keccak(b"\x19\x01" + domain_separator(domain) + struct_hash)


def sign_payment(key: coincurve.PrivateKey, domain: OrderDomain, payment: SettlementPayment) -> SignedPayment:
    """Signs ``payment`` under ``domain`` with the payer's ``key`` (deterministic, low-s)."""
    raw = key.sign_recoverable(payment_digest(domain, payment), hasher=None)
    return SignedPayment(payment, Signature(raw[64] + 27, int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")))


def recover_payment_signer(domain: OrderDomain, payment: SettlementPayment, signature: Signature) -> ChecksumAddress:
    """The address ``ecrecover`` returns for ``signature`` over ``payment``'s digest (see :func:`recover_signer`)."""
    return _recover(payment_digest(domain, payment), signature)


def recover_signer(domain: OrderDomain, order: SettlementOrder, signature: Signature) -> ChecksumAddress:
    """The address ``ecrecover`` returns for ``signature`` over ``order``'s digest.

    Mirrors the EVM precompile: an out-of-range ``v``, ``r`` or ``s``, or a point that does not
    recover, gives the zero address. (The malleability check is the caller's.)
    """
    return _recover(order_digest(domain, order), signature)


def _recover(digest: bytes, signature: Signature) -> ChecksumAddress:
    """``ecrecover(digest, v, r, s)`` as the precompile answers it (zero address on failure)."""
    if signature.v not in (27, 28) or not 0 < signature.r < SECP256K1_N or not 0 < signature.s < SECP256K1_N:
        return ZERO_ADDRESS
    raw = signature.r.to_bytes(32, "big") + signature.s.to_bytes(32, "big") + bytes([signature.v - 27])
    try:
        public = coincurve.PublicKey.from_signature_and_message(raw, digest, hasher=None)
    except ValueError:
        return ZERO_ADDRESS
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


def typed_data(domain: OrderDomain, order: SettlementOrder) -> dict[str, Any]:
    """The full EIP-712 typed-data document (for wallets and ``eth_account.messages.encode_typed_data``)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": ORDER_TYPE,
        },
        "primaryType": "Order",
        "domain": domain.as_typed_data(),
        "message": order.as_typed_data(),
    }


def malleable_twin(signature: Signature) -> Signature:
    """The other valid signature of the same digest (``s' = n - s``, ``v`` flipped), which EIP-2 forbids."""
    return Signature(55 - signature.v, signature.r, SECP256K1_N - signature.s)
