"""ccei replay: re-execution, verification, tampering, counterfactual re-clearing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from experiments.cli import main
from experiments.run import run
from experiments.scenarios import load_scenario
from ledger.replay import ReplayRefused, replay
from ledger.signing import order_expiry
from ledger.tradelog import GENESIS, LogTampered, canonical, entry_hash


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("signed")
    run(load_scenario("posted-price"), out=out, seed=3, steps=8, chain="memory")
    return out


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("".join(rows))
    return path


def rechain(rows: list[str], start: int) -> list[str]:
    """What a forger does after editing line ``start``: recompute every hash from there on."""
    out = rows[:start]
    prev = json.loads(rows[start - 1])["hash"]
    for raw in rows[start:]:
        entry = json.loads(raw)
        entry["prev"] = prev
        entry["hash"] = entry_hash(entry)
        prev = entry["hash"]
        out.append(canonical(entry).decode() + "\n")
    return out


def first(rows: list[str], kind: str) -> int:
    return next(i for i, r in enumerate(rows) if f'"kind":"{kind}"' in r)


def test_replay_verifies_and_matches_the_run(signed_run: Path) -> None:
    result = replay(signed_run / "trades.jsonl")
    summary = json.loads((signed_run / "summary.json").read_text())
    assert result.verified
    assert result.balances_digest == summary["balances_digest"] == result.expected_digest
    assert result.log_head == summary["log_head"]
    assert result.trades == summary["trades"]
    assert result.entries == summary["log_entries"]


def test_replay_on_the_embedded_chain(signed_run: Path) -> None:
    result = replay(signed_run / "trades.jsonl", "eth-tester")
    assert result.verified and result.backend == "chain"


def test_until_stops_early(signed_run: Path) -> None:
    result = replay(signed_run / "trades.jsonl", until=40)
    assert result.entries == 41 and not result.verified


def test_edited_price_is_caught_by_the_hash(signed_run: Path, tmp_path: Path) -> None:
    rows = lines(signed_run / "trades.jsonl")
    i = first(rows, "trade")
    rows[i] = rows[i].replace('"price":', '"price":1', 1)
    with pytest.raises(LogTampered) as info:
        replay(write(tmp_path / "t.jsonl", rows))
    assert (info.value.line, info.value.field) == (i + 1, "hash")


def test_rehashed_price_below_the_sell_limit_is_caught_at_the_trade(signed_run: Path, tmp_path: Path) -> None:
    rows = lines(signed_run / "trades.jsonl")
    i = first(rows, "trade")
    entry = json.loads(rows[i])
    entry["price"] -= 1
    rows[i] = json.dumps(entry)
    with pytest.raises(LogTampered, match="lies outside the orders' limits") as info:
        replay(write(tmp_path / "t.jsonl", rechain(rows, i)))
    assert (info.value.line, info.value.field) == (i + 1, "price")


def test_rehashed_price_within_the_limits_is_caught_by_its_batch(signed_run: Path, tmp_path: Path) -> None:
    rows = lines(signed_run / "trades.jsonl")
    i = first(rows, "trade")
    entry = json.loads(rows[i])
    entry["price"] += 1
    rows[i] = json.dumps(entry)
    with pytest.raises(LogTampered, match="does not cover lines 2-") as info:
        replay(write(tmp_path / "t.jsonl", rechain(rows, i)))
    assert (info.value.line, info.value.field) == (first(rows, "batch") + 1, "lines_root")


def test_deleted_line_is_caught(signed_run: Path, tmp_path: Path) -> None:
    rows = lines(signed_run / "trades.jsonl")
    i = first(rows, "trade")
    del rows[i]
    with pytest.raises(LogTampered) as info:
        replay(write(tmp_path / "t.jsonl", rows))
    assert (info.value.line, info.value.field) == (i + 1, "seq")


def test_reordered_pair_is_caught(signed_run: Path, tmp_path: Path) -> None:
    rows = lines(signed_run / "trades.jsonl")
    i = first(rows, "trade")
    rows[i], rows[i + 1] = rows[i + 1], rows[i]
    with pytest.raises(LogTampered) as info:
        replay(write(tmp_path / "t.jsonl", rows))
    assert (info.value.line, info.value.field) == (i + 1, "seq")


def test_forged_signature_is_caught_even_with_a_valid_chain(signed_run: Path, tmp_path: Path) -> None:
    rows = lines(signed_run / "trades.jsonl")
    i = first(rows, "authorization")
    entry = json.loads(rows[i])
    sig = bytearray(bytes.fromhex(entry["signature"][2:]))
    sig[10] ^= 0x01
    entry["signature"] = "0x" + sig.hex()
    rows[i] = json.dumps(entry)
    with pytest.raises(LogTampered) as info:
        replay(write(tmp_path / "t.jsonl", rechain(rows, i)))
    assert (info.value.line, info.value.field) == (i + 1, "signature")


@pytest.fixture(scope="module")
def unsigned_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("unsigned")
    run(load_scenario("posted-price"), out=out, seed=3, steps=4, chain="memory", sign=False)
    return out


def rewritten(entries: list[dict[str, Any]]) -> list[str]:
    """``entries`` numbered and chained afresh, as lines."""
    out, prev = [], GENESIS
    for seq, original in enumerate(entries):
        entry = {**original, "seq": seq, "prev": prev}
        entry["hash"] = entry_hash(entry)
        prev = entry["hash"]
        out.append(canonical(entry).decode() + "\n")
    return out


def test_unsigned_log_has_no_authorizations_and_replays_on_memory_only(unsigned_run: Path) -> None:
    rows = [json.loads(r) for r in lines(unsigned_run / "trades.jsonl")]
    assert rows[0]["signed"] is False and rows[0]["format"] == 3  # orders unsigned; the operator still signs the log
    assert {r["kind"] for r in rows} == {"header", "deposit", "order", "trade", "batch", "close"}
    result = replay(unsigned_run / "trades.jsonl")
    assert result.verified and result.trades == sum(r["kind"] == "trade" for r in rows) > 0
    with pytest.raises(ReplayRefused, match="signing off"):
        replay(unsigned_run / "trades.jsonl", "eth-tester")


def test_unsigned_trade_of_no_buy_order_is_caught(unsigned_run: Path, tmp_path: Path) -> None:
    entries = [json.loads(r) for r in lines(unsigned_run / "trades.jsonl")]
    i = next(i for i, e in enumerate(entries) if e["kind"] == "trade")
    entries[i]["buy_order"] = entries[i]["sell_order"]
    with pytest.raises(LogTampered) as info:
        replay(write(tmp_path / "t.jsonl", rewritten(entries)))
    assert (info.value.line, info.value.field) == (i + 1, "buy_order")
    assert f"fills order {entries[i]['sell_order']}, which is no live buy order of the log" in str(info.value)


def test_order_of_an_unknown_resource_is_caught(unsigned_run: Path, tmp_path: Path) -> None:
    entries = [json.loads(r) for r in lines(unsigned_run / "trades.jsonl")]
    i = next(i for i, e in enumerate(entries) if e["kind"] == "order")
    entries[i]["resource"] = "water"
    with pytest.raises(LogTampered) as info:
        replay(write(tmp_path / "t.jsonl", rewritten(entries)))
    assert (info.value.line, info.value.field) == (i + 1, "resource")
    assert "'water' is no resource of the market" in str(info.value)


def test_format_1_unsigned_logs_with_null_authorizations_still_replay(unsigned_run: Path, tmp_path: Path) -> None:
    entries = [json.loads(r) for r in lines(unsigned_run / "trades.jsonl")]
    address = {e["agent"]: e["address"] for e in entries if e["kind"] == "deposit"}
    orders = {e["order_id"]: e for e in entries if e["kind"] == "order"}
    old: list[dict[str, Any]] = [{**entries[0], "format": 1}]
    authorized: set[int] = set()
    for e in entries[1:]:
        if e["kind"] == "trade" and e["buy_order"] not in authorized:
            authorized.add(e["buy_order"])
            order = orders[e["buy_order"]]
            expiry = order_expiry(order["placed"])
            old.append(
                {
                    "kind": "authorization",
                    "step": e["step"],
                    "order_id": order["order_id"],
                    "address": address[order["owner"]],
                    "expiry": expiry,
                    "signature": None,
                }
            )
        old.append(e)
    result = replay(write(tmp_path / "v1.jsonl", rewritten(old)))
    assert result.verified and result.entries == len(old) > len(entries)


def test_cli_replay_json_and_exit_codes(signed_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(signed_run / "trades.jsonl"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"entries", "trades", "log_head", "balances_digest", "verified"} <= out.keys() and out["verified"]
    rows = lines(signed_run / "trades.jsonl")
    del rows[first(rows, "batch")]
    assert main(["replay", str(write(tmp_path / "t.jsonl", rows))]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "field 'seq'" in err
