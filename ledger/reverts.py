"""Solidity custom errors as Python exceptions: ``from ledger.reverts import InsufficientEscrow``.

Each name resolves to the :class:`~ledger.contracts.ContractReverted` subclass that
:func:`~ledger.contracts.decode_revert` raises for that error, so ``pytest.raises(InsufficientEscrow)``
or ``except InsufficientEscrow`` catch exactly that revert. Names are resolved on first use (PEP 562)
and must be declared by a contract in ``contracts/build`` (or be one of ``Error``, ``Panic``,
``Unknown``, ``OutOfGas``, ``DeploymentFailed``), so a misspelt name fails at import instead of
silently never matching. Errors of other contracts (e.g. test-only ones) are
``ledger.contracts.revert_class(name)``.
"""

from __future__ import annotations

from functools import cache

from ledger.contracts import ContractReverted, known_errors_abi, revert_class

__all__ = ["ContractReverted"]

_BUILTIN = frozenset({"Error", "Panic", "Unknown", "OutOfGas", "DeploymentFailed"})


@cache
def _declared() -> frozenset[str]:
    return _BUILTIN | {item["name"] for item in known_errors_abi()}


def __getattr__(name: str) -> type[ContractReverted]:
    if name not in _declared():
        raise AttributeError(f"no contract in contracts/build declares an error named {name!r}")
    return revert_class(name)
