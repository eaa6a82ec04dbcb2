"""The demo's live market: ledger wiring, the trade-log ticker and the shared room (seats: test_demo_classroom.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.eastwest import EastWestModel
from experiments.demo.live import DemoError, DemoMarket, LogTail, PriceUnit, Room, agent_label, demo_class
from experiments.scenarios import load_scenario
from ledger.tradelog import TradeLogWriter, read_log

TOKENS = PriceUnit(1_000_000, "tokens", 2)
MICRO = PriceUnit(1, "µtokens", 0)


def smith(tmp_path: Path, **kw: object) -> DemoMarket:
    scenario = load_scenario("smith-1962")
    params = {**scenario.params, "shouts_per_period": 120, **kw}
    return demo_class(scenario.model_class)(**params, log_dir=str(tmp_path), scenario="smith-1962", seed=3)


# -- prices as people see and type them ------------------------------------------------------------


def test_price_unit_follows_the_scale_of_the_market() -> None:
    assert PriceUnit.for_prices(4_000_000) == TOKENS
    assert PriceUnit.for_prices(200) == MICRO
    assert TOKENS.show(2_050_000) == "2.05" and MICRO.show(1234) == "1,234"


# -- the ticker's trade-log tail ---------------------------------------------------------------------


def test_log_tail_follows_the_log_and_keeps_the_latest_trades(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    log = TradeLogWriter(path, {"scenario": "x"})
    log.sync()
    tail = LogTail(path, keep=3)
    assert tail.poll() == 1 and tail.lines == 1 and not tail.trades
    for i in range(5):
        log.append("trade", 1, price=i)
    log.append("batch", 1, trades=5)
    log.sync()
    assert tail.poll() == 6
    assert [t["price"] for t in tail.trades] == [2, 3, 4]
    assert tail.head == log.head and tail.poll() == 0
    with open(path, "ab") as fh:  # half a line: not read until it is complete
        fh.write(b'{"kind":"tra')
    assert tail.poll() == 0
    log.close()


def test_log_tail_names_the_line_that_does_not_chain(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TradeLogWriter(path, {"scenario": "x"}) as log:
        log.append("trade", 1, price=5)
    lines = path.read_bytes().splitlines()
    entry = json.loads(lines[1])
    entry["price"] = 6
    path.write_bytes(lines[0] + b"\n" + json.dumps(entry).encode() + b"\n")
    with pytest.raises(DemoError, match=r"t.jsonl: line 2 does not chain to the one before"):
        LogTail(path).poll()


# -- a market wired to its ledger ----------------------------------------------------------------------


def test_demo_market_settles_on_its_ledger_and_ticks_from_its_log(tmp_path: Path) -> None:
    model = smith(tmp_path)
    assert model.model_key == "double-auction" and model.price_unit == TOKENS
    assert model.log_path == tmp_path / "smith-1962-seed3-1.jsonl"
    assert model.ticker() == [] and model.version == 0
    model.step()
    model.step()
    assert model.version == 2 and model.steps == 2
    rows = model.ticker()
    assert len(rows) == min(12, model.session.trades) and rows[0].step == 2 and rows[-1].step <= rows[0].step
    assert rows[0].buyer.startswith("buyer #") and rows[0].seller.startswith("seller #")
    stats = model.ledger_stats()
    assert stats.backend == "memory" and stats.trades == model.session.trades > 0 and stats.gas_used == 0
    assert stats.log_entries == model.tail.lines and stats.log_head == model.log.head
    second = smith(tmp_path)
    assert second.log_path.name == "smith-1962-seed3-2.jsonl"  # a new market never overwrites a log


def test_a_closed_market_stops_and_its_log_verifies(tmp_path: Path) -> None:
    model = smith(tmp_path)
    model.step()
    model.close()
    model.close()  # twice is harmless
    model.step()
    assert model.retired and model.steps == 1 and model.version == 1
    entries = list(read_log(model.log_path))
    assert entries[-1]["kind"] == "close" and entries[-1]["trades"] == model.session.trades


def test_a_demo_markets_log_is_format_3_and_replays_authenticated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from experiments.cli import main
    from ledger.keys import operator_address
    from ledger.replay import replay

    model = smith(tmp_path)
    for _ in range(3):
        model.step()
    model.close()
    header = next(read_log(model.log_path))
    assert header["format"] == 3 and header["operator"] == operator_address() and header["domain"]["chain_id"] > 0
    result = replay(model.log_path, operator=operator_address())
    assert result.verified and result.authenticated and result.trades == model.session.trades > 0
    assert main(["replay", str(model.log_path)]) == 0  # the local operator's: exit 0, not 5 (unauthenticated)


def test_a_market_that_cannot_be_built_says_why(tmp_path: Path) -> None:
    scenario = load_scenario("smith-1962")
    with pytest.raises(ValueError, match="unknown mechanism"):
        demo_class(scenario.model_class)(**{**scenario.params, "mechanism": "barter"}, log_dir=str(tmp_path))


def test_an_unusable_log_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DemoError, match=r"--out .*file/logs: cannot create it \(Not a directory\)"):
        smith(tmp_path / "file" / "logs")


# -- one market per room ------------------------------------------------------------------------------


def test_room_builds_once_and_a_reset_replaces_the_market(tmp_path: Path) -> None:
    scenario = load_scenario("smith-1962")
    cls = demo_class(scenario.model_class)
    built = []

    def build(room: Room) -> DemoMarket:
        built.append(cls(**scenario.params, log_dir=str(tmp_path), room=room))
        return built[-1]

    room = Room(build)
    first = room.model
    assert room.model is first and len(built) == 1
    first.step()
    second = cls(**scenario.params, log_dir=str(tmp_path), room=room)  # what SolaraViz's reset does
    assert room.model is second and first.retired and not second.retired
    assert first.previous_frame is None and len(second.previous_frame) == 2  # the first run's series, to compare against
    assert demo_class(scenario.model_class) is cls


# -- names in the ticker ----------------------------------------------------------------------------------


def test_agent_labels_name_roles_and_sites() -> None:
    model = EastWestModel(n_users=3, seed=1)
    labels = {type(a).__name__: agent_label(a) for a in model.agents}
    assert labels["ComputeCentre"].startswith("DC ")
    assert labels["NetworkLink"].startswith("link ") and "–" in labels["NetworkLink"]
    assert labels["ComputeUser"].startswith("user #")
    assert labels["EnergySupplier"].split()[0] in {"solar", "wind", "thermal", "microgrid"}
    assert labels["Grid"] == "grid"
    assert labels["EnergyTradingPlatform"] == "energy trading platform"
