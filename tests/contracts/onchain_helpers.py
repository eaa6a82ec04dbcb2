"""Helpers of the contract tests: a small market facade over the ``ccei_*`` plugin fixtures (signed
orders, batches, escrow funding) and the test-only Solidity artifacts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coincurve
from eth_typing import Address, ChecksumAddress

from ledger.batch import Fill, SettlementBatch, assemble_batch
from ledger.contracts import load_artifact
from ledger.pytest_plugin import CceiAccounts
from ledger.merkle import memo_hash
from ledger.signing import (
    BUY,
    SELL,
    OrderDomain,
    SettlementOrder,
    SettlementPayment,
    SignedOrder,
    SignedPayment,
    order_expiry,
    sign_order,
    sign_payment,
)
from ledger.suite import Suite

TEST_BUILD = Path(__file__).resolve().parent / "build"
#: Valid far beyond any real block time (2030 + a day).
FAR_EXPIRY = order_expiry(0)
ESCROW_MICRO = 100_000_000
#: Confidential SLA terms and the salt they are committed with.
SECRET = b"latency<=20ms; region=Gui'an; price formula v3"
SALT = b"\x07" * 32


def test_only_artifact(name: str) -> dict[str, Any]:
    """A compiled test-only contract from ``tests/contracts/build``."""
    return load_artifact(name, TEST_BUILD)


test_only_artifact.__test__ = False  # type: ignore[attr-defined]


@dataclass
class Market:
    """Signs orders with the participants' keys and settles batches as the operator."""

    suite: Suite
    accounts: CceiAccounts
    #: The next order id of an ask :meth:`batch` signs for a seller named by address.
    next_ask_id: int = 1_000_000

    @property
    def admin(self) -> ChecksumAddress:
        return self.suite.admin

    def order(
        self,
        owner: ChecksumAddress,
        order_id: int,
        *,
        limit_price: int = 500,
        quantity: int = 100,
        expiry: int = FAR_EXPIRY,
        resource: int = 0,
        side: int = BUY,
        domain: OrderDomain | None = None,
        signer: ChecksumAddress | None = None,
    ) -> SignedOrder:
        """``owner``'s order (a bid unless ``side`` is ``SELL``), signed by ``signer`` (default the
        owner) under ``domain`` (default the suite's)."""
        message = SettlementOrder(owner, order_id, side, resource, limit_price, quantity, expiry)
        key = coincurve.PrivateKey(self.accounts.key(signer or owner))
        return sign_order(key, domain or self.suite.domain, message)

    def ask_for(self, bid: SignedOrder, seller: ChecksumAddress) -> SignedOrder:
        """A fresh ask of ``seller``, signed by it, that takes any price for any quantity of the bid's resource."""
        self.next_ask_id += 1
        return self.order(
            seller, self.next_ask_id, side=SELL, limit_price=0, quantity=2**63, resource=bid.order.resource, expiry=bid.order.expiry
        )

    def batch(
        self, batch_id: int, *fills: tuple[SignedOrder, SignedOrder | ChecksumAddress, int, int], payments: Sequence[SignedPayment] = ()
    ) -> SettlementBatch:
        """A batch of ``(bid, ask, price, quantity)`` fills; an ask given as the seller's address is
        a fresh ask the seller signs (:meth:`ask_for`)."""
        made = [Fill(bid, ask if isinstance(ask, SignedOrder) else self.ask_for(bid, ask), price, q) for bid, ask, price, q in fills]
        return assemble_batch(batch_id, made, payments)

    def payment(
        self,
        payer: ChecksumAddress,
        payee: ChecksumAddress,
        payment_id: int,
        amount: int,
        *,
        memo: str = "fee",
        expiry: int = FAR_EXPIRY,
        signer: ChecksumAddress | None = None,
    ) -> SignedPayment:
        """``payer``'s payment to ``payee``, signed by ``signer`` (default the payer)."""
        message = SettlementPayment(payer, payee, payment_id, amount, expiry, memo_hash(memo))
        return sign_payment(coincurve.PrivateKey(self.accounts.key(signer or payer)), self.suite.domain, message)

    def settle(self, batch: SettlementBatch, sender: ChecksumAddress | None = None) -> Any:
        return self.suite.settlement.settle_batch(batch, sender=sender or self.admin)

    def escrow(self, account: ChecksumAddress, amount: int = ESCROW_MICRO) -> None:
        """The operator mints ``amount`` and deposits it into ``account``'s escrow."""
        token, settlement = self.suite.token, self.suite.settlement
        token.mint(self.admin, amount, sender=self.admin)
        token.approve(settlement.address, amount, sender=self.admin)
        settlement.deposit_for(account, amount, sender=self.admin)

    def balance(self, account: ChecksumAddress) -> int:
        return self.suite.settlement.balance_of(account)


@contextmanager
def storage_writes() -> Iterator[list[tuple[str, int]]]:
    """Records every persistent storage write (contract address, slot) py-evm makes in the block."""
    from eth.vm.state import BaseState
    from eth_utils import to_checksum_address

    writes: list[tuple[str, int]] = []
    original = BaseState.set_storage

    def recording(self: BaseState, address: Address, slot: int, value: int) -> None:
        writes.append((to_checksum_address(address), slot))
        original(self, address, slot, value)

    BaseState.set_storage = recording  # type: ignore[method-assign]
    try:
        yield writes
    finally:
        BaseState.set_storage = original  # type: ignore[method-assign]
