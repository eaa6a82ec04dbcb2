"""Typed wrappers around the deployed contracts, and decoding of Solidity custom errors.

Every wrapper sends transactions with an explicit ``gas`` (web3's ``transact`` would otherwise
estimate first, running each transaction twice on eth-tester) and turns a revert into
:class:`ContractReverted` carrying the custom error's name and decoded arguments, whether the chain
is eth-tester (which raises its own ``TransactionFailed``) or a JSON-RPC node (web3's
``ContractCustomError``).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_tester.exceptions import TransactionFailed
from eth_typing import ChecksumAddress
from eth_utils import function_signature_to_4byte_selector
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.types import TxReceipt

from ledger.chain import Chain
from ledger.compiler import BUILD_DIR
from ledger.errors import ArtifactMissing, LedgerError

__all__ = [
    "ContractReverted",
    "load_artifact",
    "Deployed",
    "SettlementToken",
    "Settlement",
    "SettlementTrade",
    "deploy",
]


class ContractReverted(LedgerError):
    """A contract call or transaction reverted.

    Attributes:
        error: The custom error's name (``"Error"`` for a string reason, ``"Panic"`` for a panic,
            ``"Unknown"`` when the revert data cannot be decoded).
        error_args: The decoded arguments, in declaration order.
        data: The raw revert data.
    """

    def __init__(self, error: str, error_args: tuple[Any, ...], data: bytes = b"") -> None:
        self.error = error
        self.error_args = error_args
        self.data = data
        super().__init__(f"reverted with {error}({', '.join(map(str, error_args))})")


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """Loads ``contracts/build/<name>.json``.

    Raises:
        ArtifactMissing: the artifact is not there.
    """
    path = BUILD_DIR / f"{name}.json"
    if not path.is_file():
        raise ArtifactMissing(f"no build artifact for {name} at {path}; run `ccei compile`")
    return json.loads(path.read_text())


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


@cache
def _error_table(abi_json: str) -> dict[bytes, tuple[str, list[str]]]:
    table = {
        function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"]),
        function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"]),
    }
    for item in json.loads(abi_json):
        if item.get("type") == "error":
            types = [_abi_type(p) for p in item["inputs"]]
            table[function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")] = (item["name"], types)
    return table


def decode_revert(abi: list[dict[str, Any]], data: bytes) -> ContractReverted:
    """Decodes raw revert data against ``abi``'s custom errors (plus ``Error`` and ``Panic``)."""
    entry = _error_table(json.dumps(abi, sort_keys=True)).get(bytes(data[:4]))
    if entry is None:
        return ContractReverted("Unknown", (), bytes(data))
    name, types = entry
    values = abi_decode(types, bytes(data[4:]))
    return ContractReverted(name, tuple(values), bytes(data))


_BYTES_LITERAL = re.compile(r"execution reverted: (b(['\"]).*\2)$", re.DOTALL)


def _revert_data(exc: Exception) -> bytes:
    if isinstance(exc, TransactionFailed):
        match = _BYTES_LITERAL.search(str(exc.args[0]) if exc.args else "")
        return ast.literal_eval(match.group(1)) if match else b""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return b""


_REVERT_TYPES = (TransactionFailed, ContractCustomError, ContractLogicError, ContractPanicError)


class Deployed:
    """A deployed contract: its web3 handle, and transactions that raise decoded reverts."""

    artifact_name: str = ""

    def __init__(self, chain: Chain, address: ChecksumAddress, artifact_name: str | None = None) -> None:
        self.chain = chain
        self.artifact_name = artifact_name or self.artifact_name
        self.abi = load_artifact(self.artifact_name)["abi"]
        self.address = address
        self.contract: Contract = chain.w3.eth.contract(address=address, abi=self.abi)

    def call(self, fn: str, *args: Any, sender: ChecksumAddress | None = None) -> Any:
        """Calls a view (or simulates a transaction) and returns its result.

        Raises:
            ContractReverted: the call reverted.
        """
        params = {"from": sender} if sender else {}
        try:
            return getattr(self.contract.functions, fn)(*args).call(params)
        except _REVERT_TYPES as exc:
            raise decode_revert(self.abi, _revert_data(exc)) from exc

    def transact(self, fn: str, *args: Any, sender: ChecksumAddress, gas: int, wait: bool = True) -> TxReceipt | bytes:
        """Sends a transaction with explicit gas; returns its receipt (or its hash when ``wait`` is False).

        A failed transaction is replayed as a call at the block before it to recover the error.

        Raises:
            ContractReverted: the transaction reverted.
        """
        function = getattr(self.contract.functions, fn)(*args)
        try:
            tx_hash = function.transact({"from": sender, "gas": gas})
        except _REVERT_TYPES as exc:
            raise decode_revert(self.abi, _revert_data(exc)) from exc
        if not wait:
            return tx_hash
        receipt = self.chain.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            try:
                function.call({"from": sender, "gas": gas}, block_identifier=receipt["blockNumber"] - 1)
            except _REVERT_TYPES as exc:
                raise decode_revert(self.abi, _revert_data(exc)) from exc
            raise ContractReverted("OutOfGas", (gas,))
        return receipt

    def events(self, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
        """The ``name`` events this contract emitted in ``receipt``, as plain dicts of their args."""
        from web3.logs import DISCARD

        event = getattr(self.contract.events, name)()
        return [dict(log["args"]) for log in event.process_receipt(receipt, errors=DISCARD)]


def deploy(chain: Chain, artifact_name: str, *args: Any, sender: ChecksumAddress, gas: int = 6_000_000) -> ChecksumAddress:
    """Deploys ``artifact_name`` with constructor ``args`` and returns its address.

    Raises:
        ContractReverted: the constructor reverted.
    """
    artifact = load_artifact(artifact_name)
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    try:
        tx_hash = factory.constructor(*args).transact({"from": sender, "gas": gas})
    except _REVERT_TYPES as exc:
        raise decode_revert(artifact["abi"], _revert_data(exc)) from exc
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise ContractReverted("DeploymentFailed", (artifact_name,))
    return receipt["contractAddress"]


class SettlementToken(Deployed):
    """The ERC-20 settlement token (6 decimals, micro-units)."""

    artifact_name = "SettlementToken"

    def balance_of(self, account: str) -> int:
        return int(self.call("balanceOf", account))

    def total_supply(self) -> int:
        return int(self.call("totalSupply"))


@dataclass(frozen=True, slots=True)
class SettlementTrade:
    """One trade as ``Settlement.settleBatch`` takes it: indices into the batch's participant list."""

    buyer: int
    seller: int
    price: int
    quantity: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.buyer, self.seller, self.price, self.quantity)


class Settlement(Deployed):
    """The clearing house: escrow balances and netted batch settlement."""

    artifact_name = "Settlement"

    def balance_of(self, account: str) -> int:
        return int(self.call("balanceOf", account))

    def batch_settled(self, batch_id: int) -> bool:
        return bool(self.call("batchSettled", batch_id))
