"""The whole contract suite deployed and wired together: token, registry, settlement, service
agreements (SLAs) and green certificates.

:func:`deploy_suite` deploys in a fixed order (token, registry, settlement first), so on a fresh
eth-tester chain the Settlement contract always lands at the same address and the memory back end
can sign orders under the very same EIP-712 domain (:data:`EMBEDDED_DOMAIN`).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import ChecksumAddress
from web3.types import Wei

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

__all__ = ["Suite", "deploy_suite", "deploy_suite_at", "SETTLEMENT_NONCE", "EMBEDDED_DOMAIN", "DEVELOPMENT_KEYS"]

#: The deployer's nonce that creates the Settlement contract (token 0, registry 1, settlement 2).
SETTLEMENT_NONCE = 2
#: The order domain of a suite deployed on a fresh eth-tester chain by its first account.
EMBEDDED_DOMAIN = OrderDomain(EMBEDDED_CHAIN_ID, create_address(EMBEDDED_DEPLOYER, SETTLEMENT_NONCE))
#: Private keys whose first account deploys on the chains runs use: eth-tester's (and revm's)
#: first account (key 1) and anvil's (the first key of its published test mnemonic).
DEVELOPMENT_KEYS = (
    (1).to_bytes(32, "big"),
    bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
)
#: How many of a deployer's transactions :func:`deploy_suite_at` looks through for the address.
_NONCES_SEARCHED = 1024


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


def deploy_suite_at(chain: Chain, settlement: ChecksumAddress) -> Suite | None:
    """Deploys the suite (``extras=False``) so that its Settlement contract lands at ``settlement``.

    A contract's address follows from its deployer and the deployer's nonce (CREATE), so the
    contract a log's orders were signed for can be deployed again on another chain: the deployer is
    looked for among the chain's first account and :data:`DEVELOPMENT_KEYS`, the nonce among its
    first transactions. The deployer (unlocked and funded with gas money when it is a development
    key the chain does not manage) sends empty transactions to itself up to that nonce, then
    deploys.

    Args:
        chain: A chain where the deployer has not yet sent more transactions than that.
        settlement: The address the Settlement contract must have.

    Returns:
        The suite, or ``None`` when no known deployer's unused nonce creates ``settlement``.
    """
    from eth_account import Account

    candidates: list[tuple[ChecksumAddress, bytes | None]] = [(chain.accounts[0], None)]
    candidates += [(Account.from_key(key).address, key) for key in DEVELOPMENT_KEYS]
    for deployer, key in candidates:
        first = int(chain.w3.eth.get_transaction_count(deployer))
        nonce = next((n for n in range(first, _NONCES_SEARCHED) if create_address(deployer, n + SETTLEMENT_NONCE) == settlement), None)
        if nonce is None:
            continue
        if deployer not in chain.accounts:
            chain.unlock(key)  # type: ignore[arg-type] # a development key: the only candidates the chain does not manage
            chain.fund(deployer, 10**20)
        for _ in range(nonce - first):
            chain.w3.eth.wait_for_transaction_receipt(
                chain.w3.eth.send_transaction({"from": deployer, "to": deployer, "value": Wei(0), "gas": 21_000})
            )
        return deploy_suite(chain, deployer, extras=False)
    return None
