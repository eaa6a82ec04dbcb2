"""The demo's live market: ledger wiring, the trade-log ticker, classroom seats and the shared room."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.auction import QuoteRejected
from agents.eastwest import EastWestModel
from experiments.demo.live import DemoError, LogTail, PriceUnit, Room, agent_label, demo_class
from experiments.scenarios import load_scenario
from ledger.tradelog import TradeLogWriter, read_log
from market.orders import Side

TOKENS = PriceUnit(1_000_000, "tokens", 2)
MICRO = PriceUnit(1, "µtokens", 0)


def smith(tmp_path: Path, **kw: object) -> object:
    scenario = load_scenario("smith-1962")
    params = {**scenario.params, "shouts_per_period": 120, **kw}
    return demo_class(scenario.model_class)(**params, log_dir=str(tmp_path), scenario="smith-1962", seed=3)


# -- prices as people see and type them ------------------------------------------------------------


def test_price_unit_follows_the_scale_of_the_market() -> None:
    assert PriceUnit.for_prices(4_000_000) == TOKENS
    assert PriceUnit.for_prices(200) == MICRO
    assert TOKENS.show(2_050_000) == "2.05" and MICRO.show(1234) == "1,234"
    assert TOKENS.parse(" 2.05 ") == 2_050_000 and TOKENS.parse("3") == 3_000_000 and MICRO.parse("1,234") == 1234


@pytest.mark.parametrize(
    ("unit", "text", "message"),
    [
        (TOKENS, "two", r"'two' is not a number of tokens"),
        (TOKENS, "", r"'' is not a number of tokens"),
        (TOKENS, "-1", r"'-1' must be a positive number of tokens"),
        (TOKENS, "inf", r"'inf' must be a positive number"),
        (TOKENS, "2.005", r"'2.005' has more than 2 decimals"),
        (MICRO, "1.5", r"'1.5' has more than 0 decimals"),
    ],
)
def test_price_unit_rejects_what_it_cannot_read(unit: PriceUnit, text: str, message: str) -> None:
    with pytest.raises(DemoError, match=message):
        unit.parse(text)


@given(st.integers(0, 10**12))
def test_shown_prices_read_back_exactly(micro: int) -> None:
    assert TOKENS.parse(TOKENS.show(micro // 10_000 * 10_000)) == micro // 10_000 * 10_000
    assert MICRO.parse(MICRO.show(micro)) == micro


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


def test_a_person_takes_a_seat_and_bids(tmp_path: Path) -> None:
    model = smith(tmp_path)
    ada = model.join("  Ada   Lovelace ", "buy")
    assert ada.name == "Ada Lovelace" and ada.side is Side.BUY and ada.human
    assert ada.limits[0] in load_scenario("smith-1962").params["buyer_values"]
    assert model.seat(ada.unique_id) is ada and model.seat(None) is None and model.seat(-1) is None
    assert model.quote(ada, "3.90") == 3_900_000
    model.step()
    mine = [r for r in model.ticker() if r.buyer == "Ada Lovelace"]
    assert len(mine) == 1 and mine[0].price_micro == 3_900_000
    assert ada.surplus_micro == ada.limits[0] - 3_900_000
    deposits = [e for e in read_log(model.log_path) if e["kind"] == "deposit"]
    assert deposits[-1]["agent"] == ada.unique_id  # the person's escrow deposit is on the record


def test_seats_in_a_market_with_drawn_values(tmp_path: Path) -> None:
    scenario = load_scenario("gode-sunder")
    model = demo_class(scenario.model_class)(**scenario.params, log_dir=str(tmp_path), scenario="gode-sunder", seed=1)
    assert model.price_unit == MICRO
    bo = model.join("Bo", Side.SELL)
    assert len(bo.limits) == scenario.params["units_per_trader"]
    assert all(scenario.params["cost_min"] <= c <= scenario.params["cost_max"] for c in bo.limits)


def test_seat_and_quote_errors(tmp_path: Path) -> None:
    model = smith(tmp_path)
    with pytest.raises(DemoError, match="type your name"):
        model.join("   ", "buy")
    model.join("Ada", "buy")
    with pytest.raises(DemoError, match="'Ada' is taken"):
        model.join("Ada", "sell")
    with pytest.raises(ValueError, match="'hold' is not a valid Side"):
        model.join("Cy", "hold")
    bo = model.join("Bo", "sell")
    with pytest.raises(DemoError, match="not a number"):
        model.quote(bo, "cheap")
    with pytest.raises(QuoteRejected, match=r"Bo: price 5000000 is outside \[1, 4000000\]"):
        model.quote(bo, "5")
    scenario = load_scenario("posted-price")
    posted = demo_class(scenario.model_class)(**scenario.params, log_dir=str(tmp_path), scenario="posted-price")
    with pytest.raises(DemoError, match="classroom mode needs a double-auction scenario"):
        posted.join("Ada", "buy")
    assert posted.seat(1) is None


def test_same_seats_and_quotes_write_the_same_log(tmp_path: Path) -> None:
    def play(where: Path) -> str:
        model = smith(where)
        ada = model.join("Ada", "buy")
        model.quote(ada, "2.50")
        model.step()
        model.close()
        return hashlib.sha256(model.log_path.read_bytes()).hexdigest()

    assert play(tmp_path / "a") == play(tmp_path / "b")


def test_a_closed_market_stops_and_its_log_verifies(tmp_path: Path) -> None:
    model = smith(tmp_path)
    model.step()
    model.close()
    model.close()  # twice is harmless
    model.step()
    assert model.retired and model.steps == 1 and model.version == 1
    entries = list(read_log(model.log_path))
    assert entries[-1]["kind"] == "close" and entries[-1]["trades"] == model.session.trades


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

    def build(room: Room) -> object:
        built.append(cls(**scenario.params, log_dir=str(tmp_path), room=room))
        return built[-1]

    room = Room(build)
    first = room.model
    assert room.model is first and len(built) == 1
    second = cls(**scenario.params, log_dir=str(tmp_path), room=room)  # what SolaraViz's reset does
    assert room.model is second and first.retired and not second.retired
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
