"""Typed wrappers around the deployed contracts, their events as dataclasses, and custom errors as
named Python exceptions.

Every wrapper sends transactions with an explicit ``gas`` (web3's ``transact`` would otherwise
estimate first, running each transaction several times on eth-tester) and turns a revert into a
:class:`ContractReverted` whose class is named after the Solidity custom error, e.g.
``ledger.reverts.InsufficientEscrow``, carrying the decoded arguments, whether the chain is
eth-tester (which raises its own ``TransactionFailed``) or a JSON-RPC node (web3's
``ContractCustomError``). Events come back as frozen dataclasses named after the Solidity event,
with snake_case fields (``TradeSettled(batch_id=..., buyer=..., ...)``).
"""

from __future__ import annotations

import ast
import enum
import json
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, make_dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_abi.grammar import TupleType
from eth_abi.grammar import parse as parse_abi_type
from eth_tester.exceptions import TransactionFailed
from eth_typing import ChecksumAddress
from eth_utils import function_signature_to_4byte_selector, keccak
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.types import TxParams, TxReceipt

from ledger import gas as gas_recording
from ledger.abi import checksum_address as to_checksum_address
from ledger.abi import decode_static
from ledger.abi import encode as abi_encode
from ledger.batch import SettlementBatch, batch_gas
from ledger.chain import Chain
from ledger.compiler import BUILD_DIR
from ledger.errors import ArtifactMissing, LedgerError
from ledger.signing import OrderDomain
from market.carbon import EnergySource

__all__ = [
    "DEFAULT_GAS",
    "ContractReverted",
    "revert_class",
    "decode_revert",
    "revert_data",
    "event_class",
    "load_artifact",
    "known_errors_abi",
    "role_id",
    "ADMIN_ROLE",
    "MINTER_ROLE",
    "PAUSER_ROLE",
    "REGISTRAR_ROLE",
    "METER_ROLE",
    "Capacity",
    "Service",
    "AgreementState",
    "CERTIFICATE_SOURCE_CODES",
    "Deployed",
    "deploy",
    "SettlementToken",
    "ParticipantRegistry",
    "Settlement",
    "AgreementTerms",
    "Agreement",
    "PeriodRecord",
    "ServiceAgreements",
    "Certificate",
    "GreenCertificates",
]


#: Gas sent with a transaction when the wrapper has no better figure; far above any single call here.
DEFAULT_GAS = 1_000_000


class ContractReverted(LedgerError):
    """A contract call or transaction reverted.

    Catch the named subclass for one error (``ledger.reverts.InsufficientEscrow``) or this class
    for any.

    Attributes:
        error: The custom error's name (``"Error"`` for a string reason, ``"Panic"`` for a panic,
            ``"Unknown"`` when the revert data cannot be decoded).
        error_args: The decoded arguments, in declaration order (addresses checksummed).
        fields: The arguments by parameter name.
        data: The raw revert data.
    """

    def __init__(self, error: str, error_args: tuple[Any, ...], data: bytes = b"", names: Sequence[str] = ()) -> None:
        self.error = error
        self.error_args = tuple(error_args)
        self.data = data
        names = list(names) or [f"arg{i}" for i in range(len(self.error_args))]
        self.fields = dict(zip(names, self.error_args, strict=False))
        detail = ", ".join(f"{k}={_show(v)}" for k, v in self.fields.items())
        super().__init__(f"reverted with {error}({detail})")


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


_NAMED: dict[str, type[ContractReverted]] = {}


def revert_class(name: str) -> type[ContractReverted]:
    """The :class:`ContractReverted` subclass named after custom error ``name`` (one class per name)."""
    cls = _NAMED.get(name)
    if cls is None:
        if not name.isidentifier():
            raise ValueError(f"{name!r} is not an error name")
        cls = type(name, (ContractReverted,), {"__module__": "ledger.reverts", "__doc__": f"Solidity error {name}."})
        _NAMED[name] = cls
    return cls


@cache
def load_artifact(name: str, build_dir: Path = BUILD_DIR) -> dict[str, Any]:
    """Loads ``<build_dir>/<name>.json`` (by default the committed ``contracts/build``).

    Raises:
        ArtifactMissing: the artifact is not there.
    """
    path = Path(build_dir) / f"{name}.json"
    if not path.is_file():
        raise ArtifactMissing(f"no build artifact for {name} at {path}; run `ccei compile`")
    return json.loads(path.read_text())


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


@cache
def _error_table(abi_json: str) -> dict[bytes, tuple[str, list[str], list[str]]]:
    table: dict[bytes, tuple[str, list[str], list[str]]] = {
        function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"], ["reason"]),
        function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"], ["code"]),
    }
    for item in json.loads(abi_json):
        if item.get("type") == "error":
            types = [_abi_type(p) for p in item["inputs"]]
            names = [p["name"] for p in item["inputs"]]
            table[function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")] = (item["name"], types, names)
    return table


@cache
def _known_errors() -> tuple[dict[str, Any], ...]:
    seen: dict[str, dict[str, Any]] = {}
    for path in sorted(BUILD_DIR.glob("*.json")):
        for item in load_artifact(path.stem)["abi"]:
            if item.get("type") == "error":
                seen.setdefault(json.dumps(item, sort_keys=True), item)
    return tuple(seen.values())


def known_errors_abi() -> list[dict[str, Any]]:
    """Every custom error declared by a contract in ``contracts/build`` (for decoding any revert)."""
    return list(_known_errors())


def decode_revert(abi: list[dict[str, Any]], data: bytes) -> ContractReverted:
    """Decodes raw revert data against ``abi``'s custom errors (plus ``Error`` and ``Panic``).

    An error ``abi`` does not declare is looked up among every contract in ``contracts/build``, so
    an error bubbling up from a called contract (the token's ``InsufficientAllowance`` inside
    ``Settlement.depositFor``) still gets its name.

    Returns:
        An instance of the error's named class (see :func:`revert_class`).
    """
    selector = bytes(data[:4])
    entry = _error_table(json.dumps(abi, sort_keys=True)).get(selector)
    if entry is None:  # an error bubbled up from a contract it called, e.g. the token
        entry = _error_table(json.dumps(known_errors_abi(), sort_keys=True)).get(selector)
    if entry is None:
        return revert_class("Unknown")("Unknown", (), bytes(data))
    name, types, names = entry
    values = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, abi_decode(types, bytes(data[4:])), strict=True)]
    return revert_class(name)(name, tuple(values), bytes(data), names)


_BYTES_LITERAL = re.compile(r"execution reverted: (b(['\"]).*\2)$", re.DOTALL)


def revert_data(exc: Exception) -> bytes:
    """The raw revert data inside an eth-tester or web3 exception (empty when there is none)."""
    if isinstance(exc, TransactionFailed):
        match = _BYTES_LITERAL.search(str(exc.args[0]) if exc.args else "")
        return ast.literal_eval(match.group(1)) if match else b""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return b""


REVERT_TYPES = (TransactionFailed, ContractCustomError, ContractLogicError, ContractPanicError)


def _snake(name: str) -> str:
    """``batchId`` -> ``batch_id``; a Python keyword gets a trailing underscore (``from`` -> ``from_``)."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.rstrip("_")).lower()
    return snake + "_" if keyword.iskeyword(snake) else snake


@cache
def _function_types(abi_json: str, fn: str) -> tuple[bytes, list[str]]:
    item = next(i for i in json.loads(abi_json) if i.get("type") == "function" and i["name"] == fn)
    types = [_abi_type(p) for p in item["inputs"]]
    return function_signature_to_4byte_selector(f"{fn}({','.join(types)})"), types


@dataclass(frozen=True, slots=True)
class _Codec:
    """What encoding a call of one function and decoding its result needs, read once from the ABI."""

    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    output_grammar: tuple[Any, ...]
    has_address: bool


@cache
def _codec(abi_json: str, fn: str) -> _Codec | None:
    """The codec of ``fn``; ``None`` when the ABI overloads the name (web3 then picks the overload
    by the arguments)."""
    items = [i for i in json.loads(abi_json) if i.get("type") == "function" and i["name"] == fn]
    if len(items) != 1:
        return None
    inputs = tuple(_abi_type(p) for p in items[0]["inputs"])
    outputs = tuple(_abi_type(p) for p in items[0].get("outputs", []))
    grammar = tuple(parse_abi_type(t) for t in outputs)
    selector = function_signature_to_4byte_selector(f"{fn}({','.join(inputs)})")
    return _Codec(selector, inputs, outputs, grammar, any("address" in t for t in outputs))


def _checksummed(abi_type: Any, value: Any) -> Any:
    """``value`` decoded as ``abi_type`` with every address checksummed (as web3 returns it)."""
    if abi_type.is_array:
        return tuple(_checksummed(abi_type.item_type, v) for v in value)
    if isinstance(abi_type, TupleType):
        return tuple(_checksummed(c, v) for c, v in zip(abi_type.components, value, strict=True))
    return to_checksum_address(value) if abi_type.base == "address" else value


@cache
def event_class(abi_json: str, name: str) -> type:
    """A frozen, slotted dataclass named ``name`` with one snake_case field per event argument."""
    item = next(i for i in json.loads(abi_json) if i.get("type") == "event" and i["name"] == name)
    fields = [(_snake(p["name"]), Any) for p in item["inputs"]]
    cls = make_dataclass(name, fields, frozen=True, slots=True)
    cls.__module__ = "ledger.events"
    return cls


def role_id(name: str) -> bytes:
    """``keccak256(name)``: the id of role ``name`` (the admin role is 32 zero bytes)."""
    return keccak(text=name)


ADMIN_ROLE = b"\x00" * 32
MINTER_ROLE = role_id("MINTER_ROLE")
PAUSER_ROLE = role_id("PAUSER_ROLE")
REGISTRAR_ROLE = role_id("REGISTRAR_ROLE")
METER_ROLE = role_id("METER_ROLE")


class Capacity(enum.IntFlag):
    """``ParticipantRegistry`` capacity bits."""

    OPERATOR = 1
    COMPUTE_SUPPLIER = 2
    NETWORK_SUPPLIER = 4
    ENERGY_SUPPLIER = 8
    USER = 16


class Service(enum.IntEnum):
    """``ServiceAgreements.Service``."""

    COMPUTE = 0
    NETWORK = 1
    ENERGY = 2


class AgreementState(enum.IntEnum):
    """``ServiceAgreements.State``."""

    NONE = 0
    OFFERED = 1
    ACTIVE = 2
    DISPUTED = 3
    CLOSED = 4
    CANCELLED = 5


#: ``GreenCertificates.Source``: the contract's code of each energy source it certifies. Code 0
#: (``None``) marks an account that is no generator; the other sources are not certified.
CERTIFICATE_SOURCE_CODES: dict[EnergySource, int] = {
    EnergySource.SOLAR: 1,
    EnergySource.WIND: 2,
    EnergySource.HYDRO: 3,
    EnergySource.BIOMASS: 4,
    EnergySource.GEOTHERMAL: 5,
}
_CERTIFIED_SOURCES = {code: source for source, code in CERTIFICATE_SOURCE_CODES.items()}


class Deployed:
    """A deployed contract: its web3 handle, transactions that raise named reverts, typed events.

    The typed subclasses below add one method per contract function, named in snake_case after
    the Solidity function (``deposit_for`` sends ``depositFor``), with explicit gas; each
    function's NatSpec in ``contracts/`` documents what it does and how it reverts.

    Args:
        chain: The chain it lives on.
        address: Its address.
        artifact: The artifact name in ``contracts/build`` or an artifact dict (default: the
            subclass's ``artifact_name``).
    """

    artifact_name: ClassVar[str] = ""

    def __init__(self, chain: Chain, address: ChecksumAddress, artifact: str | dict[str, Any] | None = None) -> None:
        self.chain = chain
        data = artifact if isinstance(artifact, dict) else load_artifact(artifact or self.artifact_name)
        self.name: str = data["contractName"]
        self.abi: list[dict[str, Any]] = data["abi"]
        self._abi_json = json.dumps(self.abi, sort_keys=True)
        self.address = to_checksum_address(address)
        self.contract: Contract = chain.w3.eth.contract(address=self.address, abi=self.abi)

    def function(self, fn: str, *args: Any) -> ContractFunction:
        """The web3 ``ContractFunction`` for ``fn(*args)`` (for ``assert_reverts`` or raw web3 use)."""
        return getattr(self.contract.functions, fn)(*args)

    def call(self, fn: str, *args: Any, sender: ChecksumAddress | None = None) -> Any:
        """Calls a view (or simulates a transaction) and returns its result.

        Raises:
            ContractReverted: the call reverted (as the error's named subclass).
        """
        # An explicit "from" spares eth-tester's middleware listing every account on each call.
        params: TxParams = {"from": sender or self.chain.accounts[0]}
        codec = _codec(self._abi_json, fn)
        data = self._encode(codec, args)
        try:
            if codec is None or data is None:  # arguments eth-abi does not take as they are: web3 normalises them (or says why not)
                return self.function(fn, *args).call(params)
            raw = self.chain.w3.eth.call({**params, "to": self.address, "data": data})
        except REVERT_TYPES as exc:
            raise decode_revert(self.abi, revert_data(exc)) from exc
        try:
            values = decode_static(codec.outputs, bytes(raw)) or abi_decode(codec.outputs, bytes(raw))
        except (DecodingError, ValueError):  # e.g. no code there: web3 says so in its own words
            return self.function(fn, *args).call(params)
        if codec.has_address:
            values = tuple(_checksummed(t, v) for t, v in zip(codec.output_grammar, values, strict=True))
        # web3's shape: the value of a single output, else a list of them
        return values[0] if len(values) == 1 else list(values)

    @staticmethod
    def _encode(codec: _Codec | None, args: Sequence[Any]) -> bytes | None:
        """Calldata through the function's cached types (web3's contract layer validates the whole
        ABI on every call, most of a view's cost); ``None`` when the name is overloaded or eth-abi
        does not take the arguments as they are, for web3 to normalise them or say why not."""
        if codec is None:
            return None
        try:
            return codec.selector + abi_encode(codec.inputs, list(args))
        except (EncodingError, TypeError, ValueError):
            return None

    def transact(
        self,
        fn: str,
        *args: Any,
        sender: ChecksumAddress,
        gas: int = DEFAULT_GAS,
        wait: bool = True,
    ) -> TxReceipt:
        """Sends ``fn(*args)`` with explicit gas and returns its receipt (see :meth:`send`).

        Raises:
            ContractReverted: the transaction reverted (as the error's named subclass).
        """
        data = self._encode(_codec(self._abi_json, fn), args)
        if data is None:
            data = self.contract.encode_abi(fn, args=list(args))
        return self.send(fn, data, sender=sender, gas=gas, wait=wait)

    def encode_fast(self, fn: str, *args: Any) -> bytes:
        """Calldata for ``fn(*args)`` straight through :func:`ledger.abi.encode`, skipping web3's
        argument normalisation and eth-abi's validation layers (many times faster for large
        batches): arguments must already be in ABI form (checksummed addresses, ``bytes`` for
        fixed bytes, tuples for structs)."""
        selector, types = _function_types(self._abi_json, fn)
        return selector + abi_encode(types, list(args))

    def send(
        self,
        fn: str,
        data: bytes | str,
        *,
        sender: ChecksumAddress,
        gas: int = DEFAULT_GAS,
        wait: bool = True,
        nonce: int | None = None,
    ) -> TxReceipt:
        """Sends prepared calldata ``data`` for function ``fn`` and returns the receipt.

        With ``wait=False`` (auto-mining off) it returns ``{"transactionHash": ...}`` at once;
        fetch the receipt after mining. Several transactions from one sender waiting for the same
        block need explicit, consecutive ``nonce`` values (the node counts mined ones only). A transaction mined as failed is replayed as a call on
        the block it was mined in (same timestamp; the failure changed no contract state) to
        recover the error; one that used all its gas raises ``OutOfGas``. The gas used is reported to active gas recorders under
        ``fn``.

        Raises:
            ContractReverted: the transaction reverted (as the error's named subclass).
        """
        w3 = self.chain.w3
        tx: dict[str, Any] = {"from": sender, "to": self.address, "data": data, "gas": gas}
        if nonce is not None:
            tx["nonce"] = nonce
        try:
            tx_hash = w3.eth.send_transaction(tx)  # type: ignore[arg-type]
        except REVERT_TYPES as exc:
            raise decode_revert(self.abi, revert_data(exc)) from exc
        if not wait:
            return TxReceipt({"transactionHash": tx_hash})  # type: ignore[typeddict-item]
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            gas_recording.record(self.name, fn, receipt["gasUsed"], reverted=True)
            if receipt["gasUsed"] < gas:
                try:
                    w3.eth.call(tx, block_identifier=receipt["blockNumber"])  # type: ignore[arg-type]
                except REVERT_TYPES as exc:
                    raise decode_revert(self.abi, revert_data(exc)) from exc
            raise revert_class("OutOfGas")("OutOfGas", (gas,), b"", ["gas"])
        gas_recording.record(self.name, fn, receipt["gasUsed"])
        return receipt

    def events(self, receipt: TxReceipt, name: str) -> list[Any]:
        """The ``name`` events this contract emitted in ``receipt``, as dataclasses (see :func:`event_class`)."""
        from web3.logs import DISCARD

        cls = event_class(self._abi_json, name)
        event = getattr(self.contract.events, name)()
        return [
            cls(**{_snake(k): v for k, v in log["args"].items()})
            for log in event.process_receipt(receipt, errors=DISCARD)
            if log["address"] == self.address
        ]

    def has_role(self, role: bytes, account: str) -> bool:
        return bool(self.call("hasRole", role, account))

    def grant_role(self, role: bytes, account: str, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("grantRole", role, account, sender=sender, gas=100_000)

    def revoke_role(self, role: bytes, account: str, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("revokeRole", role, account, sender=sender, gas=100_000)

    def renounce_role(self, role: bytes, *, sender: ChecksumAddress) -> TxReceipt:
        """Gives up ``role`` (OpenZeppelin's ``renounceRole(role, callerConfirmation)``; the admin
        role only after a scheduled, delayed hand-over to the zero address)."""
        return self.transact("renounceRole", role, sender, sender=sender, gas=100_000)


class _Pausable(Deployed):
    def paused(self) -> bool:
        return bool(self.call("paused"))

    def pause(self, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("pause", sender=sender, gas=100_000)

    def unpause(self, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("unpause", sender=sender, gas=100_000)


def deploy(
    chain: Chain,
    artifact: str | dict[str, Any],
    *args: Any,
    sender: ChecksumAddress,
    gas: int = 6_000_000,
) -> ChecksumAddress:
    """Deploys ``artifact`` (a name in ``contracts/build`` or an artifact dict) and returns its address.

    Raises:
        ContractReverted: the constructor reverted (named after its custom error when it had one).
    """
    data = artifact if isinstance(artifact, dict) else load_artifact(artifact)
    factory = chain.w3.eth.contract(abi=data["abi"], bytecode=data["bytecode"])
    try:
        tx_hash = factory.constructor(*args).transact({"from": sender, "gas": gas})
    except REVERT_TYPES as exc:
        raise decode_revert(data["abi"], revert_data(exc)) from exc
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        creation = {"from": sender, "data": factory.constructor(*args).data_in_transaction, "gas": gas}
        try:
            chain.w3.eth.call(creation, block_identifier=receipt["blockNumber"])  # type: ignore[arg-type]
        except REVERT_TYPES as exc:
            raise decode_revert(data["abi"], revert_data(exc)) from exc
        raise revert_class("DeploymentFailed")("DeploymentFailed", (data["contractName"],), b"", ["contract"])
    gas_recording.record(data["contractName"], "constructor", receipt["gasUsed"])
    address = receipt["contractAddress"]
    assert address is not None  # the receipt of a successful creation names the contract
    return address


class SettlementToken(Deployed):
    """The ERC-20 settlement token (6 decimals, micro-units); minting needs ``MINTER_ROLE``."""

    artifact_name = "SettlementToken"

    def balance_of(self, account: str) -> int:
        return int(self.call("balanceOf", account))

    def total_supply(self) -> int:
        return int(self.call("totalSupply"))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.call("allowance", owner, spender))

    def mint(self, to: str, value: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("mint", to, value, sender=sender, gas=100_000)

    def transfer(self, to: str, value: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("transfer", to, value, sender=sender, gas=100_000)

    def approve(self, spender: str, value: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("approve", spender, value, sender=sender, gas=100_000)

    def transfer_from(self, owner: str, to: str, value: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("transferFrom", owner, to, value, sender=sender, gas=100_000)


class ParticipantRegistry(Deployed):
    """Who trades and in which capacities (:class:`Capacity`); registrars need ``REGISTRAR_ROLE``."""

    artifact_name = "ParticipantRegistry"

    def roles_of(self, account: str) -> Capacity:
        return Capacity(int(self.call("rolesOf", account)))

    def is_registered(self, account: str) -> bool:
        return bool(self.call("isRegistered", account))

    def has_roles(self, account: str, roles: Capacity) -> bool:
        return bool(self.call("hasRoles", account, int(roles)))

    def register(self, account: str, roles: Capacity, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("register", account, int(roles), sender=sender, gas=100_000)

    def register_many(self, accounts: Sequence[str], roles: Capacity, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("registerMany", list(accounts), int(roles), sender=sender, gas=60_000 + 30_000 * len(accounts))

    def deregister(self, account: str, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("deregister", account, sender=sender, gas=100_000)


class Settlement(_Pausable):
    """The clearing house: escrow balances, order fills and signed, netted batch settlement."""

    artifact_name = "Settlement"

    def balance_of(self, account: str) -> int:
        return int(self.call("balanceOf", account))

    def batch_settled(self, batch_id: int) -> bool:
        return bool(self.call("batchSettled", batch_id))

    def batch_root(self, batch_id: int) -> bytes:
        """The Merkle root stored for ``batch_id`` (32 zero bytes if unsettled; see :mod:`ledger.merkle`)."""
        return bytes(self.call("batchRoot", batch_id))

    def payment_settled(self, payer: str, payment_id: int) -> bool:
        return bool(self.call("paymentSettled", payer, payment_id))

    def payment_digest(self, payment_tuple: tuple[Any, ...]) -> bytes:
        return bytes(self.call("paymentDigest", payment_tuple))

    def cancel_payment(self, payment_id: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("cancelPayment", payment_id, sender=sender, gas=80_000)

    def filled(self, owner: str, order_id: int) -> int:
        return int(self.call("filled", owner, order_id))

    @property
    def domain(self) -> OrderDomain:
        """The EIP-712 domain orders for this contract are signed under."""
        return OrderDomain(chain_id=self.chain.chain_id, verifying_contract=self.address)

    def order_digest(self, order_tuple: tuple[Any, ...]) -> bytes:
        return bytes(self.call("orderDigest", order_tuple))

    def deposit_for(self, account: str, amount: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("depositFor", account, amount, sender=sender, gas=120_000)

    def withdraw(self, amount: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("withdraw", amount, sender=sender, gas=100_000)

    def cancel_order(self, order_id: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("cancelOrder", order_id, sender=sender, gas=80_000)

    def settle_batch(
        self,
        batch: SettlementBatch,
        *,
        sender: ChecksumAddress,
        gas: int | None = None,
        wait: bool = True,
        nonce: int | None = None,
    ) -> TxReceipt:
        """Sends ``settleBatch`` for ``batch`` with a gas limit sized to it (see :func:`ledger.batch.batch_gas`)."""
        data = self.encode_fast("settleBatch", *batch.call_args())
        return self.send("settleBatch", data, sender=sender, gas=gas or batch_gas(batch), wait=wait, nonce=nonce)


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """``ServiceAgreements.Terms``: the public terms of a guarantee contract.

    ``terms_hash`` is ``keccak256(salt || confidential terms)``; amounts are token micro-units,
    ``units_per_period`` the resource's smallest unit (milli-core-hours, MB, Wh).
    """

    buyer: ChecksumAddress
    oracle: ChecksumAddress
    service: Service
    terms_hash: bytes
    start: int
    periods: int
    period_seconds: int
    units_per_period: int
    payment_per_period: int
    penalty_per_unit: int
    collateral: int
    dispute_window: int
    dispute_timeout: int = 7_200

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.buyer,
            self.oracle,
            int(self.service),
            self.terms_hash,
            self.start,
            self.periods,
            self.period_seconds,
            self.units_per_period,
            self.payment_per_period,
            self.penalty_per_unit,
            self.collateral,
            self.dispute_window,
            self.dispute_timeout,
        )

    @classmethod
    def from_tuple(cls, values: Sequence[Any]) -> AgreementTerms:
        v = list(values)
        return cls(to_checksum_address(v[0]), to_checksum_address(v[1]), Service(v[2]), bytes(v[3]), *v[4:])

    @property
    def end(self) -> int:
        """When the last period ends (unix seconds)."""
        return self.start + self.periods * self.period_seconds


@dataclass(frozen=True, slots=True)
class Agreement:
    """``ServiceAgreements.Agreement``: the terms and what the agreement still holds."""

    terms: AgreementTerms
    supplier: ChecksumAddress
    state: AgreementState
    attested: int
    disputed_at: int
    collateral_left: int
    payment_held: int
    compensation_owed: int


@dataclass(frozen=True, slots=True)
class PeriodRecord:
    """``ServiceAgreements.Period``: one period's attestation."""

    attested: bool
    claimed: bool
    delivered: int
    compensation: int


class ServiceAgreements(_Pausable):
    """Guarantee contracts (SLAs): collateral, escrowed payment per period, attestation, compensation."""

    artifact_name = "ServiceAgreements"

    @staticmethod
    def commit(terms: bytes, salt: bytes) -> bytes:
        """The ``termsHash`` committing to confidential ``terms`` with a 32-byte ``salt``."""
        return keccak(salt + terms)

    def agreement(self, agreement_id: int) -> Agreement:
        raw = self.call("getAgreement", agreement_id)
        terms, supplier, state, attested, disputed_at, collateral_left, payment_held, owed = raw
        return Agreement(
            AgreementTerms.from_tuple(terms),
            to_checksum_address(supplier),
            AgreementState(state),
            attested,
            disputed_at,
            collateral_left,
            payment_held,
            owed,
        )

    def period(self, agreement_id: int, period: int) -> PeriodRecord:
        return PeriodRecord(*self.call("getPeriod", agreement_id, period))

    def agreement_count(self) -> int:
        return int(self.call("agreementCount"))

    def credit(self, account: str) -> int:
        return int(self.call("credit", account))

    def is_oracle(self, account: str) -> bool:
        return bool(self.call("isOracle", account))

    def set_oracle(self, oracle: str, enabled: bool, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("setOracle", oracle, enabled, sender=sender, gas=100_000)

    def is_broker(self, account: str, broker: str) -> bool:
        return bool(self.call("isBroker", account, broker))

    def set_broker(self, broker: str, enabled: bool, *, sender: ChecksumAddress) -> TxReceipt:
        """``sender`` lets ``broker`` offer and accept agreements on its behalf (or stops it)."""
        return self.transact("setBroker", broker, enabled, sender=sender, gas=80_000)

    def offer(self, terms: AgreementTerms, *, sender: ChecksumAddress) -> int:
        """Offers an agreement and returns its id."""
        receipt = self.transact("offer", terms.as_tuple(), sender=sender, gas=500_000)
        return int(self.events(receipt, "AgreementOffered")[0].id)

    def offer_many(self, terms: Sequence[AgreementTerms], *, sender: ChecksumAddress) -> list[int]:
        """Offers many agreements in one transaction and returns their ids."""
        receipt = self.transact("offerMany", [t.as_tuple() for t in terms], sender=sender, gas=100_000 + 330_000 * len(terms))
        return [int(e.id) for e in self.events(receipt, "AgreementOffered")]

    def offer_many_for(self, suppliers: Sequence[str], terms: Sequence[AgreementTerms], *, sender: ChecksumAddress) -> list[int]:
        """A broker offers ``terms[i]`` for ``suppliers[i]`` in one transaction; returns the ids."""
        receipt = self.transact("offerManyFor", list(suppliers), [t.as_tuple() for t in terms], sender=sender, gas=100_000 + 360_000 * len(terms))
        return [int(e.id) for e in self.events(receipt, "AgreementOffered")]

    def min_dispute_window(self, period_seconds: int) -> int:
        return int(self.call("minDisputeWindow", period_seconds))

    def cancel_offer(self, agreement_id: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("cancelOffer", agreement_id, sender=sender, gas=100_000)

    def accept(self, agreement_id: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("accept", agreement_id, sender=sender, gas=150_000)

    def accept_many(self, agreement_ids: Sequence[int], *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("acceptMany", list(agreement_ids), sender=sender, gas=80_000 + 60_000 * len(agreement_ids))

    def accept_many_for(self, agreement_ids: Sequence[int], *, sender: ChecksumAddress) -> TxReceipt:
        """A broker accepts the agreements, each for its buyer (order them by buyer: one transfer per run)."""
        return self.transact("acceptManyFor", list(agreement_ids), sender=sender, gas=80_000 + 90_000 * len(agreement_ids))

    def attest(self, agreement_id: int, period: int, delivered: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("attest", agreement_id, period, delivered, sender=sender, gas=250_000)

    def attest_many(self, agreement_ids: Sequence[int], periods: Sequence[int], delivered: Sequence[int], *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact(
            "attestMany", list(agreement_ids), list(periods), list(delivered), sender=sender, gas=80_000 + 200_000 * len(agreement_ids)
        )

    def claim_compensation_many(self, agreement_ids: Sequence[int], periods: Sequence[int], *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("claimCompensationMany", list(agreement_ids), list(periods), sender=sender, gas=60_000 + 60_000 * len(agreement_ids))

    def claim_compensation(self, agreement_id: int, period: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("claimCompensation", agreement_id, period, sender=sender, gas=100_000)

    def release(self, agreement_id: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("release", agreement_id, sender=sender, gas=100_000)

    def open_dispute(self, agreement_id: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("openDispute", agreement_id, sender=sender, gas=100_000)

    def reveal_terms(self, agreement_id: int, terms: bytes, salt: bytes, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("revealTerms", agreement_id, terms, salt, sender=sender, gas=100_000 + 40 * len(terms))

    def resolve_dispute(self, agreement_id: int, payment_to_buyer: int, collateral_to_buyer: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("resolveDispute", agreement_id, payment_to_buyer, collateral_to_buyer, sender=sender, gas=150_000)

    def expire_dispute(self, agreement_id: int, *, sender: ChecksumAddress) -> TxReceipt:
        """Ends a dispute that timed out with the default split (anyone may send it)."""
        return self.transact("expireDispute", agreement_id, sender=sender, gas=150_000)

    def withdraw(self, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("withdraw", sender=sender, gas=100_000)


@dataclass(frozen=True, slots=True)
class Certificate:
    """``GreenCertificates.Certificate``: one metered issuance."""

    generator: ChecksumAddress
    source: EnergySource
    period: int
    issued_wh: int


class GreenCertificates(Deployed):
    """Renewable-energy certificates per Wh: issued by the meter against attested generation, transferred, retired."""

    artifact_name = "GreenCertificates"

    def certificate(self, certificate_id: int) -> Certificate:
        generator, source, period, issued = self.call("certificate", certificate_id)
        return Certificate(to_checksum_address(generator), _CERTIFIED_SOURCES[source], period, issued)

    def meter_role(self) -> bytes:
        """``METER_ROLE``: who attests generation (and so issues)."""
        return METER_ROLE

    def issued_for(self, generator: str, period: int) -> int:
        """The certificate id issued for ``generator``'s ``period`` (0: none)."""
        return int(self.call("issuedFor", generator, period))

    def certificate_count(self) -> int:
        return int(self.call("certificateCount"))

    def generator_source(self, account: str) -> EnergySource | None:
        """The source ``account`` is registered to issue certificates for, ``None`` if it is no generator."""
        return _CERTIFIED_SOURCES.get(self.call("generatorSource", account))

    def balance_of(self, certificate_id: int, holder: str) -> int:
        return int(self.call("balanceOf", certificate_id, holder))

    def retired_of(self, certificate_id: int, holder: str) -> int:
        return int(self.call("retiredOf", certificate_id, holder))

    def total_supply(self, certificate_id: int) -> int:
        return int(self.call("totalSupply", certificate_id))

    def total_retired(self, certificate_id: int) -> int:
        return int(self.call("totalRetired", certificate_id))

    def is_approved_for_all(self, holder: str, operator: str) -> bool:
        return bool(self.call("isApprovedForAll", holder, operator))

    def register_generator(self, generator: str, source: EnergySource, *, sender: ChecksumAddress) -> TxReceipt:
        """Lets ``generator`` issue certificates for energy from ``source``.

        Raises:
            LedgerError: ``source`` is not one the contract certifies (see :data:`CERTIFICATE_SOURCE_CODES`).
        """
        code = CERTIFICATE_SOURCE_CODES.get(source)
        if code is None:
            raise LedgerError(f"green certificates: {source} is not a certified source (one of: {', '.join(CERTIFICATE_SOURCE_CODES)})")
        return self.transact("registerGenerator", generator, code, sender=sender, gas=100_000)

    def revoke_generator(self, generator: str, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("revokeGenerator", generator, sender=sender, gas=100_000)

    def attest_generation(self, generator: str, period: int, wh: int, *, sender: ChecksumAddress) -> int:
        """The meter attests ``wh`` Wh generated by ``generator`` in ``period``; returns the new certificate id."""
        receipt = self.transact("attestGeneration", generator, period, wh, sender=sender, gas=300_000)
        return int(self.events(receipt, "GenerationAttested")[0].id)

    def attest_generation_many(self, generators: Sequence[str], period: int, wh: Sequence[int], *, sender: ChecksumAddress) -> list[int]:
        """Many generators' attested generation for one period; returns the new ids."""
        receipt = self.transact("attestGenerationMany", list(generators), period, list(wh), sender=sender, gas=80_000 + 200_000 * len(generators))
        return [int(e.id) for e in self.events(receipt, "GenerationAttested")]

    def safe_transfer_from(self, holder: str, to: str, certificate_id: int, mwh: int, data: bytes = b"", *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("safeTransferFrom", holder, to, certificate_id, mwh, data, sender=sender, gas=300_000)

    def safe_transfer_from_many(
        self, holders: Sequence[str], to: Sequence[str], certificate_ids: Sequence[int], wh: Sequence[int], *, sender: ChecksumAddress
    ) -> TxReceipt:
        """Many transfers in one transaction (``safeTransferFromMany``), each from a holder that is
        ``sender`` or approved it."""
        return self.transact(
            "safeTransferFromMany", list(holders), list(to), list(certificate_ids), list(wh), sender=sender, gas=80_000 + 60_000 * len(holders)
        )

    def retire_many(self, holders: Sequence[str], certificate_ids: Sequence[int], wh: Sequence[int], *, sender: ChecksumAddress) -> TxReceipt:
        """Many retirements in one transaction (``retireMany``), each of a holder that is ``sender`` or approved it."""
        return self.transact("retireMany", list(holders), list(certificate_ids), list(wh), sender=sender, gas=80_000 + 90_000 * len(holders))

    def set_approval_for_all(self, operator: str, approved: bool, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("setApprovalForAll", operator, approved, sender=sender, gas=100_000)

    def retire(self, certificate_id: int, mwh: int, *, sender: ChecksumAddress) -> TxReceipt:
        return self.transact("retire", certificate_id, mwh, sender=sender, gas=200_000)
