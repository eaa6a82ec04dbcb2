"""Typed wrappers: named revert classes, decoded arguments, events as dataclasses, artifacts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector as selector

import ledger.reverts
from ledger.chain import Chain
from ledger.contracts import (
    ContractReverted,
    Deployed,
    Settlement,
    decode_revert,
    deploy,
    event_class,
    known_errors_abi,
    load_artifact,
    revert_class,
)
from ledger.errors import ArtifactMissing
from ledger.reverts import InsufficientEscrow, ZeroAddress
from ledger.signing import ZERO_ADDRESS
from ledger.suite import Suite

ABI = load_artifact("Settlement")["abi"]


def test_custom_errors_decode_into_named_classes_with_fields() -> None:
    account = "0x" + "ab" * 20
    data = selector("InsufficientEscrow(address,uint256,uint256)") + encode(["address", "uint256", "uint256"], [account, 3, 7])
    error = decode_revert(ABI, data)
    assert isinstance(error, InsufficientEscrow) and isinstance(error, ContractReverted)
    assert type(error) is revert_class("InsufficientEscrow") and type(error).__module__ == "ledger.reverts"
    assert error.error_args == ("0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB", 3, 7)
    assert error.fields == {"account": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB", "balance": 3, "needed": 7}
    assert str(error) == "reverted with InsufficientEscrow(account=0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB, balance=3, needed=7)"
    assert error.data == data


def test_string_panic_foreign_and_unknown_reverts() -> None:
    reason = decode_revert(ABI, selector("Error(string)") + encode(["string"], ["nope"]))
    assert (reason.error, reason.fields) == ("Error", {"reason": "nope"})
    panic = decode_revert(ABI, selector("Panic(uint256)") + encode(["uint256"], [0x11]))
    assert (panic.error, panic.error_args) == ("Panic", (0x11,))
    # ERC20InsufficientAllowance is the token's: found among every artifact when the settlement reverts with it
    foreign = decode_revert(ABI, selector("ERC20InsufficientAllowance(address,uint256,uint256)") + bytes(96))
    assert foreign.error == "ERC20InsufficientAllowance" and foreign.error_args[0] == ZERO_ADDRESS
    unknown = decode_revert(ABI, b"\x01\x02\x03\x04")
    assert (unknown.error, unknown.error_args, unknown.data) == ("Unknown", (), b"\x01\x02\x03\x04")
    assert decode_revert(ABI, b"").error == "Unknown"


def test_revert_classes_are_unique_per_name_and_names_are_checked() -> None:
    assert revert_class("Foo") is revert_class("Foo") and issubclass(revert_class("Foo"), ContractReverted)
    with pytest.raises(ValueError, match="'not a name' is not an error name"):
        revert_class("not a name")
    assert ledger.reverts.ZeroAddress is ZeroAddress
    with pytest.raises(AttributeError, match="no contract in contracts/build declares an error named 'InsuficientEscrow'"):
        ledger.reverts.InsuficientEscrow  # noqa: B018
    names = {item["name"] for item in known_errors_abi()}
    assert {"InsufficientEscrow", "AccessControlUnauthorizedAccount", "ReentrancyGuardReentrantCall", "UnsafeRecipient", "NothingToClaim"} <= names


def test_events_are_frozen_dataclasses_with_snake_case_fields() -> None:
    cls = event_class(json_abi(), "TradeSettled")
    assert cls.__name__ == "TradeSettled" and cls.__module__ == "ledger.events"
    event = cls(batch_id=1, buyer="b", seller="s", bid_order_id=2, ask_order_id=5, resource=0, price=3, quantity=4)
    with pytest.raises(AttributeError):
        event.price = 5
    deposited = event_class(json_abi(), "Deposited")
    assert [f.name for f in dataclasses.fields(deposited)] == ["from_", "account", "amount"]


def json_abi() -> str:
    import json

    return json.dumps(ABI, sort_keys=True)


def test_missing_artifacts_say_how_to_build_them(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing, match=r"no build artifact for Nope at .*Nope.json; run `ccei compile`"):
        load_artifact("Nope")
    with pytest.raises(ArtifactMissing, match="Settlement"):
        load_artifact("Settlement", tmp_path)


def test_deployment_and_out_of_gas_failures_are_named(ccei_chain: Chain, ccei_suite: Suite) -> None:
    with pytest.raises(ContractReverted) as refused:
        deploy(ccei_chain, "SettlementToken", ZERO_ADDRESS, sender=ccei_chain.accounts[0])
    assert (refused.value.error, refused.value.error_args) == ("AccessControlInvalidDefaultAdmin", (ZERO_ADDRESS,))
    settlement: Settlement = ccei_suite.settlement
    user = ccei_chain.accounts[0]
    token = ccei_suite.token
    token.approve(settlement.address, 10, sender=user)
    with pytest.raises(ContractReverted) as caught:
        settlement.transact("depositFor", user, 10, sender=user, gas=30_000)
    assert (caught.value.error, caught.value.error_args) == ("OutOfGas", (30_000,))
    wrapped = Deployed(ccei_chain, settlement.address, "Settlement")
    assert wrapped.name == "Settlement" and wrapped.call("batchSettled", 123) is False
    receipt = wrapped.transact("cancelOrder", 1, sender=user)
    (cancelled,) = wrapped.events(receipt, "OrderCancelled")
    assert (cancelled.owner, cancelled.order_id) == (user, 1)
    assert ccei_suite.token.events(receipt, "Transfer") == []  # another contract's events are not this one's
