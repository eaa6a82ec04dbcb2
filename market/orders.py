"""The market's vocabulary: resources, sides, orders and trades, as small frozen dataclasses.

Money is integer micro-tokens and quantities are integer smallest units (milli-core-hours for
compute, MB for network, Wh for energy), so a trade's ``amount = price * quantity`` is exact and
the Python accounting agrees with on-chain balances to the unit.

Every order has an ``order_id`` unique within a run; a trade names the buy and the sell order it
fills, so settlement can check the payer's signed limit and quantity (see ``ledger``).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, NewType, TypeVar

__all__ = ["AgentId", "OrderId", "Resource", "Side", "Order", "Trade", "Payment", "SettlementOutcome", "UNIT", "exact_price_split", "slot_init"]

_T = TypeVar("_T")

AgentId = NewType("AgentId", int)
OrderId = NewType("OrderId", int)


class Resource(enum.StrEnum):
    """What a trade delivers."""

    COMPUTE = "compute"
    NETWORK = "network"
    ENERGY = "energy"


class Side(enum.StrEnum):
    """Whether an order buys or sells."""

    BUY = "buy"
    SELL = "sell"


def slot_init(cls: type[_T]) -> type[_T]:
    """Gives the frozen slotted dataclass ``cls`` an ``__init__`` that stores each field through its
    slot's descriptor (a class decorator, applied over ``@dataclass``).

    The ``__init__`` that ``dataclass(frozen=True)`` writes stores each field with
    ``object.__setattr__(self, name, value)``, a generic call that finds the slot by name again for
    every field of every instance. Calling the slot descriptor's own ``__set__`` does the same store
    at about half the cost, and a market round builds thousands of these records (orders, trades,
    their signed forms and batch entries, allocation tasks and assignments). Same parameters,
    positional or keyword, with the same defaults; the same fields set; the instances stay frozen
    (assignment still raises ``FrozenInstanceError``).

    Raises:
        TypeError: ``cls`` is not a frozen slotted dataclass whose fields are all plain ``__init__``
            parameters (a default value is fine; a default factory, ``init=False`` or a
            ``__post_init__`` is not: this ``__init__`` is not written for them).
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if (
        not cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        or "__slots__" not in cls.__dict__
        or hasattr(cls, "__post_init__")
        or any(not f.init or f.default_factory is not dataclasses.MISSING for f in fields)
    ):
        raise TypeError(f"slot_init needs a frozen slotted dataclass of plain fields, not {cls.__qualname__}")
    namespace: dict[str, Any] = {"__name__": cls.__module__}
    params = []
    for f in fields:
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    _set_{f.name}(self, {f.name})\n" for f in fields)
    exec(f"def __init__(self, {', '.join(params)}):\n{body}", namespace)  # noqa: S102 - as dataclasses writes __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = cls.__init__.__annotations__  # type: ignore[misc]  # what help() and inspect show
    cls.__init__ = init  # type: ignore[misc]
    return cls


#: The smallest unit each resource is counted in.
UNIT: dict[Resource, str] = {Resource.COMPUTE: "mcore_h", Resource.NETWORK: "mb", Resource.ENERGY: "wh"}


@slot_init
@dataclass(frozen=True, slots=True)
class Order:
    """An order: ``owner`` buys (sells) up to ``quantity`` units at no more (less) than ``limit_price``.

    Attributes:
        order_id: Unique within a run.
        owner: The agent placing it.
        side: Buy or sell.
        resource: What is traded.
        quantity: Units wanted or offered.
        limit_price: Micro-tokens per unit: the most a buyer pays, the least a seller takes.
        step: The round it was placed in.
    """

    order_id: OrderId
    owner: AgentId
    side: Side
    resource: Resource
    quantity: int
    limit_price: int
    step: int = 0


@slot_init
@dataclass(frozen=True, slots=True)
class Trade:
    """A cleared trade: ``buyer`` pays ``seller`` ``price * quantity`` micro-tokens.

    ``buy_order`` and ``sell_order`` are the ids of the orders it fills.
    """

    step: int
    buyer: AgentId
    seller: AgentId
    resource: Resource
    price: int
    quantity: int
    buy_order: OrderId
    sell_order: OrderId

    @property
    def amount(self) -> int:
        """The payment in micro-tokens."""
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class Payment:
    """A transfer that is no trade: ``payer`` pays ``payee`` ``amount`` micro-tokens in round
    ``step`` (a bargaining settlement, a penalty, a fee; ``memo`` says which, e.g.
    ``"nash-bargain"``, ``"penalty"``, ``"fee"``). ``payment_id`` is unique within a run."""

    payment_id: int
    payer: AgentId
    payee: AgentId
    amount: int  # micro-tokens
    step: int
    memo: str


@dataclass(frozen=True, slots=True)
class SettlementOutcome:
    """What settling one round's batch cost: the batch id, its trades, transactions and gas, and
    where it landed (transaction hash and block; empty on the memory back end)."""

    batch_id: int
    trades: int
    transactions: int = 0
    gas_used: int = 0
    tx_hash: str = ""
    block: int = 0


def exact_price_split(quantity: int, amount: int) -> list[tuple[int, int]]:
    """Splits a payment of ``amount`` for ``quantity`` units into at most two (price, units) legs.

    Mechanisms often agree on a total that is not a whole price per unit (a bargained payment, an
    SDR price times energy). Paying ``p = amount // quantity`` on some units and ``p + 1`` on the
    rest moves exactly ``amount`` with integer prices, so on-chain settlement stays exact.

    Args:
        quantity: Units delivered (positive).
        amount: Total payment in micro-tokens (not negative).

    Returns:
        ``[(p, q1), (p + 1, q2)]`` without empty legs, with ``p*q1 + (p+1)*q2 == amount`` and
        ``q1 + q2 == quantity``.

    Raises:
        ValueError: a non-positive quantity or a negative amount.
    """
    if quantity <= 0 or amount < 0:
        raise ValueError(f"cannot split {amount} over {quantity} units")
    price, extra = divmod(amount, quantity)  # extra < quantity, so the first leg is never empty
    return [(price, quantity - extra), (price + 1, extra)] if extra else [(price, quantity)]
