"""End to end: ``ccei demo`` serves the dashboard and a person uses it in a real (headless) Chromium.

Each test starts ``ccei demo`` on a free loopback port in a subprocess, drives Debian's
``chromium`` through Playwright (never a browser Playwright downloads), steps the market, and
checks that the charts and the trade ticker update. Screenshots go to ``test-artifacts/``. A class
in a double auction: ``test_demo_classroom_browser.py``.

Skipped, with the command that fixes it, when Chromium, Playwright or the browser assets are missing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from experiments.demo.assets import missing_assets
from experiments.demo.server import free_port

CHROMIUM = Path(os.environ.get("CCEI_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_S = 120  # importing Mesa, Solara and web3 on a busy two-core machine is slow
UI_MS = 60_000

if not CHROMIUM.exists():
    why = (
        f"Debian's chromium is not installed at {CHROMIUM}: install it with `sudo apt-get install -y chromium` "
        "(`make test` does this when CI is set) or point CCEI_CHROMIUM at a Chromium binary"
    )
    if os.environ.get("CI"):  # CI must run this test, never skip it
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `.venv/bin/pip install -e '.[dev]'`")
if missing_assets():
    pytest.skip("the demo's browser assets are missing: run `.venv/bin/python -m experiments.demo.assets`", allow_module_level=True)


class Server:
    """``ccei demo`` (which becomes the Solara server) in its own process group on a free loopback port."""

    def __init__(self, out: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = out / "server.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "experiments.cli", "demo", "--port", str(self.port), "--out", str(out / "logs"), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"ccei demo exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        pytest.fail(f"ccei demo did not answer on {self.url} within {STARTUP_S} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """The servers start at once, so their slow start-ups overlap (the classroom has its own test: test_demo_classroom_browser.py)."""
    started = {
        "east-west": Server(tmp_path_factory.mktemp("east-west"), "--scenario", "east-west", "--chain", "eth-tester", "--set", "n_users=60"),
    }
    try:
        for server in started.values():
            server.wait_until_up()
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1500, "height": 1050},
        )
        try:
            yield context
        finally:
            context.close()


def _open(browser: Any, server: Server) -> Any:
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(server.url, timeout=UI_MS)
    page.get_by_role("button", name="Step").wait_for(timeout=UI_MS)
    page.locator(".ccei-ticker").wait_for(timeout=UI_MS)
    page.failed_requests = failed
    return page


def _chart_src(page: Any) -> str:
    img = page.locator(".ccei-charts img").first
    img.wait_for(timeout=UI_MS)
    return str(img.get_attribute("src"))


def _step(page: Any) -> None:
    page.get_by_role("button", name="Step").click()


def test_the_east_west_dashboard_on_the_embedded_chain(servers: dict[str, Server], browser: Any) -> None:
    page = _open(browser, servers["east-west"])
    page.locator(".ccei-map img").wait_for(timeout=UI_MS)
    map_before, charts_before = page.locator(".ccei-map img").get_attribute("src"), _chart_src(page)

    for step in (1, 2, 3):
        _step(page)
        page.get_by_text(f"Step: {step}").wait_for(timeout=UI_MS)
    page.locator(".ccei-trade").first.wait_for(timeout=UI_MS)
    page.wait_for_function(
        "([m, c]) => document.querySelector('.ccei-map img').src !== m && document.querySelector('.ccei-charts img').src !== c",
        arg=[map_before, charts_before],
        timeout=UI_MS,
    )
    assert page.locator(".ccei-trade").count() >= 5
    gas = int(page.locator(".ccei-gas").inner_text().replace(",", ""))
    transactions = int(page.locator(".ccei-transactions").inner_text().replace(",", ""))
    assert gas > 0 and transactions > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-dashboard.png"), full_page=True)
    assert not [u for u in page.failed_requests if "/_solara/cdn/" in u], "browser assets failed to load"
