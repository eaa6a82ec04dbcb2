"""Every privileged function called from an unauthorised account, and the emergency pause (which
stops new obligations but never withdrawals)."""

from __future__ import annotations

from typing import Any

import pytest
from onchain_helpers import Market

from ledger.contracts import ADMIN_ROLE, METER_ROLE, MINTER_ROLE, PAUSER_ROLE, REGISTRAR_ROLE
from ledger.pytest_plugin import assert_reverts

_ANY = "0x" + "11" * 20
_TERMS_ARGS = (1, 0, 0)

# (contract attribute on the suite, function, arguments, the error's role argument or None for NotOperator)
PRIVILEGED: list[tuple[str, str, tuple[Any, ...], bytes | None]] = [
    ("token", "mint", (_ANY, 1), MINTER_ROLE),
    ("token", "grantRole", (MINTER_ROLE, _ANY), ADMIN_ROLE),
    ("token", "revokeRole", (MINTER_ROLE, _ANY), ADMIN_ROLE),
    ("registry", "register", (_ANY, 16), REGISTRAR_ROLE),
    ("registry", "registerMany", ([_ANY], 16), REGISTRAR_ROLE),
    ("registry", "deregister", (_ANY,), REGISTRAR_ROLE),
    ("registry", "grantRole", (REGISTRAR_ROLE, _ANY), ADMIN_ROLE),
    ("registry", "revokeRole", (REGISTRAR_ROLE, _ANY), ADMIN_ROLE),
    ("settlement", "settleBatch", (1, [], [], [], []), None),
    ("settlement", "pause", (), PAUSER_ROLE),
    ("settlement", "unpause", (), PAUSER_ROLE),
    ("settlement", "grantRole", (PAUSER_ROLE, _ANY), ADMIN_ROLE),
    ("settlement", "revokeRole", (PAUSER_ROLE, _ANY), ADMIN_ROLE),
    ("agreements", "setOracle", (_ANY, True), None),
    ("agreements", "resolveDispute", _TERMS_ARGS, None),
    ("agreements", "pause", (), PAUSER_ROLE),
    ("agreements", "unpause", (), PAUSER_ROLE),
    ("agreements", "grantRole", (PAUSER_ROLE, _ANY), ADMIN_ROLE),
    ("agreements", "revokeRole", (PAUSER_ROLE, _ANY), ADMIN_ROLE),
    ("certificates", "registerGenerator", (_ANY, 1), REGISTRAR_ROLE),
    ("certificates", "revokeGenerator", (_ANY,), REGISTRAR_ROLE),
    ("certificates", "grantRole", (REGISTRAR_ROLE, _ANY), ADMIN_ROLE),
    ("certificates", "revokeRole", (REGISTRAR_ROLE, _ANY), ADMIN_ROLE),
    ("certificates", "attestGeneration", (_ANY, 1, 1), METER_ROLE),
    ("certificates", "attestGenerationMany", ([_ANY], 1, [1]), METER_ROLE),
] + [
    # OpenZeppelin's two-step admin hand-over: only the admin starts, cancels or re-times it
    (contract, function, args, ADMIN_ROLE)
    for contract in ("token", "registry", "settlement", "agreements", "certificates")
    for function, args in (
        ("beginDefaultAdminTransfer", (_ANY,)),
        ("cancelDefaultAdminTransfer", ()),
        ("changeDefaultAdminDelay", (1,)),
        ("rollbackDefaultAdminDelay", ()),
    )
]


@pytest.mark.parametrize(("contract", "function", "args", "role"), PRIVILEGED, ids=[f"{c}.{f}" for c, f, _, _ in PRIVILEGED])
def test_unauthorised_callers_are_refused(
    market: Market, contract: str, function: str, args: tuple[Any, ...], role: bytes | None
) -> None:
    target = getattr(market.suite, contract)
    for caller in (market.accounts.outsider, market.accounts.users[0], market.accounts.energy_supplier):
        if role is None:
            assert_reverts(target.function(function, *args), "NotOperator", caller, sender=caller)
        else:
            assert_reverts(target.function(function, *args), "AccessControlUnauthorizedAccount", caller, role, sender=caller)


def test_every_privileged_function_is_in_the_table(market: Market) -> None:
    """A new admin-only function must be added to PRIVILEGED (the table is checked against the ABIs)."""
    listed = {(c, f) for c, f, _, _ in PRIVILEGED}
    handover = {"renounceRole", "acceptDefaultAdminTransfer"}  # each checks its caller itself
    open_to_all = {
        "token": {"transfer", "approve", "transferFrom"} | handover,
        "registry": handover,
        "settlement": {"depositFor", "withdraw", "cancelOrder", "cancelPayment"} | handover,
        "agreements": {
            "offer", "offerMany", "offerManyFor", "cancelOffer", "accept", "acceptMany", "acceptManyFor", "setBroker",
            "attest", "attestMany", "claimCompensation",
            "claimCompensationMany", "release", "openDispute", "revealTerms", "expireDispute", "withdraw",
        } | handover,
        "certificates": {"safeTransferFrom", "safeTransferFromMany", "setApprovalForAll", "retire", "retireMany"} | handover,
    }  # fmt: skip
    for contract, public in open_to_all.items():
        mutating = {
            item["name"]
            for item in getattr(market.suite, contract).abi
            if item["type"] == "function" and item["stateMutability"] not in ("view", "pure")
        }
        assert mutating - public == {f for c, f in listed if c == contract}, contract


def test_settlement_pause_stops_batches_and_deposits_but_not_withdrawals(funded_market: Market) -> None:
    m = funded_market
    settlement, admin, user = m.suite.settlement, m.admin, m.accounts.users[0]
    receipt = settlement.pause(sender=admin)
    assert settlement.events(receipt, "Paused")[0].account == admin and settlement.paused()
    assert_reverts(settlement.function("pause"), "EnforcedPause", sender=admin)
    batch = m.batch(1, (m.order(user, 1), m.accounts.compute_supplier, 1, 1))
    assert_reverts(lambda: m.settle(batch), "EnforcedPause")
    assert_reverts(settlement.function("depositFor", user, 1), "EnforcedPause", sender=admin)
    settlement.withdraw(1_000, sender=user)
    settlement.cancel_order(5, sender=user)
    receipt = settlement.unpause(sender=admin)
    assert settlement.events(receipt, "Unpaused")[0].account == admin
    assert_reverts(settlement.function("unpause"), "ExpectedPause", sender=admin)
    m.settle(batch)
