"""Starting the demo: settings through the environment, checks before launch, and ``ccei demo``."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from experiments.cli import main
from experiments.demo import server
from experiments.demo.assets import Asset
from experiments.demo.live import DemoError
from experiments.demo.server import (
    ENV,
    DemoConfig,
    check_port,
    classroom_addresses,
    free_port,
    join_host,
    room_for,
    server_env,
    solara_command,
)
from experiments.scenarios import ScenarioError


def test_settings_travel_through_the_environment() -> None:
    config = DemoConfig("smith-1962", ("strategy=zi-c",), "eth-tester", 7, "/tmp/logs")
    env = config.to_env()
    assert env[ENV["scenario"]] == "smith-1962" and json.loads(env[ENV["overrides"]]) == ["strategy=zi-c"]
    assert DemoConfig.from_env(env) == config
    assert DemoConfig.from_env({}) == DemoConfig()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({ENV["seed"]: "x"}, r"CCEI_DEMO_SEED='x': expected an integer"),
        ({ENV["overrides"]: "strategy=zi-c"}, r"CCEI_DEMO_SET: expected a JSON list of KEY=VALUE strings"),
        ({ENV["overrides"]: "[1]"}, r"CCEI_DEMO_SET: expected a JSON list"),
    ],
)
def test_malformed_settings_in_the_environment(env: dict[str, str], message: str) -> None:
    with pytest.raises(DemoError, match=message):
        DemoConfig.from_env(env)


def test_load_applies_overrides_and_checks_chain_and_seed() -> None:
    scenario = DemoConfig("smith-1962", ("strategy=zi-c",)).load()
    assert scenario.params["strategy"] == "zi-c"
    assert DemoConfig(chain="http://127.0.0.1:8545").load().name == "east-west"
    with pytest.raises(DemoError, match=r"--chain ganache: use memory, eth-tester or an http\(s\):// node URL"):
        DemoConfig(chain="ganache").load()
    with pytest.raises(DemoError, match="--seed -1: must not be negative"):
        DemoConfig(seed=-1).load()
    with pytest.raises(ScenarioError, match="nope"):
        DemoConfig("nope").load()


def test_ports() -> None:
    port = free_port()
    check_port("127.0.0.1", port)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with pytest.raises(DemoError, match=rf"--port {taken}: cannot listen on 127.0.0.1:{taken} .*choose another port"):
            check_port("127.0.0.1", taken)
    with pytest.raises(DemoError, match="--port 70000: must be between 1 and 65535"):
        check_port("127.0.0.1", 70_000)


def test_the_server_command_and_environment() -> None:
    command = solara_command("127.0.0.1", 8999)
    assert command[:4] == [sys.executable, "-m", "solara", "run"] and command[4].endswith("experiments/demo/app.py")
    assert Path(command[4]).is_file()
    assert {"--production", "--no-open", "--no-check-version"} <= set(command)
    assert command[command.index("--port") + 1] == "8999" and command[command.index("--host") + 1] == "127.0.0.1"
    env = server_env(DemoConfig("gode-sunder"), base={"PATH": "/bin"})
    assert env["PATH"] == "/bin" and env[ENV["scenario"]] == "gode-sunder" and env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_one_room_per_settings(tmp_path: Path) -> None:
    config = DemoConfig("gode-sunder", out=str(tmp_path))
    scenario, room = room_for(config)
    assert room_for(config)[1] is room and scenario.name == "gode-sunder"
    model = room.model
    assert model.log_path.parent == tmp_path and model.demo_seed == 1
    model.close()


class Exec:
    """Stands in for ``os.execve``: records what would have become the server."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], dict[str, str]]] = []

        self.served: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, path: str, argv: list[str], env: dict[str, str]) -> None:
        self.calls.append((path, argv, env))

    def serve(self, app: Any, **kwargs: Any) -> None:
        """Stands in for ``uvicorn.run``: records the classroom app and where it would listen."""
        self.served.append((app, kwargs))


@pytest.fixture
def execve(monkeypatch: pytest.MonkeyPatch) -> Exec:
    fake = Exec()
    monkeypatch.setattr(server.os, "execve", fake)
    monkeypatch.setattr(server, "missing_assets", lambda: [])
    monkeypatch.setattr(uvicorn, "run", fake.serve)
    return fake


def test_ccei_demo_becomes_the_solara_server(execve: Exec, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    port = free_port()
    code = main(["demo", "--scenario", "east-west", "--port", str(port), "--set", "n_users=20", "--out", str(tmp_path), "--seed", "4"])
    assert code == 0
    (path, argv, env), = execve.calls
    assert path == sys.executable and argv[argv.index("--port") + 1] == str(port)
    assert DemoConfig.from_env(env) == DemoConfig("east-west", ("n_users=20",), "memory", 4, str(tmp_path))
    assert f"http://127.0.0.1:{port}/" in capsys.readouterr().out
    assert not execve.served


def test_ccei_demo_serves_a_class_for_an_auction(execve: Exec, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    port = free_port()
    code = main(["demo", "--scenario", "smith-1962", "--port", str(port), "--set", "strategy=zi-u", "--out", str(tmp_path), "--seed", "4"])
    assert code == 0 and not execve.calls
    (app, where), = execve.served
    assert where["host"] == "127.0.0.1" and where["port"] == port
    room = app.state.room
    assert room.treatment["strategy"] == "zi-u" and room.seed == 4 and room.out == tmp_path
    out = capsys.readouterr().out
    base = f"http://127.0.0.1:{port}"
    assert f"students:  {base}/\n" in out and f"projector: {base}/projector" in out and f"debrief:   {base}/debrief" in out
    assert f"teacher:   {base}/teacher?token={room.teacher_token}" in out and str(room.csv_path) in out
    assert room.join_url == f"{base}/"


def test_students_get_the_machines_network_address_when_it_listens_on_all() -> None:
    assert join_host("127.0.0.1") == "127.0.0.1" and join_host("10.1.2.3") == "10.1.2.3"
    network = join_host("0.0.0.0")
    assert network != "0.0.0.0" and socket.inet_aton(network)
    pages = classroom_addresses("0.0.0.0", 8521, "tok")
    assert pages["students"] == f"http://{network}:8521/" and pages["teacher"].endswith("/teacher?token=tok")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--scenario", "nope"], 2, "nope"),
        (["--set", "strategy=greedy"], 2, "strategy"),
        (["--chain", "ganache"], 2, "--chain ganache: use memory, eth-tester"),
        (["--seed", "-3"], 2, "--seed -3: must not be negative"),
        (["--port", "0"], 2, "--port 0: must be between 1 and 65535"),
        (["--chain", "http://127.0.0.1:9"], 3, "127.0.0.1:9"),  # nothing listens there
    ],
)
def test_ccei_demo_errors_are_one_line(execve: Exec, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str) -> None:
    args = ["demo", *argv] if "--scenario" in argv else ["demo", "--scenario", "smith-1962", *argv]
    assert main(args) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not execve.calls and not execve.served


def test_ccei_demo_says_how_to_fetch_missing_assets(execve: Exec, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(server, "missing_assets", lambda: [Asset("requirejs", "2.3.6")])
    assert main(["demo", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "browser assets missing (requirejs@2.3.6): run `make setup` or" in err and "-m experiments.demo.assets" in err
    assert not execve.calls
