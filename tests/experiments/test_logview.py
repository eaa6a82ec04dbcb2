"""ccei log show and ccei log export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from experiments.cli import main


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "--scenario", "posted-price", "--steps", "6", "--chain", "memory", "--out", str(out), "-q"]) == 0
    return out / "trades.jsonl"


def test_show_filters_by_agent_step_and_kind(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "show", str(log), "--kind", "trade", "--step", "2", "--limit", "1000"]) == 0
    out = capsys.readouterr().out
    trades_step2 = [e for e in map(json.loads, log.read_text().splitlines()) if e.get("kind") == "trade" and e.get("step") == 2]
    assert f"{len(trades_step2)} events matched" in out
    agent = trades_step2[0]["buyer"]
    assert main(["log", "show", str(log), "--agent", str(agent)]) == 0
    assert "events matched" in capsys.readouterr().out


def test_export_writes_one_row_per_event(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "events.csv"
    assert main(["log", "export", str(log), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    events = log.read_text().splitlines()[1:]
    assert len(rows) == len(events)
    trade = next(r for r in rows if r["kind"] == "trade")
    assert int(trade["amount"]) == int(trade["price"]) * int(trade["quantity"])
    assert "wrote" in capsys.readouterr().out


def test_deposits_and_payments_keep_their_amount_and_parties(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A deposit's and a bargaining payment's amount goes to ``amount``; ``--agent`` finds the
    payer and the payee of a payment and the agent of a deposit."""
    assert main(["run", "--scenario", "microgrids", "--steps", "24", "--chain", "memory", "--out", str(tmp_path / "mg"), "-q"]) == 0
    log = tmp_path / "mg" / "trades.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    payment = next(e for e in entries if e["kind"] == "payment")
    out = tmp_path / "events.csv"
    assert main(["log", "export", str(log), "--csv", str(out)]) == 0
    rows = {int(r["seq"]): r for r in csv.DictReader(out.open())}
    assert int(rows[payment["seq"]]["amount"]) == payment["amount"]
    deposit = next(e for e in entries if e["kind"] == "deposit")
    assert int(rows[deposit["seq"]]["amount"]) == deposit["amount"]
    for who in ("payer", "payee"):
        capsys.readouterr()
        agent_out = tmp_path / f"{who}.csv"
        assert main(["log", "export", str(log), "--csv", str(agent_out), "--agent", str(payment[who]), "--kind", "payment"]) == 0
        assert payment["seq"] in {int(r["seq"]) for r in csv.DictReader(agent_out.open())}


def test_tampered_log_is_one_line_and_leaves_no_csv(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    first_trade = next(i for i, line in enumerate(lines) if '"kind":"trade"' in line)
    lines[first_trade] = lines[first_trade].replace('"quantity":', '"quantity":1')
    bad.write_text("".join(lines))
    out = tmp_path / "events.csv"
    out.write_text("an earlier export\n")
    assert main(["log", "export", str(bad), "--csv", str(out), "--overwrite"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"bad.jsonl:{first_trade + 1}: field 'hash'" in err
    assert out.read_text() == "an earlier export\n"
    assert not list(tmp_path.glob("*.partial"))


def test_unwritable_csv(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_text("")
    assert main(["log", "export", str(log), "--csv", str(tmp_path / "f" / "x.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_missing_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "show", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read the trade log" in capsys.readouterr().err


def test_an_existing_csv_is_replaced_only_when_asked(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "notes.csv"
    out.write_text("the user's own file\n")
    assert main(["log", "export", str(log), "--csv", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--overwrite" in err
    assert out.read_text() == "the user's own file\n"
    assert main(["log", "export", str(log), "--csv", str(out), "--overwrite"]) == 0
    assert out.read_text().startswith("seq,")
