"""Solidity custom errors as Python exceptions: ``from ledger.reverts import InsufficientEscrow``.

Each name resolves to the :class:`~ledger.contracts.ContractReverted` subclass that
:func:`~ledger.contracts.decode_revert` raises for that error, so ``pytest.raises(InsufficientEscrow)``
or ``except InsufficientEscrow`` catch exactly that revert. Names are resolved on first use (PEP 562)
and must be declared by a contract in ``contracts/build``, by an ABI given to
:func:`register_errors`, or be one of ``Error``, ``Panic``, ``Unknown``, ``OutOfGas``,
``DeploymentFailed``, so a misspelt name fails at import instead of silently never matching.

A contract developer's own contracts are not in ``contracts/build``: :func:`register_errors` adds
their ABIs (the pytest plugin's ``ccei_deploy`` does it for every contract it deploys), so their
errors decode by name even when they surface through another contract that does not declare them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ledger.contracts import ContractReverted, decode_revert, known_errors_abi, revert_class

__all__ = ["ContractReverted", "register_errors", "registered_errors_abi", "decode", "redecode"]

_BUILTIN = frozenset({"Error", "Panic", "Unknown", "OutOfGas", "DeploymentFailed"})
_registered: dict[str, dict[str, Any]] = {}


def register_errors(abi: Iterable[Mapping[str, Any]]) -> None:
    """Adds the custom errors declared in ``abi`` (a contract's ABI list) to those every revert is decoded against."""
    for item in abi:
        if item.get("type") == "error":
            _registered.setdefault(json.dumps(item, sort_keys=True), dict(item))


def registered_errors_abi() -> list[dict[str, Any]]:
    """The errors added with :func:`register_errors`."""
    return list(_registered.values())


def decode(data: bytes, abi: list[dict[str, Any]] | None = None) -> ContractReverted:
    """Decodes revert ``data`` against ``abi``, then every artifact in ``contracts/build``, then the
    registered errors (see :func:`register_errors`)."""
    reverted = decode_revert(abi or [], data)
    if reverted.error == "Unknown" and data and _registered:
        reverted = decode_revert(registered_errors_abi(), data)
    return reverted


def redecode(reverted: ContractReverted) -> ContractReverted:
    """``reverted`` itself, or, when it was ``Unknown`` for want of the ABI, its registered error."""
    if reverted.error == "Unknown" and reverted.data:
        return decode(reverted.data)
    return reverted


def __getattr__(name: str) -> type[ContractReverted]:
    declared = _BUILTIN | {item["name"] for item in known_errors_abi()} | {item["name"] for item in _registered.values()}
    if name not in declared:
        raise AttributeError(f"no contract in contracts/build declares an error named {name!r}")
    return revert_class(name)
