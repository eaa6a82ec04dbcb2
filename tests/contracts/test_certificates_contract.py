"""GreenCertificates.sol: the meter issues per-Wh certificates to renewable generators against
attested generation, holders transfer them, consumers retire them (burned and recorded, never
twice); every revert by its custom error."""

from __future__ import annotations

import pytest
from onchain_helpers import Market

from ledger.contracts import CERTIFICATE_SOURCE_CODES, METER_ROLE, Capacity, GreenCertificates
from ledger.errors import LedgerError
from ledger.pytest_plugin import assert_reverts
from ledger.signing import ZERO_ADDRESS
from market.carbon import EnergySource


@pytest.fixture()
def certs(market: Market) -> GreenCertificates:
    assert market.suite.certificates is not None
    return market.suite.certificates


def test_issue_transfer_retire(market: Market, certs: GreenCertificates) -> None:
    generator, user, meter = market.accounts.energy_supplier, market.accounts.users[0], market.admin
    assert certs.generator_source(generator) is EnergySource.SOLAR
    receipt = certs.transact("attestGeneration", generator, 7, 120, sender=meter)
    (issued,) = certs.events(receipt, "GenerationAttested")
    (minted,) = certs.events(receipt, "TransferSingle")
    cid = issued.id
    assert (issued.generator, issued.meter, issued.source, issued.period, issued.wh) == (generator, meter, CERTIFICATE_SOURCE_CODES[EnergySource.SOLAR], 7, 120)
    assert (minted.operator, minted.from_, minted.to, minted.wh) == (meter, ZERO_ADDRESS, generator, 120)
    record = certs.certificate(cid)
    assert (record.generator, record.source, record.period, record.issued_wh) == (generator, EnergySource.SOLAR, 7, 120)
    assert certs.certificate_count() == 1 and certs.total_supply(cid) == 120 and certs.issued_for(generator, 7) == cid

    certs.safe_transfer_from(generator, user, cid, 50, sender=generator)
    assert (certs.balance_of(cid, generator), certs.balance_of(cid, user)) == (70, 50)
    receipt = certs.retire(cid, 30, sender=user)
    (retired,) = certs.events(receipt, "Retired")
    assert (retired.holder, retired.id, retired.wh) == (user, cid, 30)
    assert certs.balance_of(cid, user) == 20 and certs.retired_of(cid, user) == 30
    assert certs.total_supply(cid) == 90 and certs.total_retired(cid) == 30
    certs.retire(cid, 20, sender=user)
    # retired certificates are gone: retiring them again is impossible
    assert_reverts(certs.function("retire", cid, 1), "InsufficientCertificates", user, cid, 0, 1, sender=user)
    assert certs.retired_of(cid, user) == 50 and certs.total_supply(cid) + certs.total_retired(cid) == 120


def test_approved_operators_move_certificates(market: Market, certs: GreenCertificates) -> None:
    generator, broker, user = market.accounts.energy_supplier, market.accounts.users[1], market.accounts.users[0]
    cid = certs.attest_generation(generator, 1, 10, sender=market.admin)
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
    cid = certs.attest_generation(generator, 1, 10, sender=market.admin)
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


def test_only_the_meter_issues_and_only_to_registered_renewable_generators(market: Market, certs: GreenCertificates) -> None:
    admin, generator, user = market.admin, market.accounts.energy_supplier, market.accounts.users[0]
    meter = admin
    # nobody issues to themselves: not the generator, not a user
    for caller in (generator, user):
        assert_reverts(
            certs.function("attestGeneration", caller, 1, 1), "AccessControlUnauthorizedAccount", caller, METER_ROLE, sender=caller
        )
    assert_reverts(certs.function("attestGeneration", user, 1, 1), "NotGenerator", user, sender=meter)
    assert_reverts(certs.function("attestGeneration", generator, 1, 0), "ZeroAmount", sender=meter)
    cid = certs.attest_generation(generator, 1, 5, sender=meter)
    # a period's generation is attested once
    assert_reverts(certs.function("attestGeneration", generator, 1, 5), "GenerationAlreadyAttested", generator, 1, cid, sender=meter)
    assert_reverts(certs.function("registerGenerator", user, 1), "NotEnergySupplier", user, sender=admin)
    assert_reverts(certs.function("registerGenerator", generator, 0), "NotRenewable", 0, sender=admin)
    receipt = certs.register_generator(generator, EnergySource.WIND, sender=admin)
    assert certs.events(receipt, "GeneratorRegistered")[0].source == CERTIFICATE_SOURCE_CODES[EnergySource.WIND] == 2
    assert certs.certificate(certs.attest_generation(generator, 2, 5, sender=meter)).source is EnergySource.WIND
    receipt = certs.revoke_generator(generator, sender=admin)
    assert certs.events(receipt, "GeneratorRevoked")[0].generator == generator
    assert certs.generator_source(generator) is None
    assert_reverts(certs.function("attestGeneration", generator, 3, 1), "NotGenerator", generator, sender=meter)
    assert_reverts(certs.function("revokeGenerator", generator), "NotGenerator", generator, sender=admin)
    # a generator that left the registry gets nothing even while still listed here
    certs.register_generator(generator, EnergySource.HYDRO, sender=admin)
    market.suite.registry.deregister(generator, sender=admin)
    assert_reverts(certs.function("attestGeneration", generator, 3, 1), "NotGenerator", generator, sender=meter)


def test_the_meter_attests_many_generators_in_one_transaction(market: Market, certs: GreenCertificates) -> None:
    admin, generator, network = market.admin, market.accounts.energy_supplier, market.accounts.network_supplier
    market.suite.registry.register(network, Capacity.ENERGY_SUPPLIER, sender=admin)
    certs.register_generator(network, EnergySource.WIND, sender=admin)
    ids = certs.attest_generation_many([generator, network], 4, [1_000, 2_500], sender=admin)
    assert [certs.balance_of(i, g) for i, g in zip(ids, (generator, network), strict=True)] == [1_000, 2_500]
    assert_reverts(certs.function("attestGenerationMany", [generator], 5, [1, 2]), "LengthMismatch", 1, 2, sender=admin)
    assert_reverts(
        certs.function("attestGenerationMany", [generator, generator], 5, [1, 2]), "GenerationAlreadyAttested", generator, 5, 3, sender=admin
    )


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
        assert certs.certificate(certs.attest_generation(generator, 100 + CERTIFICATE_SOURCE_CODES[source], 1, sender=market.admin)).source is source


def test_an_approved_platform_moves_and_retires_many_in_one_call(market: Market, certs: GreenCertificates) -> None:
    generator, platform, user = market.accounts.energy_supplier, market.accounts.users[1], market.accounts.users[0]
    first = certs.attest_generation(generator, 1, 10, sender=market.admin)
    second = certs.attest_generation(generator, 2, 20, sender=market.admin)
    moves = ([generator, generator], [user, user], [first, second], [4, 15])
    assert_reverts(certs.function("safeTransferFromMany", *moves), "NotApproved", platform, generator, sender=platform)
    certs.set_approval_for_all(platform, True, sender=generator)
    receipt = certs.safe_transfer_from_many(*moves, sender=platform)
    assert len(certs.events(receipt, "TransferSingle")) == 2
    assert (certs.balance_of(first, user), certs.balance_of(second, user), certs.balance_of(second, generator)) == (4, 15, 5)
    retiring = ([user, user], [first, second], [4, 10])
    assert_reverts(certs.function("retireMany", *retiring), "NotApproved", platform, user, sender=platform)
    certs.set_approval_for_all(platform, True, sender=user)
    receipt = certs.retire_many(*retiring, sender=platform)
    assert [(e.holder, e.id, e.wh) for e in certs.events(receipt, "Retired")] == [(user, first, 4), (user, second, 10)]
    assert (certs.retired_of(first, user), certs.retired_of(second, user), certs.balance_of(second, user)) == (4, 10, 5)
    # all or nothing: the second retirement is short, so the first stands undone too
    assert_reverts(certs.function("retireMany", [user, user], [second, first], [5, 1]), "InsufficientCertificates", user, first, 0, 1, sender=platform)
    assert certs.balance_of(second, user) == 5


def test_batched_moves_refuse_bad_shapes(market: Market, certs: GreenCertificates) -> None:
    generator, user = market.accounts.energy_supplier, market.accounts.users[0]
    cid = certs.attest_generation(generator, 1, 10, sender=market.admin)
    assert_reverts(certs.function("safeTransferFromMany", [generator], [user, user], [cid], [1]), "LengthMismatch", 1, 2, sender=generator)
    assert_reverts(certs.function("safeTransferFromMany", [generator], [user], [cid, cid], [1]), "LengthMismatch", 1, 2, sender=generator)
    assert_reverts(certs.function("safeTransferFromMany", [generator], [user], [cid], []), "LengthMismatch", 1, 0, sender=generator)
    assert_reverts(certs.function("safeTransferFromMany", [generator], [ZERO_ADDRESS], [cid], [1]), "ZeroAddress", sender=generator)
    assert_reverts(certs.function("safeTransferFromMany", [generator] * 257, [user] * 257, [cid] * 257, [1] * 257), "BatchTooLarge", 257, 256, sender=generator)
    assert_reverts(certs.function("retireMany", [generator], [cid, cid], [1]), "LengthMismatch", 1, 2, sender=generator)
    assert_reverts(certs.function("retireMany", [generator], [cid], []), "LengthMismatch", 1, 0, sender=generator)
    assert_reverts(certs.function("retireMany", [generator] * 257, [cid] * 257, [1] * 257), "BatchTooLarge", 257, 256, sender=generator)
    assert_reverts(certs.function("retireMany", [generator], [cid], [0]), "ZeroAmount", sender=generator)
