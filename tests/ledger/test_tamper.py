"""Every tampering the integrity review tried is refused, naming the line whose check fails.

The forger here is as strong as one holding only the log can be: after an edit it fixes every
batch's and the close's totals, recomputes the close's balances digest by replaying the forged
lines, and re-chains every hash. What still catches the edit is what the lines mean.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from experiments.cli import main
from experiments.run import run
from experiments.scenarios import load_scenario
from ledger.replay import replay
from ledger.tradelog import GENESIS, LogTampered, LogTruncated, canonical, entry_hash


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("genuine")
    run(load_scenario("posted-price"), out=out, seed=3, steps=6, chain="memory")
    return [json.loads(raw) for raw in (out / "trades.jsonl").read_text().splitlines()]


def chained(entries: list[dict[str, Any]]) -> str:
    out, prev = [], GENESIS
    for seq, entry in enumerate(entries):
        entry = {k: v for k, v in entry.items() if k != "hash"}
        entry.update(seq=seq, prev=prev)
        entry["hash"] = prev = entry_hash(entry)
        out.append(canonical(entry).decode() + "\n")
    return "".join(out)


def forge(entries: list[dict[str, Any]], path: Path) -> Path:
    """Fixes batch and close totals and the balances digest after an edit, and re-chains it all."""
    entries = [dict(e) for e in entries]
    trades = volume = batch_trades = batch_volume = supply = 0
    for entry in entries:
        if entry["kind"] == "deposit":
            supply += entry["amount"]
        elif entry["kind"] == "trade":
            batch_trades += 1
            batch_volume += entry["price"] * entry["quantity"]
        elif entry["kind"] == "batch":
            entry.update(trades=batch_trades, volume=batch_volume)
            trades, volume, batch_trades, batch_volume = trades + batch_trades, volume + batch_volume, 0, 0
        elif entry["kind"] == "close":
            entry.update(trades=trades, volume=volume, total_supply=supply)
    close = next((i for i, e in enumerate(entries) if e["kind"] == "close"), None)
    path.write_text(chained(entries))
    if close is not None:
        try:
            digest = replay(path, until=close - 1).balances_digest
        except LogTampered:
            digest = entries[close]["balances_digest"]
        entries[close]["balances_digest"] = digest
        path.write_text(chained(entries))
    return path


def index(entries: list[dict[str, Any]], kind: str, nth: int = 0) -> int:
    return [i for i, e in enumerate(entries) if e["kind"] == kind][nth]


def refused(path: Path, line: int, field: str, match: str = "") -> LogTampered:
    with pytest.raises(LogTampered, match=match) as info:
        replay(path)
    assert (info.value.line, info.value.field) == (line, field), str(info.value)
    return info.value


def test_the_forger_itself_leaves_a_genuine_log_verified(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    path = forge(genuine, tmp_path / "t.jsonl")
    assert path.read_text() == chained(genuine)
    assert replay(path).verified


@pytest.mark.parametrize(
    "extra",
    [
        {"kind": "note", "step": 6, "text": "an unknown kind"},
        "last trade",
        "second close",
    ],
    ids=["unknown-kind", "copied-trade", "second-close"],
)
def test_a_line_after_the_close_is_refused(genuine: list[dict[str, Any]], tmp_path: Path, extra: Any) -> None:
    added = extra if isinstance(extra, dict) else {"last trade": genuine[index(genuine, "trade", -1)], "second close": genuine[-1]}[extra]
    path = tmp_path / "t.jsonl"
    path.write_text(chained([*genuine, dict(added)]))
    refused(path, len(genuine) + 1, "kind", "after the close line")


def test_the_cli_refuses_appended_lines_in_replay_show_and_export(genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained([*genuine, dict(genuine[index(genuine, "trade", -1)])]))
    for argv in (["replay", str(path)], ["log", "show", str(path)], ["log", "export", str(path), "--csv", str(tmp_path / "o.csv"), "--kind", "trade"]):
        assert main(argv) == 4
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"t.jsonl:{len(genuine) + 1}:" in err and "after the close line" in err
    assert not (tmp_path / "o.csv").exists()


def test_an_unknown_kind_inside_the_log_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "batch")
    refused(forge([*genuine[:i], {"kind": "memo", "step": genuine[i]["step"]}, *genuine[i:]], tmp_path / "t.jsonl"), i + 1, "kind", "no kind of log line")


def edit(entries: list[dict[str, Any]], i: int, **changes: Any) -> list[dict[str, Any]]:
    out = [dict(e) for e in entries]
    out[i].update(changes)
    return out


def test_a_trade_price_below_the_sell_limit_is_refused_at_the_trade(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "trade")
    refused(forge(edit(genuine, i, price=genuine[i]["price"] - 1), tmp_path / "t.jsonl"), i + 1, "price", "outside the orders' limits")


def test_a_sell_limit_raised_above_the_trade_price_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    t = index(genuine, "trade")
    sell = next(i for i, e in enumerate(genuine) if e["kind"] == "order" and e["order_id"] == genuine[t]["sell_order"])
    refused(forge(edit(genuine, sell, limit_price=genuine[t]["price"] + 1), tmp_path / "t.jsonl"), t + 1, "price")


def test_a_changed_seller_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "trade")
    refused(forge(edit(genuine, i, seller=genuine[i]["seller"] + 1), tmp_path / "t.jsonl"), i + 1, "seller", "not the owner of the sell order")


def test_a_relabelled_resource_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "trade")
    other = "energy" if genuine[i]["resource"] != "energy" else "compute"
    refused(forge(edit(genuine, i, resource=other), tmp_path / "t.jsonl"), i + 1, "resource")


def test_a_trade_moved_three_steps_on_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "trade")
    refused(forge(edit(genuine, i, step=genuine[i]["step"] + 3), tmp_path / "t.jsonl"), i + 2, "step", "rounds are out of order")


def test_a_deposit_from_nothing_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    i = index(genuine, "deposit")
    forged = edit(genuine, i, amount=genuine[i]["amount"] + 10**12)
    path = forge(forged, tmp_path / "t.jsonl")
    # the forger fixed the close's supply to the deposits' sum, so the supply adds up: what the
    # deposit line cannot forge is the money: only a signed head (format 3) ties it to the operator
    assert json.loads(path.read_text().splitlines()[-1])["total_supply"] == sum(e["amount"] for e in forged if e["kind"] == "deposit")
    unforged = tmp_path / "u.jsonl"
    unforged.write_text(chained(forged))
    refused(unforged, len(genuine), "total_supply", "add up to")


def test_changed_close_totals_are_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    for name in ("trades", "volume", "total_supply"):
        path = tmp_path / f"{name}.jsonl"
        path.write_text(chained(edit(genuine, len(genuine) - 1, **{name: genuine[-1][name] + 1})))
        refused(path, len(genuine), name, "add up to")


def test_a_trade_no_batch_settles_is_refused(genuine: list[dict[str, Any]], tmp_path: Path) -> None:
    b = index(genuine, "batch", -1)
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine[:b] + genuine[b + 1 :]))
    first_trade = next(i for i in range(b - 1, 0, -1) if genuine[i - 1]["kind"] != "trade" and genuine[i]["kind"] == "trade")
    refused(path, first_trade + 1, "kind", "no batch line settles")


def test_truncation_names_the_last_good_line(genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine)[: -len(json.dumps(genuine[-1])) // 2])  # the close line torn
    with pytest.raises(LogTruncated) as info:
        replay(path)
    assert info.value.line == len(genuine) - 1
    assert main(["replay", str(path)]) == 4
    err = capsys.readouterr().err
    assert f"t.jsonl:{len(genuine) - 1}: the log ends after this line" in err


def test_until_beyond_the_end_of_a_truncated_log_is_not_success(genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine[:-1]))
    assert main(["replay", str(path), "--until", "999999"]) == 4
    assert "without a close line" in capsys.readouterr().err
    assert main(["replay", str(path), "--until", "5"]) == 0  # the lines asked for are there


def test_show_and_export_refuse_a_truncated_log_unless_told(genuine: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(chained(genuine[:-1]))
    out = tmp_path / "o.csv"
    assert main(["log", "export", str(path), "--csv", str(out)]) == 4
    assert not out.exists()
    assert main(["log", "show", str(path)]) == 4
    capsys.readouterr()
    assert main(["log", "export", str(path), "--csv", str(out), "--unverified"]) == 0
    assert out.read_text().count("\n") == len(genuine) - 1  # a header row and every event but the header
    assert main(["log", "show", str(path), "--unverified"]) == 0
