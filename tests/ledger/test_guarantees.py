"""Guarantee contracts and green certificates in the market loop: the Python twin refuses what the
contracts refuse, memory and eth-tester write the same log, replay checks every line's meaning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from experiments.run import run
from experiments.scenarios import load_scenario
from ledger.backends import ChainBackend, MemoryBackend
from ledger.chain import connect
from ledger.contracts import Capacity, ContractReverted
from ledger.errors import SettlementRejected
from ledger.guarantees import HALF_ROUND, GuaranteePlan, Terms, terms_hash
from ledger.replay import replay
from ledger.signing import round_time
from ledger.tradelog import LogTampered
from market.carbon import EnergySource
from market.orders import AgentId
from tests.ledger.test_tamper import SEAL_FIELDS, forge, index, refused

SMALL = ["n_users=8"]
SUPPLIER, BUYER, ORACLE, GENERATOR, HOLDER = (AgentId(n) for n in range(1, 6))
ROLES = {
    SUPPLIER: Capacity.COMPUTE_SUPPLIER,
    BUYER: Capacity.USER,
    ORACLE: Capacity.OPERATOR,
    GENERATOR: Capacity.ENERGY_SUPPLIER,
    HOLDER: Capacity.COMPUTE_SUPPLIER,
}
TERMS, SALT = b'{"task":1}', b"\x07" * 32


def _open(backend: Any) -> Any:
    backend.open_accounts(dict.fromkeys(ROLES, 10**9), ROLES)
    backend.open_guarantees(ORACLE, {SUPPLIER: 10**6, BUYER: 10**6}, {GENERATOR: EnergySource.SOLAR}, ROLES)
    return backend


def _offer(backend: Any, step: int, **changes: Any) -> Terms:
    fields: dict[str, Any] = {
        "supplier": backend.address(SUPPLIER),
        "buyer": backend.address(BUYER),
        "oracle": backend.address(ORACLE),
        "service": 0,
        "terms_hash": terms_hash(TERMS, SALT),
        "start": round_time(step) + HALF_ROUND,
        "units": 10,
        "payment": 1_000,
        "penalty": 50,
        "collateral": 500,
    }
    return Terms(**{**fields, **changes})


@pytest.fixture(scope="module")
def pair() -> tuple[MemoryBackend, ChainBackend]:
    """The twin and the contracts after one good round: agreement 1 (10 units, attested 4 in
    round 2, disputed), certificate 1 (800 Wh to the generator, 300 moved to the holder)."""
    memory, chain = _open(MemoryBackend(7)), _open(ChainBackend(7, connect("eth-tester")))
    for agent in ROLES:  # gas money before the tests' snapshots (a revert would take it back)
        chain._agent(agent)
    for backend in (memory, chain):
        backend.begin_round(1)
        backend.apply_guarantees(
            GuaranteePlan(
                1,
                offers=[_offer(backend, 1)],
                issues=[(backend.address(GENERATOR), 800)],
                transfers=[(backend.address(GENERATOR), backend.address(HOLDER), 1, 300)],
            )
        )
        backend.begin_round(2)
        backend.apply_guarantees(GuaranteePlan(2, attests=[(1, 4)], disputes=[(backend.address(SUPPLIER), 1, TERMS, SALT)]))
    return memory, chain


def test_the_twin_and_the_contracts_end_a_round_with_the_same_holdings(pair: tuple[MemoryBackend, ChainBackend]) -> None:
    memory, chain = pair
    assert memory.holdings() == chain.holdings()
    held = memory.holdings()
    # 10 units promised, 4 delivered: 400 paid, 600 refunded, 6 x 50 set aside from the collateral
    assert held[f"credit:{memory.address(SUPPLIER).lower()}"] == 400
    assert held[f"credit:{memory.address(BUYER).lower()}"] == 600
    assert held["agreement:1"] == 500  # 200 collateral left + 300 compensation owed
    assert held[f"certificate:1:{memory.address(HOLDER).lower()}"] == 300
    assert memory.balances_by_address() == chain.balances_by_address()


BAD_PLANS = {
    "StartInPast": lambda b, s: GuaranteePlan(s, offers=[_offer(b, s, start=round_time(s) - 1)]),
    "NotSupplier": lambda b, s: GuaranteePlan(s, offers=[_offer(b, s, supplier=b.address(BUYER), buyer=b.address(SUPPLIER))]),
    "OracleNotDesignated": lambda b, s: GuaranteePlan(s, offers=[_offer(b, s, oracle=b.address(HOLDER))]),
    "NotBroker": lambda b, s: GuaranteePlan(s, offers=[_offer(b, s, supplier=b.address(HOLDER))]),  # no wallet: never named the platform
    "ERC20InsufficientBalance": lambda b, s: GuaranteePlan(s, offers=[_offer(b, s, collateral=10**7)]),
    "DisputeNotTimedOut": lambda b, s: GuaranteePlan(s, expires=[1]),
    "WrongState": lambda b, s: GuaranteePlan(s, attests=[(1, 10)]),
    "UnknownAgreement": lambda b, s: GuaranteePlan(s, claims=[(b.address(BUYER), 9)]),
    "NotParty": lambda b, s: GuaranteePlan(s, claims=[(b.address(SUPPLIER), 1)]),
    "InsufficientCertificates": lambda b, s: GuaranteePlan(s, retires=[(b.address(HOLDER), 1, 301)]),
    "UnknownCertificate": lambda b, s: GuaranteePlan(s, retires=[(b.address(HOLDER), 5, 1)]),
    "GenerationAlreadyAttested": lambda b, s: GuaranteePlan(1, issues=[(b.address(GENERATOR), 5)]),
    "NotGenerator": lambda b, s: GuaranteePlan(s, issues=[(b.address(HOLDER), 5)]),
}


@pytest.mark.parametrize("error", sorted(BAD_PLANS))
def test_the_twin_refuses_what_the_contracts_refuse(pair: tuple[MemoryBackend, ChainBackend], error: str) -> None:
    memory, chain = pair
    with pytest.raises(SettlementRejected) as twin:
        memory.guarantees.apply(BAD_PLANS[error](memory, 2), memory.operator_address, memory.address(ORACLE))  # type: ignore[union-attr]
    assert twin.value.reason == error
    snapshot = chain.chain.snapshot()
    try:
        with pytest.raises(ContractReverted) as contract:
            chain._send_guarantees(BAD_PLANS[error](chain, 2), chain.guarantees.agreement_count + 1)  # type: ignore[union-attr]
    finally:
        chain.chain.revert(snapshot)
    assert contract.value.error == error
    assert memory.holdings() == chain.holdings()


def test_a_refused_round_on_the_back_end_is_a_settlement_rejection(pair: tuple[MemoryBackend, ChainBackend]) -> None:
    memory, _ = pair
    with pytest.raises(SettlementRejected, match="WrongState"):  # agreement 1 is disputed already
        memory.apply_guarantees(GuaranteePlan(2, disputes=[(memory.address(SUPPLIER), 1, TERMS, SALT)]))


def _kinds(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for raw in path.read_text().splitlines():
        kind = json.loads(raw)["kind"]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


@pytest.fixture(scope="module")
def outage_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small east-west run with outages raised, on memory and on eth-tester."""
    scenario = load_scenario("east-west", [*SMALL, "outage_per_year=4000", "dispute_share=0.6"])
    out = {}
    for chain in ("memory", "eth-tester"):
        out[chain] = tmp_path_factory.mktemp(chain.replace("-", ""))
        run(scenario, out=out[chain], seed=8, steps=6, chain=chain)
    return out


def test_memory_and_eth_tester_write_the_same_log_with_every_guarantee_line(outage_runs: dict[str, Path]) -> None:
    memory, chain = (outage_runs[c] / "trades.jsonl" for c in ("memory", "eth-tester"))
    assert memory.read_bytes() == chain.read_bytes()
    kinds = _kinds(memory)
    for kind in ("agreement", "delivery", "breach", "claim", "dispute", "certificate", "retire"):
        assert kinds.get(kind, 0) > 0, kind
    for path in (memory, chain):
        assert replay(path).verified
    summaries = [json.loads((outage_runs[c] / "summary.json").read_text()) for c in ("memory", "eth-tester")]
    assert summaries[0]["balances_digest"] == summaries[1]["balances_digest"]
    s = summaries[0]
    assert s["breaches"] == kinds["breach"] and s["agreements"] == kinds["agreement"] and s["compensation_micro"] > 0
    assert 0 < s["certificates_retired_wh"] <= s["certificates_issued_wh"]
    assert s["green_share"] == pytest.approx(s["certificates_retired_wh"] / 1000 / s["kwh"], rel=1e-3)
    # market-based: retired certificates count zero, thermal purchases at the fossil factor, the
    # rest at the grid's; location-based: every kWh used at its grid's intensity
    assert s["kg_co2_market"] == s["kg_co2"] and s["kg_co2_location"] > 0


def test_the_side_file_holds_each_agreements_terms_under_its_hash(outage_runs: dict[str, Path]) -> None:
    out = outage_runs["memory"]
    entries = map(json.loads, (out / "trades.jsonl").read_text().splitlines())
    hashes = {e["agreement_id"]: e["terms_hash"] for e in entries if e["kind"] == "agreement"}
    side = [json.loads(raw) for raw in (out / "terms.jsonl").read_text().splitlines()]
    assert [row["agreement_id"] for row in side] == sorted(hashes)
    for row in side:
        assert "0x" + terms_hash(row["terms"].encode(), bytes.fromhex(row["salt"][2:])).hex() == hashes[row["agreement_id"]]


def test_every_agent_registers_in_its_real_role(outage_runs: dict[str, Path]) -> None:
    deposits = [e for e in map(json.loads, (outage_runs["memory"] / "trades.jsonl").read_text().splitlines()) if e["kind"] == "deposit"]
    roles = [d.get("role", "user") for d in deposits]
    assert {"compute", "network", "energy", "platform", "user"} == set(roles)
    assert sum(1 for d in deposits if d.get("oracle")) == 1
    assert all(d["source"] in ("solar", "wind", "microgrid") for d in deposits if "source" in d)


def test_without_guarantees_there_are_no_guarantee_lines(tmp_path: Path) -> None:
    run(load_scenario("east-west", [*SMALL, "guarantees=false"]), out=tmp_path, seed=2, steps=2, chain="memory")
    kinds = _kinds(tmp_path / "trades.jsonl")
    assert not {"agreement", "delivery", "certificate", "retire"} & set(kinds)
    assert "agreements" not in json.loads((tmp_path / "summary.json").read_text())


@pytest.fixture(scope="module")
def genuine(outage_runs: dict[str, Path]) -> list[dict[str, Any]]:
    """The outage run's log without the operator's signatures: what the meaning checks alone must hold against."""
    signed = [json.loads(raw) for raw in (outage_runs["memory"] / "trades.jsonl").read_text().splitlines()]
    plain = [{k: v for k, v in e.items() if k not in SEAL_FIELDS} for e in signed]
    plain[0]["format"] = 2
    return plain


def _edited(entries: list[dict[str, Any]], at: int, **changes: Any) -> list[dict[str, Any]]:
    out = [dict(e) for e in entries]
    out[at].update(changes)
    return out


def test_an_attestation_that_pays_the_supplier_more_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    at = index(genuine, "delivery")
    forged = _edited(genuine, at, to_supplier=genuine[at]["to_supplier"] + 1)
    refused(forge(forged, tmp_path / "t.jsonl"), at + 1, "to_supplier")


def test_a_breach_left_out_of_the_log_is_refused_at_its_delivery(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    at = index(genuine, "breach")
    forged = genuine[:at] + genuine[at + 1 :]
    delivery = max(i for i in range(at) if forged[i]["kind"] == "delivery" and forged[i]["agreement_id"] == genuine[at]["agreement_id"])
    refused(forge(forged, tmp_path / "t.jsonl"), delivery + 1, "delivered")


def test_revealed_terms_that_are_not_the_committed_ones_are_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    at = next(i for i, e in enumerate(genuine) if e["kind"] == "dispute" and e["action"] == "open")
    forged = _edited(genuine, at, terms=genuine[at]["terms"].replace('"task"', '"tusk"'))
    refused(forge(forged, tmp_path / "t.jsonl"), at + 1, "kind", "TermsMismatch")


def test_retiring_a_certificate_twice_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    at = index(genuine, "retire")
    forged = genuine[: at + 1] + [dict(genuine[at])] + genuine[at + 1 :]
    refused(forge(forged, tmp_path / "t.jsonl"), at + 2, "kind", "InsufficientCertificates")


def test_a_claim_paid_to_someone_else_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    at = index(genuine, "claim")
    forged = _edited(genuine, at, buyer=genuine[at]["buyer"] + 1)
    refused(forge(forged, tmp_path / "t.jsonl"), at + 1, "buyer")


def test_a_certificate_issued_to_a_non_generator_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    at = index(genuine, "certificate")
    user = next(e["agent"] for e in genuine if e["kind"] == "deposit" and "role" not in e)
    forged = _edited(genuine, at, generator=user, transfers=[])
    with pytest.raises(LogTampered):
        replay(forge(forged, tmp_path / "t.jsonl"))


def test_guarantee_lines_without_an_oracle_are_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    forged = [{k: v for k, v in e.items() if k != "oracle"} for e in genuine]
    refused(forge(forged, tmp_path / "t.jsonl"), index(forged, "agreement") + 1, "kind", "oracle")


def test_the_forger_leaves_the_genuine_guarantee_log_verified(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    assert replay(forge(genuine, tmp_path / "t.jsonl")).verified


def test_the_lines_docs_guarantees_quotes_are_the_runs(outage_runs: dict[str, Path]) -> None:
    """docs/guarantees.md quotes lines of the run its example makes (the same as ``outage_runs``)."""
    page = (Path(__file__).parents[2] / "docs" / "guarantees.md").read_text()
    assert "--seed 8 --chain memory --set n_users=8" in page and "outage_per_year=4000 --set dispute_share=0.6" in page
    # addresses, salts and so the terms' hashes follow from the lab secret, which differs here
    keyed = ("hash", "prev", "seq", "address", "salt", "terms_hash")
    quoted = [
        {k: v for k, v in json.loads(raw).items() if k not in keyed}
        for block in page.split("```json\n")[1:]
        for raw in block.split("```")[0].splitlines()
    ]
    logged = [
        {k: v for k, v in e.items() if k not in keyed} for e in map(json.loads, (outage_runs["memory"] / "trades.jsonl").read_text().splitlines())
    ]
    assert len(quoted) >= 9
    for line in quoted:
        assert line in logged, line


def test_replay_checks_the_side_files_terms_against_the_committed_hashes(outage_runs: dict[str, Path], tmp_path: Path) -> None:
    for name in ("trades.jsonl", "terms.jsonl"):
        (tmp_path / name).write_bytes((outage_runs["memory"] / name).read_bytes())
    assert replay(tmp_path / "trades.jsonl").verified
    rows = [json.loads(raw) for raw in (tmp_path / "terms.jsonl").read_text().splitlines()]
    rows[1]["terms"] = rows[1]["terms"].replace("units", "unitz")
    (tmp_path / "terms.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    line = next(
        i
        for i, raw in enumerate((tmp_path / "trades.jsonl").read_text().splitlines(), 1)
        if json.loads(raw).get("agreement_id") == rows[1]["agreement_id"]
    )
    refused(tmp_path / "trades.jsonl", line, "terms_hash", "terms.jsonl")
    (tmp_path / "terms.jsonl").write_text("not json\n")
    with pytest.raises(LogTampered, match="agreement_id, salt and terms"):
        replay(tmp_path / "trades.jsonl")
