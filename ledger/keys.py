"""Keys: every simulated agent's and the lab operator's, derived from the run seed and a lab secret.

A log must not hold what it takes to forge it. The seed is in every log's header, so keys derived
from the seed alone would let anyone holding a log re-sign any order; a *lab secret*, kept outside
every run folder and log, is mixed in:

- an agent's key is ``keccak256("ccei-agent-key" || S || seed || agent_id)`` and
- the operator's key, the lab's one identity across its runs, is ``keccak256("ccei-operator-key" || S)``,

with ``S = keccak256(secret)`` and the integers as 32-byte big-endian words (a candidate outside
the curve order is re-drawn with a counter). The secret is ``CCEI_LAB_SECRET`` when that is set,
else the contents of ``ccei/lab-secret`` in the user's configuration folder (``$XDG_CONFIG_HOME``
or ``~/.config``), created on first use with 32 random bytes and mode 0600. Same secret, same
seed, same scenario: the same keys, so the same log byte for byte. :func:`address_number` gives
the number an address stands for, the order a batch lists its participants in.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import coincurve
from eth_keys.datatypes import PrivateKey
from eth_typing import ChecksumAddress
from eth_utils import keccak

from ledger.errors import LedgerError
from market.orders import AgentId

__all__ = [
    "SECRET_ENV",
    "LabSecretError",
    "lab_secret",
    "secret_file",
    "agent_private_key",
    "agent_address",
    "agent_signing_key",
    "operator_private_key",
    "operator_address",
    "local_operator",
    "address_number",
    "AddressBook",
]

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_AGENT_DOMAIN = b"ccei-agent-key"
_OPERATOR_DOMAIN = b"ccei-operator-key"
#: The environment variable that holds the lab secret (it wins over the key file).
SECRET_ENV = "CCEI_LAB_SECRET"
#: Largest seed and agent id a key can be derived from (each is one 32-byte word).
_WORD = 1 << 256


class LabSecretError(LedgerError):
    """The lab secret cannot be read or created, or its key file is readable by others."""

    exit_code = 2


def secret_file() -> Path:
    """Where the lab secret is kept when ``CCEI_LAB_SECRET`` is not set."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ccei" / "lab-secret"


_file_secrets: dict[tuple[str | None, str | None], bytes] = {}


def _read_or_create(path: Path) -> bytes:
    """The secret in ``path``, created (32 random bytes, hex, mode 0600) if there is none."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise LabSecretError(f"{path}: cannot create the lab secret ({exc.strerror or exc}); or set {SECRET_ENV}") from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise LabSecretError(f"{path}: cannot create the lab secret ({exc.strerror or exc}); or set {SECRET_ENV}") from None
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabSecretError(f"{path}: cannot read the lab secret ({getattr(exc, 'strerror', None) or exc})") from None
    if mode & 0o077:
        raise LabSecretError(f"{path}: the lab secret is readable by others (mode {mode:04o}); run chmod 600 {path}")
    if not text:
        raise LabSecretError(f"{path}: the lab secret file is empty; delete it to have a new one made, or set {SECRET_ENV}")
    return text.encode()


def lab_secret() -> bytes:
    """The lab secret: ``CCEI_LAB_SECRET`` if set, else the key file (:func:`secret_file`).

    Raises:
        LabSecretError: the variable is set but empty, or the key file cannot be used.
    """
    value = os.environ.get(SECRET_ENV)
    if value is not None:
        if not value.strip():
            raise LabSecretError(f"{SECRET_ENV} is set but empty; unset it to use {secret_file()}, or give it a value")
        return value.encode()
    where = (os.environ.get("XDG_CONFIG_HOME"), os.environ.get("HOME"))  # what secret_file() depends on
    cached = _file_secrets.get(where)
    if cached is None:  # read once: keys are derived thousands of times a round
        cached = _file_secrets[where] = _read_or_create(secret_file())
    return cached


@lru_cache(maxsize=64)
def _stretched(secret: bytes) -> bytes:
    return keccak(secret)


def _derive(material: bytes) -> PrivateKey:
    counter = 0
    while True:
        candidate = keccak(material + counter.to_bytes(4, "big"))
        if 0 < int.from_bytes(candidate, "big") < _SECP256K1_N:
            return PrivateKey(candidate)
        counter += 1  # pragma: no cover - probability ~2**-128


@lru_cache(maxsize=65_536)
def _agent_key(secret: bytes, seed: int, agent_id: int) -> PrivateKey:
    if not (0 <= seed < _WORD and 0 <= agent_id < _WORD):
        raise LedgerError(f"seed {seed} and agent id {agent_id} must lie in 0 .. 2**256 - 1 to derive a key")
    return _derive(_AGENT_DOMAIN + _stretched(secret) + seed.to_bytes(32, "big") + agent_id.to_bytes(32, "big"))


def agent_private_key(seed: int, agent_id: int, secret: bytes | None = None) -> PrivateKey:
    """The private key of ``agent_id`` in a run seeded with ``seed`` (``secret``: the lab secret)."""
    return _agent_key(lab_secret() if secret is None else secret, seed, agent_id)


@lru_cache(maxsize=65_536)
def _agent_address(secret: bytes, seed: int, agent_id: int) -> ChecksumAddress:
    return _agent_key(secret, seed, agent_id).public_key.to_checksum_address()


def agent_address(seed: int, agent_id: int, secret: bytes | None = None) -> ChecksumAddress:
    """The checksummed address of ``agent_id``'s key in a run seeded with ``seed``."""
    return _agent_address(lab_secret() if secret is None else secret, seed, agent_id)


@lru_cache(maxsize=65_536)
def _signing_key(secret: bytes, seed: int, agent_id: int) -> coincurve.PrivateKey:
    return coincurve.PrivateKey(_agent_key(secret, seed, agent_id).to_bytes())


def agent_signing_key(seed: int, agent_id: int, secret: bytes | None = None) -> coincurve.PrivateKey:
    """The same key as :func:`agent_private_key`, as a libsecp256k1 key for fast order signing."""
    return _signing_key(lab_secret() if secret is None else secret, seed, agent_id)


@lru_cache(maxsize=64)
def _operator_key(secret: bytes) -> PrivateKey:
    return _derive(_OPERATOR_DOMAIN + _stretched(secret))


def operator_private_key(secret: bytes | None = None) -> PrivateKey:
    """The lab operator's key, which signs the trade log's header, batches and close."""
    return _operator_key(lab_secret() if secret is None else secret)


def local_operator() -> ChecksumAddress | None:
    """This lab's operator address if a lab secret is set up here (``CCEI_LAB_SECRET`` or an
    existing key file), else ``None``; never creates a key file."""
    if os.environ.get(SECRET_ENV, "").strip() or secret_file().is_file():
        return operator_address()
    return None


def operator_address(secret: bytes | None = None) -> ChecksumAddress:
    """The lab operator's checksummed address (``--operator`` of ``ccei replay``)."""
    return operator_private_key(secret).public_key.to_checksum_address()


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


class AddressBook(dict[int, ChecksumAddress]):
    """Agents' addresses by agent id, each derived once through ``address_of`` (a back end's
    ``address``): a run's addresses never change, and a round or a log names the same agents
    thousands of times (a dict lookup is a fraction of a ``backend.address`` call)."""

    def __init__(self, address_of: Callable[[AgentId], ChecksumAddress]) -> None:
        super().__init__()
        self._address_of = address_of

    def __missing__(self, agent: int) -> ChecksumAddress:
        address = self[agent] = self._address_of(AgentId(agent))
        return address
