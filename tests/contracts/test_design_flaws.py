"""The design flaws an adversarial review found in the contracts, one test each (issue 14).

Each test states the behaviour the contracts must have; each failed on the contracts before the
fix (the commit that added this file says how).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from onchain_helpers import SALT, SECRET, Market

from ledger.backends import ChainBackend
from ledger.chain import Chain, connect
from ledger.contracts import ADMIN_ROLE, load_artifact, AgreementState, AgreementTerms, Service, ServiceAgreements
from ledger.pytest_plugin import assert_reverts
from ledger.signing import ZERO_ADDRESS, round_time
from market.orders import AgentId

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def _terms(market: Market, chain: Chain, **changes: object) -> AgreementTerms:
    values: dict[str, object] = {
        "buyer": market.accounts.users[0],
        "oracle": ZERO_ADDRESS,
        "service": Service.COMPUTE,
        "terms_hash": ServiceAgreements.commit(SECRET, SALT),
        "start": chain.next_timestamp() + 100,
        "periods": 2,
        "period_seconds": 3_600,
        "units_per_period": 1_000,
        "payment_per_period": 10_000,
        "penalty_per_unit": 5,
        "collateral": 20_000,
        "dispute_window": 3_600,
        "dispute_timeout": 7_200,
    }
    values.update(changes)
    return AgreementTerms(**values)  # type: ignore[arg-type]


def _active(market: Market, chain: Chain, terms: AgreementTerms) -> int:
    c = market.suite.agreements
    assert c is not None
    supplier, buyer = market.accounts.compute_supplier, terms.buyer
    market.suite.token.approve(c.address, terms.collateral, sender=supplier)
    agreement_id = c.offer(terms, sender=supplier)
    market.suite.token.approve(c.address, terms.payment_per_period * terms.periods, sender=buyer)
    c.accept(agreement_id, sender=buyer)
    return agreement_id


def test_a_dispute_times_out_to_the_default_split(market: Market, ccei_chain: Chain) -> None:
    """Flaw: a dispute had no timeout; only the operator could free payment and collateral."""
    c = market.suite.agreements
    assert c is not None
    terms = _terms(market, ccei_chain)
    agreement_id = _active(market, ccei_chain, terms)
    supplier, buyer = market.accounts.compute_supplier, terms.buyer
    # period 0 delivered half: the buyer attests it, half its payment is refunded, a claim arises
    ccei_chain.time_travel(terms.start + terms.period_seconds)
    c.attest(agreement_id, 0, 500, sender=buyer)
    # the supplier disputes at once; nobody resolves it
    c.open_dispute(agreement_id, sender=supplier)
    opened = ccei_chain.timestamp()
    assert_reverts(lambda: c.expire_dispute(agreement_id, sender=market.accounts.outsider), "DisputeNotTimedOut")
    ccei_chain.time_travel(opened + terms.dispute_timeout)
    before_buyer, before_supplier = c.credit(buyer), c.credit(supplier)
    receipt = c.expire_dispute(agreement_id, sender=market.accounts.outsider)  # anyone may end it
    (event,) = c.events(receipt, "DisputeTimedOut")
    claim = 500 * terms.penalty_per_unit
    # the buyer: the unattested period's payment plus its claim; the supplier: the remaining collateral
    assert c.credit(buyer) - before_buyer == terms.payment_per_period + claim == event.to_buyer
    assert c.credit(supplier) - before_supplier == terms.collateral - claim == event.to_supplier
    assert c.agreement(agreement_id).state is AgreementState.CLOSED


def test_offer_refuses_a_dispute_window_too_short_for_the_last_attestation(market: Market, ccei_chain: Chain) -> None:
    """Flaw: a zero window let the supplier release before the buyer could attest the last period."""
    c = market.suite.agreements
    assert c is not None
    supplier = market.accounts.compute_supplier
    terms = _terms(market, ccei_chain, dispute_window=0)
    market.suite.token.approve(c.address, terms.collateral, sender=supplier)
    minimum = c.min_dispute_window(terms.period_seconds)
    assert minimum >= terms.period_seconds
    assert_reverts(lambda: c.offer(terms, sender=supplier), "DisputeWindowTooShort", 0, minimum)


def test_a_generator_cannot_issue_certificates_it_declares_itself(market: Market) -> None:
    """Flaw: issuance was self-declared; now only the meter issues, in Wh, against attested generation."""
    certs = market.suite.certificates
    assert certs is not None
    generator, meter = market.accounts.energy_supplier, market.accounts.oracle
    self_declared = certs.chain.w3.eth.contract(
        address=certs.address,
        abi=[{"type": "function", "name": "issue", "stateMutability": "nonpayable",
              "inputs": [{"name": "mwh", "type": "uint64"}, {"name": "vintage", "type": "uint16"}], "outputs": []}],
    )
    with pytest.raises(Exception):  # noqa: B017, PT011 - any revert: the function is gone
        self_declared.functions.issue(10**6, 2030).transact({"from": generator, "gas": 300_000})
        last = certs.chain.w3.eth.get_block("latest")["transactions"][-1]
        assert certs.chain.w3.eth.get_transaction_receipt(last)["status"] == 1  # type: ignore[arg-type]  # a hash: no full transactions
    assert_reverts(lambda: certs.attest_generation(generator, 7, 1_500, sender=generator), "AccessControlUnauthorizedAccount")
    certs.grant_role(certs.meter_role(), meter, sender=market.admin)
    certificate_id = certs.attest_generation(generator, 7, 1_500, sender=meter)
    assert certs.balance_of(certificate_id, generator) == 1_500
    assert certs.certificate(certificate_id).issued_wh == 1_500


def test_the_last_admin_cannot_orphan_the_roles_in_one_step(market: Market) -> None:
    """Flaw: the last admin could renounce and orphan every role; hand-over is now two-step."""
    for contract in (market.suite.registry, market.suite.token, market.suite.settlement):
        with pytest.raises(Exception):  # noqa: B017, PT011 - refused whatever the form
            contract.renounce_role(ADMIN_ROLE, sender=market.admin)
        assert contract.has_role(ADMIN_ROLE, market.admin)


def test_a_trade_needs_the_sellers_own_signed_ask(market: Market) -> None:
    """Flaw: sellers did not sign; the operator chose who was paid for a buyer's order."""
    from ledger.signing import SELL
    buyer, seller = market.accounts.users[0], market.accounts.compute_supplier
    market.escrow(buyer)
    bid = market.order(buyer, 1)
    forged_ask = market.order(seller, 2, side=SELL, limit_price=100, signer=buyer)
    batch = market.batch(1, (bid, forged_ask, 200, 10))
    ask_index = next(i for i, o in enumerate(batch.orders) if o.signed.order.owner == seller)
    assert_reverts(lambda: market.settle(batch), "InvalidSigner", ask_index, buyer, seller)


def test_settlement_decodes_by_the_abi_and_builds_on_openzeppelin() -> None:
    """Flaw: Settlement.sol read calldata with hand-written assembly; bases were hand-written."""
    for source in CONTRACTS.glob("*.sol"):
        assert not re.search(r"\bassembly\b", source.read_text()), source.name
    for hand_written in ("AccessRoles", "Pausable", "ReentrancyGuard", "IERC20"):
        assert not (CONTRACTS / f"{hand_written}.sol").exists()
    abi = {item.get("name") for item in load_artifact("Settlement")["abi"]}
    # OpenZeppelin's AccessControlDefaultAdminRules, Pausable, ReentrancyGuardTransient and EIP712
    assert {"beginDefaultAdminTransfer", "acceptDefaultAdminTransfer", "EnforcedPause", "ReentrancyGuardReentrantCall", "eip712Domain"} <= abi
    token_abi = {item.get("name") for item in load_artifact("SettlementToken")["abi"]}
    assert "ERC20InsufficientBalance" in token_abi


@pytest.mark.parametrize("spec", ["eth-tester", "revm", "anvil"])
def test_chain_blocks_follow_the_simulated_clock(spec: str, request: pytest.FixtureRequest) -> None:
    """Flaw: chain back ends lived in the node's clock while memory counted simulated hours. The
    same on every chain: the embedded one, revm and a JSON-RPC node (anvil)."""
    url = request.getfixturevalue("anvil_url") if spec == "anvil" else spec
    backend = ChainBackend(3, connect(url))
    try:
        backend.begin_round(0)
        backend.open_accounts({AgentId(1): 1_000, AgentId(2): 0})
        w3 = backend.chain.w3
        assert backend.round_first_block is not None
        first = w3.eth.get_block(backend.round_first_block)
        assert first["timestamp"] == round_time(0)
        latest = w3.eth.get_block("latest")
        assert latest["timestamp"] == round_time(0) + latest["number"] - first["number"]
        backend.begin_round(5)
        backend.withdraw(AgentId(1), 10)  # funds the agent with gas, then withdraws: two blocks
        assert backend.round_first_block is not None
        first = w3.eth.get_block(backend.round_first_block)
        latest = w3.eth.get_block("latest")
        assert first["timestamp"] == round_time(5)
        assert latest["timestamp"] == round_time(5) + latest["number"] - first["number"] > round_time(5)
    finally:
        backend.close()
