"""Replaying a log's guarantee contracts and green certificates (the lines
:mod:`ledger.guarantee_log` writes).

Each line is re-executed on a Python twin of the contracts (:class:`~ledger.guarantees.GuaranteeState`)
as it is read, and what it says it moved is checked against what the twin moved: an agreement's
number, parties, roles and hash; an attestation's payment, refund and compensation; a breach's
shortfall; a claim's amount; a dispute's revealed terms against the committed hash and each
side's share; a certificate's number, source and transfers; a retirement against the holder's
balance (no Wh is claimed twice). Where the side file of confidential terms lies beside the log
(``terms.jsonl``), each agreement's hash must commit to the terms and salt it holds. Each round's operations are then run on the replay's back end
as one plan (:meth:`~ledger.backends.SettlementBackend.apply_guarantees`), so the final holdings
enter the balances digest the close line is checked against.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ledger.errors import SettlementRejected
from ledger.guarantee_log import ROLE_CAPACITY
from ledger.guarantees import (
    SERVICE_CODES,
    Attested,
    GuaranteePlan,
    GuaranteeState,
    Terms,
    terms_hash,
)
from ledger.signing import round_time
from ledger.tradelog import LogTampered
from market.carbon import EnergySource
from market.guarantees import Role

__all__ = ["GuaranteeReplay", "deposit_extras"]

#: The side file of confidential terms beside a log (``experiments.run.TERMS`` writes it).
SIDE_FILE = "terms.jsonl"
_ROLES = {role.value: role for role in Role}
_SOURCES = {source.value: source for source in EnergySource}


def deposit_extras(log: Path, line: int, entry: dict[str, Any]) -> tuple[Role, int, EnergySource | None, bool]:
    """A deposit line's role, token wallet, certified source and oracle flag (checked)."""
    role = _ROLES.get(entry.get("role", "user"))
    if role is None:
        raise LogTampered(log, line, "role", f"{entry.get('role')!r} is no role of the market ({', '.join(_ROLES)})")
    wallet = entry.get("wallet", 0)
    if type(wallet) is not int or wallet < 0:
        raise LogTampered(log, line, "wallet", f"{wallet!r} is no amount")
    source = entry.get("source")
    if source is not None and source not in _SOURCES:
        raise LogTampered(log, line, "source", f"{source!r} is no energy source")
    oracle = entry.get("oracle", False)
    if oracle is not False and oracle is not True:
        raise LogTampered(log, line, "oracle", f"{oracle!r} is not true or false")
    if oracle and role is not Role.PLATFORM:
        raise LogTampered(log, line, "oracle", "only a platform attests deliveries")
    return role, wallet, _SOURCES[source] if source else None, oracle


def _side_file(log: Path) -> dict[int, tuple[bytes, bytes]] | None:
    """The confidential terms and salts in the side file beside the log, by agreement (``None``
    when there is none: a log travels without it, and its terms stay confidential)."""
    path = log.parent / SIDE_FILE
    if not path.is_file():
        return None
    out: dict[int, tuple[bytes, bytes]] = {}
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(raw)
            out[int(row["agreement_id"])] = (str(row["terms"]).encode(), bytes.fromhex(str(row["salt"]).removeprefix("0x")))
        except (ValueError, KeyError, TypeError):
            raise LogTampered(path, n, "terms", "is no line of agreement_id, salt and terms") from None
    return out


def _int(log: Path, line: int, entry: dict[str, Any], name: str, low: int = 0) -> int:
    value = entry.get(name)
    if type(value) is not int or value < low:
        raise LogTampered(log, line, name, f"{value!r} is not an integer of at least {low}")
    return value


def _hex(log: Path, line: int, entry: dict[str, Any], name: str, size: int = 32) -> bytes:
    raw = entry.get(name)
    try:
        value = bytes.fromhex(str(raw).removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != size or not str(raw).startswith("0x"):
        raise LogTampered(log, line, name, f"{raw!r} is no 0x-prefixed {size}-byte hex string")
    return value


class GuaranteeReplay:
    """Checks and collects a log's guarantee lines, round by round (see the module docstring).

    Args:
        log: The log (for messages).
        address: Agent id to address.
        roles: Each agent's role.
        wallets: Token wallets by agent.
        generators: Certified sources by agent.
        oracle: The oracle agent.
        operator: The operator's address on the replay's back end.
    """

    def __init__(
        self,
        log: Path,
        address: Callable[[Any], str],
        roles: Mapping[Any, Role],
        wallets: Mapping[int, int],
        generators: Mapping[int, EnergySource],
        oracle: int,
        operator: str,
    ) -> None:
        self.log = log
        self.address = address
        self.roles = roles
        self.oracle = address(oracle)
        self.operator = operator
        try:
            self.state = GuaranteeState.opened(
                {address(a): int(ROLE_CAPACITY[role]) for a, role in roles.items()},
                operator,
                self.oracle,
                {address(a): amount for a, amount in wallets.items()},
                {address(a): source for a, source in generators.items()},
            )
        except SettlementRejected as exc:
            raise LogTampered(log, 1, "source", f"a certified source for {exc.args_[0]}, which is no energy supplier") from None
        self.side = _side_file(log)
        self.plan: GuaranteePlan | None = None
        self.first_line = 0
        self._parties: dict[int, tuple[int, int, int]] = {}  # id -> supplier, buyer, units
        self._attested: dict[int, tuple[int, Attested]] = {}  # this round's attestations: id -> (line, result)
        self._breached: set[int] = set()
        self.handlers: dict[str, Callable[[int, dict[str, Any], int], None]] = {
            "agreement": self._agreement,
            "delivery": self._delivery,
            "breach": self._breach,
            "claim": self._claim,
            "dispute": self._dispute,
            "certificate": self._certificate,
            "retire": self._retire,
        }

    def handle(self, kind: str, line: int, entry: dict[str, Any], step: int) -> None:
        if self.plan is None:
            self.plan, self.first_line = GuaranteePlan(step), line
        try:
            self.handlers[kind](line, entry, step)
        except SettlementRejected as exc:
            raise LogTampered(self.log, line, "kind", f"the contracts refuse it: {exc.reason}({', '.join(map(str, exc.args_))})") from None

    def end_round(self) -> GuaranteePlan | None:
        """Closes the round being read: every shortfall has its breach line; returns its plan."""
        for agreement_id, (line, result) in self._attested.items():
            if result.delivered < self._parties[agreement_id][2] and agreement_id not in self._breached:
                raise LogTampered(self.log, line, "delivered", f"a shortfall of agreement {agreement_id} without its breach line")
        self._attested.clear()
        self._breached.clear()
        plan, self.plan = self.plan, None
        return plan

    def _agent_of(self, line: int, entry: dict[str, Any], name: str) -> int:
        agent = _int(self.log, line, entry, name)
        if agent not in self.roles:
            raise LogTampered(self.log, line, name, f"agent {agent} made no deposit")
        return agent

    def _known(self, line: int, entry: dict[str, Any]) -> int:
        agreement_id = _int(self.log, line, entry, "agreement_id", 1)
        if agreement_id not in self._parties:
            raise LogTampered(self.log, line, "agreement_id", f"agreement {agreement_id} was never opened")
        return agreement_id

    def _agreement(self, line: int, entry: dict[str, Any], step: int) -> None:
        log, state = self.log, self.state
        expected = state.agreement_count + 1
        if entry.get("agreement_id") != expected:
            raise LogTampered(log, line, "agreement_id", f"{entry.get('agreement_id')!r} is not the next agreement ({expected})")
        supplier, buyer = self._agent_of(line, entry, "supplier"), self._agent_of(line, entry, "buyer")
        service = SERVICE_CODES.get(entry.get("service"))  # type: ignore[arg-type]
        if service is None:
            raise LogTampered(log, line, "service", f"{entry.get('service')!r} is no service ({', '.join(SERVICE_CODES)})")
        units = _int(log, line, entry, "units", 1)
        terms = Terms(
            self.address(supplier),
            self.address(buyer),
            self.oracle,
            service,
            _hex(log, line, entry, "terms_hash"),
            _int(log, line, entry, "start"),
            units,
            _int(log, line, entry, "payment"),
            _int(log, line, entry, "penalty"),
            _int(log, line, entry, "collateral"),
        )
        if self.side is not None:
            revealed = self.side.get(expected)
            if revealed is None or terms_hash(*revealed) != terms.terms_hash:
                raise LogTampered(log, line, "terms_hash", f"does not commit to agreement {expected}'s terms in {SIDE_FILE} beside the log")
        now = round_time(step)
        state.offer_many(terms.supplier, [terms], now)
        state.accept_many(terms.buyer, [expected], now)
        self._parties[expected] = (supplier, buyer, units)
        self.plan.offers.append(terms)  # type: ignore[union-attr]

    def _delivery(self, line: int, entry: dict[str, Any], step: int) -> None:
        agreement_id = self._known(line, entry)
        delivered = _int(self.log, line, entry, "delivered")
        (result,) = self.state.attest_many(self.oracle, [(agreement_id, delivered)], round_time(step))
        for name in ("delivered", "to_supplier", "refund", "compensation"):
            if entry.get(name) != getattr(result, name):
                raise LogTampered(self.log, line, name, f"the attestation moves {getattr(result, name)}, not {entry.get(name)!r}")
        self._attested[agreement_id] = (line, result)
        self.plan.attests.append((agreement_id, delivered))  # type: ignore[union-attr]

    def _breach(self, line: int, entry: dict[str, Any], step: int) -> None:
        agreement_id = self._known(line, entry)
        found = self._attested.get(agreement_id)
        if found is None or agreement_id in self._breached:
            raise LogTampered(self.log, line, "agreement_id", f"agreement {agreement_id} has no attestation of this round to breach")
        shortfall = self._parties[agreement_id][2] - found[1].delivered
        if shortfall == 0 or entry.get("shortfall") != shortfall or entry.get("compensation") != found[1].compensation:
            raise LogTampered(self.log, line, "shortfall", f"the attestation was {shortfall} short with {found[1].compensation} compensation")
        self._breached.add(agreement_id)

    def _claim(self, line: int, entry: dict[str, Any], step: int) -> None:
        agreement_id = self._known(line, entry)
        buyer = self._parties[agreement_id][1]
        if entry.get("buyer") != buyer:
            raise LogTampered(self.log, line, "buyer", f"agent {buyer} is the buyer of agreement {agreement_id}")
        (amount,) = self.state.claim_many(self.address(buyer), [agreement_id])
        if entry.get("amount") != amount:
            raise LogTampered(self.log, line, "amount", f"the claim pays {amount}, not {entry.get('amount')!r}")
        self.plan.claims.append((self.address(buyer), agreement_id))  # type: ignore[union-attr]

    def _dispute(self, line: int, entry: dict[str, Any], step: int) -> None:
        agreement_id = self._known(line, entry)
        action = entry.get("action")
        state, plan = self.state, self.plan
        if action == "open":
            by = self._agent_of(line, entry, "by")
            terms = entry.get("terms")
            if not isinstance(terms, str):
                raise LogTampered(self.log, line, "terms", "the revealed terms are no text")
            salt = _hex(self.log, line, entry, "salt")
            state.open_dispute(self.address(by), agreement_id, terms.encode(), salt, round_time(step))
            plan.disputes.append((self.address(by), agreement_id, terms.encode(), salt))  # type: ignore[union-attr]
            return
        if action == "resolve":
            pay, coll = _int(self.log, line, entry, "payment_to_buyer"), _int(self.log, line, entry, "collateral_to_buyer")
            split = state.resolve(self.operator, agreement_id, pay, coll)
            plan.resolves.append((agreement_id, pay, coll))  # type: ignore[union-attr]
        elif action == "timeout":
            split = state.expire(agreement_id, round_time(step))
            plan.expires.append(agreement_id)  # type: ignore[union-attr]
        else:
            raise LogTampered(self.log, line, "action", f"{action!r} is not open, resolve or timeout")
        if (entry.get("to_buyer"), entry.get("to_supplier")) != split:
            raise LogTampered(self.log, line, "to_buyer", f"the dispute ends with {split[0]} to the buyer and {split[1]} to the supplier")

    def _certificate(self, line: int, entry: dict[str, Any], step: int) -> None:
        log, state = self.log, self.state
        generator = self._agent_of(line, entry, "generator")
        wh = _int(log, line, entry, "wh", 1)
        expected = state.certificate_count + 1
        if entry.get("certificate_id") != expected:
            raise LogTampered(log, line, "certificate_id", f"{entry.get('certificate_id')!r} is not the next certificate ({expected})")
        state.issue_many(self.oracle, step, [(self.address(generator), wh)])
        if entry.get("source") != state.certificates[expected][1].value:
            raise LogTampered(log, line, "source", f"agent {generator} is certified for {state.certificates[expected][1].value}")
        self.plan.issues.append((self.address(generator), wh))  # type: ignore[union-attr]
        transfers = entry.get("transfers")
        if not isinstance(transfers, list):
            raise LogTampered(log, line, "transfers", "is no list of [holder, Wh]")
        for item in transfers:
            if not (isinstance(item, list) and len(item) == 2 and all(type(v) is int and v > 0 for v in item) and item[0] in self.roles):
                raise LogTampered(log, line, "transfers", f"{item!r} is no [holder, Wh] of a known agent")
            holder = self.address(item[0])
            state.transfer(self.oracle, self.address(generator), holder, expected, item[1])
            self.plan.transfers.append((self.address(generator), holder, expected, item[1]))  # type: ignore[union-attr]

    def _retire(self, line: int, entry: dict[str, Any], step: int) -> None:
        holder = self._agent_of(line, entry, "holder")
        cid, wh = _int(self.log, line, entry, "certificate_id", 1), _int(self.log, line, entry, "wh", 1)
        self.state.retire(self.oracle, self.address(holder), cid, wh)
        self.plan.retires.append((self.address(holder), cid, wh))  # type: ignore[union-attr]

