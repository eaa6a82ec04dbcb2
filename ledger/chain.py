"""Access to an Ethereum chain: the in-process eth-tester (py-evm) chain or any JSON-RPC node.

:func:`connect` takes what the user wrote after ``--chain``: ``eth-tester`` (the default embedded
chain) or an ``http(s)://`` / ``ws(s)://`` URL of a node such as anvil. The returned :class:`Chain`
hides the difference for the few test-chain controls the project needs: snapshot/revert, time
travel, switching auto-mining off so many transactions land in one block, unlocking a key the
node does not manage, and funding an account with ether for gas.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rlp
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_canonical_address, to_checksum_address
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import Wei

from ledger.errors import ChainUnavailable

__all__ = [
    "Chain",
    "connect",
    "create_address",
    "EMBEDDED",
    "REVM",
    "EMBEDDED_CHAIN_ID",
    "EMBEDDED_DEPLOYER",
    "ANVIL_ENV",
    "find_anvil",
    "AnvilNode",
]

EMBEDDED = "eth-tester"
#: The in-process revm chain (:mod:`ledger.revm`).
REVM = "revm"
#: The name of the signing middleware that holds every key :meth:`Chain.unlock` was given.
_SIGNER = "ccei-signer"
#: The chain id of eth-tester's py-evm chain.
EMBEDDED_CHAIN_ID = 131_277_322_940_537
#: eth-tester's first unlocked account (private key 1), which deploys and operates.
EMBEDDED_DEPLOYER: ChecksumAddress = to_checksum_address("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf")


def create_address(sender: str, nonce: int) -> ChecksumAddress:
    """The address of the contract ``sender`` creates with its ``nonce``-th transaction (CREATE)."""
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:])


@dataclass
class Chain:
    """A connected chain.

    Attributes:
        w3: The web3 instance.
        kind: ``"eth-tester"`` for the embedded chain, ``"revm"`` for the in-process revm chain,
            ``"rpc"`` for a JSON-RPC node.
        url: The node URL, or ``"eth-tester"``.
        accounts: Unlocked accounts the node manages; the first is the deployer and operator.
    """

    w3: Web3
    kind: str
    url: str
    accounts: list[ChecksumAddress] = field(default_factory=list)
    _signers: dict[str, Any] = field(default_factory=dict, repr=False)  # address -> local account
    _next_at_snapshot: dict[Any, int] = field(default_factory=dict, repr=False)

    @property
    def tester(self) -> Any:
        """The underlying ``EthereumTester`` (embedded chain only)."""
        if self.kind != EMBEDDED:
            raise ChainUnavailable(f"{self.url} is not the embedded chain")
        return self.w3.provider.ethereum_tester  # type: ignore[attr-defined]

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise ChainUnavailable(f"{self.url}: {method} failed: {response['error']}")
        return response.get("result")

    def snapshot(self) -> Any:
        """Takes a snapshot of the chain state; give the result to :meth:`revert`."""
        if self.kind == EMBEDDED:
            return self.tester.take_snapshot()
        next_timestamp = self.next_timestamp()
        snapshot_id = self._rpc("evm_snapshot", [])
        self._next_at_snapshot[snapshot_id] = next_timestamp
        return snapshot_id

    def revert(self, snapshot_id: Any) -> None:
        """Returns the chain to a snapshot taken by :meth:`snapshot`."""
        if self.kind == EMBEDDED:
            self.tester.revert_to_snapshot(snapshot_id)
        elif not self._rpc("evm_revert", [snapshot_id]):
            raise ChainUnavailable(f"{self.url}: snapshot {snapshot_id} no longer exists")
        elif snapshot_id in self._next_at_snapshot:
            # eth-tester's revert restores the pending block, time travel included; a node forgets
            # a next-block timestamp once a block used it, so it is set again
            next_timestamp = self._next_at_snapshot.pop(snapshot_id)
            if next_timestamp > self.timestamp():
                self.time_travel(next_timestamp)

    def timestamp(self) -> int:
        """The latest block's timestamp (seconds)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def next_timestamp(self) -> int:
        """The timestamp the next block gets: the pending block's (latest + 1 on a node that has none)."""
        if self.kind == EMBEDDED:
            return int(self.tester.get_block_by_number("pending")["timestamp"])
        try:
            pending = self.w3.eth.get_block("pending")
        except Exception:  # a node without a pending block (providers raise assorted types)
            return self.timestamp() + 1
        return int(pending["timestamp"])

    def time_travel(self, timestamp: int) -> None:
        """Makes the next block's timestamp exactly ``timestamp`` (later than the latest block's).

        Later blocks follow one second apart on eth-tester and on anvil. Pending transactions stay pending on a
        node; eth-tester mines them in a block one second before ``timestamp``.
        """
        if self.kind == EMBEDDED:
            self.tester.time_travel(timestamp)
        else:
            self._rpc("evm_setNextBlockTimestamp", [timestamp])
            # anvil otherwise stamps blocks with the wall clock plus an offset, many blocks one second
            try:
                self._rpc("anvil_setBlockTimestampInterval", [1])
            except ChainUnavailable:  # another node: its own rule for later blocks
                pass

    def set_automine(self, enabled: bool) -> None:
        """Switches auto-mining on (one block per transaction) or off (see :meth:`mine`)."""
        if self.kind == EMBEDDED:
            if enabled:
                self.tester.enable_auto_mine_transactions()
            else:
                self.tester.disable_auto_mine_transactions()
        else:
            self._rpc("evm_setAutomine", [enabled])

    def mine(self, blocks: int = 1) -> None:
        """Mines ``blocks`` blocks, including pending transactions."""
        if self.kind == EMBEDDED:
            self.tester.mine_blocks(blocks)
        else:
            for _ in range(blocks):
                self._rpc("evm_mine", [])


    def unlock(self, private_key: bytes) -> ChecksumAddress:
        """Lets transactions ``from`` the key's address be sent through this chain; returns the address."""
        from eth_account import Account

        account = Account.from_key(private_key)
        if self.kind == EMBEDDED:
            if not any(a == account.address for a in self.tester.get_accounts()):
                self.tester.add_account("0x" + bytes(private_key).hex())
        elif account.address not in self._signers:
            from web3.middleware import SignAndSendRawMiddlewareBuilder

            # one signing middleware for every unlocked key: one each would make every request
            # pass through as many layers as a run has agents
            onion = self.w3.middleware_onion
            if self._signers:
                onion.remove(_SIGNER)
            self._signers[account.address] = account
            onion.inject(SignAndSendRawMiddlewareBuilder.build(list(self._signers.values())), name=_SIGNER, layer=0)
        return account.address

    def fund(self, account: str, wei: int = 10**18) -> None:
        """Sends ``wei`` of ether from the first unlocked account to ``account`` (gas money)."""
        tx = self.w3.eth.send_transaction({"from": self.accounts[0], "to": account, "value": Wei(wei), "gas": 21_000})
        self.w3.eth.wait_for_transaction_receipt(tx)


def connect(spec: str = EMBEDDED, *, timeout_s: float = 10.0, chain_id: int | None = None) -> Chain:
    """Connects to the chain named by ``spec``.

    Args:
        spec: ``"eth-tester"`` for a fresh in-process py-evm chain, ``"revm"`` for a fresh
            in-process revm chain (:mod:`ledger.revm`), or a node URL
            (``http://`` or ``https://``; web3 8's websocket provider is async-only).
        timeout_s: How long to wait for a node to answer.
        chain_id: The chain id a fresh in-process chain runs with (default: eth-tester's,
            :data:`EMBEDDED_CHAIN_ID`); a node keeps its own (the caller compares).

    Returns:
        The connected chain.

    Raises:
        ChainUnavailable: the spec is neither, or the node does not answer as an Ethereum node.
    """
    if spec == EMBEDDED:
        w3 = Web3(EthereumTesterProvider() if chain_id is None else _tester_provider(chain_id))
        return Chain(w3=w3, kind=EMBEDDED, url=EMBEDDED, accounts=list(w3.eth.accounts))
    if spec == REVM:
        try:
            from ledger.revm import RevmNode, connect_revm
        except ImportError as exc:  # pyrevm missing from this environment
            raise ChainUnavailable(f"--chain revm needs pyrevm ({exc}); install it: pip install pyrevm==0.3.7") from None
        return connect_revm(None if chain_id is None else RevmNode(chain_id=chain_id))
    parsed = urllib.parse.urlparse(spec)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ChainUnavailable(f"--chain {spec!r}: expected 'memory', 'eth-tester', 'revm' or an http(s):// node URL")
    w3 = Web3(Web3.HTTPProvider(spec, request_kwargs={"timeout": timeout_s}))
    try:
        accounts = list(w3.eth.accounts)
        w3.eth.chain_id  # noqa: B018 - proves the node speaks Ethereum JSON-RPC
    except Exception as exc:  # requests/websocket/aiohttp raise unrelated types; all mean unreachable
        raise ChainUnavailable(f"--chain {spec}: node not reachable ({type(exc).__name__})") from exc
    if not accounts:
        raise ChainUnavailable(f"--chain {spec}: node has no unlocked accounts to deploy and operate with")
    return Chain(w3=w3, kind="rpc", url=spec, accounts=accounts)


def _tester_provider(chain_id: int) -> EthereumTesterProvider:
    """An eth-tester provider whose py-evm chain runs with ``chain_id``.

    py-evm reads ``Chain.chain_id`` (a class attribute) for ``block.chainid`` and for signing;
    eth-tester builds a class of its own for each backend, so setting it there changes this chain
    only. web3's endpoint table answers ``eth_chainId`` with a constant, replaced here.
    """
    from eth_tester import EthereumTester, PyEVMBackend
    from web3.providers.eth_tester.defaults import API_ENDPOINTS

    backend = PyEVMBackend()
    type(backend.chain).chain_id = chain_id
    endpoints = {**API_ENDPOINTS, "eth": {**API_ENDPOINTS["eth"], "chainId": lambda *_args, **_kwargs: chain_id}}
    return EthereumTesterProvider(EthereumTester(backend), api_endpoints=endpoints)


# ------------------------------------------------------------------------------------ a local anvil

#: Environment variable naming an ``anvil`` binary to use instead of the one npm installed.
ANVIL_ENV = "CCEI_ANVIL"

_NPM_PLATFORM = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def find_anvil(*roots: Path) -> Path | None:
    """The ``anvil`` binary itself, never npm's Node wrapper.

    ``node_modules/.bin/anvil`` is a Node script that starts the real binary as its child; killing
    the wrapper leaves that child running. So the platform package's binary is preferred
    (``node_modules/@foundry-rs/anvil-<os>-<arch>/bin/anvil``), looked for under each of ``roots``
    (default: the working directory and this checkout), after ``$CCEI_ANVIL`` and before a native
    ``anvil`` on ``PATH`` (Foundry's own install).

    Returns:
        The binary's path, or ``None`` when there is none.
    """
    env = os.environ.get(ANVIL_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    system = platform.system().lower()
    arch = _NPM_PLATFORM.get(platform.machine().lower(), platform.machine().lower())
    package = f"anvil-{'win32' if system == 'windows' else system}-{arch}"
    here = Path(__file__).resolve().parent.parent
    for root in roots or (Path.cwd(), here):
        binary = root / "node_modules" / "@foundry-rs" / package / "bin" / "anvil"
        if binary.is_file():
            return binary
    native = shutil.which("anvil")
    return Path(native) if native and "node_modules" not in native else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AnvilNode:
    """A local anvil node in its own process group, stopped as a group (nothing survives it).

    Use as a context manager (``with AnvilNode.start() as node: connect(node.url)``) or call
    :meth:`stop` yourself; :meth:`kill` is for tests of a node dying (SIGKILL to the group).

    Attributes:
        port: The port it listens on (127.0.0.1).
        process: The process (the leader of its group).
    """

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(
        cls, port: int | None = None, *, binary: Path | None = None, args: tuple[str, ...] = (), timeout_s: float = 30.0
    ) -> AnvilNode:
        """Starts anvil on 127.0.0.1 and waits until it answers JSON-RPC.

        Args:
            port: Port to listen on (default: a free one).
            binary: The anvil binary (default: :func:`find_anvil`).
            args: Further command-line arguments (e.g. ``("--chain-id", "7")``).
            timeout_s: How long to wait for it to answer.

        Raises:
            ChainUnavailable: no anvil binary, or it did not answer in time (it is stopped then).
        """
        binary = binary or find_anvil()
        if binary is None:
            raise ChainUnavailable(
                "no anvil: run `npm install` (package.json pins @foundry-rs/anvil) or set CCEI_ANVIL to its binary"
            )
        port = port or _free_port()
        command = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent", *args]
        # its own session and process group, so stop() reaches every process it may start
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        node = cls(process, port)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ChainUnavailable(f"anvil exited with code {process.returncode} on start ({binary})")
            try:
                connect(node.url, timeout_s=1.0)
                return node
            except ChainUnavailable:
                time.sleep(0.1)
        node.stop()
        raise ChainUnavailable(f"anvil did not answer on port {port} within {timeout_s:g} s")

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Kills the node's whole process group at once (SIGKILL), as a crash would, and reaps it."""
        self._signal_group(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Asks the group to end (SIGTERM), kills it after ``timeout_s``, and reaps the leader."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._signal_group(signal.SIGKILL)  # anything of the group that outlived its leader

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
