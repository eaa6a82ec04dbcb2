"""A fork server for the docs test: ``ccei`` with its libraries imported once, forked per command.

Importing the CLI's libraries (web3, Mesa, pandas, matplotlib) takes seconds, longer than most of
the manual's small commands take to run. ``python docs_forkserver.py SOCKET`` imports them, then
listens on the Unix socket ``SOCKET``. The client, the ``ccei`` the docs' shell blocks call, is
written by ``tests/test_docs.py`` (``CLIENT`` there): it passes its standard input, output and
error (as file descriptors), arguments, working directory and environment, and the server forks a
child that becomes that command and sends back its exit code. Each command starts from the same
freshly imported state, so one cannot leak into the next.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import traceback
from typing import TypedDict

#: What the commands in the manual import; a module that fails to import is left to the command.
PRELOAD = (
    "experiments.cli",
    "experiments.run",
    "experiments.sweep",
    "experiments.results",
    "experiments.logview",
    "experiments.counterfactual",
    "experiments.reporting",
    "ledger.replay",
    "ledger.session",
    "ledger.backends",
    "ledger.chain",
    "agents",
    "pandas",
    "matplotlib.pyplot",
)

class Request(TypedDict):
    """What the client sends besides its three streams."""

    argv: list[str]
    cwd: str
    env: dict[str, str]


def _receive(conn: socket.socket) -> tuple[Request, list[int]]:
    header, fds, _flags, _addr = socket.recv_fds(conn, 8, 3)
    size, data = int.from_bytes(header, "big"), b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    request: Request = json.loads(data)
    return request, fds


def _child(conn: socket.socket, request: Request, fds: list[int]) -> None:
    """Becomes the command: its streams, directory, environment and arguments; never returns."""
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        argv = request["argv"]
        sys.argv = ["ccei", *argv]
        from experiments.cli import main

        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - a traceback is what the test must show
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - a closed pipe: nothing left to say
                pass
        try:
            conn.sendall(int(code).to_bytes(4, "big", signed=True))
        finally:
            os._exit(int(code) & 0xFF)


def serve(path: str) -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - the command will report it
            continue
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path + ".tmp")
    listener.listen(16)
    os.rename(path + ".tmp", path)  # the socket appears only once the server is ready
    listener.settimeout(0.5)
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        request, fds = _receive(conn)
        if os.fork() == 0:
            listener.close()
            _child(conn, request, fds)
        conn.close()
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    serve(sys.argv[1])
