"""ccei replay --rerun: re-execute a run from its log's header and compare the log byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.cli import main
from ledger.tradelog import canonical, entry_hash

ARGS = ["run", "--scenario", "posted-price", "--steps", "3", "--seed", "2", "--chain", "memory", "-q"]


@pytest.fixture()
def finished(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def test_run_json_records_the_code_digest(finished: Path) -> None:
    from experiments.run import code_digest

    assert json.loads((finished / "run.json").read_text())["code_digest"] == code_digest()


def test_a_genuine_log_reruns_byte_for_byte(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(finished / "trades.jsonl"), "--rerun"]) == 0
    assert "the rerun wrote the same" in capsys.readouterr().out


def rewrite_last(log: Path, **changes: object) -> None:
    lines = log.read_text().splitlines()
    entry = json.loads(lines[-1])
    entry.update(changes)
    entry["hash"] = entry_hash(entry)
    lines[-1] = canonical(entry).decode()
    log.write_text("\n".join(lines) + "\n")


def test_a_difference_under_the_same_code_is_named_as_such(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = finished / "trades.jsonl"
    rewrite_last(log, volume=1)
    assert main(["replay", str(log), "--rerun"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"trades.jsonl:{len(log.read_text().splitlines())}: differs from the rerun" in err
    assert "this is the run's code" in err


def test_a_difference_under_other_code_says_so(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = json.loads((finished / "run.json").read_text())
    (finished / "run.json").write_text(json.dumps({**meta, "code_digest": "0" * 64}))
    rewrite_last(finished / "trades.jsonl", volume=1)
    assert main(["replay", str(finished / "trades.jsonl"), "--rerun"]) == 4
    assert "another code version, not necessarily a forgery" in capsys.readouterr().err


def test_rerun_refuses_other_options_and_foreign_domains(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(finished / "trades.jsonl"), "--rerun", "--until", "3"]) == 2
    assert "takes no --mechanism, --until or --chain" in capsys.readouterr().err
    log = finished / "trades.jsonl"
    lines = log.read_text().splitlines()
    header = json.loads(lines[0])
    header["domain"] = {**header["domain"], "chain_id": 31337}
    header["hash"] = entry_hash(header)
    log.write_text(canonical(header).decode() + "\n")  # just the header: refused before anything runs
    assert main(["replay", str(log), "--rerun"]) == 2
    assert "only logs of memory or eth-tester runs can be rerun" in capsys.readouterr().err
