"""A pytest plugin for testing Solidity with the CCEI suite, on eth-tester, anvil or any JSON-RPC node.

Installed with the package (entry point ``pytest11: ccei_chain``), so every pytest run in the
environment has it; nothing is imported or deployed until a test asks for a ``ccei_*`` fixture.

Fixtures:
    ``ccei_chain``: the session's chain, returned to the state it had before the test once the test
        ends (snapshot/revert, so a test costs no redeployment). Auto-mining is switched back on.
    ``ccei_suite``: the deployed contract suite (:class:`ledger.suite.Suite`) on that chain.
    ``ccei_accounts``: named, funded participants (:class:`CceiAccounts`): the admin (every role,
        market operator), three users, a compute, a network and an energy supplier (a registered
        solar generator), a designated oracle and an unregistered outsider. Each has ether for
        gas, 1,000 tokens in its wallet and its private key in ``keys`` (the admin's included);
        the participants' keys derive from :data:`PLUGIN_SEED`, so they are the same on every chain.
    ``ccei_deploy``: deploys any artifact (a ``contracts/build`` name or a dict from
        :func:`ledger.compiler.compile_contracts`), registers its errors for decoding and returns
        its :class:`ledger.contracts.Deployed`.
    ``ccei_session``: the same chain, suite and accounts, session-scoped, for hypothesis tests:
        ``with ccei_session.isolated(): ...`` runs one example on a snapshot that is reverted after
        it (a function-scoped fixture would be shared by every example; hypothesis refuses it).
        :class:`ledger.stateful.ChainStateMachine` is the base of rule-based invariant tests.

Helpers:
    :func:`assert_reverts` checks that a web3 ``ContractFunction``, or any callable, reverts with a
    named custom error and, optionally, given arguments (see there for how it cannot be fooled).
    :func:`time_travel` makes the next block's timestamp exact, alike on every back end.

Options:
    ``--gas-report`` prints gas per contract function (calls, min, median, max) after the run, for
    every transaction the tests send through the :mod:`ledger.contracts` wrappers (the fixtures'
    own setup is left out); reverted transactions are reported in a table of their own.
    ``--ccei-gas-json FILE`` writes each function's median gas to FILE (``ccei gas snapshot``).
    ``--ccei-chain SPEC`` picks the chain: ``eth-tester`` (default), ``revm`` (the contracts on
    revm in this process, many times faster: :mod:`ledger.revm` lists what differs), ``anvil`` (a
    node started for the session and stopped after it), an ``http(s)://`` node URL, or a name
    another package registered with :func:`register_chain`. A conftest that overrides the session
    fixture ``ccei_chain_spec`` (e.g. with ``params=["eth-tester", "revm"]``) runs its tests on each
    chain, one session per chain; declare ``ccei_session`` there too (as ``session_of(config,
    ccei_chain_spec)``, see tests/contracts/conftest.py), or pytest hands the last chain's cached
    session to tests elsewhere that use the plugin's own fixtures.

Hypothesis: the plugin registers the profile ``ccei`` (no deadline, slow examples allowed); select
it with ``--hypothesis-profile=ccei``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

    from ledger.chain import Chain
    from ledger.contracts import ContractReverted, Deployed
    from ledger.gas import GasRecorder
    from ledger.suite import Suite

#: Chains inside an isolated block (a test's ``ccei_chain``, a hypothesis example), innermost last.
_active_chain: list[Chain] = []

__all__ = [
    "CceiAccounts",
    "CceiSession",
    "assert_reverts",
    "time_travel",
    "register_chain",
    "ChainFactory",
    "PLUGIN_SEED",
    "ADMIN_INDEX",
    "WALLET_MICRO",
]

#: The seed the participants' keys are derived from (see :mod:`ledger.keys`).
PLUGIN_SEED = 0xCCE1
#: The key index of the admin under :data:`PLUGIN_SEED` on a node whose own keys are unknown (participants are 0-7).
ADMIN_INDEX = 1_000
#: Tokens each participant starts with in its wallet (micro-units).
WALLET_MICRO = 1_000_000_000

_RECORDER: pytest.StashKey[GasRecorder] = pytest.StashKey()
_SESSIONS = pytest.StashKey["dict[str, CceiSession]"]()

#: ``factory(config) -> (chain, stop)``: connects a chain for the session; ``stop`` ends what it started.
ChainFactory = Callable[[pytest.Config], "tuple[Chain, Callable[[], None]]"]
_CHAINS: dict[str, ChainFactory] = {}


def register_chain(name: str, factory: ChainFactory) -> None:
    """Makes ``--ccei-chain NAME`` connect through ``factory`` (e.g. an in-process EVM back end)."""
    _CHAINS[name] = factory


def _eth_tester(config: pytest.Config) -> tuple[Chain, Callable[[], None]]:
    from ledger.chain import connect

    return connect("eth-tester"), lambda: None


def _anvil(config: pytest.Config) -> tuple[Chain, Callable[[], None]]:
    from ledger.chain import AnvilNode, connect

    node = AnvilNode.start()
    return connect(node.url), node.stop


def _revm(config: pytest.Config) -> tuple[Chain, Callable[[], None]]:
    from ledger.chain import connect

    return connect("revm"), lambda: None


register_chain("eth-tester", _eth_tester)
register_chain("revm", _revm)
register_chain("anvil", _anvil)


def _connect(spec: str, config: pytest.Config) -> tuple[Chain, Callable[[], None]]:
    from ledger.chain import connect

    factory = _CHAINS.get(spec)
    if factory is not None:
        return factory(config)
    if spec.startswith(("http://", "https://")):
        return connect(spec), lambda: None
    raise pytest.UsageError(f"--ccei-chain {spec}: expected {', '.join(sorted(_CHAINS))} or an http(s):// node URL")


# ---------------------------------------------------------------------------------------- pytest hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ccei-chain", "CCEI contract testing")
    group.addoption(
        "--gas-report",
        action="store_true",
        default=False,
        help="print gas per contract function (calls, min, median, max) at the end of the run",
    )
    group.addoption(
        "--ccei-gas-json",
        default=None,
        metavar="FILE",
        help="write each contract function's median gas to FILE as JSON (used by `ccei gas snapshot`)",
    )
    group.addoption(
        "--ccei-full-tracebacks",
        action="store_true",
        default=False,
        help="show a revert's whole traceback (by default it ends at the test's line, with no web3 frames)",
    )
    group.addoption(
        "--ccei-chain",
        default="eth-tester",
        metavar="SPEC",
        help="chain for the ccei_* fixtures: eth-tester (default), revm, anvil, or an http(s):// node URL",
    )


_LEDGER_DIR = str(Path(__file__).resolve().parent)


def _trim(exc: BaseException) -> None:
    """Cuts a revert's traceback at the test's own last frame and drops the node client's chained
    exceptions: the error's name and arguments say what happened (``--ccei-full-tracebacks`` keeps all)."""
    exc.__cause__ = None
    exc.__suppress_context__ = True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        if tb.tb_next.tb_frame.f_code.co_filename.startswith(_LEDGER_DIR):
            tb.tb_next = None
            break
        tb = tb.tb_next


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    try:
        return (yield)
    except Exception as exc:
        contracts = sys.modules.get("ledger.contracts")  # loaded only once a test used the chain
        if contracts is not None and isinstance(exc, contracts.ContractReverted):
            if not pyfuncitem.config.getoption("ccei_full_tracebacks"):
                _trim(exc)
        raise


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("gas_report") or config.getoption("ccei_gas_json"):
        from ledger import gas

        recorder = gas.GasRecorder()
        gas._active.append(recorder)
        config.stash[_RECORDER] = recorder
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # hypothesis is optional
        return
    settings.register_profile(
        "ccei",
        deadline=None,  # a chain call takes milliseconds on one run and far more on the next
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    sessions = config.stash.get(_SESSIONS, {})
    try:
        for session in sessions.values():
            try:
                session.stop()  # first, so nothing below can keep a node running
            except Exception:  # noqa: BLE001 - stop every other session's node all the same
                pass
    finally:
        recorder = config.stash.get(_RECORDER, None)
        if recorder is not None:
            from ledger import gas

            gas._active[:] = [r for r in gas._active if r is not recorder]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None:
        return
    path = config.getoption("ccei_gas_json")
    if path:
        Path(path).write_text(json.dumps(recorder.medians(), indent=2, sort_keys=True) + "\n")
    if not config.getoption("gas_report"):
        return
    from ledger.gas import format_report

    terminalreporter.write_sep("=", "gas report")
    rows = recorder.rows()
    terminalreporter.write_line(format_report(rows) if rows else "no transactions were recorded")
    reverted = recorder.rows(reverted=True)
    if reverted:
        terminalreporter.write_sep("-", "reverted transactions (gas used until the revert)")
        terminalreporter.write_line(format_report(reverted))


# ------------------------------------------------------------------------------------------ the world


@dataclass(frozen=True, slots=True)
class CceiAccounts:
    """The participants the ``ccei_accounts`` fixture sets up, each funded and (but the outsider) registered.

    Attributes:
        admin: Admin, minter, registrar, pauser and operator: the node's first account where its key
        is a known development key (eth-tester, anvil), else one derived like the others.
        users: Three registered users.
        compute_supplier: Registered compute supplier.
        network_supplier: Registered network supplier.
        energy_supplier: Registered energy supplier and solar generator.
        oracle: An account the operator designated as delivery oracle.
        outsider: Funded with ether and tokens, but holds no role anywhere.
        keys: Private key (32 bytes) of every account above, by address.
    """

    admin: ChecksumAddress
    users: tuple[ChecksumAddress, ...]
    compute_supplier: ChecksumAddress
    network_supplier: ChecksumAddress
    energy_supplier: ChecksumAddress
    oracle: ChecksumAddress
    outsider: ChecksumAddress
    keys: dict[str, bytes] = field(repr=False)  # never printed in a failing test's report

    def key(self, account: str) -> bytes:
        """The private key of ``account``."""
        return self.keys[account]


@dataclass
class CceiSession:
    """The session's chain, suite and accounts (the ``ccei_session`` fixture).

    Nothing here is reverted by itself: wrap each hypothesis example in :meth:`isolated`.
    """

    chain: Chain
    suite: Suite
    accounts: CceiAccounts
    _stop: Callable[[], None] = field(repr=False)

    @contextmanager
    def isolated(self) -> Iterator[CceiSession]:
        """Runs the ``with`` block on a snapshot of the chain and reverts it afterwards."""
        snapshot = self.chain.snapshot()
        _active_chain.append(self.chain)  # where assert_reverts looks for failed receipts
        try:
            yield self
        finally:
            _active_chain.pop(max(i for i, c in enumerate(_active_chain) if c is self.chain))
            self.chain.set_automine(True)
            self.chain.revert(snapshot)

    def stop(self) -> None:
        """Ends what the session's chain started (an anvil node)."""
        self._stop()


def _build_session(chain: Chain, stop: Callable[[], None]) -> CceiSession:
    from ledger.chain import EMBEDDED
    from ledger.contracts import Capacity
    from ledger.keys import agent_private_key
    from ledger.suite import deploy_suite
    from market.carbon import EnergySource

    if chain.kind != EMBEDDED:
        # blocks one second apart from here on, as on eth-tester (anvil otherwise stamps many blocks with one second)
        chain.time_travel(chain.timestamp() + 1)
    keys: dict[str, bytes] = {}

    def open_account(index: int) -> ChecksumAddress:
        key = agent_private_key(PLUGIN_SEED, index).to_bytes()
        address = chain.unlock(key)
        chain.fund(address)
        keys[address] = key
        return address

    admin_key = _first_account_key(chain)
    if admin_key is not None:  # the node's first account, so the suite lands where eth-tester's always does
        admin = chain.accounts[0]
        keys[admin] = admin_key
    else:  # a node whose keys are unknown: an admin of our own
        admin = open_account(ADMIN_INDEX)
        chain.fund(admin, 10**20)  # deploys and operates
    suite = deploy_suite(chain, admin)
    assert suite.agreements is not None and suite.certificates is not None
    addresses = [open_account(n) for n in range(8)]
    users, (compute, network, energy, oracle, outsider) = tuple(addresses[:3]), addresses[3:]
    registry = suite.registry
    registry.register_many(list(users), Capacity.USER, sender=admin)
    registry.register(compute, Capacity.COMPUTE_SUPPLIER, sender=admin)
    registry.register(network, Capacity.NETWORK_SUPPLIER, sender=admin)
    registry.register(energy, Capacity.ENERGY_SUPPLIER, sender=admin)
    suite.certificates.register_generator(energy, EnergySource.SOLAR, sender=admin)
    suite.agreements.set_oracle(oracle, True, sender=admin)
    for address in addresses:
        suite.token.mint(address, WALLET_MICRO, sender=admin)
    accounts = CceiAccounts(admin, users, compute, network, energy, oracle, outsider, keys)
    return CceiSession(chain, suite, accounts, stop)


#: The first key of anvil's (and Hardhat's) default test mnemonic, published in their documentation.
_ANVIL_FIRST_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")


def _first_account_key(chain: Chain) -> bytes | None:
    """The private key of ``chain.accounts[0]`` where it is a known development key, else ``None``."""
    from eth_account import Account

    from ledger.chain import EMBEDDED

    if chain.kind == EMBEDDED:
        key = bytes(chain.tester.backend.account_keys[0].to_bytes())
    else:
        key = _ANVIL_FIRST_KEY
    return key if Account.from_key(key).address == chain.accounts[0] else None


def session_of(config: pytest.Config, spec: str | None = None) -> CceiSession:
    """The run's :class:`CceiSession` on the chain ``spec`` (default: the one ``--ccei-chain``
    names), built on first use and kept until the run ends."""
    spec = spec or str(config.getoption("ccei_chain"))
    sessions = config.stash.setdefault(_SESSIONS, {})
    session = sessions.get(spec)
    if session is None:
        from ledger.gas import suspended

        chain, stop = _connect(spec, config)
        try:
            with suspended():  # the gas report covers the tests, not the fixtures' setup
                session = _build_session(chain, stop)
        except BaseException:
            stop()
            raise
        sessions[spec] = session
    return session


@pytest.fixture(scope="session")
def ccei_chain_spec(request: pytest.FixtureRequest) -> str:
    """The chain the ``ccei_*`` fixtures run on (``--ccei-chain``); override it to choose per suite."""
    return str(request.config.getoption("ccei_chain"))


@pytest.fixture(scope="session")
def ccei_session(request: pytest.FixtureRequest, ccei_chain_spec: str) -> CceiSession:
    """The session's chain, suite and accounts; isolate each hypothesis example with ``.isolated()``."""
    return session_of(request.config, ccei_chain_spec)


@pytest.fixture()
def ccei_chain(ccei_session: CceiSession) -> Iterator[Chain]:
    """The session's chain, isolated per test by snapshot and revert."""
    with ccei_session.isolated():
        yield ccei_session.chain


@pytest.fixture()
def ccei_suite(ccei_chain: Chain, ccei_session: CceiSession) -> Suite:
    """The deployed suite (token, registry, settlement, agreements, certificates)."""
    return ccei_session.suite


@pytest.fixture()
def ccei_accounts(ccei_chain: Chain, ccei_session: CceiSession) -> CceiAccounts:
    """Named, funded, registered participants with their private keys."""
    return ccei_session.accounts


@pytest.fixture()
def ccei_deploy(ccei_chain: Chain, ccei_session: CceiSession) -> Callable[..., Deployed]:
    """``deploy(artifact, *constructor_args, sender=admin)``: deploys and wraps a contract and
    registers its custom errors, so they decode by name wherever they surface."""
    from ledger.contracts import Deployed, deploy, load_artifact
    from ledger.reverts import register_errors

    def _deploy(artifact: str | dict[str, Any], *args: Any, sender: ChecksumAddress | None = None) -> Deployed:
        data = artifact if isinstance(artifact, dict) else load_artifact(artifact)
        register_errors(data["abi"])
        address = deploy(ccei_chain, data, *args, sender=sender or ccei_session.accounts.admin)
        return Deployed(ccei_chain, address, data)

    return _deploy


# ------------------------------------------------------------------------------------------- helpers


def time_travel(chain: Chain, timestamp: int) -> None:
    """Makes the next block's timestamp exactly ``timestamp``; later blocks follow one second apart.

    The same on every back end (:meth:`ledger.chain.Chain.time_travel`); afterwards
    ``chain.next_timestamp() == timestamp``.
    """
    chain.time_travel(timestamp)


def _normalise(value: Any) -> Any:
    from eth_utils import is_hex_address, to_checksum_address

    if isinstance(value, str) and is_hex_address(value):
        return to_checksum_address(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return tuple(_normalise(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return value


def _chain_for(w3: Any) -> Chain:
    from ledger.chain import EMBEDDED, Chain

    for chain in _active_chain:
        if chain.w3 is w3:
            return chain
    kind = EMBEDDED if hasattr(w3.provider, "ethereum_tester") else "rpc"
    return Chain(w3=w3, kind=kind, url=getattr(w3.provider, "endpoint_uri", None) or kind)


#: Gas for the transaction :func:`assert_reverts` sends for a ``ContractFunction``.
PROBE_GAS = 10_000_000


def _replay_failed(w3: Any, tx: dict[str, Any], receipt: Any, abi: list[dict[str, Any]] | None) -> ContractReverted:
    """The error of a transaction mined with status 0: replayed as a call on the state of its block."""
    from ledger.contracts import REVERT_TYPES, revert_class
    from ledger.reverts import decode

    if receipt["gasUsed"] >= tx.get("gas", receipt["gasUsed"] + 1):
        return revert_class("OutOfGas")("OutOfGas", (tx["gas"],), b"", ["gas"])
    call = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if tx.get(k) is not None}
    try:
        w3.eth.call(call, block_identifier=receipt["blockNumber"])
    except REVERT_TYPES as exc:
        from ledger.contracts import revert_data

        return decode(revert_data(exc), abi)
    return revert_class("Unknown")("Unknown", (), b"")


def _failed_since(w3: Any, block: int) -> ContractReverted | None:
    """The first transaction mined after ``block`` whose receipt says it failed, decoded."""
    latest = int(w3.eth.block_number)
    for number in range(block + 1, latest + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            if receipt["status"] != 1:
                fields = {"from": tx["from"], "to": tx["to"], "data": tx.get("input", tx.get("data")), "value": tx["value"], "gas": tx["gas"]}
                return _replay_failed(w3, fields, receipt, None)
    return None


def _probe(target: Any, sender: str | None, gas: int | None) -> ContractReverted | None:
    """Sends ``target`` as a real transaction on a snapshot (so it runs in the very block, with the very
    timestamp, that a transaction sent now would) and reverts the snapshot; the error, if it failed."""
    from ledger.contracts import REVERT_TYPES, revert_data
    from ledger.reverts import decode

    w3 = target.w3
    chain = _chain_for(w3)
    built = target.build_transaction({"from": sender or w3.eth.accounts[0], "gas": gas or PROBE_GAS})
    tx = {k: built[k] for k in ("from", "to", "data", "value", "gas")}
    snapshot = chain.snapshot()
    try:
        try:
            tx_hash = w3.eth.send_transaction(tx)
        except REVERT_TYPES as exc:  # a node that checks the call before accepting it
            return decode(revert_data(exc), target.contract_abi)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=5) if _mines(chain) else _mine_for(chain, tx_hash)
        if receipt["status"] == 1:
            return None
        return _replay_failed(w3, tx, receipt, target.contract_abi)
    finally:
        chain.revert(snapshot)


def _mines(chain: Chain) -> bool:
    from ledger.chain import EMBEDDED

    if chain.kind == EMBEDDED:
        return bool(chain.tester.auto_mine_transactions)
    try:
        return bool(chain._rpc("anvil_getAutomine", []))
    except Exception:  # not anvil: assume auto-mining, the default of every development node
        return True


def _mine_for(chain: Chain, tx_hash: Any) -> Any:
    chain.mine()
    return chain.w3.eth.get_transaction_receipt(tx_hash)


def assert_reverts(
    target: Any,
    error: str,
    *args: Any,
    sender: str | None = None,
    gas: int | None = None,
    chain: Chain | None = None,
) -> ContractReverted:
    """Asserts that ``target`` reverts with custom error ``error`` (and, if given, exactly ``args``).

    It cannot be fooled by the three things that fool a plain ``eth_call`` or ``pytest.raises``:

    * a ``ContractFunction`` is sent as a real transaction on a snapshot of the chain, which is
      reverted afterwards, so it runs at the next block's timestamp and number, exactly as the
      transaction the test would send (a deadline one second past expiry fails in both);
    * a callable that mines a failed transaction without raising (plain web3 with an explicit gas
      limit: status 0) is caught by reading the receipts of the blocks it mined;
    * errors are decoded against the target's ABI, every artifact in ``contracts/build`` and every
      ABI registered with :func:`ledger.reverts.register_errors` (``ccei_deploy`` registers each
      contract it deploys), so an error of one's own contract bubbling through another has its name.

    Args:
        target: A web3 ``ContractFunction`` or any callable that sends transactions.
        error: The custom error's name.
        *args: The error's expected arguments (addresses compared checksummed).
        sender: ``from`` of the transaction (ContractFunction only; default the node's first account).
        gas: Gas of that transaction (default :data:`PROBE_GAS`).
        chain: Where a callable's failed receipts are looked for (default: the test's ``ccei_chain``).

    Returns:
        The decoded revert, for further checks.

    Raises:
        AssertionError: ``target`` did not revert, or with another error or other arguments; the
            message names the expected and the actual error and nothing of the plugin's frames.
    """
    __tracebackhide__ = True
    from web3.contract.contract import ContractFunction

    from ledger.contracts import REVERT_TYPES, ContractReverted, revert_data
    from ledger.errors import SettlementRejected
    from ledger.reverts import decode, redecode

    reverted: ContractReverted | None = None
    if isinstance(target, ContractFunction):
        reverted = _probe(target, sender, gas)
    elif callable(target):
        chain = chain or (_active_chain[-1] if _active_chain else None)
        w3 = chain.w3 if chain is not None else None
        before = int(w3.eth.block_number) if w3 is not None else None
        try:
            result = target()
        except ContractReverted as exc:
            reverted = redecode(exc)
        except SettlementRejected as exc:
            from ledger.contracts import revert_class

            reverted = revert_class(exc.reason)(exc.reason, exc.args_)
        except REVERT_TYPES as exc:
            reverted = decode(revert_data(exc), None)
        else:
            if w3 is not None and before is not None:
                reverted = _failed_since(w3, before)
            if reverted is None and _is_failed_receipt(result):
                raise AssertionError(f"expected a revert with {error}: the transaction failed (status 0), error unknown")
    else:
        raise TypeError(f"assert_reverts takes a ContractFunction or a callable, not {type(target).__name__}")
    if reverted is None:
        raise AssertionError(f"expected a revert with {error}, but the transaction succeeded")
    if reverted.error != error:
        raise AssertionError(f"expected a revert with {error}, got {reverted}")
    if args and _normalise(reverted.error_args) != _normalise(args):
        raise AssertionError(f"expected {error}{_normalise(args)}, got {error}{_normalise(reverted.error_args)}")
    return reverted


def _is_failed_receipt(result: Any) -> bool:
    return isinstance(result, dict) and "status" in result and result["status"] == 0
