"""GreenCertificates.sol: renewable generators issue per-MWh certificates, holders transfer them,
consumers retire them (burned and recorded, never twice); every revert by its custom error."""

from __future__ import annotations

import pytest
from onchain_helpers import Market

from ledger.contracts import CERTIFICATE_SOURCE_CODES, GreenCertificates
from ledger.errors import LedgerError
from ledger.pytest_plugin import assert_reverts
from ledger.signing import ZERO_ADDRESS
from market.carbon import EnergySource


@pytest.fixture()
def certs(market: Market) -> GreenCertificates:
    assert market.suite.certificates is not None
    return market.suite.certificates


def test_issue_transfer_retire(market: Market, certs: GreenCertificates) -> None:
    generator, user = market.accounts.energy_supplier, market.accounts.users[0]
    assert certs.generator_source(generator) is EnergySource.SOLAR
    receipt = certs.transact("issue", 120, 2030, sender=generator)
    (issued,) = certs.events(receipt, "CertificatesIssued")
    (minted,) = certs.events(receipt, "TransferSingle")
    cid = issued.id
    assert (issued.generator, issued.source, issued.vintage, issued.mwh) == (generator, CERTIFICATE_SOURCE_CODES[EnergySource.SOLAR], 2030, 120)
    assert (minted.operator, minted.from_, minted.to, minted.mwh) == (generator, ZERO_ADDRESS, generator, 120)
    record = certs.certificate(cid)
    assert (record.generator, record.source, record.vintage, record.issued_mwh) == (generator, EnergySource.SOLAR, 2030, 120)
    assert certs.certificate_count() == 1 and certs.total_supply(cid) == 120

    certs.safe_transfer_from(generator, user, cid, 50, sender=generator)
    assert (certs.balance_of(cid, generator), certs.balance_of(cid, user)) == (70, 50)
    receipt = certs.retire(cid, 30, sender=user)
    (retired,) = certs.events(receipt, "Retired")
    assert (retired.holder, retired.id, retired.mwh) == (user, cid, 30)
    assert certs.balance_of(cid, user) == 20 and certs.retired_of(cid, user) == 30
    assert certs.total_supply(cid) == 90 and certs.total_retired(cid) == 30
    certs.retire(cid, 20, sender=user)
    # retired certificates are gone: retiring them again is impossible
    assert_reverts(certs.function("retire", cid, 1), "InsufficientCertificates", user, cid, 0, 1, sender=user)
    assert certs.retired_of(cid, user) == 50 and certs.total_supply(cid) + certs.total_retired(cid) == 120


def test_approved_operators_move_certificates(market: Market, certs: GreenCertificates) -> None:
    generator, broker, user = market.accounts.energy_supplier, market.accounts.users[1], market.accounts.users[0]
    cid = certs.issue(10, 2029, sender=generator)
    assert_reverts(
        certs.function("safeTransferFrom", generator, user, cid, 1, b""), "NotApproved", broker, generator, sender=broker
    )
    receipt = certs.set_approval_for_all(broker, True, sender=generator)
    assert certs.events(receipt, "ApprovalForAll")[0].approved is True
    assert certs.is_approved_for_all(generator, broker)
    certs.safe_transfer_from(generator, user, cid, 4, sender=broker)
    assert certs.balance_of(cid, user) == 4
    assert_reverts(certs.function("setApprovalForAll", ZERO_ADDRESS, True), "ZeroAddress", sender=generator)


def test_transfer_and_retire_errors(market: Market, certs: GreenCertificates) -> None:
    generator, user = market.accounts.energy_supplier, market.accounts.users[0]
    cid = certs.issue(10, 2029, sender=generator)
    assert_reverts(certs.function("safeTransferFrom", generator, ZERO_ADDRESS, cid, 1, b""), "ZeroAddress", sender=generator)
    assert_reverts(certs.function("safeTransferFrom", generator, user, cid, 0, b""), "ZeroAmount", sender=generator)
    assert_reverts(certs.function("safeTransferFrom", generator, user, 99, 1, b""), "UnknownCertificate", 99, sender=generator)
    assert_reverts(
        certs.function("safeTransferFrom", generator, user, cid, 11, b""),
        "InsufficientCertificates",
        generator,
        cid,
        10,
        11,
        sender=generator,
    )
    assert_reverts(certs.function("retire", cid, 1), "InsufficientCertificates", user, cid, 0, 1, sender=user)


def test_only_registered_renewable_generators_issue(market: Market, certs: GreenCertificates) -> None:
    admin, generator, user = market.admin, market.accounts.energy_supplier, market.accounts.users[0]
    assert_reverts(certs.function("issue", 1, 2030), "NotGenerator", user, sender=user)
    assert_reverts(certs.function("issue", 1, 0), "InvalidVintage", 0, sender=generator)
    assert_reverts(certs.function("issue", 0, 2030), "ZeroAmount", sender=generator)
    assert_reverts(certs.function("registerGenerator", user, 1), "NotEnergySupplier", user, sender=admin)
    assert_reverts(certs.function("registerGenerator", generator, 0), "NotRenewable", 0, sender=admin)
    receipt = certs.register_generator(generator, EnergySource.WIND, sender=admin)
    assert certs.events(receipt, "GeneratorRegistered")[0].source == CERTIFICATE_SOURCE_CODES[EnergySource.WIND] == 2
    assert certs.certificate(certs.issue(5, 2031, sender=generator)).source is EnergySource.WIND
    receipt = certs.revoke_generator(generator, sender=admin)
    assert certs.events(receipt, "GeneratorRevoked")[0].generator == generator
    assert certs.generator_source(generator) is None
    assert_reverts(certs.function("issue", 1, 2030), "NotGenerator", generator, sender=generator)
    assert_reverts(certs.function("revokeGenerator", generator), "NotGenerator", generator, sender=admin)
    # a generator that left the registry cannot issue even while still listed here
    certs.register_generator(generator, EnergySource.HYDRO, sender=admin)
    market.suite.registry.deregister(generator, sender=admin)
    assert_reverts(certs.function("issue", 1, 2030), "NotGenerator", generator, sender=generator)


@pytest.mark.parametrize("source", [s for s in EnergySource if s not in CERTIFICATE_SOURCE_CODES])
def test_a_source_the_contract_does_not_certify_is_refused_before_any_transaction(
    market: Market, certs: GreenCertificates, source: EnergySource
) -> None:
    before = market.suite.chain.w3.eth.block_number
    with pytest.raises(LedgerError, match=f"green certificates: {source} is not a certified source \\(one of: solar, wind, hydro, biomass, geothermal\\)"):
        certs.register_generator(market.accounts.energy_supplier, source, sender=market.admin)
    assert market.suite.chain.w3.eth.block_number == before
    assert certs.generator_source(market.accounts.energy_supplier) is EnergySource.SOLAR  # as the suite registered it


def test_every_certified_source_round_trips_through_its_code(market: Market, certs: GreenCertificates) -> None:
    generator = market.accounts.energy_supplier
    for source in CERTIFICATE_SOURCE_CODES:
        certs.register_generator(generator, source, sender=market.admin)
        assert certs.generator_source(generator) is source
        assert certs.certificate(certs.issue(1, 2030, sender=generator)).source is source
