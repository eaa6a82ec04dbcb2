"""ABI encoding of contract-call arguments, several times faster than eth-abi for large batches,
and decoding of static return values.

eth-abi validates every value through generic layers, twice for values inside tuples and arrays;
for a 256-trade ``settleBatch`` that costs as much as revm takes to execute it. :func:`encode`
produces the same bytes (the tests compare it with eth-abi on random types and values) and checks
only what would make an encoding wrong or ambiguous: integers within their type's range (never a
``bool``), booleans, 20-byte addresses (a mixed-case one must carry a valid EIP-55 checksum),
fixed bytes no longer than their size, and array and tuple lengths. Anything else raises
:class:`eth_abi.exceptions.EncodingError`, as eth-abi does; a mixed-case address with a wrong
checksum is refused too, as web3 refuses it (eth-abi takes it).

The encoding is the contract ABI specification's head/tail layout (Solidity documentation,
"Contract ABI Specification", formal specification of the encoding).

:func:`decode_static` reads a return value made only of static types (integers, booleans,
addresses, fixed bytes, fixed-size arrays and tuples of them), which lie in place, a word each:
eth-abi spends about half a millisecond on a 20-word struct, most of a view call on revm. It
returns what ``eth_abi.decode`` returns, addresses included (lower-case hex); anything it does not
read (a dynamic type, data of the wrong length) is ``None``, for the caller to use eth-abi.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

from eth_abi.exceptions import EncodingError
from eth_abi.grammar import BasicType, TupleType
from eth_abi.grammar import parse as parse_type
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

__all__ = ["encode", "decode_static", "checksum_address"]

_Encoder = Callable[[Any], bytes]


@lru_cache(maxsize=65_536)
def checksum_address(address: str | bytes) -> ChecksumAddress:
    """EIP-55 checksummed ``address``, cached: a run sees the same few hundred addresses thousands
    of times (in view results, receipts and logs), and each checksum costs a keccak."""
    return to_checksum_address(address)
_WORD = 32


def encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """The ABI encoding of ``values`` as a tuple of ``types`` (what follows a function selector).

    Raises:
        EncodingError: a value does not fit its type.
    """
    if not types:  # a function without arguments (the grammar has no empty tuple)
        if len(values):
            raise EncodingError(f"no types for {len(values)} values")
        return b""
    return _encoder(f"({','.join(types)})")(tuple(values))


@cache
def _encoder(type_str: str) -> _Encoder:
    return _compile(parse_type(type_str))


def _is_dynamic(t: Any) -> bool:
    if t.is_array:
        return not t.arrlist[-1] or _is_dynamic(t.item_type)
    if isinstance(t, TupleType):
        return any(_is_dynamic(c) for c in t.components)
    return t.base in ("bytes", "string") and not t.sub


def _static_size(t: Any) -> int:
    """Bytes a static type takes in place."""
    if t.is_array:
        return t.arrlist[-1][0] * _static_size(t.item_type)
    if isinstance(t, TupleType):
        return sum(_static_size(c) for c in t.components)
    return _WORD


def _compile(t: Any) -> _Encoder:
    if t.is_array:
        return _array(t)
    if isinstance(t, TupleType):
        dynamic = [_is_dynamic(c) for c in t.components]
        head = sum(_WORD if d else _static_size(c) for c, d in zip(t.components, dynamic, strict=True))
        return _tuple([_compile(c) for c in t.components], dynamic, head, str(t))
    return _basic(t)


def _tuple(encoders: list[_Encoder], dynamic: list[bool], head_size: int, name: str) -> _Encoder:
    """A tuple's encoder; ``head_size`` is the bytes its heads take (a word per dynamic part)."""
    count = len(encoders)
    parts = list(zip(encoders, dynamic, strict=True))
    if not any(dynamic):
        head_size = 0  # a static tuple is just its parts in a row

    def encode_tuple(value: Any) -> bytes:
        if not isinstance(value, (tuple, list)) or len(value) != count:
            raise EncodingError(f"{name}: expected a sequence of {count} values, got {value!r}")
        if not head_size:
            return b"".join([enc(v) for (enc, _), v in zip(parts, value, strict=True)])
        heads: list[bytes] = []
        tails: list[bytes] = []
        offset = head_size
        for (enc, is_dynamic), v in zip(parts, value, strict=True):
            encoded = enc(v)
            if is_dynamic:
                heads.append(offset.to_bytes(_WORD, "big"))
                tails.append(encoded)
                offset += len(encoded)
            else:
                heads.append(encoded)
        return b"".join(heads) + b"".join(tails)

    return encode_tuple


def _array(t: Any) -> _Encoder:
    item = t.item_type
    item_encoder = _compile(item)
    item_dynamic = _is_dynamic(item)
    size = t.arrlist[-1]
    name = str(t)

    def encode_items(value: Any) -> bytes:
        if not isinstance(value, (tuple, list)):
            raise EncodingError(f"{name}: expected a sequence, got {value!r}")
        if not item_dynamic:
            return b"".join([item_encoder(v) for v in value])
        return _tuple([item_encoder] * len(value), [True] * len(value), _WORD * len(value), name)(value)

    if size:  # T[k]: k items, no length

        def encode_fixed(value: Any) -> bytes:
            if not isinstance(value, (tuple, list)) or len(value) != size[0]:
                raise EncodingError(f"{name}: expected {size[0]} items, got {value!r}")
            return encode_items(value)

        return encode_fixed

    def encode_dynamic(value: Any) -> bytes:
        encoded = encode_items(value)
        return len(value).to_bytes(_WORD, "big") + encoded

    return encode_dynamic


def _basic(t: BasicType) -> _Encoder:
    base, sub, name = t.base, t.sub, str(t)
    if base == "uint":
        return _uint(sub, name)
    if base == "int":
        return _int(sub, name)
    if base == "bool":
        return _bool
    if base == "address":
        return _address
    if base == "bytes" and sub:
        return _fixed_bytes(sub, name)
    if base in ("bytes", "string"):
        return _dynamic_bytes(base == "string")
    raise EncodingError(f"no fast encoding for {name}")


def _uint(bits: int, name: str) -> _Encoder:
    bound = 2**bits

    def encode_uint(value: Any) -> bytes:
        if type(value) is bool or not isinstance(value, int) or not 0 <= value < bound:
            raise EncodingError(f"{name}: {value!r} is not an integer in [0, 2**{bits})")
        return int(value).to_bytes(_WORD, "big")

    return encode_uint


def _int(bits: int, name: str) -> _Encoder:
    bound = 2 ** (bits - 1)

    def encode_int(value: Any) -> bytes:
        if type(value) is bool or not isinstance(value, int) or not -bound <= value < bound:
            raise EncodingError(f"{name}: {value!r} is not an integer in [-2**{bits - 1}, 2**{bits - 1})")
        return int(value).to_bytes(_WORD, "big", signed=True)

    return encode_int


def _bool(value: Any) -> bytes:
    if not isinstance(value, bool):
        raise EncodingError(f"bool: {value!r} is not a bool")
    return (1 if value else 0).to_bytes(_WORD, "big")


def _address(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 20:
            raise EncodingError(f"address: {len(value)} bytes, not 20")
        return b"\x00" * 12 + bytes(value)
    if not isinstance(value, str):
        raise EncodingError(f"address: {value!r} is not an address")
    return _address_word(value)


@lru_cache(maxsize=65_536)
def _address_word(value: str) -> bytes:
    """The word of a hex address; a mixed-case one must be its EIP-55 checksummed form."""
    digits = value[2:] if value[:2] in ("0x", "0X") else ""
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raw = b""
    if len(raw) != 20 or len(digits) != 40:
        raise EncodingError(f"address: {value!r} is not a 20-byte hex address")
    if digits != digits.lower() and digits != digits.upper() and to_checksum_address(value) != value:
        raise EncodingError(f"address: {value!r} has an invalid EIP-55 checksum")
    return b"\x00" * 12 + raw


def _fixed_bytes(size: int, name: str) -> _Encoder:
    def encode_fixed_bytes(value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray)) or len(value) > size:
            raise EncodingError(f"{name}: {value!r} is not at most {size} bytes")
        return bytes(value).ljust(_WORD, b"\x00")

    return encode_fixed_bytes


def _dynamic_bytes(text: bool) -> _Encoder:
    def encode_dynamic_bytes(value: Any) -> bytes:
        if text:
            if not isinstance(value, str):
                raise EncodingError(f"string: {value!r} is not a str")
            data = value.encode("utf-8")
        elif isinstance(value, (bytes, bytearray)):
            data = bytes(value)
        else:
            raise EncodingError(f"bytes: {value!r} is not bytes")
        padded = -(-len(data) // _WORD) * _WORD
        return len(data).to_bytes(_WORD, "big") + data.ljust(padded, b"\x00")

    return encode_dynamic_bytes


_Decoder = Callable[[bytes, int], Any]


def decode_static(types: Sequence[str], data: bytes) -> tuple[Any, ...] | None:
    """``eth_abi.decode(types, data)`` for a tuple of static types; ``None`` for any other type,
    or when ``data`` is not exactly the tuple's size (eth-abi then decodes, or says why not)."""
    if not types:
        return None
    compiled = _decoder(f"({','.join(types)})")
    if compiled is None:
        return None
    size, decode_tuple = compiled
    if len(data) != size:
        return None
    value: tuple[Any, ...] = decode_tuple(data, 0)
    return value


@cache
def _decoder(type_str: str) -> tuple[int, _Decoder] | None:
    t = parse_type(type_str)
    if _is_dynamic(t):
        return None
    decoder = _static_decoder(t)
    return None if decoder is None else (_static_size(t), decoder)


def _static_decoder(t: Any) -> _Decoder | None:
    if t.is_array:
        item, count = t.item_type, t.arrlist[-1][0]
        item_decoder, item_size = _static_decoder(item), _static_size(item)
        if item_decoder is None:
            return None
        read_item = item_decoder
        return lambda data, at: tuple(read_item(data, at + n * item_size) for n in range(count))
    if isinstance(t, TupleType):
        parts = []
        offset = 0
        for component in t.components:
            decoder = _static_decoder(component)
            if decoder is None:
                return None
            parts.append((decoder, offset))
            offset += _static_size(component)
        return lambda data, at: tuple(read(data, at + off) for read, off in parts)
    base, sub = t.base, t.sub
    if base == "uint":
        return lambda data, at: int.from_bytes(data[at : at + _WORD], "big")
    if base == "int":
        return lambda data, at: int.from_bytes(data[at : at + _WORD], "big", signed=True)
    if base == "bool":
        return lambda data, at: data[at + _WORD - 1] == 1
    if base == "address":
        return lambda data, at: "0x" + data[at + 12 : at + _WORD].hex()
    if base == "bytes" and sub:
        return lambda data, at: bytes(data[at : at + sub])
    return None
