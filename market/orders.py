"""The market's vocabulary: resources, requests, offers and trades, as small frozen dataclasses.

Money is integer micro-tokens and quantities are integer smallest units (milli-core-hours for
compute, MB for network, Wh for energy), so a trade's ``amount = price * quantity`` is exact and
the Python accounting agrees with on-chain balances to the unit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NewType

__all__ = ["AgentId", "Resource", "Request", "Offer", "Trade", "SettlementOutcome", "UNIT"]

AgentId = NewType("AgentId", int)


class Resource(enum.StrEnum):
    """What a trade delivers."""

    COMPUTE = "compute"
    NETWORK = "network"
    ENERGY = "energy"


#: The smallest unit each resource is counted in.
UNIT: dict[Resource, str] = {Resource.COMPUTE: "mcore_h", Resource.NETWORK: "mb", Resource.ENERGY: "wh"}


@dataclass(frozen=True, slots=True)
class Request:
    """A buyer's demand: ``quantity`` units at no more than ``max_price`` micro-tokens per unit."""

    buyer: AgentId
    resource: Resource
    quantity: int
    max_price: int


@dataclass(frozen=True, slots=True)
class Offer:
    """A seller's supply: up to ``capacity`` units at ``price`` micro-tokens per unit."""

    seller: AgentId
    resource: Resource
    capacity: int
    price: int


@dataclass(frozen=True, slots=True)
class Trade:
    """A cleared trade: ``buyer`` pays ``seller`` ``price * quantity`` micro-tokens."""

    step: int
    buyer: AgentId
    seller: AgentId
    resource: Resource
    price: int
    quantity: int

    @property
    def amount(self) -> int:
        """The payment in micro-tokens."""
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class SettlementOutcome:
    """What settling one round's batch cost: the batch id, its trades, transactions and gas."""

    batch_id: int
    trades: int
    transactions: int = 0
    gas_used: int = 0
