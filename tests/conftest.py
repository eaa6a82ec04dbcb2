"""Fixtures shared by every test package, and the check that the suite leaves no process behind."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator

import psutil
import pytest
from hypothesis import HealthCheck, settings

from ledger.chain import AnvilNode, find_anvil

#: The lab secret every test runs under (keys derive from it and the seed: see ledger.keys), so
#: logs, golden hashes and addresses do not depend on the key file of whoever runs the suite.
#: Set in the environment, so the processes tests start inherit it.
TEST_LAB_SECRET = "ccei-test-lab-secret"
os.environ["CCEI_LAB_SECRET"] = TEST_LAB_SECRET

# A bounded profile for CI and everyday runs; `--hypothesis-profile=long` (or CCEI_HYPOTHESIS=long) for fuzzing.
settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, print_blob=True)
settings.register_profile("long", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CCEI_HYPOTHESIS", "ci" if os.environ.get("CI") else "default"))

# Every process the suite starts inherits this variable (children of children too, and orphans whose
# parent died), so the session's end can find any that is still running, whatever its parent now is.
_MARK = "CCEI_TEST_SESSION"
_TOKEN = uuid.uuid4().hex
os.environ[_MARK] = _TOKEN
# multiprocessing's helper processes live as long as this process and end with it: not left behind.
_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def _left_running() -> list[psutil.Process]:
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.pid == me or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(_MARK) != _TOKEN:
                continue
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if any(h in " ".join(proc.info["cmdline"] or ()) for h in _HELPERS):
            continue
        found.append(proc)
    return found


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fails the run if a process a test started is still running (a grace of a few seconds for
    processes that were told to end and are exiting)."""
    if os.environ.get(_MARK) != _TOKEN or hasattr(session.config, "workerinput"):
        return
    deadline = time.monotonic() + 5
    left = _left_running()
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _left_running()
    if left:
        names = "; ".join(f"pid {p.pid}: {' '.join(p.info['cmdline'] or ())[:120]}" for p in left)
        session.config.get_terminal_writer().line(f"error: the test suite left processes running: {names}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture()
def start_anvil() -> Iterator[Callable[..., AnvilNode]]:
    """``start_anvil(port=None, *args)``: starts an anvil node (its platform binary, in its own
    process group) and stops every node it started when the test ends. Skips without anvil."""
    if find_anvil() is None:
        pytest.skip("anvil is not installed: run `npm install` (package.json pins @foundry-rs/anvil)")
    nodes: list[AnvilNode] = []

    def _start(port: int | None = None, *args: str) -> AnvilNode:
        node = AnvilNode.start(port, args=args)
        nodes.append(node)
        return node

    yield _start
    for node in nodes:
        node.stop()


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    """The URL of one anvil node shared by a test module (stopped after it)."""
    if find_anvil() is None:
        pytest.skip("anvil is not installed: run `npm install` (package.json pins @foundry-rs/anvil)")
    with AnvilNode.start() as node:
        yield node.url
