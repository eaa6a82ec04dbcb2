"""The whole contract suite deployed and wired together: token, registry, settlement, service
agreements (SLAs) and green certificates.

:func:`deploy_suite` deploys in a fixed order (token, registry, settlement first), so on a fresh
eth-tester chain the Settlement contract always lands at the same address and the memory back end
can sign orders under the very same EIP-712 domain (:data:`EMBEDDED_DOMAIN`).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import ChecksumAddress

from ledger.chain import EMBEDDED_CHAIN_ID, EMBEDDED_DEPLOYER, Chain, create_address
from ledger.contracts import (
    METER_ROLE,
    MINTER_ROLE,
    PAUSER_ROLE,
    REGISTRAR_ROLE,
    Capacity,
    GreenCertificates,
    ParticipantRegistry,
    ServiceAgreements,
    Settlement,
    SettlementToken,
    deploy,
)
from ledger.signing import OrderDomain

__all__ = ["Suite", "deploy_suite", "SETTLEMENT_NONCE", "EMBEDDED_DOMAIN"]

#: The deployer's nonce that creates the Settlement contract (token 0, registry 1, settlement 2).
SETTLEMENT_NONCE = 2
#: The order domain of a suite deployed on a fresh eth-tester chain by its first account.
EMBEDDED_DOMAIN = OrderDomain(EMBEDDED_CHAIN_ID, create_address(EMBEDDED_DEPLOYER, SETTLEMENT_NONCE))


@dataclass(frozen=True, slots=True)
class Suite:
    """The deployed contracts and the account that administers and operates them.

    ``agreements`` and ``certificates`` are ``None`` when deployed with ``extras=False``.
    """

    chain: Chain
    admin: ChecksumAddress
    token: SettlementToken
    registry: ParticipantRegistry
    settlement: Settlement
    agreements: ServiceAgreements | None
    certificates: GreenCertificates | None

    @property
    def domain(self) -> OrderDomain:
        """The EIP-712 domain buy orders are signed under."""
        return self.settlement.domain


def deploy_suite(chain: Chain, admin: ChecksumAddress | None = None, *, extras: bool = True) -> Suite:
    """Deploys the suite with ``admin`` (default: the chain's first account) holding every role.

    ``admin`` gets the admin role everywhere, the minter role on the token, the registrar role on
    the registry and the certificates, the meter role on the certificates, the pauser role on settlement and agreements, and is
    registered as the market operator.

    Args:
        chain: Where to deploy.
        admin: The deployer, admin and operator.
        extras: Also deploy ServiceAgreements and GreenCertificates.

    Returns:
        The deployed suite.
    """
    admin = admin or chain.accounts[0]
    token = SettlementToken(chain, deploy(chain, "SettlementToken", admin, sender=admin))
    registry = ParticipantRegistry(chain, deploy(chain, "ParticipantRegistry", admin, sender=admin))
    settlement = Settlement(chain, deploy(chain, "Settlement", token.address, registry.address, admin, sender=admin))
    agreements = certificates = None
    if extras:
        agreements = ServiceAgreements(
            chain, deploy(chain, "ServiceAgreements", token.address, registry.address, admin, sender=admin)
        )
        certificates = GreenCertificates(chain, deploy(chain, "GreenCertificates", registry.address, admin, sender=admin))
    token.grant_role(MINTER_ROLE, admin, sender=admin)
    registry.grant_role(REGISTRAR_ROLE, admin, sender=admin)
    registry.register(admin, Capacity.OPERATOR, sender=admin)
    settlement.grant_role(PAUSER_ROLE, admin, sender=admin)
    if agreements is not None and certificates is not None:
        agreements.grant_role(PAUSER_ROLE, admin, sender=admin)
        certificates.grant_role(REGISTRAR_ROLE, admin, sender=admin)
        certificates.grant_role(METER_ROLE, admin, sender=admin)
    return Suite(chain, admin, token, registry, settlement, agreements, certificates)
