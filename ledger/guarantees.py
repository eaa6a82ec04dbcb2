"""Guarantee contracts and green certificates in the market loop: one round's operations, their
Python twin of ``ServiceAgreements.sol`` and ``GreenCertificates.sol``, and the same operations
sent as batched transactions.

A round's operations (:class:`GuaranteePlan`) run in a fixed order: the oracle attests the
deliveries of the round before (one ``attestMany``), buyers claim shortfalls (one
``claimCompensationMany`` each), suppliers dispute attestations they contest (``openDispute`` and
``revealTerms``), the operator resolves disputes (``resolveDispute``) or ends those that timed out
(``expireDispute``); then the platform, every party's broker, offers this round's agreements for
their suppliers (one ``offerManyFor``) and accepts them for their buyers (one ``acceptManyFor``),
the meter attests renewable generation (one ``attestGenerationMany``), certificates travel with
green energy trades (one ``safeTransferFromMany``) and consumers retire them (one ``retireMany``),
both sent by the oracle platform, which every generator and data centre approved for its
certificates.

:class:`GuaranteeState` applies the very same rules in Python, in the contracts' order, with the
contracts' error names (as :class:`~ledger.errors.SettlementRejected` reasons), so the memory back
end and a chain end in the same holdings and refuse the same operations. Its
:meth:`GuaranteeState.holdings` (token wallets, agreement credits, what each agreement still holds,
certificate balances and retirements) goes into the balances digest beside the escrow.

Time: an agreement opened in round ``s`` covers the second half of that round's hour
(``start = round_time(s) + HALF_ROUND``, one period of ``HALF_ROUND`` seconds), so it is open
before any block of the round could reach its start, and it ends exactly when round ``s + 1``
starts, when the oracle attests it. The dispute window is one round; the dispute timeout one round
too, and a timed-out dispute is ended in round ``s + 3`` (after every block of the round it was
opened in plus the timeout). The memory back end's clock reads each round's start.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

from ledger.errors import SettlementRejected
from ledger.signing import ROUND_SECONDS, ZERO_ADDRESS, round_time
from market.carbon import EnergySource

__all__ = [
    "HALF_ROUND",
    "DISPUTE_WINDOW",
    "DISPUTE_TIMEOUT",
    "CERTIFIED_AS",
    "OFFERS_PER_CALL",
    "ATTESTS_PER_CALL",
    "ACCEPTS_PER_CALL",
    "terms_bytes",
    "terms_salt",
    "terms_hash",
    "Terms",
    "GuaranteePlan",
    "GuaranteeState",
]

#: An agreement starts half a round after its round starts and lasts the other half.
HALF_ROUND = ROUND_SECONDS // 2
#: Seconds after an agreement ends in which a party may dispute (the contract's minimum, one round).
DISPUTE_WINDOW = ROUND_SECONDS
#: Seconds the operator has to resolve a dispute before anyone may end it with the default split.
DISPUTE_TIMEOUT = ROUND_SECONDS
#: The certificate source a generator registers with: a microgrid's solar and wind share one
#: meter, and it is certified as solar (its battery shifts solar energy into the evening).
CERTIFIED_AS: dict[EnergySource, EnergySource] = {
    EnergySource.SOLAR: EnergySource.SOLAR,
    EnergySource.WIND: EnergySource.WIND,
    EnergySource.HYDRO: EnergySource.HYDRO,
    EnergySource.BIOMASS: EnergySource.BIOMASS,
    EnergySource.GEOTHERMAL: EnergySource.GEOTHERMAL,
    EnergySource.MICROGRID: EnergySource.SOLAR,
}
_MAX_BATCH = 256
#: How many of a round's offers and attestations go in one call: their gas caps (360k an offer,
#: 200k an attestation) stay under a 30M block gas limit.
OFFERS_PER_CALL = 64
ATTESTS_PER_CALL = 128
#: How many acceptances go in one ``acceptManyFor`` (the contract's batch limit).
ACCEPTS_PER_CALL = _MAX_BATCH
_U128 = 2**128

# the contracts' enums
SERVICE_CODES = {"compute": 0, "network": 1, "energy": 2}
OFFERED, ACTIVE, DISPUTED, CLOSED = 1, 2, 3, 4
# ParticipantRegistry capacity bits
OPERATOR, COMPUTE_SUPPLIER, NETWORK_SUPPLIER, ENERGY_SUPPLIER, USER = 1, 2, 4, 8, 16
_SUPPLIER_ROLE = {0: COMPUTE_SUPPLIER, 1: NETWORK_SUPPLIER, 2: ENERGY_SUPPLIER}


def terms_bytes(terms: Mapping[str, Any]) -> bytes:
    """The confidential terms' bytes (canonical JSON), the ones the hash commits to."""
    return json.dumps(terms, sort_keys=True, separators=(",", ":")).encode()


def terms_salt(secret: bytes, seed: int, agreement_id: int) -> bytes:
    """The 32-byte salt of an agreement's terms commitment: keyed by the lab secret, so nobody
    without it can test guessed terms against the hash, and the same for the same run."""
    return hmac.new(secret, f"ccei-terms:{seed}:{agreement_id}".encode(), hashlib.sha256).digest()


def terms_hash(terms: bytes, salt: bytes) -> bytes:
    """``keccak256(salt || terms)``, as ``ServiceAgreements.revealTerms`` checks it."""
    return keccak(salt + terms)


@dataclass(frozen=True, slots=True)
class Terms:
    """An agreement's public terms as offered (``ServiceAgreements.Terms``)."""

    supplier: str
    buyer: str
    oracle: str
    service: int
    terms_hash: bytes
    start: int
    units: int
    payment: int
    penalty: int
    collateral: int
    period_seconds: int = HALF_ROUND
    dispute_window: int = DISPUTE_WINDOW
    dispute_timeout: int = DISPUTE_TIMEOUT

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple of ``ServiceAgreements.Terms`` (one period)."""
        return (
            self.buyer,
            self.oracle,
            self.service,
            self.terms_hash,
            self.start,
            1,
            self.period_seconds,
            self.units,
            self.payment,
            self.penalty,
            self.collateral,
            self.dispute_window,
            self.dispute_timeout,
        )


@dataclass(slots=True)
class GuaranteePlan:
    """One round's operations, in the order they run (addresses, not agent ids).

    Attributes:
        step: The round.
        attests: ``(agreement id, delivered)``, sent by the oracle.
        claims: ``(buyer, agreement id)``.
        disputes: ``(supplier, agreement id, terms, salt)``: opened and the terms revealed.
        resolves: ``(agreement id, payment to buyer, collateral to buyer)``, by the operator.
        expires: agreement ids whose dispute timed out.
        offers: this round's agreements' public terms (ids follow in this order).
        issues: ``(generator, Wh)`` metered this round.
        transfers: ``(generator, holder, certificate id, Wh)``, sent by the oracle platform (one
            ``safeTransferFromMany``, at most 256 a round).
        retires: ``(holder, certificate id, Wh)``, sent by the oracle platform (one ``retireMany``).
    """

    step: int
    attests: list[tuple[int, int]] = field(default_factory=list)
    claims: list[tuple[str, int]] = field(default_factory=list)
    disputes: list[tuple[str, int, bytes, bytes]] = field(default_factory=list)
    resolves: list[tuple[int, int, int]] = field(default_factory=list)
    expires: list[int] = field(default_factory=list)
    offers: list[Terms] = field(default_factory=list)
    issues: list[tuple[str, int]] = field(default_factory=list)
    transfers: list[tuple[str, str, int, int]] = field(default_factory=list)
    retires: list[tuple[str, int, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.attests, self.claims, self.disputes, self.resolves, self.expires, self.offers, self.issues, self.transfers, self.retires))


def grouped(pairs: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, list[Any]]]:
    """Runs of consecutive pairs with the same first element (one batched transaction each)."""
    current: str | None = None
    run: list[Any] = []
    for who, item in pairs:
        if who != current and run:
            yield current, run  # type: ignore[misc]
            run = []
        current = who
        run.append(item)
    if run:
        yield current, run  # type: ignore[misc]


@dataclass(slots=True)
class _Agreement:
    terms: Terms
    state: int = OFFERED
    attested: bool = False
    disputed_at: int = 0
    collateral_left: int = 0
    payment_held: int = 0
    compensation_owed: int = 0
    compensation: int = 0  # the period's (one period)
    claimed: bool = False


@dataclass(frozen=True, slots=True)
class Attested:
    """What an attestation moved (``PeriodAttested``)."""

    delivered: int
    to_supplier: int
    refund: int
    compensation: int


class GuaranteeState:
    """``ServiceAgreements`` and ``GreenCertificates`` (and the token wallets they draw on) in Python.

    Every method checks what the contract checks, in its order, and raises
    :class:`SettlementRejected` named after the contract's custom error; a refused operation
    changes nothing. Lower-case addresses key every book.
    """

    def __init__(self) -> None:
        self.roles: dict[str, int] = {}
        self.operator = ""
        self.oracles: set[str] = set()
        self.meters: set[str] = set()
        self.wallets: dict[str, int] = {}
        self.credit: dict[str, int] = {}
        self.agreements: dict[int, _Agreement] = {}
        self.generators: dict[str, EnergySource] = {}
        self.issued_for: dict[tuple[str, int], int] = {}
        self.certificates: dict[int, tuple[str, EnergySource, int, int]] = {}
        self.cert_balance: dict[tuple[int, str], int] = {}
        self.cert_retired: dict[tuple[int, str], int] = {}
        self.approved: set[tuple[str, str]] = set()  # (holder, operator) of setApprovalForAll
        self.brokers: set[tuple[str, str]] = set()  # (account, broker) of setBroker

    @classmethod
    def opened(
        cls,
        roles: Mapping[str, int],
        operator: str,
        oracle: str,
        wallets: Mapping[str, int],
        generators: Mapping[str, EnergySource],
    ) -> GuaranteeState:
        """The state right after guarantees open (every back end, the session and replay start
        from it): accounts in their registry capacities, the operator, the oracle designated (and
        given the meter role), the wallets funded, the generators registered, and every generator
        and compute supplier (the certificates' holders) approving the oracle platform to move and
        retire their certificates with the energy trades.

        Raises:
            SettlementRejected: a generator is no energy supplier.
        """
        state = cls()
        for account, capacity in roles.items():
            state.register(account, capacity)
        state.register(operator, OPERATOR)
        state.designate(operator, oracle)
        for account, amount in wallets.items():
            state.fund(account, amount)
        for account, source in generators.items():
            state.register_generator(account, source)
        for account in certificate_holders(roles, generators):
            state.approved.add((account.lower(), oracle.lower()))
        for account in wallets:
            state.brokers.add((account.lower(), oracle.lower()))
        return state

    # -- set-up ----------------------------------------------------------------------------------

    def register(self, account: str, roles: int) -> None:
        self.roles[account.lower()] = roles

    def fund(self, account: str, amount: int) -> None:
        """Mints ``amount`` into ``account``'s token wallet (approved for the agreements)."""
        self.wallets[account.lower()] = self.wallets.get(account.lower(), 0) + amount

    def designate(self, operator: str, oracle: str) -> None:
        """``operator`` runs the market; ``oracle`` attests deliveries and meters generation."""
        self.operator = operator.lower()
        self.oracles.add(oracle.lower())
        self.meters.add(oracle.lower())

    def register_generator(self, generator: str, source: EnergySource) -> None:
        if not self.roles.get(generator.lower(), 0) & ENERGY_SUPPLIER:
            raise SettlementRejected("NotEnergySupplier", generator)
        self.generators[generator.lower()] = CERTIFIED_AS[source]

    @property
    def agreement_count(self) -> int:
        return len(self.agreements)

    @property
    def certificate_count(self) -> int:
        return len(self.certificates)

    # -- ServiceAgreements -------------------------------------------------------------------------

    def _agreement(self, agreement_id: int) -> _Agreement:
        a = self.agreements.get(agreement_id)
        if a is None:
            raise SettlementRejected("UnknownAgreement", agreement_id)
        return a

    @staticmethod
    def _expect(agreement_id: int, a: _Agreement, state: int) -> None:
        if a.state != state:
            raise SettlementRejected("WrongState", agreement_id, a.state)

    def _pull(self, runs: Sequence[tuple[str, int]]) -> None:
        """Draws each run's amount from its account in order, all or none (one batched call's
        transfers, after its effects)."""
        after: dict[str, int] = {}
        for account, amount in runs:
            balance = after.get(account, self.wallets.get(account, 0))
            if balance < amount:
                raise SettlementRejected("ERC20InsufficientBalance", account, balance, amount)
            after[account] = balance - amount
        self.wallets.update(after)

    def _expect_broker(self, account: str, caller: str) -> None:
        if account != caller and (account, caller) not in self.brokers:
            raise SettlementRejected("NotBroker", account, caller)

    def offer_many(self, supplier: str, offers: Sequence[Terms], now: int) -> int:
        """``offerMany`` by ``supplier``; returns the first new id."""
        return self._offer(supplier.lower(), [(supplier.lower(), t) for t in offers], now)

    def offer_many_for(self, broker: str, offers: Sequence[Terms], now: int) -> int:
        """``offerManyFor`` by ``broker``, each offer for its ``supplier``; returns the first new id."""
        return self._offer(broker.lower(), [(t.supplier.lower(), t) for t in offers], now)

    def _offer(self, caller: str, offers: Sequence[tuple[str, Terms]], now: int) -> int:
        if len(offers) > _MAX_BATCH:
            raise SettlementRejected("BatchTooLarge", len(offers), _MAX_BATCH)
        first = len(self.agreements) + 1
        staged: list[_Agreement] = []
        runs: list[tuple[str, int]] = []
        for sender, t in offers:
            if not runs or runs[-1][0] != sender:
                self._expect_broker(sender, caller)
                runs.append((sender, 0))
            if not self.roles.get(sender, 0) & _SUPPLIER_ROLE[t.service]:
                raise SettlementRejected("NotSupplier", sender, t.service)
            if not self.roles.get(t.buyer.lower(), 0):
                raise SettlementRejected("NotRegistered", t.buyer)
            if t.buyer.lower() == sender:
                raise SettlementRejected("SelfDealing", sender)
            if t.period_seconds == 0 or t.units == 0:
                raise SettlementRejected("InvalidSchedule", 1, t.period_seconds, t.units)
            minimum = max(t.period_seconds, ROUND_SECONDS)
            if t.dispute_window < minimum:
                raise SettlementRejected("DisputeWindowTooShort", t.dispute_window, minimum)
            if t.dispute_timeout < ROUND_SECONDS:
                raise SettlementRejected("DisputeTimeoutTooShort", t.dispute_timeout, ROUND_SECONDS)
            if t.start <= now:
                raise SettlementRejected("StartInPast", t.start, now)
            if t.oracle != ZERO_ADDRESS and t.oracle.lower() not in self.oracles:
                raise SettlementRejected("OracleNotDesignated", t.oracle)
            staged.append(_Agreement(t, collateral_left=t.collateral))
            runs[-1] = (sender, runs[-1][1] + t.collateral)
        self._pull(runs)
        for a in staged:
            self.agreements[len(self.agreements) + 1] = a
        return first

    def accept_many(self, buyer: str, ids: Sequence[int], now: int) -> None:
        """``acceptMany`` by ``buyer``."""
        self._accept(buyer.lower(), ids, now, brokered=False)

    def accept_many_for(self, broker: str, ids: Sequence[int], now: int) -> None:
        """``acceptManyFor`` by ``broker``, each agreement for its buyer."""
        self._accept(broker.lower(), ids, now, brokered=True)

    def _accept(self, caller: str, ids: Sequence[int], now: int, *, brokered: bool) -> None:
        if len(ids) > _MAX_BATCH:
            raise SettlementRejected("BatchTooLarge", len(ids), _MAX_BATCH)
        runs: list[tuple[str, int]] = []
        seen: set[int] = set()
        for agreement_id in ids:
            a = self._agreement(agreement_id)
            buyer = a.terms.buyer.lower() if brokered else caller
            if not runs or runs[-1][0] != buyer:
                self._expect_broker(buyer, caller)
                runs.append((buyer, 0))
            if a.terms.buyer.lower() != buyer:
                raise SettlementRejected("NotParty", agreement_id, buyer)
            if agreement_id in seen:
                raise SettlementRejected("WrongState", agreement_id, ACTIVE)
            self._expect(agreement_id, a, OFFERED)
            if now >= a.terms.start:
                raise SettlementRejected("OfferLapsed", agreement_id, a.terms.start)
            seen.add(agreement_id)
            runs[-1] = (buyer, runs[-1][1] + a.terms.payment)
        self._pull(runs)
        for agreement_id in ids:
            a = self.agreements[agreement_id]
            a.payment_held = a.terms.payment
            a.state = ACTIVE

    def attest_many(self, oracle: str, attests: Sequence[tuple[int, int]], now: int) -> list[Attested]:
        """``attestMany`` of period 0 of each agreement; returns what each attestation moved."""
        if len(attests) > _MAX_BATCH:
            raise SettlementRejected("BatchTooLarge", len(attests), _MAX_BATCH)
        sender = oracle.lower()
        out: list[Attested] = []
        seen: set[int] = set()
        for agreement_id, delivered in attests:
            a = self._agreement(agreement_id)
            self._expect(agreement_id, a, ACTIVE)
            t = a.terms
            if t.oracle == ZERO_ADDRESS:
                if sender != t.buyer.lower():
                    raise SettlementRejected("NotAttester", agreement_id, oracle)
            elif sender != t.oracle.lower() or sender not in self.oracles:
                raise SettlementRejected("NotAttester", agreement_id, oracle)
            ends = t.start + t.period_seconds
            if now < ends:
                raise SettlementRejected("PeriodNotOver", agreement_id, 0, ends)
            if a.attested or agreement_id in seen:
                raise SettlementRejected("AlreadyAttested", agreement_id, 0)
            seen.add(agreement_id)
            counted = min(delivered, t.units)
            to_supplier = t.payment * counted // t.units
            compensation = min(t.penalty * (t.units - counted), a.collateral_left)
            out.append(Attested(counted, to_supplier, t.payment - to_supplier, compensation))
        for (agreement_id, _), result in zip(attests, out, strict=True):
            a = self.agreements[agreement_id]
            a.attested = True
            a.compensation = result.compensation
            a.payment_held -= a.terms.payment
            a.collateral_left -= result.compensation
            a.compensation_owed += result.compensation
            self._credit(a.terms.supplier, result.to_supplier)
            self._credit(a.terms.buyer, result.refund)
        return out

    def _credit(self, account: str, amount: int) -> None:
        if amount:
            key = account.lower()
            self.credit[key] = self.credit.get(key, 0) + amount

    def claim_many(self, buyer: str, ids: Sequence[int]) -> list[int]:
        """``claimCompensationMany`` (period 0 each); returns each amount claimed."""
        if len(ids) > _MAX_BATCH:
            raise SettlementRejected("BatchTooLarge", len(ids), _MAX_BATCH)
        sender = buyer.lower()
        seen: set[int] = set()
        amounts = []
        for agreement_id in ids:
            a = self._agreement(agreement_id)
            if a.terms.buyer.lower() != sender:
                raise SettlementRejected("NotParty", agreement_id, buyer)
            if a.compensation == 0:
                raise SettlementRejected("NothingToClaim", agreement_id, 0)
            if a.claimed or agreement_id in seen:
                raise SettlementRejected("AlreadyClaimed", agreement_id, 0)
            if a.compensation_owed < a.compensation:
                raise SettlementRejected("NothingToClaim", agreement_id, 0)
            seen.add(agreement_id)
            amounts.append(a.compensation)
        for agreement_id in ids:
            a = self.agreements[agreement_id]
            a.claimed = True
            a.compensation_owed -= a.compensation
            self._credit(buyer, a.compensation)
        return amounts

    def open_dispute(self, party: str, agreement_id: int, terms: bytes, salt: bytes, now: int) -> None:
        """``openDispute`` then ``revealTerms`` by ``party``."""
        a = self._agreement(agreement_id)
        sender = party.lower()
        if sender not in (a.terms.supplier.lower(), a.terms.buyer.lower()):
            raise SettlementRejected("NotParty", agreement_id, party)
        self._expect(agreement_id, a, ACTIVE)
        until = a.terms.start + a.terms.period_seconds + a.terms.dispute_window
        if now >= until:
            raise SettlementRejected("DisputeWindowClosed", agreement_id, until)
        if terms_hash(terms, salt) != a.terms.terms_hash:
            raise SettlementRejected("TermsMismatch", agreement_id)
        a.state = DISPUTED
        a.disputed_at = now

    def resolve(self, operator: str, agreement_id: int, payment_to_buyer: int, collateral_to_buyer: int) -> tuple[int, int]:
        """``resolveDispute``; returns (to buyer, to supplier)."""
        if not self.roles.get(operator.lower(), 0) & OPERATOR:
            raise SettlementRejected("NotOperator", operator)
        a = self._agreement(agreement_id)
        self._expect(agreement_id, a, DISPUTED)
        if payment_to_buyer > a.payment_held:
            raise SettlementRejected("ExceedsHeld", agreement_id, payment_to_buyer, a.payment_held)
        if collateral_to_buyer > a.collateral_left:
            raise SettlementRejected("ExceedsHeld", agreement_id, collateral_to_buyer, a.collateral_left)
        to_buyer = payment_to_buyer + collateral_to_buyer
        to_supplier = a.payment_held - payment_to_buyer + a.collateral_left - collateral_to_buyer
        a.payment_held = a.collateral_left = 0
        a.state = CLOSED
        self._credit(a.terms.buyer, to_buyer)
        self._credit(a.terms.supplier, to_supplier)
        return to_buyer, to_supplier

    def expire(self, agreement_id: int, now: int) -> tuple[int, int]:
        """``expireDispute``; returns (to buyer, to supplier)."""
        a = self._agreement(agreement_id)
        self._expect(agreement_id, a, DISPUTED)
        until = a.disputed_at + a.terms.dispute_timeout
        if now < until:
            raise SettlementRejected("DisputeNotTimedOut", agreement_id, until)
        to_buyer = a.payment_held + a.compensation_owed
        to_supplier = a.collateral_left
        a.payment_held = a.collateral_left = a.compensation_owed = 0
        a.state = CLOSED
        self._credit(a.terms.buyer, to_buyer)
        self._credit(a.terms.supplier, to_supplier)
        return to_buyer, to_supplier

    # -- GreenCertificates -------------------------------------------------------------------------

    def issue_many(self, meter: str, period: int, issues: Sequence[tuple[str, int]]) -> int:
        """``attestGenerationMany``; returns the first new certificate id."""
        if meter.lower() not in self.meters:
            raise SettlementRejected("AccessControlUnauthorizedAccount", meter, "METER_ROLE")
        if len(issues) > _MAX_BATCH:
            raise SettlementRejected("BatchTooLarge", len(issues), _MAX_BATCH)
        first = len(self.certificates) + 1
        staged: dict[tuple[str, int], int] = {}
        for n, (generator, wh) in enumerate(issues):
            key = generator.lower()
            if wh == 0:
                raise SettlementRejected("ZeroAmount")
            if key not in self.generators or not self.roles.get(key, 0) & ENERGY_SUPPLIER:
                raise SettlementRejected("NotGenerator", generator)
            earlier = self.issued_for.get((key, period)) or staged.get((key, period))
            if earlier:
                raise SettlementRejected("GenerationAlreadyAttested", generator, period, earlier)
            staged[(key, period)] = first + n
        for n, (generator, wh) in enumerate(issues):
            key = generator.lower()
            cid = first + n
            self.issued_for[(key, period)] = cid
            self.certificates[cid] = (key, self.generators[key], period, wh)
            self.cert_balance[(cid, key)] = wh
        return first

    def transfer(self, sender: str, holder: str, to: str, certificate_id: int, wh: int) -> None:
        """``safeTransferFrom(holder, to, id, wh)`` sent by ``sender`` (to an account without code;
        one entry of ``safeTransferFromMany``)."""
        if to.lower() == ZERO_ADDRESS.lower():
            raise SettlementRejected("ZeroAddress")
        self._move(sender, holder, to, certificate_id, wh)

    def retire(self, sender: str, holder: str, certificate_id: int, wh: int) -> None:
        """Retires ``holder``'s ``wh`` of ``certificate_id``, sent by ``sender`` (one entry of ``retireMany``)."""
        self._move(sender, holder, None, certificate_id, wh)

    def _move(self, operator: str, holder: str, to: str | None, certificate_id: int, wh: int) -> None:
        if wh == 0:
            raise SettlementRejected("ZeroAmount")
        if certificate_id not in self.certificates:
            raise SettlementRejected("UnknownCertificate", certificate_id)
        if operator.lower() != holder.lower() and (holder.lower(), operator.lower()) not in self.approved:
            raise SettlementRejected("NotApproved", operator, holder)
        key = (certificate_id, holder.lower())
        balance = self.cert_balance.get(key, 0)
        if balance < wh:
            raise SettlementRejected("InsufficientCertificates", holder, certificate_id, balance, wh)
        self.cert_balance[key] = balance - wh
        if to is None:
            self.cert_retired[key] = self.cert_retired.get(key, 0) + wh
        else:
            dest = (certificate_id, to.lower())
            self.cert_balance[dest] = self.cert_balance.get(dest, 0) + wh

    # -- a round -------------------------------------------------------------------------------

    def apply(self, plan: GuaranteePlan, operator: str, oracle: str, now: int | None = None) -> None:
        """Runs a round's operations in order (see the module docstring), all or nothing per
        operation as on chain; the first refused one raises.

        Raises:
            SettlementRejected: an operation breaks a rule (named as the contract's error).
        """
        now = round_time(plan.step) if now is None else now
        if plan.attests:
            for start in range(0, len(plan.attests), ATTESTS_PER_CALL):
                self.attest_many(oracle, plan.attests[start : start + ATTESTS_PER_CALL], now)
        for buyer, ids in grouped(plan.claims):
            self.claim_many(buyer, ids)
        for party, agreement_id, terms, salt in plan.disputes:
            self.open_dispute(party, agreement_id, terms, salt, now)
        for agreement_id, pay, coll in plan.resolves:
            self.resolve(operator, agreement_id, pay, coll)
        for agreement_id in plan.expires:
            self.expire(agreement_id, now)
        first = self.agreement_count + 1
        for start in range(0, len(plan.offers), OFFERS_PER_CALL):
            self.offer_many_for(oracle, plan.offers[start : start + OFFERS_PER_CALL], now)
        accepts = [agreement_id for _, agreement_id in accept_order(plan.offers, first)]
        for start in range(0, len(accepts), ACCEPTS_PER_CALL):
            self.accept_many_for(oracle, accepts[start : start + ACCEPTS_PER_CALL], now)
        if plan.issues:
            self.issue_many(oracle, plan.step, plan.issues)
        if len(plan.transfers) > _MAX_BATCH or len(plan.retires) > _MAX_BATCH:
            raise SettlementRejected("BatchTooLarge", max(len(plan.transfers), len(plan.retires)), _MAX_BATCH)
        for holder, to, cid, wh in plan.transfers:
            self.transfer(oracle, holder, to, cid, wh)
        for holder, cid, wh in plan.retires:
            self.retire(oracle, holder, cid, wh)

    def holdings(self) -> dict[str, int]:
        """Every non-zero holding in these contracts, keyed for the balances digest: ``wallet:``,
        ``credit:`` by address, ``agreement:ID`` (collateral, payment and compensation it still
        holds), ``certificate:ID:address`` and ``retired:ID:address`` (Wh)."""
        out: dict[str, int] = {}
        for account, amount in self.wallets.items():
            if amount:
                out[f"wallet:{account}"] = amount
        for account, amount in self.credit.items():
            if amount:
                out[f"credit:{account}"] = amount
        for agreement_id, a in self.agreements.items():
            held = a.collateral_left + a.payment_held + a.compensation_owed
            if held:
                out[f"agreement:{agreement_id}"] = held
        for (cid, account), wh in self.cert_balance.items():
            if wh:
                out[f"certificate:{cid}:{account}"] = wh
        for (cid, account), wh in self.cert_retired.items():
            if wh:
                out[f"retired:{cid}:{account}"] = wh
        return out


def certificate_holders(roles: Mapping[str, int], generators: Mapping[str, Any]) -> list[str]:
    """Who holds certificates and lets the oracle platform move and retire them: the generators
    and the compute suppliers (data centres), in the order given."""
    return [a for a in roles if a in generators or roles[a] & COMPUTE_SUPPLIER]


def accept_order(offers: Sequence[Terms], first: int) -> list[tuple[str, int]]:
    """``(buyer, agreement id)`` of a round's offers (ids from ``first`` in offer order), sorted by
    buyer so that ``acceptManyFor`` draws each buyer's payments in one transfer."""
    pairs = [(t.buyer, first + n) for n, t in enumerate(offers)]
    return sorted(pairs, key=lambda p: (p[0].lower(), p[1]))
