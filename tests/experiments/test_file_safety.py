"""Nothing a user has is destroyed: refused resumes, bad exports and a full disk leave every file
as it was (or resumable), and every bad input is one line and a non-zero exit."""

from __future__ import annotations

import errno
import hashlib
import json
from pathlib import Path

import pytest

from experiments import files
from experiments.cli import main
from experiments.files import OutputError, atomic_output
from ledger import tradelog
from ledger.keys import lab_secret

ARGS = ["run", "--scenario", "posted-price", "--steps", "4", "--seed", "5", "--chain", "memory", "-q"]


def snapshot(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.is_file()}


@pytest.fixture()
def finished(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ccei: error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"chain": 5}'], ids=["empty", "broken", "not-a-table", "no-chain"])
def test_resume_with_a_bad_run_json_changes_nothing(finished: Path, content: str, capsys: pytest.CaptureFixture[str]) -> None:
    (finished / "run.json").write_text(content)
    before = snapshot(finished)
    assert main(["run", "--resume", "--out", str(finished), "-q"]) == 2
    one_line_error(capsys, "run.json", "nothing was changed")
    assert snapshot(finished) == before


def test_resume_with_an_edited_line_changes_nothing(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = finished / "trades.jsonl"
    log.write_bytes(log.read_bytes().replace(b'"price":', b'"price":1', 1))
    before = snapshot(finished)
    assert main(["run", "--resume", "--out", str(finished), "-q"]) == 4
    one_line_error(capsys, "field 'hash'")
    assert snapshot(finished) == before


def test_resume_with_lines_after_the_close_changes_nothing(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = finished / "trades.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    last = json.loads(lines[-1])
    extra = {**last, "seq": last["seq"] + 1, "prev": last["hash"], "kind": "close"}
    extra["hash"] = tradelog.entry_hash(extra)
    log.write_text("".join(lines) + tradelog.canonical(extra).decode() + "\n")
    before = snapshot(finished)
    assert main(["run", "--resume", "--out", str(finished), "-q"]) == 4
    one_line_error(capsys, "after the close line")
    assert snapshot(finished) == before


def test_resume_under_another_header_changes_nothing(finished: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from experiments import run as run_module

    monkeypatch.setattr(run_module, "code_version", lambda: "9.9.9")
    log = finished / "trades.jsonl"
    log.write_bytes(log.read_bytes()[:-7])  # a torn last line too: not cut while the header differs
    before = snapshot(finished)
    assert main(["run", "--resume", "--out", str(finished), "-q"]) == 4
    one_line_error(capsys, "trades.jsonl:1: the log's header differs")
    assert snapshot(finished) == before


def test_resume_with_the_node_down_changes_nothing(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (finished / "run.json").write_text(json.dumps({"chain": "http://127.0.0.1:9"}))
    before = snapshot(finished)
    assert main(["run", "--resume", "--out", str(finished), "-q"]) == 3
    one_line_error(capsys, "127.0.0.1:9")
    assert snapshot(finished) == before


def test_a_resumed_run_keeps_settlements_until_it_finishes(finished: Path) -> None:
    whole = snapshot(finished)
    assert main(["run", "--resume", "--out", str(finished), "-q"]) == 0
    after = snapshot(finished)
    assert {k: v for k, v in after.items() if k != "summary.json"} == {k: v for k, v in whole.items() if k != "summary.json"}
    assert not list(finished.glob(".*partial")) and not list(finished.glob(".*tmp"))


def test_export_never_overwrites_its_input(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = finished / "trades.jsonl"
    before = log.read_bytes()
    assert main(["log", "export", str(log), "--csv", str(log)]) == 2
    one_line_error(capsys, "is the trade log being read")
    assert log.read_bytes() == before


def test_export_to_a_directory_is_one_line(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "export", str(finished / "trades.jsonl"), "--csv", str(finished)]) == 2
    one_line_error(capsys, "is a directory")


def test_show_refuses_a_negative_limit(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "show", str(finished / "trades.jsonl"), "--limit", "-1"]) == 2
    one_line_error(capsys, "--limit -1")


def test_mechanism_refuses_until_and_chain(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for extra in (["--until", "5"], ["--chain", "eth-tester"], ["--against", "http://127.0.0.1:1"]):
        assert main(["replay", str(finished / "trades.jsonl"), "--mechanism", "uniform", *extra]) == 2
        one_line_error(capsys, "takes neither --until, --chain nor --against")


def test_a_failed_atomic_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OutputError, match="No space left on device"):
        with atomic_output(target, "summary.json") as handle:
            handle.write("new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_full_disk_mid_run_is_one_line_and_resumable(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "full"
    real_sync = tradelog.TradeLogWriter.sync
    calls = {"n": 0}

    def sync(self: tradelog.TradeLogWriter) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the disk fills in the middle of the run
            self._file.write(b'{"torn')
            self._file.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        real_sync(self)

    monkeypatch.setattr(tradelog.TradeLogWriter, "sync", sync)
    assert main([*ARGS, "--out", str(out)]) == 2
    one_line_error(capsys, "No space left on device", f"ccei run --resume --out {out}")
    assert not (out / "summary.json").exists()
    monkeypatch.setattr(tradelog.TradeLogWriter, "sync", real_sync)
    assert main(["run", "--resume", "--out", str(out), "-q"]) == 0
    whole = tmp_path / "whole"
    assert main([*ARGS, "--out", str(whole)]) == 0
    assert (out / "trades.jsonl").read_bytes() == (whole / "trades.jsonl").read_bytes()


def test_nan_never_reaches_summary_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.posted_price import PostedPriceModel
    from experiments.run import finite

    assert finite({"a": float("nan"), "b": [float("inf"), 1.5], "c": 2}) == {"a": None, "b": [None, 1.5], "c": 2}
    monkeypatch.setattr(PostedPriceModel, "summary_metrics", lambda self: {"efficiency": float("nan")})
    assert main([*ARGS, "--out", str(tmp_path / "o")]) == 0
    text = (tmp_path / "o" / "summary.json").read_text()
    assert "NaN" not in text and json.loads(text)["efficiency"] is None


def test_the_lab_secret_is_never_written_to_a_run(finished: Path) -> None:
    secret = lab_secret()
    for path in finished.iterdir():
        assert secret not in path.read_bytes(), path.name


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["run", "--seed", str(2**300)], "--seed"),
        (["run", "--steps", str(10**20)], "--steps"),
        (["run", "--scenario", "posted-price", "--set", "n_users=0"], "n_users"),
        (["run", "--scenario", "posted-price", "--set", f"n_users={10**20}"], "n_users"),
        (["run", "--scenario", "microgrids", "--set", "n_microgrids=0"], "n_microgrids"),
        (["run", "--scenario", "gode-sunder", "--set", "n_buyers=0"], "n_buyers"),
        (["run", "--scenario", "smith-1962", "--set", "buyer_values=[]"], "must not be empty"),
        (["run", "--scenario", "posted-price", "--set", "surge=nan"], "finite"),
    ],
)
def test_bad_run_input_is_one_line(argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--chain", "memory", "--out", str(tmp_path / "o"), "-q"]) == 2
    one_line_error(capsys, needle)
    assert not (tmp_path / "o").exists()
