"""A class in one double auction: names, prices, seats, the teacher's actions, the shared picture and the export."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.demo.classroom import CODE_ALPHABET, NAME_MAX, PRESENT_S, Classroom, SeatError, normalise_name, parse_price
from experiments.demo.live import DemoError, PriceUnit
from experiments.scenarios import load_scenario
from ledger.tradelog import read_log
from market.orders import Side

TOKENS = PriceUnit(1_000_000, "tokens", 2)
MICRO = PriceUnit(1, "µtokens", 0)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def smith(tmp_path: Path, clock: Clock, **overrides: Any) -> Classroom:
    scenario = load_scenario("smith-1962", [f"{k}={v}" for k, v in {"shouts_per_period": 120, **overrides}.items()])
    return Classroom(scenario, out=tmp_path, seed=3, join_url="http://127.0.0.1:1/", clock=clock)


def state(room: Classroom) -> dict[str, Any]:
    return orjson.loads(room.snapshot())


# -- names -------------------------------------------------------------------------------------------


def test_one_name_however_it_is_typed() -> None:
    keys = {normalise_name(n)[1] for n in ("maria", "Maria", "MARIA", " Maria ", "Мaria", "ｍａｒｉａ", "Mаriа")}  # Cyrillic М, а; full-width
    assert keys == {"maria"}
    assert normalise_name("  Ada   Lovelace ") == ("Ada Lovelace", "ada lovelace")
    assert normalise_name("Zoë")[1] != normalise_name("Zoe")[1]  # a real accent is a different name
    assert normalise_name("x" * NAME_MAX)[0] == "x" * NAME_MAX


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "type your name"),
        ("x" * (NAME_MAX + 1), f"at most {NAME_MAX} characters; yours has {NAME_MAX + 1}"),
        ("Ada\x00", "control characters"),
        ("A\u200bda", "control characters"),
    ],
)
def test_names_a_seat_refuses(name: str, message: str) -> None:
    with pytest.raises(SeatError, match=message):
        normalise_name(name)


# -- prices ------------------------------------------------------------------------------------------


def test_prices_are_typed_in_the_pages_unit() -> None:
    read = lambda text, unit=TOKENS: parse_price(text, unit, 1, 4_000_000)  # noqa: E731
    assert read("2.05") == read(" 2,05 ") == read("+2.05") == 2_050_000
    assert read("1,5") == 1_500_000 and read("3") == 3_000_000 and read(".5") == 500_000
    assert parse_price("150", MICRO, 1, 200) == 150


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e5000", r"'1e5000' is not a price: type a number of tokens, e.g. 2.00"),
        ("two", "'two' is not a price"),
        ("", "type a price in tokens"),
        ("inf", "'inf' is not a price"),
        ("NaN", "'NaN' is not a price"),
        ("1,234.5", "not a price"),
        ("0", "a price must be more than 0 tokens"),
        ("0,00", "a price must be more than 0 tokens"),
        ("-1", "a price must be more than 0 tokens"),
        ("2.005", "2.005: at most 2 decimals in tokens"),
        ("4.01", r"4.01 tokens is above the highest price, 4.00 tokens"),
    ],
)
def test_prices_a_person_cannot_send(text: str, message: str) -> None:
    with pytest.raises(SeatError, match=message):
        parse_price(text, TOKENS, 1, 4_000_000)


def test_prices_in_whole_micro_tokens_and_below_the_floor() -> None:
    with pytest.raises(SeatError, match="1.5: whole µtokens only"):
        parse_price("1.5", MICRO, 1, 200)
    with pytest.raises(SeatError, match="5 µtokens is below the lowest price, 10 µtokens"):
        parse_price("5", MICRO, 10, 200)


@given(st.integers(1, 4_000_000))
def test_a_shown_price_reads_back(micro: int) -> None:
    cents = max(10_000, micro // 10_000 * 10_000)
    assert parse_price(TOKENS.show(cents), TOKENS, 1, 4_000_000) == cents
    assert parse_price(TOKENS.show(cents).replace(".", ","), TOKENS, 1, 4_000_000) == cents


# -- seats -------------------------------------------------------------------------------------------


def test_seats_alternate_sides_and_get_the_scenarios_values(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    params = room.scenario.params
    seats = [room.join(n) for n in ("Ada", "Bo", "Cy", "Di")]
    assert [s.side for s in seats] == [Side.BUY, Side.SELL, Side.BUY, Side.SELL]
    assert all(s.limit_micro in params["buyer_values" if s.side is Side.BUY else "seller_costs"] for s in seats)
    assert len({s.code for s in seats}) == 4 and all(len(s.code) == 5 and set(s.code) <= set(CODE_ALPHABET) for s in seats)
    assert [h.name for h in room.model.humans] == ["Ada", "Bo", "Cy", "Di"]
    assert room.seat(f" {seats[1].code.lower()} ") is seats[1]  # a code typed in lower case, with spaces
    deposits = [e["agent"] for e in read_log(room.market.log_path) if e["kind"] == "deposit"]
    assert seats[0].trader.agent_id in deposits  # the buyer's escrow is on the record


def test_a_taken_name_and_an_unknown_code(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    room.join("Maria")
    with pytest.raises(SeatError, match="the name 'Мaria' is taken: if it is yours, type your join code"):
        room.join("Мaria")
    with pytest.raises(SeatError, match="no seat has the join code 'NOPE1'"):
        room.seat("NOPE1")
    assert len(room.seats) == 1


def test_drawn_values_give_one_unit_in_range(tmp_path: Path, clock: Clock) -> None:
    scenario = load_scenario("gode-sunder")
    room = Classroom(scenario, out=tmp_path, clock=clock)
    ada, bo = room.join("Ada"), room.join("Bo")
    p = scenario.params
    assert p["value_min"] <= ada.limit_micro <= p["value_max"] and p["cost_min"] <= bo.limit_micro <= p["cost_max"]
    assert room.unit == MICRO and room.seat_view(ada)["limit"] == MICRO.show(ada.limit_micro)


def test_only_a_double_auction_takes_a_class(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="a class trades in a double auction .* not in a posted-price market"):
        Classroom(load_scenario("posted-price"), out=tmp_path)


def test_a_bid_is_queued_changed_and_withdrawn(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    ada = room.join("Ada")
    value = TOKENS.show(ada.limit_micro)
    assert room.quote(ada.code, "0,5") == 500_000 and ada.trader.quotes == [500_000]  # a decimal comma
    assert room.quote(ada.code, value) == ada.limit_micro and ada.trader.quotes == [ada.limit_micro]  # replaced, not added
    assert state(room)["seats"] == [{"name": "Ada", "side": "buy", "bid": True, "present": True}]
    room.withdraw(ada.code)
    assert ada.trader.quotes == [] and ada.quote_micro is None and not state(room)["seats"][0]["bid"]
    with pytest.raises(SeatError, match="a bid above your value .* would lose you money"):
        room.quote(ada.code, TOKENS.show(ada.limit_micro + 10_000))
    bo = room.join("Bo")
    with pytest.raises(SeatError, match="an ask below your cost"):
        room.quote(bo.code, TOKENS.show(bo.limit_micro - 10_000))
    with pytest.raises(SeatError, match="not a price"):
        room.quote(bo.code, "1e5000")
    assert bo.quote_micro is None and bo.trader.quotes == []


def test_a_period_books_the_seats_trades_and_profit(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    buyers = [s for s in (room.join(n) for n in ("Ada", "Bo", "Cy", "Di", "Ed", "Fay", "Gus")) if s.side is Side.BUY]
    ada = max(buyers, key=lambda s: s.limit_micro)  # the buyer with the highest value
    assert ada.limit_micro >= 2_250_000  # above the equilibrium price, 2.00
    room.quote(ada.code, TOKENS.show(ada.limit_micro))  # bid the value: the first ask at or below it trades
    room.step()
    record = room.rounds[-1]
    (period,) = record.periods
    assert period.period == 1 and period.people == 7 and period.best_micro > 0 and period.volume == len(record.trades)
    assert period.efficiency == pytest.approx(period.surplus_micro / period.best_micro)
    mine = [t for t in record.trades if t.buyer == ada.name]
    assert len(mine) == len(ada.trades) == 1
    assert ada.trades[0].profit_micro == ada.limit_micro - ada.trades[0].price_micro == ada.profit_micro
    assert ada.quote_micro is None and room.seat_view(ada)["quote"] is None  # quotes last one period
    view = room.seat_view(ada)
    assert view["trades"] == [{"round": 1, "period": 1, "price": TOKENS.show(mine[0].price_micro), "profit": TOKENS.show(ada.profit_micro)}]


def test_the_same_class_writes_the_same_log(tmp_path: Path) -> None:
    def play(where: Path) -> str:
        room = smith(where, Clock())
        ada = room.join("Ada")
        room.quote(ada.code, TOKENS.show(ada.limit_micro))
        room.step()
        room.close()
        return hashlib.sha256(room.market.log_path.read_bytes()).hexdigest()

    assert play(tmp_path / "a") == play(tmp_path / "b")


def test_an_absent_seat_moves_no_equilibrium(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    alone = state(room)["equilibrium"]
    assert alone == {"price": 2.0, "volume": 6, "people": 0}  # Smith's market: 6 units at 2.00
    seats = [room.join(n) for n in ("Ada", "Bo", "Cy")]
    assert state(room)["equilibrium"]["people"] == 3
    page = room.attach(seats[0].code)  # Ada's page stays open
    room.detach(room.attach(seats[1].code))  # Bo's page closes
    assert room.check_presence() and not room.check_presence()
    clock.now += PRESENT_S + 1
    assert room.check_presence()  # Bo and Cy are gone: the picture changes (the server checks every tick)
    shown = state(room)
    assert shown["equilibrium"]["people"] == 1 and [s["present"] for s in shown["seats"]] == [True, False, False]
    assert len(shown["demand"]) == 12 and len(shown["supply"]) == 11  # the agents' and Ada's
    room.detach(page)
    assert not room.check_presence()  # just closed: still present for a while
    clock.now += PRESENT_S + 1
    assert room.check_presence() and state(room)["equilibrium"] == alone  # nobody left: Smith's own market


def test_an_empty_seat_trades_nothing(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    buyers = [s for s in (room.join(n) for n in ("Ada", "Bo", "Cy", "Di", "Ed", "Fay", "Gus")) if s.side is Side.BUY]
    ada = max(buyers, key=lambda s: s.limit_micro)
    room.quote(ada.code, TOKENS.show(ada.limit_micro))  # a bid that would trade...
    clock.now += PRESENT_S + 1  # ... but her page went away long ago
    room.step()
    assert not ada.trades and not any(t.buyer == ada.name for t in room.rounds[-1].trades)
    assert room.rounds[-1].periods[0].people == 0


def test_a_reset_starts_a_round_and_keeps_every_seat(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    ada, bo = room.join("Ada"), room.join("Bo")
    room.quote(ada.code, TOKENS.show(ada.limit_micro))
    room.step()
    first_log = room.market.log_path
    room.quote(bo.code, TOKENS.show(bo.limit_micro))
    room.reset("zi-c", "uniform")
    assert room.market.log_path != first_log and room.model.steps == 0
    assert room.model.strategy_name == "zi-c" and room.model.mechanism == "uniform"
    assert [(h.name, h.limits) for h in room.model.humans] == [("Ada", [ada.limit_micro]), ("Bo", [bo.limit_micro])]
    assert bo.quote_micro is None and room.seat(ada.code) is ada
    room.step()
    shown = state(room)
    assert [(r["number"], r["strategy"], r["mechanism"], len(r["periods"])) for r in shown["rounds"]] == [
        (1, "zip", "cda", 1),
        (2, "zi-c", "uniform", 1),
    ]
    assert any(e["kind"] == "close" for e in read_log(first_log))  # the first round's log was closed
    with pytest.raises(DemoError, match="strategy 'greedy': one of"):
        room.reset("greedy")
    with pytest.raises(DemoError, match="market rule 'dutch': one of cda"):
        room.reset(mechanism="dutch")
    assert len(room.rounds) == 2


def test_a_removed_seat_leaves_the_market_but_not_the_record(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    room.join("Ada")
    bo = room.join("Bo")
    room.quote(bo.code, TOKENS.show(bo.limit_micro))
    room.remove(bo.code)
    assert [h.name for h in room.model.humans] == ["Ada"] and bo.code not in room.seats
    with pytest.raises(SeatError, match="no seat has the join code"):
        room.quote(bo.code, "2")
    room.step()
    assert not any("Bo" in (t.buyer, t.seller) for t in room.rounds[-1].trades)
    assert f"{bo.code},Bo,sell" in room.csv_text()
    assert room.join("Bo").code != bo.code  # the name is free again


def test_timed_periods(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    assert not room.due() and state(room)["timer"] is None
    room.set_timer(60)
    assert state(room)["timer"] == {"seconds": 60, "left": 60.0}
    clock.now += 59
    assert not room.due()
    clock.now += 1
    assert room.due()
    room.step()
    assert not room.due() and room.period_ends == clock.now + 60  # the next period's clock starts
    room.set_timer(None)
    assert not room.due() and room.period_ends is None
    for bad in (5, 601):
        with pytest.raises(DemoError, match=f"a period lasts 10 to 600 seconds, not {bad}"):
            room.set_timer(bad)


def test_the_shared_picture_is_built_once_per_change(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    first = room.snapshot()
    assert room.snapshot() is first  # the same bytes for every page
    room.join("Ada")
    second = room.snapshot()
    assert second is not first and room.snapshot() is second
    shown = orjson.loads(second)
    assert shown["unit"] == {"label": "tokens", "scale": 1_000_000, "decimals": 2} and shown["join_url"] == "http://127.0.0.1:1/"
    assert shown["round"] == 1 and shown["period"] == 0 and shown["ceiling"] == 4.0
    assert "code" not in second.decode() and str(room.seats[next(iter(room.seats))].limit_micro) not in second.decode()  # no secrets


def test_the_export_names_every_student_and_outlives_the_server(tmp_path: Path, clock: Clock) -> None:
    room = smith(tmp_path, clock)
    names = ["Ada", "Björn", "Мария", "Chen, Wei"]
    seats = [room.join(n) for n in names]
    for s in seats:
        room.quote(s.code, TOKENS.show(s.limit_micro))
    room.step()
    assert room.csv_path.is_file() and not list(tmp_path.glob(".*.tmp"))
    room.close()
    text = room.csv_path.read_text(encoding="utf-8")
    trades_part, seats_part = text.split("\n\n")
    rows = list(csv.DictReader(io.StringIO(trades_part)))
    assert rows and set(rows[0]) == {"round", "strategy", "mechanism", "period", "buyer", "seller", "price_tokens"}
    assert {r["buyer"] for r in rows} | {r["seller"] for r in rows} <= {*names, "agent"}
    assert all(r["round"] == "1" and r["period"] == "1" and float(r["price_tokens"]) > 0 for r in rows)
    people = list(csv.DictReader(io.StringIO(seats_part)))
    assert [p["name"] for p in people] == names  # a comma in a name is quoted, not a new column
    assert sum(int(p["trades"]) for p in people) == sum((r["buyer"] != "agent") + (r["seller"] != "agent") for r in rows)


def test_a_seat_taken_after_trading_began_is_in_a_log_that_replays(tmp_path: Path, clock: Clock) -> None:
    import json

    from ledger.keys import operator_address
    from ledger.replay import replay

    room = smith(tmp_path, clock)
    room.join("Ann")
    room.step()
    room.join("Bob")  # a late seat: its deposit line follows the first round's trades
    room.step()
    log = room.market.log_path
    room.close()
    kinds = [json.loads(line)["kind"] for line in log.read_text().splitlines()]
    assert kinds.index("deposit", kinds.index("batch")) > kinds.index("batch")
    result = replay(log, operator=operator_address())
    assert result.verified and result.authenticated
