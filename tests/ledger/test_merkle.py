"""Batch roots: RFC 9162's tree hash over keccak, and the trade and payment leaf encodings."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    batch_root,
    leaf_hash,
    memo_hash,
    merkle_root,
    merkle_root_recursive,
    node_hash,
    payment_leaf,
    trade_leaf,
)

A = "0x" + "11" * 20
B = "0x" + "22" * 20


def test_empty_list_hashes_to_keccak_of_nothing() -> None:
    assert merkle_root([]) == EMPTY_ROOT == keccak(b"")


def test_one_leaf_is_its_prefixed_hash() -> None:
    assert merkle_root([b"abc"]) == keccak(b"\x00abc") == leaf_hash(b"abc")


def test_three_leaves_split_after_two_as_rfc_9162_says() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert merkle_root([b"a", b"b", b"c"]) == keccak(b"\x01" + keccak(b"\x01" + a + b) + c)
    assert node_hash(a, b) == keccak(b"\x01" + a + b)


def test_five_leaves_split_after_four() -> None:
    leaves = [bytes([i]) for i in range(5)]
    assert merkle_root(leaves) == node_hash(merkle_root(leaves[:4]), leaf_hash(leaves[4]))


@given(st.lists(st.binary(max_size=40), max_size=70))
def test_bottom_up_root_equals_the_recursive_definition(leaves: list[bytes]) -> None:
    assert merkle_root(leaves) == merkle_root_recursive(leaves)


@given(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=20), st.data())
def test_changing_any_leaf_changes_the_root(leaves: list[bytes], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(leaves) - 1))
    changed = list(leaves)
    changed[i] = changed[i] + b"\xff"
    assert merkle_root(changed) != merkle_root(leaves)


def test_a_leaf_cannot_pass_for_an_inner_node() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    # the two children's hashes as one leaf's data: a different root than the pair
    assert merkle_root([a + b]) != merkle_root([b"a", b"b"])


def test_trade_leaf_is_eight_abi_words_led_by_kind_zero() -> None:
    data = trade_leaf(A, 7, B, 9, 2, 40, 5)
    assert len(data) == 8 * 32
    kind, buyer, bid, seller, ask, resource, price, quantity = abi_decode(
        ["uint8", "address", "uint64", "address", "uint64", "uint8", "uint64", "uint64"], data
    )
    assert (kind, buyer, bid, seller, ask, resource, price, quantity) == (0, A, 7, B, 9, 2, 40, 5)


def test_payment_leaf_is_six_abi_words_led_by_kind_one() -> None:
    memo = memo_hash("nash-bargain")
    data = payment_leaf(A, 3, B, 1_000, memo)
    assert len(data) == 6 * 32
    assert abi_decode(["uint8", "address", "uint64", "address", "uint64", "bytes32"], data) == (1, A, 3, B, 1_000, memo)
    assert memo == keccak(b"nash-bargain")


def test_a_trade_and_a_payment_never_share_a_leaf() -> None:
    assert trade_leaf(A, 1, B, 1, 0, 1, 1)[:32] != payment_leaf(A, 1, B, 1, b"\0" * 32)[:32]


@dataclass
class _Batch:
    leaves: list[bytes]

    def leaf_data(self) -> list[bytes]:
        return self.leaves


def test_batch_root_is_the_tree_hash_of_the_batch_leaves() -> None:
    leaves = [trade_leaf(A, 1, B, 2, 0, 10, 3), payment_leaf(A, 5, B, 7, memo_hash("fee"))]
    assert batch_root(_Batch(leaves)) == node_hash(leaf_hash(leaves[0]), leaf_hash(leaves[1]))


def _sha256(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(data).digest()


@given(st.lists(st.binary(max_size=40), max_size=70), st.sampled_from([keccak, _sha256]))
def test_the_frontier_equals_the_recursive_definition_under_either_hash(leaves: list[bytes], hash: object) -> None:
    from ledger.merkle import MerkleFrontier

    frontier = MerkleFrontier(hash)  # type: ignore[arg-type]
    for data in leaves:
        frontier.append(data)
    assert frontier.size == len(leaves)
    assert frontier.root() == merkle_root_recursive(leaves, hash) == merkle_root(leaves, hash)  # type: ignore[arg-type]


def test_the_logs_line_tree_is_this_tree_with_sha256() -> None:
    from ledger.logsigning import line_tree

    tree = line_tree()
    assert tree.root() == _sha256(b"")  # RFC 9162's empty tree, as the log's close of an empty log has it
    tree.append(b"\x01" * 32)
    tree.append(b"\x02" * 32)
    assert tree.root() == _sha256(b"\x01" + _sha256(b"\x00" + b"\x01" * 32) + _sha256(b"\x00" + b"\x02" * 32))
