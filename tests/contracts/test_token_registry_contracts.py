"""SettlementToken.sol (ERC-20, 6 decimals, minter role), ParticipantRegistry.sol and the shared
role administration (AccessRoles.sol): every function and every revert."""

from __future__ import annotations

from eth_utils import to_checksum_address
from onchain_helpers import Market

from ledger.chain import Chain
from ledger.contracts import ADMIN_ROLE, MINTER_ROLE, REGISTRAR_ROLE, Capacity, ParticipantRegistry, SettlementToken
from ledger.pytest_plugin import WALLET_MICRO, assert_reverts
from ledger.signing import ZERO_ADDRESS


def test_token_metadata_and_supply(market: Market) -> None:
    token = market.suite.token
    assert (token.call("name"), token.call("symbol"), token.call("decimals")) == ("CCEI Settlement Token", "CCEI", 6)
    assert token.total_supply() == 8 * WALLET_MICRO


def test_mint_transfer_approve_transfer_from(market: Market) -> None:
    token: SettlementToken = market.suite.token
    admin, (a, b, c) = market.admin, market.accounts.users
    receipt = token.mint(a, 7, sender=admin)
    (minted,) = token.events(receipt, "Transfer")
    assert (minted.from_, minted.to, minted.value) == (ZERO_ADDRESS, a, 7)
    assert token.balance_of(a) == WALLET_MICRO + 7
    token.transfer(b, 10, sender=a)
    assert token.balance_of(b) == WALLET_MICRO + 10
    receipt = token.approve(c, 25, sender=a)
    assert token.events(receipt, "Approval")[0].value == 25 and token.allowance(a, c) == 25
    token.transfer_from(a, b, 20, sender=c)
    assert token.allowance(a, c) == 5
    token.approve(c, 2**256 - 1, sender=a)
    token.transfer_from(a, b, 20, sender=c)
    assert token.allowance(a, c) == 2**256 - 1  # an infinite allowance is never spent down


def test_token_errors(market: Market) -> None:
    token = market.suite.token
    admin, (a, b, _) = market.admin, market.accounts.users
    assert_reverts(token.function("mint", a, 1), "AccessControlUnauthorizedAccount", a, MINTER_ROLE, sender=a)
    assert_reverts(token.function("mint", ZERO_ADDRESS, 1), "ERC20InvalidReceiver", ZERO_ADDRESS, sender=admin)
    assert_reverts(token.function("transfer", ZERO_ADDRESS, 1), "ERC20InvalidReceiver", ZERO_ADDRESS, sender=a)
    assert_reverts(
        token.function("transfer", b, WALLET_MICRO + 1), "ERC20InsufficientBalance", a, WALLET_MICRO, WALLET_MICRO + 1, sender=a
    )
    assert_reverts(token.function("approve", ZERO_ADDRESS, 1), "ERC20InvalidSpender", ZERO_ADDRESS, sender=a)
    assert_reverts(token.function("transferFrom", a, b, 1), "ERC20InsufficientAllowance", b, 0, 1, sender=b)
    assert token.call("decimals") == 6 and token.call("symbol") == "CCEI"


def test_roles_grant_revoke_renounce(market: Market) -> None:
    token = market.suite.token
    admin, user = market.admin, market.accounts.users[0]
    receipt = token.grant_role(MINTER_ROLE, user, sender=admin)
    (granted,) = token.events(receipt, "RoleGranted")
    assert (granted.role, granted.account, granted.sender) == (MINTER_ROLE, user, admin)
    assert token.has_role(MINTER_ROLE, user)
    token.mint(user, 1, sender=user)
    receipt = token.revoke_role(MINTER_ROLE, user, sender=admin)
    assert token.events(receipt, "RoleRevoked")[0].account == user and not token.has_role(MINTER_ROLE, user)
    assert token.events(token.revoke_role(MINTER_ROLE, user, sender=admin), "RoleRevoked") == []  # no change, no event
    # renouncing names the caller, so nobody renounces for another
    assert_reverts(token.function("renounceRole", MINTER_ROLE, admin), "AccessControlBadConfirmation", sender=user)
    token.grant_role(MINTER_ROLE, user, sender=admin)
    token.renounce_role(MINTER_ROLE, sender=user)
    assert not token.has_role(MINTER_ROLE, user)
    # the admin role is never granted directly: it is handed over in two steps
    assert_reverts(token.function("grantRole", ADMIN_ROLE, user), "AccessControlEnforcedDefaultAdminRules", sender=admin)


def test_the_admin_is_handed_over_in_two_steps_after_the_delay(market: Market, ccei_chain: Chain) -> None:
    token = market.suite.token
    admin, user = market.admin, market.accounts.users[0]
    delay = token.call("ADMIN_TRANSFER_DELAY")
    assert delay == token.call("defaultAdminDelay") == 86_400
    token.transact("beginDefaultAdminTransfer", user, sender=admin)
    new_admin, schedule = token.call("pendingDefaultAdmin")
    assert new_admin == user and schedule == ccei_chain.timestamp() + delay
    # too early, and only the named account may accept
    assert_reverts(token.function("acceptDefaultAdminTransfer"), "AccessControlEnforcedDefaultAdminDelay", schedule, sender=user)
    assert_reverts(token.function("acceptDefaultAdminTransfer"), "AccessControlInvalidDefaultAdmin", admin, sender=admin)
    ccei_chain.time_travel(schedule + 1)
    token.transact("acceptDefaultAdminTransfer", sender=user)
    assert token.call("defaultAdmin") == user and not token.has_role(ADMIN_ROLE, admin)
    assert_reverts(token.function("grantRole", MINTER_ROLE, admin), "AccessControlUnauthorizedAccount", admin, ADMIN_ROLE, sender=admin)


def test_the_last_admin_renounces_only_after_announcing_it_and_waiting(market: Market, ccei_chain: Chain) -> None:
    registry = market.suite.registry
    admin = market.admin
    assert_reverts(lambda: registry.renounce_role(ADMIN_ROLE, sender=admin), "AccessControlEnforcedDefaultAdminDelay", 0)
    registry.transact("beginDefaultAdminTransfer", ZERO_ADDRESS, sender=admin)
    _, schedule = registry.call("pendingDefaultAdmin")
    ccei_chain.time_travel(schedule + 1)
    registry.renounce_role(ADMIN_ROLE, sender=admin)
    assert registry.call("defaultAdmin") == ZERO_ADDRESS


def test_registry_register_many_deregister(market: Market) -> None:
    registry: ParticipantRegistry = market.suite.registry
    admin, outsider, user = market.admin, market.accounts.outsider, market.accounts.users[0]
    assert registry.roles_of(user) is Capacity.USER and registry.is_registered(user)
    assert not registry.is_registered(outsider)
    receipt = registry.register(outsider, Capacity.COMPUTE_SUPPLIER | Capacity.ENERGY_SUPPLIER, sender=admin)
    (event,) = registry.events(receipt, "ParticipantRegistered")
    assert (event.account, event.roles) == (outsider, 10)
    assert registry.has_roles(outsider, Capacity.ENERGY_SUPPLIER)
    assert not registry.has_roles(outsider, Capacity.ENERGY_SUPPLIER | Capacity.USER)
    assert not registry.has_roles(outsider, Capacity(0))
    receipt = registry.deregister(outsider, sender=admin)
    assert registry.events(receipt, "ParticipantRemoved")[0].account == outsider
    assert registry.roles_of(outsider) == 0
    fresh = [to_checksum_address(f"0x{n:040x}") for n in range(1, 4)]
    registry.register_many(fresh, Capacity.USER, sender=admin)
    assert all(registry.is_registered(a) for a in fresh)
    assert registry.call("firstUnregistered", [*fresh, outsider, user]) == 3
    assert registry.call("firstUnregistered", fresh) == 3


def test_registry_errors(market: Market) -> None:
    registry = market.suite.registry
    admin, outsider = market.admin, market.accounts.outsider
    assert_reverts(registry.function("register", outsider, 0), "InvalidRoles", 0, sender=admin)
    assert_reverts(registry.function("register", outsider, 32), "InvalidRoles", 32, sender=admin)
    assert_reverts(registry.function("register", ZERO_ADDRESS, 1), "ZeroAddress", sender=admin)
    assert_reverts(registry.function("deregister", outsider), "NotRegistered", outsider, sender=admin)
    too_many = [to_checksum_address(f"0x{n:040x}") for n in range(1, 258)]
    assert_reverts(registry.function("registerMany", too_many, 16), "BatchTooLarge", 257, 256, sender=admin)
    assert_reverts(registry.function("register", outsider, 16), "AccessControlUnauthorizedAccount", outsider, REGISTRAR_ROLE, sender=outsider)


def test_public_constants_match_the_python_side(market: Market) -> None:
    from ledger.batch import MAX_BATCH_PARTICIPANTS, MAX_BATCH_TRADES
    from ledger.contracts import PAUSER_ROLE
    from ledger.signing import ORDER_TYPE

    suite = market.suite
    assert suite.token.call("MINTER_ROLE") == MINTER_ROLE and suite.token.call("DEFAULT_ADMIN_ROLE") == ADMIN_ROLE
    assert suite.settlement.call("PAUSER_ROLE") == PAUSER_ROLE
    assert suite.registry.call("REGISTRAR_ROLE") == REGISTRAR_ROLE
    assert [suite.registry.call(str(c.name)) for c in Capacity] == [int(c) for c in Capacity]
    assert suite.registry.call("MAX_REGISTER_BATCH") == 256
    fields = ",".join(f"{f['type']} {f['name']}" for f in ORDER_TYPE)
    from eth_utils import keccak

    assert suite.settlement.call("ORDER_TYPEHASH") == keccak(text=f"Order({fields})")
    assert (suite.settlement.call("MAX_BATCH_TRADES"), suite.settlement.call("MAX_BATCH_PARTICIPANTS")) == (
        MAX_BATCH_TRADES,
        MAX_BATCH_PARTICIPANTS,
    )
    assert suite.agreements is not None and suite.agreements.call("MAX_PERIODS") == 8_784
    assert suite.agreements.call("token") == suite.token.address
    assert suite.certificates is not None and suite.certificates.call("registry") == suite.registry.address
