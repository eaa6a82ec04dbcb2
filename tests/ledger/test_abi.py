"""ledger.abi encodes exactly as eth-abi does, and refuses what eth-abi refuses."""

from __future__ import annotations

from typing import Any

import eth_abi
import pytest
from eth_abi.exceptions import EncodingError
from eth_abi.tools import get_abi_strategy
from hypothesis import given
from hypothesis import strategies as st

from ledger.abi import decode_static, encode

TYPES = [
    "uint8", "uint64", "uint256", "int8", "int256", "bool", "address", "bytes1", "bytes32", "bytes", "string",
    "uint256[]", "address[]", "bytes32[3]", "string[]", "bytes[2]", "(uint32,uint32,uint64,uint64)[]",
    "((address,uint64,uint8,uint64,uint64,uint64),uint32,uint8,bytes32,bytes32)[]",
    "(uint8,string,bool[])", "(bytes,(uint16,address)[])[]", "uint64[][2]", "(string,uint8)[2][]",
]


@given(st.lists(st.sampled_from(TYPES), min_size=0, max_size=4).flatmap(
    lambda types: st.tuples(st.just(types), st.tuples(*[get_abi_strategy(t) for t in types]))
))
def test_it_encodes_every_value_as_eth_abi_does(case: tuple[list[str], tuple]) -> None:
    types, values = case
    assert encode(types, values) == eth_abi.encode(types, values)


def test_a_settle_batch_shaped_call_encodes_alike() -> None:
    owner = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    order = ((owner, 1, 0, 500, 100, 2**40), 0, 27, b"\x01" * 32, b"\x02" * 32)
    values = (7, [owner.lower(), owner], [order, order], [(0, 1, 450, 100)])
    types = ["uint256", "address[]", TYPES[-5], TYPES[-6]]
    assert encode(types, values) == eth_abi.encode(types, values)


@pytest.mark.parametrize(
    ("type_str", "value"),
    [
        ("uint8", 256), ("uint8", -1), ("uint256", True), ("uint64", 1.0), ("int8", 128), ("int8", -129),
        ("bool", 1), ("address", "0x" + "ab" * 19),
        ("address", "7E5F4552091A69125d5DfCb7b8C2659029395Bdf00"), ("address", b"\x01" * 19), ("address", 5),
        ("bytes32", b"\x00" * 33), ("bytes32", "0x00"), ("bytes", "00"), ("string", b"x"),
        ("uint8[2]", [1]), ("(uint8,bool)", (1,)), ("uint8[]", 5),
    ],
)
def test_it_refuses_what_does_not_fit_as_eth_abi_does(type_str: str, value: object) -> None:
    with pytest.raises(EncodingError):
        eth_abi.encode([type_str], [value])
    with pytest.raises(EncodingError):
        encode([type_str], [value])


def test_a_mixed_case_address_must_carry_its_checksum_as_web3_requires() -> None:
    with pytest.raises(EncodingError, match="invalid EIP-55 checksum"):
        encode(["address"], ["0x7e5F4552091A69125d5DfCb7b8C2659029395Bdf"])
    assert encode(["address"], ["0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"]) == encode(
        ["address"], ["0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"]
    )


STATIC_TYPES = [
    "uint8", "uint64", "uint128", "uint256", "int8", "int256", "bool", "address", "bytes1", "bytes32", "bytes32[3]",
    "(address,address,uint8,bytes32,uint64,uint32,uint32,uint64,uint128,uint128,uint128,uint64,uint64)",
    "((address,uint64),address,uint8,uint32,uint64,uint128,uint128,uint128)", "(bool,int16)[2]",
]  # fmt: skip


@given(st.lists(st.sampled_from(STATIC_TYPES), min_size=1, max_size=4).flatmap(
    lambda types: st.tuples(st.just(types), st.tuples(*[get_abi_strategy(t) for t in types]))
))  # fmt: skip
def test_it_decodes_static_values_as_eth_abi_does(case: tuple[list[str], tuple[Any, ...]]) -> None:
    types, values = case
    data = eth_abi.encode(types, values)
    assert decode_static(types, data) == eth_abi.decode(types, data)


@pytest.mark.parametrize(("types", "data"), [(["bytes"], b"\x00" * 64), (["uint256[]"], b"\x00" * 64), (["uint256"], b"\x00" * 31), ([], b"")])
def test_what_it_does_not_read_is_left_to_eth_abi(types: list[str], data: bytes) -> None:
    assert decode_static(types, data) is None
