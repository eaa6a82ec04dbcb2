"""A pytest plugin for testing Solidity against eth-tester (or any JSON-RPC node) with the CCEI suite.

Installed with the package (entry point ``pytest11: ccei_chain``), so every pytest run in the
environment has it; nothing is imported or deployed until a test asks for a ``ccei_*`` fixture.

Fixtures:
    ``ccei_chain``: the session's chain, returned to the state it had before the test once the test
    ends (snapshot/revert, so a test costs no redeployment). Auto-mining is switched back on.
    ``ccei_suite``: the deployed contract suite (:class:`ledger.suite.Suite`) on that chain; the
    chain's first account is admin, minter, registrar, pauser and market operator.
    ``ccei_accounts``: named, funded participants (:class:`CceiAccounts`): three users, a compute,
    a network and an energy supplier (a registered solar generator), a designated oracle and an
    unregistered outsider. Each has ether for gas, 1,000 tokens in its wallet and a private key.
    ``ccei_deploy``: deploys any artifact (a ``contracts/build`` name or a dict from
    :func:`ledger.compiler.compile_contracts`) and returns its :class:`ledger.contracts.Deployed`.

Helpers:
    :func:`assert_reverts` checks that a web3 ``ContractFunction``, or any callable, reverts with a
    named custom error and, optionally, given arguments.

Options:
    ``--gas-report`` prints gas per contract function (calls, min, median, max) after the run, for
    every transaction the tests send through the :mod:`ledger.contracts` wrappers (the fixtures'
    own setup is left out).
    ``--ccei-chain SPEC`` runs the fixtures on ``revm`` (the contracts on revm in this process,
    many times faster: :mod:`ledger.revm` lists what differs) or on a JSON-RPC node URL instead of
    eth-tester. A conftest that overrides the session fixture ``ccei_chain_spec`` (e.g. with
    ``params=["eth-tester", "revm"]``) runs its tests on each chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

    from ledger.chain import Chain
    from ledger.contracts import ContractReverted, Deployed
    from ledger.gas import GasRecorder
    from ledger.suite import Suite

__all__ = ["CceiAccounts", "assert_reverts", "PLUGIN_SEED", "WALLET_MICRO"]

#: The seed the participants' keys are derived from (see :mod:`ledger.keys`).
PLUGIN_SEED = 0xCCE1
#: Tokens each participant starts with in its wallet (micro-units).
WALLET_MICRO = 1_000_000_000

_RECORDER = pytest.StashKey["GasRecorder"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ccei-chain", "CCEI contract testing")
    group.addoption(
        "--gas-report",
        action="store_true",
        default=False,
        help="print gas per contract function (calls, min, median, max) at the end of the run",
    )
    group.addoption(
        "--ccei-chain",
        default="eth-tester",
        metavar="SPEC",
        help="chain for the ccei_* fixtures: eth-tester (default), revm or an http(s):// node URL",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("gas_report"):
        from ledger import gas

        recorder = gas.GasRecorder()
        gas._active.append(recorder)
        config.stash[_RECORDER] = recorder


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is not None:
        from ledger import gas

        gas._active.remove(recorder)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None:
        return
    from ledger.gas import format_report

    terminalreporter.write_sep("=", "gas report")
    rows = recorder.rows()
    terminalreporter.write_line(format_report(rows) if rows else "no transactions were recorded")


@dataclass(frozen=True, slots=True)
class CceiAccounts:
    """The participants the ``ccei_accounts`` fixture sets up, each funded and (but the outsider) registered.

    Attributes:
        admin: Admin, minter, registrar, pauser and operator (the chain's first account).
        users: Three registered users.
        compute_supplier: Registered compute supplier.
        network_supplier: Registered network supplier.
        energy_supplier: Registered energy supplier and solar generator.
        oracle: An account the operator designated as delivery oracle.
        outsider: Funded with ether and tokens, but holds no role anywhere.
        keys: Private key (32 bytes) of every account above except ``admin``.
    """

    admin: ChecksumAddress
    users: tuple[ChecksumAddress, ...]
    compute_supplier: ChecksumAddress
    network_supplier: ChecksumAddress
    energy_supplier: ChecksumAddress
    oracle: ChecksumAddress
    outsider: ChecksumAddress
    keys: dict[str, bytes]

    def key(self, account: str) -> bytes:
        """The private key of ``account``."""
        return self.keys[account]


@dataclass(frozen=True, slots=True)
class _World:
    chain: Chain
    suite: Suite
    accounts: CceiAccounts


def _build_world(spec: str) -> _World:
    from ledger.chain import connect
    from ledger.contracts import Capacity
    from ledger.keys import agent_private_key
    from ledger.suite import deploy_suite
    from market.carbon import EnergySource

    chain = connect(spec)
    suite = deploy_suite(chain)
    assert suite.agreements is not None and suite.certificates is not None
    admin = suite.admin
    keys: dict[str, bytes] = {}
    addresses = []
    for n in range(8):
        key = agent_private_key(PLUGIN_SEED, n).to_bytes()  # the lab secret's: ChainBackend(PLUGIN_SEED) derives the same
        address = chain.unlock(key)
        chain.fund(address)
        keys[address] = key
        addresses.append(address)
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
    return _World(chain, suite, accounts)


@pytest.fixture(scope="session")
def ccei_chain_spec(request: pytest.FixtureRequest) -> str:
    """The chain the ``ccei_*`` fixtures run on (``--ccei-chain``); override it to choose per suite."""
    return str(request.config.getoption("ccei_chain"))


@pytest.fixture(scope="session")
def _ccei_world(ccei_chain_spec: str) -> _World:
    from ledger.gas import suspended

    with suspended():  # the gas report covers the tests, not the fixtures' setup
        return _build_world(ccei_chain_spec)


@pytest.fixture()
def ccei_chain(_ccei_world: _World) -> Iterator[Chain]:
    """The session's chain, isolated per test by snapshot and revert."""
    chain = _ccei_world.chain
    snapshot = chain.snapshot()
    try:
        yield chain
    finally:
        chain.set_automine(True)
        chain.revert(snapshot)


@pytest.fixture()
def ccei_suite(ccei_chain: Chain, _ccei_world: _World) -> Suite:
    """The deployed suite (token, registry, settlement, agreements, certificates)."""
    return _ccei_world.suite


@pytest.fixture()
def ccei_accounts(ccei_chain: Chain, _ccei_world: _World) -> CceiAccounts:
    """Named, funded, registered participants with their private keys."""
    return _ccei_world.accounts


@pytest.fixture()
def ccei_deploy(ccei_chain: Chain) -> Callable[..., Deployed]:
    """``deploy(artifact, *constructor_args, sender=None)``: deploys and wraps a contract."""
    from ledger.contracts import Deployed, deploy

    def _deploy(artifact: str | dict[str, Any], *args: Any, sender: ChecksumAddress | None = None) -> Deployed:
        address = deploy(ccei_chain, artifact, *args, sender=sender or ccei_chain.accounts[0])
        return Deployed(ccei_chain, address, artifact)

    return _deploy


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


def assert_reverts(
    target: Any, error: str, *args: Any, sender: str | None = None
) -> ContractReverted:
    """Asserts that ``target`` reverts with custom error ``error`` (and, if given, exactly ``args``).

    Args:
        target: A web3 ``ContractFunction`` (simulated with ``eth_call`` from ``sender``; decoded
            against its contract's ABI) or any callable that sends a transaction (decoded against
            every artifact in ``contracts/build``; a :class:`ledger.contracts.ContractReverted` or
            :class:`ledger.errors.SettlementRejected` it raises is taken as is).
        error: The custom error's name.
        *args: The error's expected arguments (addresses compared checksummed).
        sender: ``from`` of the simulated call (ContractFunction only).

    Returns:
        The decoded revert, for further checks.

    Raises:
        AssertionError: ``target`` did not revert, or with another error or other arguments.
    """
    from web3.contract.contract import ContractFunction

    from ledger.contracts import REVERT_TYPES, ContractReverted, decode_revert, known_errors_abi, revert_class, revert_data
    from ledger.errors import SettlementRejected

    reverted: ContractReverted | None = None
    if isinstance(target, ContractFunction):
        try:
            target.call({"from": sender or target.w3.eth.accounts[0]})
        except REVERT_TYPES as exc:
            reverted = decode_revert(target.contract_abi, revert_data(exc))
    elif callable(target):
        try:
            target()
        except ContractReverted as exc:
            reverted = exc
        except SettlementRejected as exc:
            reverted = revert_class(exc.reason)(exc.reason, exc.args_)
        except REVERT_TYPES as exc:
            reverted = decode_revert(known_errors_abi(), revert_data(exc))
    else:
        raise TypeError(f"assert_reverts takes a ContractFunction or a callable, not {type(target).__name__}")
    if reverted is None:
        raise AssertionError(f"expected a revert with {error}, but the call succeeded")
    if reverted.error != error:
        raise AssertionError(f"expected a revert with {error}, got {reverted}")
    if args and _normalise(reverted.error_args) != _normalise(args):
        raise AssertionError(f"expected {error}{_normalise(args)}, got {error}{_normalise(reverted.error_args)}")
    return reverted
