"""The ``revm`` chain: the committed contracts on revm, the Rust EVM, in this process, behind web3.

`pyrevm <https://github.com/paradigmxyz/pyrevm>`_ runs EVM bytecode natively; it has no notion of
blocks, receipts, nonces or snapshots of a chain. :class:`RevmNode` adds them, as a development
node such as anvil does: unlocked accounts that send transactions without signatures, blocks mined
one per transaction (or queued and mined on request), receipts with their events, ``eth_call`` and
gas estimates run under a snapshot and rolled back, and the test-chain controls (snapshot/revert,
the next block's timestamp, auto-mining). :class:`RevmProvider` speaks Ethereum JSON-RPC to it,
the way a node answers over HTTP, so web3 and every wrapper in :mod:`ledger.contracts` run exactly
the code they run against eth-tester or anvil: the same ABI encoding, the same custom-error
decoding into :mod:`ledger.reverts`, the same event parsing. :func:`connect_revm` returns the
:class:`~ledger.chain.Chain` that ``--chain revm`` selects; its web3 skips two middlewares an
in-process chain has no use for (ENS names, the chain-id check the provider makes itself), and its
``eth`` module answers ``call``, ``send_transaction`` and receipts straight from the node, with the
results web3's generic path gives (the tests compare them), without the round trip through hex.

The node mirrors a fresh eth-tester chain where the project relies on it: the same chain id and
the same ten funded accounts (private keys 1 to 10), so the suite deploys to the same addresses
and orders are signed under the same EIP-712 domain (:data:`ledger.suite.EMBEDDED_DOMAIN`) on
memory, eth-tester and revm. The EVM runs the fork the contracts are compiled for
(:data:`ledger.compiler.EVM_VERSION`, Cancun), set explicitly: pyrevm reads an unknown fork name
as its latest fork, silently.

What differs from a node, and why (pyrevm 0.3.7):

- pyrevm keeps one open journal for the whole session and never finalises a transaction, so an
  account or storage slot, once touched, stays *warm* (EIP-2929) in later transactions, and the
  "original value" SSTORE pricing (EIP-2200) sees the value first loaded. Gas figures are revm's
  own and lower than a node would charge after the first transaction touching a slot; behaviour
  is unaffected (the contracts never branch on gas). Measure gas on eth-tester or anvil.
- Gas costs no ether (the gas price is 0, as in pyrevm's own test environment).
- No historical state: a call at an earlier block runs on the current state with that block's
  number and timestamp (enough to recover the error of a failed transaction, which changed no
  state).
- Transaction hashes are the keccak hash of the transaction's fields, not of a signed encoding.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import rlp
from eth_keys import keys
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_canonical_address
from hexbytes import HexBytes
from pyrevm import EVM, AccountInfo, BlockEnv, CfgEnv, Env
from web3 import Web3
from web3.datastructures import AttributeDict
from web3.eth import Eth
from web3.main import get_default_modules
from web3.manager import RequestManager
from web3.providers.base import BaseProvider
from web3.types import BlockIdentifier, RPCEndpoint, RPCError, RPCResponse, StateOverride, TxParams, TxReceipt, _Hash32

from ledger.abi import checksum_address
from ledger.chain import EMBEDDED_CHAIN_ID, REVM, Chain
from ledger.compiler import EVM_VERSION

__all__ = [
    "REVM",
    "SPEC_OF_EVM_VERSION",
    "SPEC",
    "DEFAULT_KEYS",
    "BLOCK_GAS_LIMIT",
    "RevmNode",
    "RevmProvider",
    "RevmChain",
    "Receipt",
    "NodeError",
    "connect_revm",
]

#: revm's fork for each compiler target this node can run (revm's ``SpecId`` names).
SPEC_OF_EVM_VERSION = {"cancun": "CANCUN", "prague": "PRAGUE"}
#: The fork the node runs: the one the contracts are compiled for.
SPEC = SPEC_OF_EVM_VERSION[EVM_VERSION]
#: The funded, unlocked accounts, as eth-tester's: private keys 1 to 10; the first deploys and operates.
DEFAULT_KEYS = tuple(n.to_bytes(32, "big") for n in range(1, 11))
#: Ether each default account starts with (one million ether, as on eth-tester).
DEFAULT_BALANCE_WEI = 10**24
#: The block gas limit (a transaction may not ask for more).
BLOCK_GAS_LIMIT = 30_000_000
#: Gas of a transaction that gives none (the node fills it in, as a node's estimate would).
DEFAULT_TX_GAS = 10_000_000

_ZERO_HASH = b"\x00" * 32
_REVERT = re.compile(r"^Revert \{ gas_used: (\d+), output: 0x([0-9a-fA-F]*) \}")
_HALT = re.compile(r"^Halt \{ reason: (.*), gas_used: (\d+) \}")
_EMPTY_BLOOM = b"\x00" * 256


class NodeError(Exception):
    """A request the node refuses (unknown account, bad nonce, gas above the block limit, ...).

    Attributes:
        code: The JSON-RPC error code the provider answers with.
        data: Revert data, for a call that reverted.
    """

    def __init__(self, message: str, code: int = -32000, data: bytes | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as the node received it (``to`` is ``None`` for a contract creation)."""

    sender: ChecksumAddress
    to: ChecksumAddress | None
    value: int
    data: bytes
    gas: int
    nonce: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class Log:
    """An event a transaction emitted."""

    address: ChecksumAddress
    topics: tuple[bytes, ...]
    data: bytes
    log_index: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a mined transaction did."""

    transaction: Transaction
    block_number: int
    block_hash: bytes
    index: int
    status: int
    gas_used: int
    cumulative_gas_used: int
    contract_address: ChecksumAddress | None
    logs: tuple[Log, ...]
    output: bytes


@dataclass(frozen=True, slots=True)
class Block:
    """A mined block."""

    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    gas_used: int
    transactions: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One execution: success or not, gas, return (or revert) data, logs, created address."""

    success: bool
    gas_used: int
    output: bytes
    logs: tuple[tuple[ChecksumAddress, tuple[bytes, ...], bytes], ...]
    created: ChecksumAddress | None = None
    halt: str = ""


@dataclass(slots=True)
class _Snapshot:
    checkpoint: Any
    blocks: int
    nonces: dict[str, int]
    pending: list[Transaction]
    next_timestamp: int | None
    automine: bool


def _block_hash(parent: bytes, number: int, timestamp: int, transactions: Iterable[bytes]) -> bytes:
    """A block's id: the keccak hash of its parent's, its number and time (a word each) and its
    transactions' hashes, fixed-width fields in a row (no RLP: nothing outside reads a header)."""
    return keccak(b"".join((parent, number.to_bytes(32, "big"), timestamp.to_bytes(32, "big"), *transactions)))


@dataclass
class RevmNode:
    """A development chain on pyrevm.

    Args:
        chain_id: The chain id (``block.chainid`` and the EIP-712 domains signed for it).
        keys_: Private keys of the unlocked, funded accounts; the first deploys and operates.
        spec: revm's fork name (one of :data:`SPEC_OF_EVM_VERSION`'s values).
        genesis_timestamp: Block 0's timestamp (default: now, as a node starts); later blocks
            follow one second apart unless told otherwise (:meth:`set_next_block_timestamp`).

    Raises:
        NodeError: ``spec`` names no fork this node runs.
    """

    chain_id: int = EMBEDDED_CHAIN_ID
    keys_: tuple[bytes, ...] = DEFAULT_KEYS
    spec: str = SPEC
    genesis_timestamp: int | None = None
    accounts: list[ChecksumAddress] = field(init=False)
    blocks: list[Block] = field(init=False)
    automine: bool = field(init=False, default=True)
    _evm: EVM = field(init=False, repr=False)
    _unlocked: set[str] = field(init=False, repr=False)
    _nonces: dict[str, int] = field(init=False, repr=False)
    _receipts: dict[bytes, Receipt] = field(init=False, repr=False)
    _pending: list[Transaction] = field(init=False, repr=False)
    _next_timestamp: int | None = field(init=False, default=None, repr=False)
    _snapshots: dict[int, _Snapshot] = field(init=False, repr=False)
    _snapshot_ids: Callable[[], int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.spec not in SPEC_OF_EVM_VERSION.values():
            raise NodeError(f"revm fork {self.spec!r}: expected one of {', '.join(SPEC_OF_EVM_VERSION.values())}")
        genesis = int(time.time()) if self.genesis_timestamp is None else self.genesis_timestamp
        env = Env(cfg=CfgEnv(chain_id=self.chain_id), block=BlockEnv(number=0, timestamp=genesis, gas_limit=BLOCK_GAS_LIMIT))
        self._evm = EVM(env=env, gas_limit=BLOCK_GAS_LIMIT, spec_id=self.spec)
        self.accounts = [keys.PrivateKey(k).public_key.to_checksum_address() for k in self.keys_]
        self._unlocked = set()
        for account in self.accounts:
            self._evm.set_balance(account, DEFAULT_BALANCE_WEI)
            self.unlock(account)
        self.blocks = [Block(0, _block_hash(_ZERO_HASH, 0, genesis, ()), _ZERO_HASH, genesis, 0, ())]
        self._nonces = {}
        self._receipts = {}
        self._pending = []
        self._snapshots = {}
        counter = iter(range(1, 2**63))
        self._snapshot_ids = counter.__next__

    # -- accounts and state ------------------------------------------------------------------

    def unlock(self, account: str) -> ChecksumAddress:
        """Lets ``account`` send transactions through this node (no signature needed)."""
        address = checksum_address(account)
        self._unlocked.add(address)
        return address

    def nonce(self, account: str, *, pending: bool = False) -> int:
        """Transactions ``account`` has had mined (plus those waiting, with ``pending``)."""
        address = checksum_address(account)
        mined = self._nonces.get(address, 0)
        return mined + sum(1 for tx in self._pending if tx.sender == address) if pending else mined

    def balance(self, account: str) -> int:
        return int(self._evm.get_balance(checksum_address(account)))

    def code(self, account: str) -> bytes:
        """The account's code as deployed (revm keeps it padded for analysis: the padding is cut
        where the code hash says the deployed code ends)."""
        address = checksum_address(account)
        padded = bytes(self._evm.get_code(address) or b"")
        want = self._evm.basic(address).code_hash
        if want is None:  # pragma: no cover - revm gives every account, even an empty one, a code hash
            return padded
        # revm pads with 33 zero bytes; look there first, then anywhere
        for end in (len(padded) - 33, *range(len(padded), -1, -1)):
            if 0 <= end and keccak(padded[:end]) == want:
                return padded[:end]
        return padded  # pragma: no cover - the hash always names a prefix

    def storage(self, account: str, slot: int) -> int:
        return int(self._evm.storage(checksum_address(account), slot))

    # -- blocks and time ---------------------------------------------------------------------

    @property
    def latest(self) -> Block:
        return self.blocks[-1]

    def next_timestamp(self) -> int:
        """The timestamp the next block gets: the one set, else one second after the latest."""
        return self._next_timestamp if self._next_timestamp is not None else self.latest.timestamp + 1

    def set_next_block_timestamp(self, timestamp: int) -> None:
        """Makes the next block's timestamp exactly ``timestamp``; later blocks follow a second apart.

        Raises:
            NodeError: ``timestamp`` is not after the latest block's.
        """
        if timestamp <= self.latest.timestamp:
            raise NodeError(f"timestamp {timestamp} is not after the latest block's ({self.latest.timestamp})")
        self._next_timestamp = timestamp

    def block(self, number: int) -> Block:
        """Block ``number``.

        Raises:
            NodeError: there is no such block.
        """
        if not 0 <= number < len(self.blocks):
            raise NodeError(f"no block {number} (latest is {self.latest.number})")
        return self.blocks[number]

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        return next((b for b in reversed(self.blocks) if b.hash == block_hash), None)

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        """The receipt of a mined transaction (``None`` while it waits or when unknown)."""
        return self._receipts.get(tx_hash)

    def pending_transaction(self, tx_hash: bytes) -> Transaction | None:
        return next((tx for tx in self._pending if tx.hash == tx_hash), None)

    # -- transactions ------------------------------------------------------------------------

    def send(
        self,
        sender: str,
        to: str | None,
        data: bytes = b"",
        *,
        value: int = 0,
        gas: int | None = None,
        nonce: int | None = None,
    ) -> bytes:
        """Accepts a transaction from an unlocked account and returns its hash; mines it at once
        when auto-mining is on (a transaction that fails is mined too, with status 0, as on a node).

        Raises:
            NodeError: the sender is not unlocked, the nonce is not the next one, or the gas is
                above the block limit or below the intrinsic cost.
        """
        address = checksum_address(sender)
        if address not in self._unlocked:
            raise NodeError(f"unknown account {address}: not unlocked on this node")
        gas = DEFAULT_TX_GAS if gas is None else gas
        if gas > BLOCK_GAS_LIMIT:
            raise NodeError(f"gas {gas} exceeds the block gas limit {BLOCK_GAS_LIMIT}")
        expected = self.nonce(address, pending=True)
        if nonce is not None and nonce != expected:
            raise NodeError(f"nonce {nonce} of {address}: expected {expected}")
        target = None if to is None else checksum_address(to)
        tx_hash = keccak(
            rlp.encode(
                [self.chain_id, expected, to_canonical_address(address), b"" if target is None else to_canonical_address(target), value, gas, data]
            )
        )
        if value > self.balance(address):
            raise NodeError(f"insufficient funds: {address} has {self.balance(address)} wei, sends {value}")
        tx = Transaction(address, target, value, bytes(data), gas, expected, tx_hash)
        intrinsic = _intrinsic_gas(tx.data, target is None)
        if gas < intrinsic:
            raise NodeError(f"intrinsic gas too low: {gas} < {intrinsic}")
        self._pending.append(tx)
        if self.automine:
            self.mine()
        return tx_hash

    def mine(self, blocks: int = 1) -> None:
        """Mines ``blocks`` blocks; the first includes every waiting transaction, in order."""
        for _ in range(blocks):
            self._mine_one()

    def _mine_one(self) -> None:
        number = self.latest.number + 1
        timestamp = self.next_timestamp()
        self._next_timestamp = None
        transactions, self._pending = self._pending, []
        self._set_block_env(number, timestamp)
        executed: list[tuple[Transaction, _Outcome]] = []
        for tx in transactions:
            outcome = self._execute(tx)
            self._nonces[tx.sender] = self._nonces.get(tx.sender, 0) + 1
            executed.append((tx, outcome))
        parent = self.latest.hash
        block_hash = _block_hash(parent, number, timestamp, (tx.hash for tx in transactions))
        cumulative = log_index = 0
        for index, (tx, outcome) in enumerate(executed):
            cumulative += outcome.gas_used
            logs = []
            for address, topics, data in outcome.logs:
                logs.append(Log(address, topics, data, log_index))
                log_index += 1
            self._receipts[tx.hash] = Receipt(
                tx, number, block_hash, index, int(outcome.success), outcome.gas_used, cumulative,
                outcome.created, tuple(logs), outcome.output,
            )
        self.blocks.append(Block(number, block_hash, parent, timestamp, cumulative, tuple(tx.hash for tx in transactions)))

    def _set_block_env(self, number: int, timestamp: int) -> None:
        self._evm.set_block_env(BlockEnv(number=number, timestamp=timestamp, gas_limit=BLOCK_GAS_LIMIT, basefee=0))

    def _execute(self, tx: Transaction) -> _Outcome:
        """Runs ``tx`` on the state (committed when it succeeds; a failure leaves nothing)."""
        evm = self._evm
        evm.reset_transient_storage()  # EIP-1153: transient storage lasts one transaction
        try:
            if tx.to is None:
                # the created address follows the sender's nonce, which pyrevm does not count for calls
                info = evm.basic(tx.sender)
                # pyrevm 0.3.7's stub leaves out the balance its AccountInfo takes
                evm.insert_account_info(tx.sender, AccountInfo(balance=info.balance, nonce=tx.nonce))  # type: ignore[call-arg]
                created = checksum_address(evm.deploy(tx.sender, tx.data, value=tx.value, gas=tx.gas))
                output = b""
            else:
                created = None
                output = bytes(evm.message_call(tx.sender, tx.to, tx.data, value=tx.value, gas=tx.gas))
        except RuntimeError as exc:
            return self._failure(tx, str(exc))
        result = evm.result
        assert result is not None  # the call or deploy above has just run
        logs = tuple((checksum_address(log.address), tuple(log.data[0]), bytes(log.data[1])) for log in result.logs)
        return _Outcome(True, int(result.gas_used), output, logs, created)

    def _failure(self, tx: Transaction, message: str) -> _Outcome:
        revert = _REVERT.match(message)
        if revert:
            return _Outcome(False, int(revert.group(1)), bytes.fromhex(revert.group(2)), ())
        halt = _HALT.match(message)
        if halt:
            return _Outcome(False, int(halt.group(2)), b"", (), halt=halt.group(1))
        # revm refused to run it at all (a check :meth:`send` did not foresee): it fails, using its gas
        return _Outcome(False, tx.gas, b"", (), halt=message)

    # -- calls and estimates -------------------------------------------------------------------

    def call(
        self, sender: str | None, to: str | None, data: bytes = b"", *, value: int = 0, gas: int | None = None, block: int | str = "latest"
    ) -> bytes:
        """Runs a transaction without keeping its effects and returns what it returned.

        ``block`` gives the block context (number and timestamp): ``"latest"`` (default), ``"pending"``
        (the next block's) or a number; the state is always the current one.

        Raises:
            NodeError: the call reverted (``code`` 3 with the revert ``data``) or halted.
        """
        outcome = self._simulate(sender, to, data, value=value, gas=gas, block=block)
        if not outcome.success:
            if outcome.halt:
                raise NodeError(f"execution halted: {outcome.halt}")
            raise NodeError("execution reverted", code=3, data=outcome.output)
        return outcome.output

    def estimate_gas(self, sender: str | None, to: str | None, data: bytes = b"", *, value: int = 0, gas: int | None = None) -> int:
        """The least gas with which the transaction succeeds on the pending block (a binary search
        above what it used, since the 63/64 rule and refunds can need more than that).

        Raises:
            NodeError: it fails even with ``gas`` (default: the block gas limit).
        """
        cap = BLOCK_GAS_LIMIT if gas is None else gas
        outcome = self._simulate(sender, to, data, value=value, gas=cap, block="pending")
        if not outcome.success:
            if outcome.halt:
                raise NodeError(f"gas required exceeds allowance ({cap})")
            raise NodeError("execution reverted", code=3, data=outcome.output)
        low, high = outcome.gas_used - 1, cap
        guess = min(outcome.gas_used * 64 // 63 + 2_300, cap)
        if self._simulate(sender, to, data, value=value, gas=guess, block="pending").success:
            high = guess
        else:
            low = guess
        while high - low > 1:
            middle = (low + high) // 2
            if self._simulate(sender, to, data, value=value, gas=middle, block="pending").success:
                high = middle
            else:
                low = middle
        return high

    def _simulate(self, sender: str | None, to: str | None, data: bytes, *, value: int, gas: int | None, block: int | str) -> _Outcome:
        if block == "pending":
            number, timestamp = self.latest.number + 1, self.next_timestamp()
        else:
            chosen = self.latest if block == "latest" else self.block(int(block))
            number, timestamp = chosen.number, chosen.timestamp
        address = checksum_address(sender) if sender else self.accounts[0]
        gas = BLOCK_GAS_LIMIT if gas is None else min(gas, BLOCK_GAS_LIMIT)
        tx = Transaction(address, None if to is None else checksum_address(to), value, bytes(data), gas, self.nonce(address), b"")
        checkpoint = self._evm.snapshot()
        try:
            self._set_block_env(number, timestamp)
            return self._execute(tx)
        finally:
            self._evm.revert(checkpoint)

    # -- snapshots -------------------------------------------------------------------------------

    def snapshot(self) -> int:
        """Takes a snapshot of the chain (state, blocks, receipts, nonces, waiting transactions,
        clock) and returns its id for :meth:`revert`."""
        snapshot_id = self._snapshot_ids()
        self._snapshots[snapshot_id] = _Snapshot(
            self._evm.snapshot(), len(self.blocks), dict(self._nonces), list(self._pending), self._next_timestamp, self.automine
        )
        return snapshot_id

    def revert(self, snapshot_id: int) -> bool:
        """Returns the chain to snapshot ``snapshot_id``; that snapshot and every later one are used
        up (as on anvil). Returns ``False`` for an unknown or used-up id."""
        if snapshot_id not in self._snapshots:
            return False
        # revm's checkpoints nest: undo the later ones first, newest first, then this one
        for later in sorted((i for i in self._snapshots if i >= snapshot_id), reverse=True):
            snap = self._snapshots.pop(later)
            self._evm.revert(snap.checkpoint)
        for removed in self.blocks[snap.blocks :]:
            for tx_hash in removed.transactions:
                self._receipts.pop(tx_hash, None)
        del self.blocks[snap.blocks :]
        self._nonces = snap.nonces
        self._pending = snap.pending
        self._next_timestamp = snap.next_timestamp
        self.automine = snap.automine
        return True

    # -- events ----------------------------------------------------------------------------------

    def logs(self, from_block: int, to_block: int, addresses: AbstractSet[str] | None, topics: list[Any]) -> list[tuple[Receipt, Log]]:
        """The events of blocks ``from_block``..``to_block`` emitted by ``addresses`` (``None``: any)
        matching ``topics`` (per position: ``None`` for any, a topic, or a list of alternatives)."""
        found = []
        for block in self.blocks[max(from_block, 0) : to_block + 1]:
            for tx_hash in block.transactions:
                receipt = self._receipts[tx_hash]
                for log in receipt.logs:
                    if addresses is not None and log.address not in addresses:
                        continue
                    if _topics_match(log.topics, topics):
                        found.append((receipt, log))
        return found


def _topics_match(topics: tuple[bytes, ...], wanted: list[Any]) -> bool:
    if len(wanted) > len(topics):
        return False
    for have, want in zip(topics, wanted, strict=False):
        if want is None:
            continue
        if isinstance(want, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


def _intrinsic_gas(data: bytes, create: bool) -> int:
    """Intrinsic gas (Shanghai and later): 21,000, 4 per zero and 16 per other calldata byte, and
    for a creation 32,000 plus 2 per 32-byte word of init code (EIP-3860)."""
    zeros = data.count(0)
    gas = 21_000 + 4 * zeros + 16 * (len(data) - zeros)
    if create:
        gas += 32_000 + 2 * ((len(data) + 31) // 32)
    return gas


# -- JSON-RPC ------------------------------------------------------------------------------------


def _hex(value: int) -> str:
    return hex(value)


def _data(value: bytes) -> str:
    return "0x" + value.hex()


def _bytes(value: str | None) -> bytes:
    if not value:
        return b""
    return bytes.fromhex(value[2:] if value.startswith(("0x", "0X")) else value)


def _int(value: str | int | None, default: int = 0) -> int:
    if value is None:
        return default
    return value if isinstance(value, int) else int(value, 16)


class RevmProvider(BaseProvider):
    """A web3 provider that answers JSON-RPC requests from a :class:`RevmNode` in this process.

    Besides the ``eth_*`` methods web3 and the wrappers use, it answers the development-node
    methods the project's :class:`~ledger.chain.Chain` sends to anvil: ``evm_snapshot``,
    ``evm_revert``, ``evm_setNextBlockTimestamp``, ``evm_setAutomine`` and ``evm_mine``.
    """

    def __init__(self, node: RevmNode | None = None) -> None:
        super().__init__()
        self.node = node or RevmNode()
        self._methods: dict[str, Callable[[list[Any]], Any]] = {
            name[4:]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")
        }

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        handler = self._methods.get(method)
        if handler is None:
            return {"jsonrpc": "2.0", "id": 0, "error": {"code": -32601, "message": f"method {method} not supported by the revm node"}}
        try:
            result = handler(list(params or []))
        except NodeError as exc:
            error: RPCError = {"code": exc.code, "message": str(exc)}
            if exc.data is not None:
                error["data"] = _data(exc.data)
            return {"jsonrpc": "2.0", "id": 0, "error": error}
        return {"jsonrpc": "2.0", "id": 0, "result": result}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True

    # -- chain facts ---------------------------------------------------------------------------

    def rpc_eth_chainId(self, params: list[Any]) -> str:
        return _hex(self.node.chain_id)

    def rpc_net_version(self, params: list[Any]) -> str:
        return str(self.node.chain_id)

    def rpc_eth_accounts(self, params: list[Any]) -> list[str]:
        return list(self.node.accounts)

    def rpc_eth_blockNumber(self, params: list[Any]) -> str:
        return _hex(self.node.latest.number)

    def rpc_eth_gasPrice(self, params: list[Any]) -> str:
        return "0x0"

    def rpc_eth_maxPriorityFeePerGas(self, params: list[Any]) -> str:
        return "0x0"

    def rpc_eth_getBalance(self, params: list[Any]) -> str:
        return _hex(self.node.balance(params[0]))

    def rpc_eth_getCode(self, params: list[Any]) -> str:
        return _data(self.node.code(params[0]))

    def rpc_eth_getStorageAt(self, params: list[Any]) -> str:
        return _data(self.node.storage(params[0], _int(params[1])).to_bytes(32, "big"))

    def rpc_eth_getTransactionCount(self, params: list[Any]) -> str:
        return _hex(self.node.nonce(params[0], pending=len(params) > 1 and params[1] == "pending"))

    # -- blocks ----------------------------------------------------------------------------------

    def _block_number(self, tag: Any) -> int | None:
        if tag in (None, "latest", "safe", "finalized"):
            return self.node.latest.number
        if tag == "earliest":
            return 0
        if tag == "pending":
            return None
        return _int(tag)

    def _block_json(self, block: Block, full: bool) -> dict[str, Any]:
        transactions: list[Any] = [
            self._transaction_json(self.node.receipt(h)) if full else _data(h) for h in block.transactions  # type: ignore[arg-type]
        ]
        return {
            "number": _hex(block.number),
            "hash": _data(block.hash),
            "parentHash": _data(block.parent_hash),
            "timestamp": _hex(block.timestamp),
            "gasLimit": _hex(BLOCK_GAS_LIMIT),
            "gasUsed": _hex(block.gas_used),
            "baseFeePerGas": "0x0",
            "miner": "0x" + "00" * 20,
            "difficulty": "0x0",
            "totalDifficulty": "0x0",
            "nonce": "0x0000000000000000",
            "mixHash": _data(_ZERO_HASH),
            "sha3Uncles": _data(_ZERO_HASH),
            "stateRoot": _data(_ZERO_HASH),
            "receiptsRoot": _data(_ZERO_HASH),
            "transactionsRoot": _data(_ZERO_HASH),
            "logsBloom": _data(_EMPTY_BLOOM),
            "extraData": "0x",
            "size": "0x0",
            "uncles": [],
            "transactions": transactions,
        }

    def rpc_eth_getBlockByNumber(self, params: list[Any]) -> dict[str, Any] | None:
        number = self._block_number(params[0])
        full = bool(params[1]) if len(params) > 1 else False
        if number is None:  # the pending block: what the next block will be, empty until mined
            latest = self.node.latest
            pending = Block(latest.number + 1, _ZERO_HASH, latest.hash, self.node.next_timestamp(), 0, ())
            return self._block_json(pending, False)
        if number > self.node.latest.number:
            return None
        return self._block_json(self.node.block(number), full)

    def rpc_eth_getBlockByHash(self, params: list[Any]) -> dict[str, Any] | None:
        block = self.node.block_by_hash(_bytes(params[0]))
        return None if block is None else self._block_json(block, bool(params[1]) if len(params) > 1 else False)

    # -- transactions --------------------------------------------------------------------------

    def _check_chain_id(self, tx: dict[str, Any]) -> None:
        if tx.get("chainId") is not None and _int(tx["chainId"]) != self.node.chain_id:
            raise NodeError(f"the transaction declared chain id {_int(tx['chainId'])}, but this node is on {self.node.chain_id}")

    def rpc_eth_sendTransaction(self, params: list[Any]) -> str:
        tx = params[0]
        self._check_chain_id(tx)
        if "from" not in tx:
            raise NodeError("transaction without 'from'")
        gas = _int(tx["gas"]) if tx.get("gas") is not None else None
        nonce = _int(tx["nonce"]) if tx.get("nonce") is not None else None
        to = tx.get("to") or None
        data = _bytes(tx.get("data") or tx.get("input"))
        return _data(self.node.send(tx["from"], to, data, value=_int(tx.get("value")), gas=gas, nonce=nonce))

    def _transaction_json(self, receipt: Receipt) -> dict[str, Any]:
        tx = receipt.transaction
        return {
            "hash": _data(tx.hash),
            "from": tx.sender,
            "to": tx.to,
            "value": _hex(tx.value),
            "input": _data(tx.data),
            "gas": _hex(tx.gas),
            "gasPrice": "0x0",
            "nonce": _hex(tx.nonce),
            "blockNumber": _hex(receipt.block_number),
            "blockHash": _data(receipt.block_hash),
            "transactionIndex": _hex(receipt.index),
            "chainId": _hex(self.node.chain_id),
            "type": "0x0",
            "v": "0x0",
            "r": "0x0",
            "s": "0x0",
        }

    def rpc_eth_getTransactionByHash(self, params: list[Any]) -> dict[str, Any] | None:
        tx_hash = _bytes(params[0])
        receipt = self.node.receipt(tx_hash)
        if receipt is not None:
            return self._transaction_json(receipt)
        tx = self.node.pending_transaction(tx_hash)
        if tx is None:
            return None
        return {
            "hash": _data(tx.hash), "from": tx.sender, "to": tx.to, "value": _hex(tx.value), "input": _data(tx.data),
            "gas": _hex(tx.gas), "gasPrice": "0x0", "nonce": _hex(tx.nonce), "blockNumber": None, "blockHash": None,
            "transactionIndex": None, "chainId": _hex(self.node.chain_id), "type": "0x0", "v": "0x0", "r": "0x0", "s": "0x0",
        }

    @staticmethod
    def _log_json(receipt: Receipt, log: Log) -> dict[str, Any]:
        return {
            "address": log.address,
            "topics": [_data(t) for t in log.topics],
            "data": _data(log.data),
            "blockNumber": _hex(receipt.block_number),
            "blockHash": _data(receipt.block_hash),
            "transactionHash": _data(receipt.transaction.hash),
            "transactionIndex": _hex(receipt.index),
            "logIndex": _hex(log.log_index),
            "removed": False,
        }

    def rpc_eth_getTransactionReceipt(self, params: list[Any]) -> dict[str, Any] | None:
        receipt = self.node.receipt(_bytes(params[0]))
        if receipt is None:
            return None
        tx = receipt.transaction
        return {
            "transactionHash": _data(tx.hash),
            "transactionIndex": _hex(receipt.index),
            "blockHash": _data(receipt.block_hash),
            "blockNumber": _hex(receipt.block_number),
            "from": tx.sender,
            "to": tx.to,
            "cumulativeGasUsed": _hex(receipt.cumulative_gas_used),
            "gasUsed": _hex(receipt.gas_used),
            "effectiveGasPrice": "0x0",
            "contractAddress": receipt.contract_address,
            "logs": [self._log_json(receipt, log) for log in receipt.logs],
            "logsBloom": _data(_EMPTY_BLOOM),
            "status": _hex(receipt.status),
            "type": "0x0",
        }

    def _call_args(self, params: list[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        tx = params[0]
        self._check_chain_id(tx)
        gas = _int(tx["gas"]) if tx.get("gas") is not None else None
        data = _bytes(tx.get("data") or tx.get("input"))
        return (tx.get("from"), tx.get("to") or None, data), {"value": _int(tx.get("value")), "gas": gas}

    def rpc_eth_call(self, params: list[Any]) -> str:
        args, kwargs = self._call_args(params)
        tag = params[1] if len(params) > 1 else "latest"
        number = self._block_number(tag)
        return _data(self.node.call(*args, **kwargs, block="pending" if number is None else number))

    def rpc_eth_estimateGas(self, params: list[Any]) -> str:
        args, kwargs = self._call_args(params)
        return _hex(self.node.estimate_gas(*args, **kwargs))

    def rpc_eth_getLogs(self, params: list[Any]) -> list[dict[str, Any]]:
        query = params[0] if params else {}
        if query.get("blockHash"):
            block = self.node.block_by_hash(_bytes(query["blockHash"]))
            if block is None:
                return []
            start = end = block.number
        else:
            start = self._block_number(query.get("fromBlock", "latest")) or 0
            end_number = self._block_number(query.get("toBlock", "latest"))
            end = self.node.latest.number if end_number is None else end_number
        address = query.get("address")
        addresses = None if address is None else {checksum_address(a) for a in (address if isinstance(address, list) else [address])}
        topics = [
            None if t is None else [_bytes(x) for x in t] if isinstance(t, list) else _bytes(t) for t in query.get("topics") or []
        ]
        return [self._log_json(receipt, log) for receipt, log in self.node.logs(start, end, addresses, topics)]

    # -- development-node controls (as anvil names them) ---------------------------------------

    def rpc_evm_snapshot(self, params: list[Any]) -> str:
        return _hex(self.node.snapshot())

    def rpc_evm_revert(self, params: list[Any]) -> bool:
        return self.node.revert(_int(params[0]))

    def rpc_evm_setNextBlockTimestamp(self, params: list[Any]) -> None:
        self.node.set_next_block_timestamp(_int(params[0]))

    def rpc_evm_setAutomine(self, params: list[Any]) -> bool:
        self.node.automine = bool(params[0])
        if self.node.automine and self.node._pending:  # switching on mines what waits, as anvil does
            self.node.mine()
        return True

    def rpc_evm_mine(self, params: list[Any]) -> str:
        if params and params[0] is not None:
            self.node.set_next_block_timestamp(_int(params[0]))
        self.node.mine()
        return "0x0"


class _RevmEth(Eth):
    """web3's ``eth`` module with a direct line to the node for the calls a run makes most:
    ``call``, ``send_transaction`` and the transaction receipt.

    Each returns what web3's generic path returns (the same types, the same values; the tests
    compare the two): it skips only the round trip through hex strings and web3's generic result
    formatters. Whatever the direct line does not handle (state overrides, a refused request, a
    receipt still waiting, middleware a user added) takes web3's generic path, which raises the
    errors web3 raises.
    """

    _direct_middleware: tuple[Any, ...] = ()

    @property
    def _node(self) -> RevmNode | None:
        provider = self.w3.provider
        if not isinstance(provider, RevmProvider) or self.w3.middleware_onion.as_tuple_of_middleware() != self._direct_middleware:
            return None
        return provider.node

    def call(
        self,
        transaction: TxParams,
        block_identifier: BlockIdentifier | None = None,
        state_override: StateOverride | None = None,
        ccip_read_enabled: bool | None = None,
    ) -> HexBytes:
        node = self._node
        block = "latest" if block_identifier is None else block_identifier
        if node is None or state_override is not None or not (block in ("latest", "pending") or isinstance(block, int)):
            return super().call(transaction, block_identifier, state_override, ccip_read_enabled)
        try:
            sender, to, data, value, gas = _tx_fields(transaction)
            return HexBytes(node.call(sender, to, data, value=value, gas=gas, block=block))
        except (NodeError, TypeError, ValueError):
            # web3's path raises what web3 raises for this request (the failed call changed nothing)
            return super().call(transaction, block_identifier, state_override, ccip_read_enabled)

    def send_transaction(self, transaction: TxParams) -> HexBytes:
        node = self._node
        if node is None or "from" not in transaction:
            return super().send_transaction(transaction)
        try:
            sender, to, data, value, gas = _tx_fields(transaction)
            if sender is None:
                raise NodeError("no sender")
            nonce = transaction.get("nonce")
            if transaction.get("chainId") is not None and int(transaction["chainId"]) != node.chain_id:
                raise NodeError("chain id")
            if gas is None:  # as web3 fills it in: the node's estimate
                gas = node.estimate_gas(sender, to, data, value=value)
            return HexBytes(node.send(sender, to, data, value=value, gas=gas, nonce=None if nonce is None else int(nonce)))
        except (NodeError, TypeError, ValueError):
            return super().send_transaction(transaction)  # refused before anything changed: web3 raises

    def get_transaction_receipt(self, transaction_hash: _Hash32) -> TxReceipt:
        receipt = self._direct_receipt(transaction_hash)
        return super().get_transaction_receipt(transaction_hash) if receipt is None else receipt

    def wait_for_transaction_receipt(self, transaction_hash: _Hash32, timeout: float = 120, poll_latency: float = 0.1) -> TxReceipt:
        receipt = self._direct_receipt(transaction_hash)
        return super().wait_for_transaction_receipt(transaction_hash, timeout, poll_latency) if receipt is None else receipt

    def _direct_receipt(self, transaction_hash: _Hash32) -> TxReceipt | None:
        node = self._node
        if node is None:
            return None
        try:
            receipt = node.receipt(HexBytes(transaction_hash))
        except (TypeError, ValueError):
            return None
        return None if receipt is None else _receipt_python(receipt)


def _tx_fields(tx: TxParams) -> tuple[str | None, str | None, bytes, int, int | None]:
    """A transaction's sender, recipient, data, value and gas, from web3's Python form."""
    data = tx.get("data", b"")
    return (
        tx.get("from"),  # type: ignore[return-value]
        tx.get("to") or None,
        HexBytes(data) if data else b"",
        int(tx.get("value", 0)),
        None if tx.get("gas") is None else int(tx["gas"]),
    )


def _receipt_python(receipt: Receipt) -> TxReceipt:
    """A receipt as web3 returns it after formatting the node's JSON (see ``_RevmEth``)."""
    tx = receipt.transaction
    block_hash = HexBytes(receipt.block_hash)
    tx_hash = HexBytes(tx.hash)
    logs = [
        AttributeDict(
            {
                "address": log.address,
                "topics": [HexBytes(t) for t in log.topics],
                "data": HexBytes(log.data),
                "blockNumber": receipt.block_number,
                "blockHash": block_hash,
                "transactionHash": tx_hash,
                "transactionIndex": receipt.index,
                "logIndex": log.log_index,
                "removed": False,
            }
        )
        for log in receipt.logs
    ]
    return AttributeDict(  # type: ignore[return-value]
        {
            "transactionHash": tx_hash,
            "transactionIndex": receipt.index,
            "blockHash": block_hash,
            "blockNumber": receipt.block_number,
            "from": tx.sender,
            "to": tx.to,
            "cumulativeGasUsed": receipt.cumulative_gas_used,
            "gasUsed": receipt.gas_used,
            "effectiveGasPrice": 0,
            "contractAddress": receipt.contract_address,
            "logs": logs,
            "logsBloom": HexBytes(_EMPTY_BLOOM),
            "status": receipt.status,
            "type": 0,
        }
    )


class RevmChain(Chain):
    """The :class:`~ledger.chain.Chain` of a :class:`RevmProvider`: snapshots, time and mining go
    through the development-node methods the provider answers; keys are unlocked on the node."""

    @property
    def node(self) -> RevmNode:
        return self.w3.provider.node  # type: ignore[attr-defined]

    def next_timestamp(self) -> int:
        return self.node.next_timestamp()

    def unlock(self, private_key: bytes) -> ChecksumAddress:
        return self.node.unlock(keys.PrivateKey(bytes(private_key)).public_key.to_checksum_address())


#: web3's default middleware but ENS name resolution (a chain in this process has no ENS registry)
#: and the validation middleware (which asks the node for its chain id on every call and
#: transaction to compare a transaction's ``chainId`` with it: the provider checks that itself);
#: without the two, a call through web3 costs about half.
_MIDDLEWARE = ("gas_price_strategy", "attrdict", "gas_estimate")


def connect_revm(node: RevmNode | None = None) -> RevmChain:
    """A fresh in-process revm chain (or one on ``node``), connected through web3."""
    provider = RevmProvider(node)
    middleware = [mw for mw, name in RequestManager.get_default_middleware() if name in _MIDDLEWARE]
    w3 = Web3(provider, middleware=middleware, modules={**get_default_modules(), "eth": _RevmEth})
    w3.eth._direct_middleware = w3.middleware_onion.as_tuple_of_middleware()  # type: ignore[attr-defined]
    return RevmChain(w3=w3, kind=REVM, url=REVM, accounts=list(provider.node.accounts))

