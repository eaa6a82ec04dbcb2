"""Turning a model's guarantee records into a round's operations and its log lines.

:class:`GuaranteeLog` keeps the schedule a guarantee contract follows after the round it is opened
in (``s``): the oracle attests its delivery in ``s + 1`` and the buyer claims a shortfall's
compensation at once, unless the supplier disputes the attestation, revealing the terms; a
dispute the operator resolves ends in ``s + 2`` (the buyer claims its compensation, the operator
returns the rest of the collateral to the supplier: the oracle's attestation is upheld), one
nobody resolves is ended in ``s + 3`` with the contract's default split. It numbers agreements and
certificates as the contracts will, works out what each operation moves on a Python twin of the
contracts (:class:`~ledger.guarantees.GuaranteeState`), and writes one line per fact:

- ``agreement``: a guarantee contract offered and accepted (parties by agent id, service, units,
  payment, penalty per unit, collateral, start, the terms' hash);
- ``delivery``: the oracle's attestation (units delivered, paid to the supplier, refunded to the
  buyer, compensation set aside from the collateral); ``breach``: the shortfall of one;
- ``claim``: a buyer claims a compensation; ``dispute``: opened (with the revealed terms and
  salt), resolved, or timed out (what each side got);
- ``certificate``: Wh of renewable generation metered and issued to its generator, with the
  transfers that travel with green energy trades; ``retire``: a holder retires Wh of one.

The confidential terms go to a side file beside the log (``terms.jsonl``), never into the log
until a dispute reveals them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ledger.contracts import Capacity
from ledger.errors import SettlementRejected
from ledger.guarantees import (
    DISPUTE_TIMEOUT,
    HALF_ROUND,
    SERVICE_CODES,
    GuaranteePlan,
    GuaranteeState,
    Terms,
    accept_order,
    grouped,
    terms_bytes,
    terms_hash,
    terms_salt,
)
from ledger.signing import ROUND_SECONDS, round_time
from market.guarantees import (
    DeliveryRecord,
    DisputeOutcome,
    GuaranteeRound,
    GuaranteeSetup,
    Role,
)
from market.orders import AgentId, Resource

if TYPE_CHECKING:
    from ledger.session import LedgerSession

__all__ = ["ROLE_CAPACITY", "CAPACITY_ROLE", "deposit_fields", "GuaranteeLog", "GuaranteeTotals"]

#: The registry capacity of each role (platforms operate the market).
ROLE_CAPACITY: dict[Role, Capacity] = {
    Role.USER: Capacity.USER,
    Role.COMPUTE: Capacity.COMPUTE_SUPPLIER,
    Role.NETWORK: Capacity.NETWORK_SUPPLIER,
    Role.ENERGY: Capacity.ENERGY_SUPPLIER,
    Role.PLATFORM: Capacity.OPERATOR,
}
CAPACITY_ROLE = {capacity: role for role, capacity in ROLE_CAPACITY.items()}
_SERVICE_OF = {Resource.COMPUTE: "compute", Resource.NETWORK: "network", Resource.ENERGY: "energy"}
# expiring a dispute waits for the round after its timeout: every block of the round it was
# opened in lies before the next round starts
_EXPIRE_AFTER = 1 + -(-DISPUTE_TIMEOUT // ROUND_SECONDS)


def deposit_fields(agent: AgentId, address: str, amount: int, role: Role, setup: GuaranteeSetup | None) -> dict[str, Any]:
    """A deposit line's fields: agent, address, escrow amount, and only where they apply the
    agent's role (not a plain user), its token wallet, its certified source and ``oracle``."""
    fields: dict[str, Any] = {"agent": int(agent), "address": address, "amount": amount}
    if role is not Role.USER:
        fields["role"] = role.value
    if setup is not None:
        wallet = setup.wallets.get(agent, 0)
        if wallet:
            fields["wallet"] = wallet
        source = setup.generators.get(agent)
        if source is not None:
            fields["source"] = source.value
        if agent == setup.oracle:
            fields["oracle"] = True
    return fields


class GuaranteeTotals:
    """What the run's guarantees and certificates came to (for ``summary.json``)."""

    def __init__(self) -> None:
        self.agreements = 0
        self.breaches = 0
        self.compensation_micro = 0
        self.disputes = 0
        self.certificates_issued_wh = 0
        self.certificates_retired_wh = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "agreements": self.agreements,
            "breaches": self.breaches,
            "compensation_micro": self.compensation_micro,
            "disputes": self.disputes,
            "certificates_issued_wh": self.certificates_issued_wh,
            "certificates_retired_wh": self.certificates_retired_wh,
        }


class GuaranteeLog:
    """Plans each round's guarantee operations and their log lines (see the module docstring).

    Args:
        session: The ledger session (its back end's addresses, seed and the lab secret).
        setup: The oracle, wallets and generators.
        capacities: Every account's registry capacity.
    """

    def __init__(self, session: LedgerSession, setup: GuaranteeSetup, capacities: Mapping[AgentId, Capacity]) -> None:
        self.session = session
        backend = session.backend
        self.address = session._address_of
        self.seed = backend.seed
        self.secret = session._secret
        self.oracle = self.address(setup.oracle)
        self.operator = backend.operator_address
        address = self.address
        self.state = GuaranteeState.opened(
            {address(a): int(c) for a, c in capacities.items()},
            self.operator,
            self.oracle,
            {address(a): amount for a, amount in setup.wallets.items()},
            {address(a): source for a, source in setup.generators.items()},
        )
        self.totals = GuaranteeTotals()
        self._parties: dict[int, tuple[AgentId, AgentId, bytes, bytes]] = {}  # id -> supplier, buyer, terms, salt
        self._attest: dict[int, list[tuple[int, DeliveryRecord]]] = {}
        self._claim: dict[int, list[int]] = {}
        self._resolve: dict[int, list[int]] = {}
        self._expire: dict[int, list[int]] = {}

    def plan(self, step: int, round_: GuaranteeRound) -> tuple[GuaranteePlan, list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
        """The round's operations, its log lines (kind, fields) and its side-file rows (terms).

        Raises:
            SettlementRejected: the records break a contract rule (the twin refuses them).
        """
        plan = GuaranteePlan(step)
        lines: list[tuple[str, dict[str, Any]]] = []
        now = round_time(step)
        state, totals = self.state, self.totals
        claims = self._claim.pop(step, [])
        disputes: list[tuple[int, DisputeOutcome]] = []

        due = self._attest.pop(step, [])
        if due:
            plan.attests = [(agreement_id, record.delivered) for agreement_id, record in due]
            results = state.attest_many(self.oracle, plan.attests, now)
            for (agreement_id, record), r in zip(due, results, strict=True):
                lines.append(
                    (
                        "delivery",
                        {
                            "agreement_id": agreement_id,
                            "delivered": r.delivered,
                            "to_supplier": r.to_supplier,
                            "refund": r.refund,
                            "compensation": r.compensation,
                        },
                    )
                )
                units = state.agreements[agreement_id].terms.units
                if r.delivered < units:
                    totals.breaches += 1
                    lines.append(("breach", {"agreement_id": agreement_id, "shortfall": units - r.delivered, "compensation": r.compensation}))
                    if r.compensation and record.dispute is None:
                        claims.append(agreement_id)
                    elif r.compensation:
                        disputes.append((agreement_id, record.dispute))  # type: ignore[arg-type]

        claims.sort(key=lambda i: (self.address(self._parties[i][1]).lower(), i))
        plan.claims = [(self.address(self._parties[i][1]), i) for i in claims]
        for buyer, ids in grouped(plan.claims):
            for agreement_id, amount in zip(ids, state.claim_many(buyer, ids), strict=True):
                totals.compensation_micro += amount
                lines.append(("claim", {"agreement_id": agreement_id, "buyer": int(self._parties[agreement_id][1]), "amount": amount}))

        for agreement_id, outcome in disputes:
            supplier, _, terms, salt = self._parties[agreement_id]
            state.open_dispute(self.address(supplier), agreement_id, terms, salt, now)
            plan.disputes.append((self.address(supplier), agreement_id, terms, salt))
            totals.disputes += 1
            lines.append(
                ("dispute", {"agreement_id": agreement_id, "action": "open", "by": int(supplier), "terms": terms.decode(), "salt": "0x" + salt.hex()})
            )
            if outcome is DisputeOutcome.RESOLVED:
                self._claim.setdefault(step + 1, []).append(agreement_id)
                self._resolve.setdefault(step + 1, []).append(agreement_id)
            else:
                self._expire.setdefault(step + _EXPIRE_AFTER, []).append(agreement_id)

        for agreement_id in self._resolve.pop(step, []):
            to_buyer, to_supplier = state.resolve(self.operator, agreement_id, 0, 0)
            plan.resolves.append((agreement_id, 0, 0))
            lines.append(
                (
                    "dispute",
                    {
                        "agreement_id": agreement_id,
                        "action": "resolve",
                        "payment_to_buyer": 0,
                        "collateral_to_buyer": 0,
                        "to_buyer": to_buyer,
                        "to_supplier": to_supplier,
                    },
                )
            )
        for agreement_id in self._expire.pop(step, []):
            owed = state.agreements[agreement_id].compensation_owed
            to_buyer, to_supplier = state.expire(agreement_id, now)
            totals.compensation_micro += owed
            plan.expires.append(agreement_id)
            lines.append(("dispute", {"agreement_id": agreement_id, "action": "timeout", "to_buyer": to_buyer, "to_supplier": to_supplier}))

        side = self._offers(step, round_, plan, lines, now)
        self._certificates(step, round_, plan, lines)
        return plan, lines, side

    def _offers(
        self, step: int, round_: GuaranteeRound, plan: GuaranteePlan, lines: list[tuple[str, dict[str, Any]]], now: int
    ) -> list[dict[str, Any]]:
        """This round's agreements, numbered in offer order (grouped by supplier: one ``offerMany`` each)."""
        state = self.state
        records = sorted(round_.agreements, key=lambda r: int(r.supplier))  # stable: the model's order within a supplier
        first = state.agreement_count + 1
        ids: dict[int, int] = {}
        side: list[dict[str, Any]] = []
        start = round_time(step) + HALF_ROUND
        for n, r in enumerate(records):
            agreement_id = first + n
            ids[r.agreement_id] = agreement_id
            raw = terms_bytes(r.terms)
            salt = terms_salt(self.secret, self.seed, agreement_id)
            digest = terms_hash(raw, salt)
            self._parties[agreement_id] = (r.supplier, r.buyer, raw, salt)
            plan.offers.append(
                Terms(
                    self.address(r.supplier),
                    self.address(r.buyer),
                    self.oracle,
                    SERVICE_CODES[_SERVICE_OF[r.resource]],
                    digest,
                    start,
                    r.units,
                    r.payment_micro,
                    r.penalty_micro_per_unit,
                    r.collateral_micro,
                )
            )
            side.append({"agreement_id": agreement_id, "salt": "0x" + salt.hex(), "terms": raw.decode(), "step": step})
            lines.append(
                (
                    "agreement",
                    {
                        "agreement_id": agreement_id,
                        "supplier": int(r.supplier),
                        "buyer": int(r.buyer),
                        "service": _SERVICE_OF[r.resource],
                        "units": r.units,
                        "payment": r.payment_micro,
                        "penalty": r.penalty_micro_per_unit,
                        "collateral": r.collateral_micro,
                        "start": start,
                        "terms_hash": "0x" + digest.hex(),
                    },
                )
            )
        for supplier, offers in grouped((t.supplier, t) for t in plan.offers):
            state.offer_many(supplier, offers, now)
        for buyer, batch in grouped(accept_order(plan.offers, first)):
            state.accept_many(buyer, batch, now)
        self.totals.agreements += len(records)
        for d in round_.deliveries:
            self._attest.setdefault(step + 1, []).append((ids[d.agreement_id], d))
        return side

    def _certificates(self, step: int, round_: GuaranteeRound, plan: GuaranteePlan, lines: list[tuple[str, dict[str, Any]]]) -> None:
        """Issuance for the round's metered generation, the transfers with green trades (one per
        generator and holder), the retirements (one per holder and certificate)."""
        state, totals = self.state, self.totals
        plan.issues = [(self.address(g.generator), g.wh) for g in round_.generation if g.wh > 0]
        if not plan.issues:
            if round_.transfers or round_.retirements:
                raise SettlementRejected("UnknownCertificate", 0)
            return
        first = state.issue_many(self.oracle, step, plan.issues)
        cid_of = {g.generator: first + n for n, g in enumerate(g for g in round_.generation if g.wh > 0)}
        moved: dict[tuple[AgentId, AgentId], int] = {}
        for t in round_.transfers:
            moved[(t.generator, t.holder)] = moved.get((t.generator, t.holder), 0) + t.wh
        by_generator: dict[AgentId, list[list[int]]] = {}
        for (generator, holder), wh in moved.items():
            if wh > 0:
                cid = cid_of.get(generator, 0)
                state.transfer(self.oracle, self.address(generator), self.address(holder), cid, wh)
                plan.transfers.append((self.address(generator), self.address(holder), cid, wh))
                by_generator.setdefault(generator, []).append([int(holder), wh])
        for g in round_.generation:
            if g.wh > 0:
                totals.certificates_issued_wh += g.wh
                source = state.certificates[cid_of[g.generator]][1]
                lines.append(
                    (
                        "certificate",
                        {
                            "certificate_id": cid_of[g.generator],
                            "generator": int(g.generator),
                            "source": source.value,
                            "wh": g.wh,
                            "transfers": by_generator.get(g.generator, []),
                        },
                    )
                )
        retired: dict[tuple[AgentId, AgentId], int] = {}
        for r in round_.retirements:
            retired[(r.holder, r.generator)] = retired.get((r.holder, r.generator), 0) + r.wh
        for (holder, generator), wh in retired.items():
            if wh > 0:
                cid = cid_of.get(generator, 0)
                state.retire(self.oracle, self.address(holder), cid, wh)
                plan.retires.append((self.address(holder), cid, wh))
                totals.certificates_retired_wh += wh
                lines.append(("retire", {"holder": int(holder), "certificate_id": cid, "wh": wh}))
