"""Counterfactuals on real bids: per-resource re-clearing never beats the efficient welfare of the same orders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.cli import main
from experiments.counterfactual import efficient_welfare, reclear, render
from experiments.run import run
from experiments.scenarios import load_scenario
from market.auctions import clear_double_auction
from market.errors import MechanismError
from market.orders import Resource

RULES = ("uniform", "pay-as-bid", "mcafee")
quotes = st.lists(st.tuples(st.integers(0, 1_000), st.integers(0, 50)), max_size=12)


def test_efficient_welfare_by_hand() -> None:
    # bids 10 x2, 7 x1; asks 3 x1, 8 x5: 10-3 on one unit, 10-8 on one, 7 < 8 stops
    assert efficient_welfare([(10, 2), (7, 1)], [(3, 1), (8, 5)]) == (7 + 2, 2)
    assert efficient_welfare([], [(1, 1)]) == (0, 0)
    assert efficient_welfare([(5, 3)], [(5, 2)]) == (0, 2)  # equal prices: no gain, but the units may trade


@settings(max_examples=200, deadline=None)
@given(bids=quotes, asks=quotes)
def test_no_rule_beats_the_efficient_welfare_of_the_same_bids(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
    best, units = efficient_welfare(bids, asks)
    for rule in RULES:
        result = clear_double_auction(bids, asks, rule=rule)
        assert result.surplus <= best
        assert result.volume <= units
    # uniform and pay-as-bid trade every crossing unit; McAfee gives up at most the least valuable pair's gain
    assert clear_double_auction(bids, asks, rule="uniform").surplus == best
    mcafee = clear_double_auction(bids, asks, rule="mcafee")
    assert mcafee.surplus >= best - max((b for b, q in bids if q), default=0)


@pytest.fixture(scope="module")
def auction_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gode-sunder")
    run(load_scenario("gode-sunder"), out=out, seed=2, steps=4, chain="memory")
    return out / "trades.jsonl"


@pytest.mark.parametrize("rule", RULES)
def test_double_auction_log_reclears_below_the_efficient_welfare(auction_log: Path, rule: str) -> None:
    outcome = reclear(auction_log, rule)
    assert outcome.rounds == 4 and set(outcome.resources) == {Resource.ENERGY}
    energy = outcome.resources[Resource.ENERGY]
    assert energy.counterfactual_welfare_micro <= energy.efficient_welfare_micro
    # the CDA matched the same one-unit orders, each at most once: a feasible allocation of them
    assert 0 < energy.original_welfare_micro <= energy.efficient_welfare_micro
    assert energy.original_volume > 0 and energy.counterfactual_volume <= 4 * 6 * 4 * 2
    if rule != "mcafee":
        assert energy.counterfactual_welfare_micro == energy.efficient_welfare_micro


@pytest.mark.parametrize("mechanism", ["nash", "grid"])
def test_microgrids_log_reclears_below_the_efficient_welfare_of_its_bids(tmp_path: Path, mechanism: str) -> None:
    scenario = load_scenario("microgrids", [f"mechanism={mechanism}"])
    run(scenario, out=tmp_path, seed=1, steps=6, chain="memory")
    energy = reclear(tmp_path / "trades.jsonl", "mcafee").resources[Resource.ENERGY]
    assert energy.rounds == 6
    assert energy.counterfactual_welfare_micro <= energy.efficient_welfare_micro
    assert 0 <= energy.original_welfare_micro <= energy.efficient_welfare_micro
    if mechanism == "grid":
        # everything went through the grid at its own tariffs: no gain from trade at the bids'
        # limits, while the same bids exchanged locally would have gained (retail - feed-in) a Wh
        assert energy.original_welfare_micro == 0 < energy.efficient_welfare_micro
        assert energy.efficient_welfare_micro % (800 - 300) == 0


def test_resources_are_never_pooled(tmp_path: Path) -> None:
    # without guarantee contracts: with them, the platform's compute matches are paid through
    # their agreements and leave no compute orders to re-clear
    run(load_scenario("east-west", ["guarantees=false"]), out=tmp_path, seed=1, steps=2, chain="memory", sign=False)
    outcome = reclear(tmp_path / "trades.jsonl", "mcafee").as_dict()
    resources = outcome["resources"]
    assert set(resources) == {"compute", "network", "energy"}
    assert {r["unit"] for r in resources.values()} == {"mcore_h", "mb", "wh"}
    for figures in resources.values():
        assert figures["counterfactual"]["welfare_micro"] <= figures["efficient"]["welfare_micro"]
    assert "volume" not in outcome  # no figure adds milli-core-hours, MB and Wh


def test_cli_reports_per_resource_welfare_and_the_efficient_bound(auction_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(auction_log), "--mechanism", "mcafee", "--json"]) == 0
    energy = json.loads(capsys.readouterr().out)["resources"]["energy"]
    assert energy["unit"] == "wh"
    assert energy["counterfactual"]["welfare_micro"] <= energy["efficient"]["welfare_micro"]
    assert main(["replay", str(auction_log), "--mechanism", "mcafee"]) == 0
    text = capsys.readouterr().out
    assert "energy (wh," in text and "efficient" in text and text.rstrip("\n") == render(reclear(auction_log, "mcafee"))


def test_unknown_rule_fails_before_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(MechanismError, match="unknown auction rule 'barter'"):
        reclear(tmp_path / "missing.jsonl", "barter")
    assert main(["replay", str(tmp_path / "missing.jsonl"), "--mechanism", "barter"]) == 2
    assert "unknown auction rule 'barter'" in capsys.readouterr().err


def test_unknown_resource_names_the_line(auction_log: Path, tmp_path: Path) -> None:
    from ledger.tradelog import LogTampered, canonical, entry_hash

    rows = [json.loads(line) for line in auction_log.read_text().splitlines()]
    at = next(i for i, r in enumerate(rows) if r["kind"] == "order")
    rows[at]["resource"] = "gold"
    prev = rows[at - 1]["hash"]
    for row in rows[at:]:  # a consistent chain, so the resource check is what fails
        row["prev"] = prev
        row.pop("hash")
        row["hash"] = prev = entry_hash(row)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(canonical(r) + b"\n" for r in rows))
    with pytest.raises(LogTampered, match="'gold' is no resource"):
        reclear(bad, "uniform")
