"""What a round's guarantee contracts and green certificates are made of, as the market sees them.

A model emits these records; the ledger turns them into contract calls and log lines
(``ledger.guarantees``). Nothing here knows about chains.

- :class:`AgreementRecord`: a guarantee contract (whitepaper §3.5) opened for one match: the
  supplier promises ``units`` of ``resource`` for ``payment_micro``, posts ``collateral_micro``
  and owes ``penalty_micro_per_unit`` for each unit it fails to deliver; ``terms`` are the
  confidential commercial details that only a hash of goes on chain.
- :class:`DeliveryRecord`: what the supplier actually delivered under an agreement, as the model
  ran it (the platform's oracle attests it the round after), and whether a breach is disputed.
- :class:`GenerationRecord`, :class:`CertificateTransfer`, :class:`Retirement`: renewable
  generation metered in Wh (certificates are issued for it), certificates moving with a green
  energy trade, and a consumer retiring them for the green energy it claims (GHG Protocol Scope 2,
  market-based method: a Wh of renewable energy is claimed once, by whoever retires its certificate).

References:
    World Resources Institute, *GHG Protocol Scope 2 Guidance*, 2015 (location- and market-based
    accounting; Scope 2 quality criteria for contractual instruments).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from market.carbon import EnergySource
from market.orders import AgentId, Resource

__all__ = [
    "Role",
    "GuaranteeSetup",
    "DisputeOutcome",
    "AgreementRecord",
    "DeliveryRecord",
    "GenerationRecord",
    "CertificateTransfer",
    "Retirement",
    "GuaranteeRound",
]


class Role(enum.StrEnum):
    """The capacity a participant registers with (whitepaper §1.3.4): compute, network or energy
    supplier, user, or platform (the market's operators)."""

    USER = "user"
    COMPUTE = "compute"
    NETWORK = "network"
    ENERGY = "energy"
    PLATFORM = "platform"


@dataclass(frozen=True, slots=True)
class GuaranteeSetup:
    """What guarantee contracts and certificates need before the first round.

    Attributes:
        oracle: The platform that attests deliveries and meters renewable generation.
        wallets: Tokens each agent holds outside the settlement escrow, for collateral and
            escrowed agreement payments (micro-tokens).
        generators: The renewable generators and their sources (certificates are issued to them).
    """

    oracle: AgentId
    wallets: dict[AgentId, int]
    generators: dict[AgentId, EnergySource]


class DisputeOutcome(enum.StrEnum):
    """How a disputed breach ends: the operator resolves it, or nobody does and it times out."""

    RESOLVED = "resolved"
    TIMED_OUT = "timeout"


@dataclass(frozen=True, slots=True)
class AgreementRecord:
    """A guarantee contract for one match.

    Attributes:
        agreement_id: The run's agreement number (from 1, in the order the model opens them).
        supplier: Who delivers (and posts the collateral).
        buyer: Who receives (and escrows the payment).
        resource: Compute or energy.
        units: Units promised in the round (milli-core-hours, Wh).
        payment_micro: The whole payment, escrowed by the buyer.
        penalty_micro_per_unit: Compensation per undelivered unit.
        collateral_micro: The supplier's collateral (covers a full breach at the penalty).
        terms: The confidential terms (JSON-able), committed to by hash only.
    """

    agreement_id: int
    supplier: AgentId
    buyer: AgentId
    resource: Resource
    units: int
    payment_micro: int
    penalty_micro_per_unit: int
    collateral_micro: int
    terms: dict[str, Any] = field(compare=False)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """What was delivered under agreement ``agreement_id`` (at most its units), and, for a
    shortfall, whether the supplier disputes the attestation and how that ends (``None``: the
    buyer simply claims its compensation)."""

    agreement_id: int
    delivered: int
    dispute: DisputeOutcome | None = None


@dataclass(frozen=True, slots=True)
class GenerationRecord:
    """``generator`` fed in ``wh`` of renewable energy this round (metered)."""

    generator: AgentId
    wh: int


@dataclass(frozen=True, slots=True)
class CertificateTransfer:
    """``wh`` of ``generator``'s certificates of this round go to ``holder`` with a green energy trade."""

    generator: AgentId
    holder: AgentId
    wh: int


@dataclass(frozen=True, slots=True)
class Retirement:
    """``holder`` retires ``wh`` of ``generator``'s certificates of this round for green energy it used."""

    holder: AgentId
    generator: AgentId
    wh: int


@dataclass(slots=True)
class GuaranteeRound:
    """One round's guarantee contracts and certificates, in the order the model produced them."""

    agreements: list[AgreementRecord] = field(default_factory=list)
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    generation: list[GenerationRecord] = field(default_factory=list)
    transfers: list[CertificateTransfer] = field(default_factory=list)
    retirements: list[Retirement] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.agreements or self.deliveries or self.generation or self.transfers or self.retirements)
