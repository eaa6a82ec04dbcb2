"""Batch roots: the Merkle tree hash ``Settlement.settleBatch`` stores and emits for each batch.

The tree is RFC 9162's (Certificate Transparency 2.0, section 2.1.1) with keccak-256 for SHA-256:

- the hash of an empty list is ``keccak256("")``;
- a leaf's hash is ``keccak256(0x00 || leaf data)``;
- an inner node's hash is ``keccak256(0x01 || left || right)``;
- a list of ``n > 1`` leaves splits at ``k``, the largest power of two smaller than ``n``: the left
  subtree holds the first ``k`` leaves, the right one the rest.

The distinct leaf and node prefixes keep a leaf from passing for an inner node (second pre-image).
:func:`merkle_root` computes the same value bottom-up, pairing neighbours level by level and
carrying a level's last, unpaired node up unchanged; the tests check it against the recursive
definition.

What a batch's leaves are (the contract hashes exactly these bytes, in this order):

1. one leaf per trade, in the batch's trade order: :func:`trade_leaf`, the ABI encoding (eight
   32-byte words) of ``(uint8 0, address buyer, uint64 bidOrderId, address seller,
   uint64 askOrderId, uint8 resource, uint64 price, uint64 quantity)``;
2. then one leaf per payment, in the batch's payment order: :func:`payment_leaf`, the ABI encoding
   (six words) of ``(uint8 1, address payer, uint64 paymentId, address payee, uint64 amount,
   bytes32 memo)``, ``memo`` being ``keccak256`` of the payment's memo text (:func:`memo_hash`).

The leading kind word (0 trade, 1 payment) keeps a trade's leaf from reading as a payment's. The
batch id is not in the leaves: the contract stores the root under the batch id.

References:
    RFC 9162, "Certificate Transparency Version 2.0" (Laurie, Messeri, Stradling, 2021), §2.1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from eth_abi import encode as abi_encode
from eth_utils import keccak

__all__ = [
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "TRADE_LEAF",
    "PAYMENT_LEAF",
    "EMPTY_ROOT",
    "leaf_hash",
    "node_hash",
    "merkle_root",
    "merkle_root_recursive",
    "memo_hash",
    "trade_leaf",
    "payment_leaf",
    "HasLeaves",
    "batch_root",
]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
#: The kind word of a trade's leaf data.
TRADE_LEAF = 0
#: The kind word of a payment's leaf data.
PAYMENT_LEAF = 1
#: The root of an empty list: ``keccak256("")``.
EMPTY_ROOT = keccak(b"")

_TRADE_ABI = ["uint8", "address", "uint64", "address", "uint64", "uint8", "uint64", "uint64"]
_PAYMENT_ABI = ["uint8", "address", "uint64", "address", "uint64", "bytes32"]


def leaf_hash(data: bytes) -> bytes:
    """``keccak256(0x00 || data)``."""
    return keccak(LEAF_PREFIX + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    """``keccak256(0x01 || left || right)``."""
    return keccak(NODE_PREFIX + left + right)


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    """The RFC 9162 tree hash of the leaf data ``leaves`` (bottom-up; see the module docstring).

    Args:
        leaves: Each leaf's data (not yet hashed).

    Returns:
        The 32-byte root.
    """
    level = [leaf_hash(data) for data in leaves]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # carried up unchanged, as RFC 9162's split implies
        level = paired
    return level[0]


def merkle_root_recursive(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162's definition, written as the RFC writes it (the reference :func:`merkle_root` is
    tested against)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
    return node_hash(merkle_root_recursive(leaves[:k]), merkle_root_recursive(leaves[k:]))


def memo_hash(memo: str) -> bytes:
    """``keccak256`` of a payment's memo text (UTF-8), as payments carry and sign it."""
    return keccak(memo.encode())


def trade_leaf(buyer: str, bid_order_id: int, seller: str, ask_order_id: int, resource: int, price: int, quantity: int) -> bytes:
    """A trade's leaf data: ``abi.encode(uint8(0), buyer, bidOrderId, seller, askOrderId, resource, price, quantity)``."""
    return abi_encode(_TRADE_ABI, [TRADE_LEAF, buyer, bid_order_id, seller, ask_order_id, resource, price, quantity])


def payment_leaf(payer: str, payment_id: int, payee: str, amount: int, memo: bytes) -> bytes:
    """A payment's leaf data: ``abi.encode(uint8(1), payer, paymentId, payee, amount, memo)``,
    ``memo`` being the 32-byte :func:`memo_hash`."""
    return abi_encode(_PAYMENT_ABI, [PAYMENT_LEAF, payer, payment_id, payee, amount, memo])


class HasLeaves(Protocol):
    """A batch that can list its leaves' data (trades first, then payments; see the module docstring)."""

    def leaf_data(self) -> list[bytes]: ...


def batch_root(batch: HasLeaves) -> bytes:
    """The root ``Settlement.settleBatch`` stores for ``batch`` (``batchRoot(batchId)``) and emits
    in ``BatchSettled``.

    Args:
        batch: A :class:`ledger.batch.SettlementBatch` (anything with ``leaf_data()``).

    Returns:
        The 32-byte root.
    """
    return merkle_root(batch.leaf_data())
