"""Random arguments to every subcommand: never a traceback, never a change to an existing file
(except a run the command line asks to replace: ``run --overwrite`` or ``--resume`` that succeeds).

``demo`` and ``bench`` are fuzzed for argument validation only: the demo server's ``execve`` and
each benchmark's body are replaced, so a valid command line stops where it would start working.
``run`` and ``sweep`` are held to inputs that end quickly (short runs on the memory back end,
sweep files that do not exist or are not sweeps).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import string
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments import bench
from experiments.cli import main

NUMBERS = st.one_of(
    st.integers(-3, 3), st.integers(-(2**70), 2**70), st.sampled_from(["nan", "inf", "-0", "1e400", "", "x", "0x10", "2**64"])
).map(str)
WORDS = st.one_of(
    st.text(string.ascii_letters + string.digits + "-_.=/:[]{}\"' ", max_size=12), st.sampled_from(["memory", "posted-price", "uniform"])
)


class Launched(Exception):
    """The demo got as far as replacing this process."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    assert main(["run", "--scenario", "posted-price", "--steps", "3", "--chain", "memory", "--out", str(root / "run"), "-q"]) == 0
    (root / "notes.txt").write_text("not a log\n")
    (root / "bad.toml").write_text("model = 5\n")
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def paths(root: Path) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            str(root / n)
            for n in ("run", "run/trades.jsonl", "run/summary.json", "run/metrics.csv", "notes.txt", "bad.toml", "nowhere", "run/run.json")
        ]
    )


def argv_for(root: Path) -> st.SearchStrategy[list[str]]:
    path = paths(root)
    fresh = st.sampled_from([str(root / "new" / n) for n in ("a", "b.csv", "c")])
    options: dict[str, list[tuple[str, st.SearchStrategy[str] | None]]] = {
        "run": [
            ("--scenario", st.one_of(WORDS, path)),
            ("--steps", st.sampled_from(["-1", "0", "1", "2", "1000001", str(2**70), "x", "nan", ""])),
            ("--seed", NUMBERS),
            ("--chain", st.sampled_from(["memory", "ftp://x", "http://127.0.0.1:9", ""])),
            ("--out", st.one_of(path, fresh)),
            ("--set", st.one_of(WORDS, st.sampled_from(["n_users=0", "steps=0", "surge=nan", "params.x=1", "=", "n_users=[1]"]))),
            ("--overwrite", None),
            ("--no-sign", None),
            ("--resume", None),
            ("-q", None),
        ],
        "replay": [
            ("--chain", st.sampled_from(["memory", "ftp://x", "http://127.0.0.1:9"])),
            ("--until", NUMBERS),
            ("--json", None),
            ("--mechanism", WORDS),
            ("--operator", WORDS),
            ("--against", st.sampled_from(["memory", "eth-tester", "ftp://x", "http://127.0.0.1:9", ""])),
        ],
        "log show": [("--agent", NUMBERS), ("--step", NUMBERS), ("--kind", WORDS), ("--limit", NUMBERS), ("--unverified", None)],
        "log export": [
            ("--agent", NUMBERS),
            ("--step", NUMBERS),
            ("--kind", WORDS),
            ("--csv", st.one_of(path, fresh)),
            ("--unverified", None),
            ("--overwrite", None),
        ],
        "report": [("--out", st.one_of(path, fresh)), ("--metric", WORDS)],
        "sweep": [
            ("--out", st.one_of(path, fresh)),
            ("--workers", NUMBERS),
            ("--steps", NUMBERS),
            ("--seeds", NUMBERS),
            ("--csv", None),
            ("-q", None),
        ],
        "scenarios": [("--json", None)],
        "demo": [
            ("--scenario", st.one_of(WORDS, path)),
            ("--port", NUMBERS),
            ("--host", st.sampled_from(["127.0.0.1", "", "999.1.1.1"])),
            ("--chain", st.sampled_from(["memory", "ftp://x", ""])),
            ("--seed", NUMBERS),
            ("--set", WORDS),
            ("--out", st.one_of(path, fresh)),
        ],
        "bench": [("--json", None), ("--small", NUMBERS), ("--large", NUMBERS), ("--repeats", NUMBERS), ("--steps", NUMBERS), ("--no-signed", None)],
        "compile": [("--bogus", None)],
    }
    positional = {
        "replay": path, "log show": path, "log export": path, "report": path,
        "sweep": st.one_of(WORDS, path), "bench": st.one_of(st.sampled_from(bench.available()), WORDS),
    }

    @st.composite
    def build(draw: Any) -> list[str]:
        command = draw(st.sampled_from(sorted(options)))
        argv = command.split()
        if command in positional and draw(st.booleans() | st.just(True)):
            argv.append(draw(positional[command]))
        for name, values in draw(st.lists(st.sampled_from(options[command]), max_size=4)):
            argv.append(name)
            if values is not None:
                argv.append(draw(values))
        if command == "run":
            argv += [] if "--chain" in argv else ["--chain", "memory"]
            argv += [] if "--steps" in argv else ["--steps", "2"]  # a valid run stays short
        return argv

    return build()


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_arguments_never_give_a_traceback_or_change_a_file(world: Path, data: st.DataObject, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = data.draw(argv_for(world))
    before = snapshot(world)
    monkeypatch.setattr("experiments.demo.server.os.execve", lambda *a: (_ for _ in ()).throw(Launched()))
    real_load = bench.load
    monkeypatch.setattr(bench, "load", lambda name: SimpleNamespace(add_arguments=real_load(name).add_arguments, run=lambda args: {"validated": 1}))
    err = io.StringIO()
    code: int | str | None
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors and --help
            code = exc.code
        except Launched:
            code = 0
    assert "Traceback" not in err.getvalue(), (argv, err.getvalue())
    if code not in (0, None):
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        assert len(lines) == 1, (argv, err.getvalue())
    after = snapshot(world)
    replacing = argv[0] == "run" and ("--overwrite" in argv or "--resume" in argv) or argv[:2] == ["log", "export"] and "--overwrite" in argv
    if not (code == 0 and replacing):  # asked to replace a run or an export
        assert {k: v for k, v in after.items() if k in before} == before, argv
