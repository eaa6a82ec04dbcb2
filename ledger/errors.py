"""Errors raised by the ledger: compiler discovery, chain access and settlement."""

from __future__ import annotations

from market.errors import CceiError

__all__ = [
    "LedgerError",
    "CompilerNotFound",
    "CompilationFailed",
    "StaleArtifacts",
    "ArtifactMissing",
    "ChainUnavailable",
    "SettlementRejected",
]


class LedgerError(CceiError):
    """Base of every ledger error."""


class CompilerNotFound(LedgerError):
    """No Solidity compiler could be found (SOLC_BINARY, native solc, or npm's solc)."""


class CompilationFailed(LedgerError):
    """solc reported errors for the contract sources."""


class StaleArtifacts(LedgerError):
    """Committed build artifacts do not match the contract sources."""


class ArtifactMissing(LedgerError):
    """A contract's build artifact is not in contracts/build (run `ccei compile`)."""


class ChainUnavailable(LedgerError):
    """The chain given by --chain cannot be reached or is not an Ethereum JSON-RPC node."""

    exit_code = 3


class SettlementRejected(LedgerError):
    """A back end refused a batch (e.g. insufficient escrow, batch settled twice).

    Attributes:
        reason: The name of the Solidity custom error (or its memory back-end twin).
        args_: The error's arguments, in declaration order.
    """

    def __init__(self, reason: str, *args_: object) -> None:
        self.reason = reason
        self.args_ = args_
        detail = ", ".join(str(a) for a in args_)
        super().__init__(f"settlement rejected: {reason}({detail})")
