"""Deterministic per-agent keys: the same run seed and agent id give the same key, every time.

A simulated agent's private key is ``keccak256("ccei-agent-key" || seed || agent_id)`` (both as
32-byte big-endian integers), so a trade log signed in one run can be re-verified and re-signed
byte for byte in another. :func:`address_number` gives the number an address stands for, the
order a batch lists its participants in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import coincurve
from eth_keys import keys
from eth_typing import ChecksumAddress
from eth_utils import keccak

from market.orders import AgentId

__all__ = ["agent_private_key", "agent_address", "agent_signing_key", "address_number", "AddressBook"]

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_DOMAIN = b"ccei-agent-key"


@lru_cache(maxsize=65_536)
def agent_private_key(seed: int, agent_id: int) -> keys.PrivateKey:
    """The private key of ``agent_id`` in a run seeded with ``seed``."""
    material = _DOMAIN + seed.to_bytes(32, "big", signed=False) + agent_id.to_bytes(32, "big", signed=False)
    counter = 0
    while True:
        candidate = keccak(material + counter.to_bytes(4, "big"))
        if 0 < int.from_bytes(candidate, "big") < _SECP256K1_N:
            return keys.PrivateKey(candidate)
        counter += 1  # pragma: no cover - probability ~2**-128


@lru_cache(maxsize=65_536)
def agent_address(seed: int, agent_id: int) -> ChecksumAddress:
    """The checksummed address of ``agent_id``'s key in a run seeded with ``seed``."""
    return agent_private_key(seed, agent_id).public_key.to_checksum_address()


@lru_cache(maxsize=65_536)
def agent_signing_key(seed: int, agent_id: int) -> coincurve.PrivateKey:
    """The same key as :func:`agent_private_key`, as a libsecp256k1 key for fast order signing."""
    return coincurve.PrivateKey(agent_private_key(seed, agent_id).to_bytes())


_CACHE_SIZE = 65_536


class _AddressNumbers(dict[str, int]):
    """Addresses' numbers, each computed once: a round sorts and checks its participants by number
    thousands of times and the same agents come back round after round. A dict lookup costs half an
    ``lru_cache`` call, which matters as a sort key. Bounded like the caches above: full, it starts
    over."""

    def __missing__(self, address: str) -> int:
        if len(self) >= _CACHE_SIZE:
            self.clear()
        number = self[address] = int(address, 16)
        return number

#: The number a hex address stands for (``int(address, 16)``, cached): participants are listed, and
#: checked, in its order. Raises ``ValueError`` for a string that is not hex.
address_number: Callable[[str], int] = _AddressNumbers().__getitem__


class AddressBook(dict[AgentId, ChecksumAddress]):
    """Agents' addresses by agent id, each derived once through ``address_of`` (a back end's
    ``address``): a run's addresses never change, and a round or a log names the same agents
    thousands of times (a dict lookup is a fraction of a ``backend.address`` call)."""

    def __init__(self, address_of: Callable[[AgentId], ChecksumAddress]) -> None:
        super().__init__()
        self._address_of = address_of

    def __missing__(self, agent: AgentId) -> ChecksumAddress:
        address = self[agent] = self._address_of(agent)
        return address
