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
definition. :class:`MerkleFrontier` computes it incrementally, holding O(log n) hashes.

This is the project's one Merkle tree. The hash is a parameter: keccak-256 for batch roots (what
the contract computes); the trade log's own trees over its lines' SHA-256 hashes
(:mod:`ledger.logsigning`) use the same code with SHA-256.

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

from collections.abc import Callable, Iterable, Sequence
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
    "MerkleFrontier",
    "Hash",
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


#: A hash function: bytes in, a 32-byte digest out.
Hash = Callable[[bytes], bytes]


def leaf_hash(data: bytes, hash: Hash = keccak) -> bytes:
    """``H(0x00 || data)`` (keccak-256 by default)."""
    return hash(LEAF_PREFIX + data)


def node_hash(left: bytes, right: bytes, hash: Hash = keccak) -> bytes:
    """``H(0x01 || left || right)`` (keccak-256 by default)."""
    return hash(NODE_PREFIX + left + right)


def merkle_root(leaves: Iterable[bytes], hash: Hash = keccak) -> bytes:
    """The RFC 9162 tree hash of the leaf data ``leaves`` (bottom-up; see the module docstring).

    Args:
        leaves: Each leaf's data (not yet hashed).
        hash: The hash function (keccak-256: the contract's).

    Returns:
        The 32-byte root.
    """
    level = [leaf_hash(data, hash) for data in leaves]
    if not level:
        return hash(b"")
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1], hash) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # carried up unchanged, as RFC 9162's split implies
        level = paired
    return level[0]


def merkle_root_recursive(leaves: Sequence[bytes], hash: Hash = keccak) -> bytes:
    """RFC 9162's definition, written as the RFC writes it (the reference :func:`merkle_root` and
    :class:`MerkleFrontier` are tested against)."""
    n = len(leaves)
    if n == 0:
        return hash(b"")
    if n == 1:
        return leaf_hash(leaves[0], hash)
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
    return node_hash(merkle_root_recursive(leaves[:k], hash), merkle_root_recursive(leaves[k:], hash), hash)


class MerkleFrontier:
    """The RFC 9162 tree hash of a growing list, kept as the roots of its perfect subtrees (so a
    writer or reader of a million-leaf list holds O(log n) hashes).

    Args:
        hash: The hash function (keccak-256 by default).
    """

    __slots__ = ("_hash", "_stack", "size")

    def __init__(self, hash: Hash = keccak) -> None:
        self.size = 0
        self._hash = hash
        self._stack: list[tuple[int, bytes]] = []

    def append(self, data: bytes) -> None:
        """Adds the next leaf's data."""
        node = (1, leaf_hash(data, self._hash))
        stack = self._stack
        while stack and stack[-1][0] == node[0]:
            size, left = stack.pop()
            node = (2 * size, node_hash(left, node[1], self._hash))
        stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        """The tree hash of the leaves so far (the empty list's: ``H("")``)."""
        if not self._stack:
            return self._hash(b"")
        root = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            root = node_hash(left, root, self._hash)
        return root


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
