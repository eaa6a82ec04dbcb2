"""Starting the demo: its settings, checks before launch, and the Solara server on a loopback port.

``ccei demo`` checks everything a class would otherwise meet as a broken page (the scenario and
its overrides, the chain, the port, the browser assets), then runs ``solara run`` on
:mod:`experiments.demo.app` with the settings in environment variables, which the app reads back
with :meth:`DemoConfig.from_env`. ``solara run experiments/demo/app.py`` works the same way with
the defaults (or the variables set by hand).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from experiments.demo.assets import missing_assets
from experiments.demo.live import DemoError, DemoMarket, Room, demo_class
from experiments.scenarios import Scenario, load_scenario

__all__ = [
    "DemoConfig", "APP", "ENV", "room_for", "check_port", "free_port", "solara_command", "server_env", "launch",
    "join_host", "classroom_addresses", "serve_classroom",
]  # fmt: skip

#: The Solara app module.
APP = Path(__file__).with_name("app.py")
#: Environment variables the app reads its settings from.
ENV = {
    "scenario": "CCEI_DEMO_SCENARIO",
    "overrides": "CCEI_DEMO_SET",
    "chain": "CCEI_DEMO_CHAIN",
    "seed": "CCEI_DEMO_SEED",
    "out": "CCEI_DEMO_OUT",
}
_CHAINS = ("memory", "eth-tester")


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """What one demo server shows.

    Attributes:
        scenario: Built-in scenario name or a scenario file.
        overrides: ``KEY=VALUE`` overrides of the scenario, as ``ccei run --set`` takes them.
        chain: ``memory`` (default), ``eth-tester`` or an http(s) node URL.
        seed: The market's seed.
        out: Directory for the trade logs (one per market; a reset starts a new one).
    """

    scenario: str = "east-west"
    overrides: tuple[str, ...] = field(default_factory=tuple)
    chain: str = "memory"
    seed: int = 1
    out: str = "runs/demo"

    def load(self) -> Scenario:
        """The scenario with the overrides applied.

        Raises:
            ScenarioError: as ``ccei run`` reports it.
            DemoError: an unknown chain or a negative seed.
        """
        if self.chain not in _CHAINS and not self.chain.startswith(("http://", "https://")):
            raise DemoError(f"--chain {self.chain}: use memory, eth-tester or an http(s):// node URL")
        if self.seed < 0:
            raise DemoError(f"--seed {self.seed}: must not be negative")
        return load_scenario(self.scenario, list(self.overrides))

    def to_env(self) -> dict[str, str]:
        return {
            ENV["scenario"]: self.scenario,
            ENV["overrides"]: json.dumps(list(self.overrides)),
            ENV["chain"]: self.chain,
            ENV["seed"]: str(self.seed),
            ENV["out"]: self.out,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DemoConfig:
        """The settings in ``env``; defaults for the ones not set.

        Raises:
            DemoError: a malformed seed or override list.
        """
        default = cls()
        try:
            seed = int(env.get(ENV["seed"], default.seed))
        except ValueError:
            raise DemoError(f"{ENV['seed']}={env[ENV['seed']]!r}: expected an integer") from None
        try:
            overrides = json.loads(env.get(ENV["overrides"], "[]"))
        except json.JSONDecodeError:
            overrides = None
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise DemoError(f"{ENV['overrides']}: expected a JSON list of KEY=VALUE strings")
        return cls(
            scenario=env.get(ENV["scenario"], default.scenario),
            overrides=tuple(overrides),
            chain=env.get(ENV["chain"], default.chain),
            seed=seed,
            out=env.get(ENV["out"], default.out),
        )


_ROOMS: dict[DemoConfig, tuple[Scenario, Room]] = {}
_ROOMS_LOCK = threading.Lock()


def room_for(config: DemoConfig) -> tuple[Scenario, Room]:
    """The scenario and the room of ``config``: one per server process and settings, shared by every session.

    Raises:
        ScenarioError, DemoError: the settings are wrong.
    """
    with _ROOMS_LOCK:
        if config not in _ROOMS:
            scenario = config.load()
            cls = demo_class(scenario.model_class)

            def build(room: Room) -> DemoMarket:
                return cls(**scenario.params, chain=config.chain, log_dir=config.out, scenario=scenario.name, seed=config.seed, room=room)

            _ROOMS[config] = (scenario, Room(build))
        return _ROOMS[config]


def check_port(host: str, port: int) -> None:
    """Checks that ``port`` is free on ``host``.

    Raises:
        DemoError: out of range or taken.
    """
    if not 0 < port < 65_536:
        raise DemoError(f"--port {port}: must be between 1 and 65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise DemoError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port") from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port the system reports free on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def solara_command(host: str, port: int) -> list[str]:
    """The command that serves the app: production mode, no browser opened, no update check."""
    return [
        sys.executable, "-m", "solara", "run", str(APP),
        "--host", host, "--port", str(port),
        "--production", "--no-open", "--no-check-version", "--log-level", "warning",
    ]  # fmt: skip


def server_env(config: DemoConfig, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the server process: ``base`` (default: ours) with the demo's settings."""
    env = dict(os.environ if base is None else base)
    env.update(config.to_env())
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # a classroom may be offline
    return env


def launch(config: DemoConfig, *, host: str = "127.0.0.1", port: int = 8521, check_chain: bool = True) -> None:
    """Checks the settings, then serves the demo until Ctrl-C: a double-auction scenario as a classroom
    (:func:`serve_classroom`), any other as the Solara dashboard (this process is replaced by it).

    Raises:
        ScenarioError, DemoError, ChainUnavailable, AssetsMissing: as the message says.
    """
    scenario = config.load()
    check_port(host, port)
    missing = missing_assets() if scenario.model != "double-auction" else []
    if missing:
        raise DemoError(
            f"browser assets missing ({', '.join(a.spec for a in missing)}): run `make setup` or "
            f"`{Path(sys.executable).name} -m experiments.demo.assets` once while online"
        )
    if check_chain and config.chain != "memory":
        from ledger.backends import open_backend

        open_backend(config.chain, config.seed).close()
    if scenario.model == "double-auction":
        serve_classroom(config, scenario, host=host, port=port)
        return
    print(f"CCEI demo: {config.scenario} on {config.chain}, http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    command = solara_command(host, port)
    os.execve(command[0], command, server_env(config))


def join_host(host: str) -> str:
    """The address students type: ``host``, or this machine's address on its network when listening on all (``0.0.0.0``).

    The network address is the one the system would send from (a UDP socket "connected" to a
    documentation address sends nothing); loopback when there is no network.
    """
    if host not in ("0.0.0.0", "::", ""):  # noqa: S104 - comparing, not binding
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
            return str(sock.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def classroom_addresses(host: str, port: int, token: str) -> dict[str, str]:
    """The classroom's pages: the students' join address, the projector, the debrief and the teacher's console (with its token)."""
    base = f"http://{join_host(host)}:{port}"
    return {"students": f"{base}/", "projector": f"{base}/projector", "debrief": f"{base}/debrief", "teacher": f"{base}/teacher?token={token}"}


def serve_classroom(config: DemoConfig, scenario: Scenario, *, host: str, port: int) -> None:
    """Serves a class session on ``scenario`` (see :mod:`experiments.demo.web`) until Ctrl-C; prints its addresses first.

    Raises:
        DemoError: the scenario is not a double auction.
    """
    import uvicorn

    from experiments.demo.classroom import Classroom
    from experiments.demo.web import create_app

    room = Classroom(scenario, chain=config.chain, seed=config.seed, out=config.out, join_url="")
    pages = classroom_addresses(host, port, room.teacher_token)
    room.join_url = pages["students"]
    print(f"CCEI classroom: {scenario.name} on {config.chain} (Ctrl-C stops it)", flush=True)
    for name, url in pages.items():
        print(f"  {name + ':':<11}{url}", flush=True)
    print(f"  {'trades:':<11}{room.csv_path} (the class's trades, CSV, after every period)", flush=True)
    uvicorn.run(create_app(room), host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
