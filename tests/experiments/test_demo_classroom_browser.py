"""End to end: a class of thirty on one ``ccei demo --scenario smith-1962`` server, in a real (headless) Chromium.

The teacher's console, the projector page and some students' pages run in Debian's ``chromium``
driven by Playwright (never a browser Playwright downloads), each page in its own browser context
(its own storage, as on its own phone); the other students are pages without a browser: each
takes a seat through the API and holds the event stream a page opens
(:class:`experiments.bench.classroom.EventStream`). Three students in the browser by default,
thirty under the ``slow`` marker. The projector at 1280×800 and a student's phone at 390×844 are
checked through the page's elements; their screenshots go to ``test-artifacts/`` (the copies in
``docs/img/`` are shown in ``docs/classroom.md``).

Skipped, with the command that fixes it, when Chromium or Playwright is missing (failed on CI).
"""

from __future__ import annotations

import json
import os
import re
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

from experiments.bench.classroom import EventStream
from experiments.demo.server import free_port

CHROMIUM = Path(os.environ.get("CCEI_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_S = 120
UI_MS = 60_000
CLASS = 30
PROJECTOR = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    why = f"Debian's chromium is not installed at {CHROMIUM}: `sudo apt-get install -y chromium`, or point CCEI_CHROMIUM at a Chromium binary"
    if os.environ.get("CI"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: `.venv/bin/pip install -e '.[dev]'`")

# Names a class has: accents, another script, a long one (24 characters, the most a seat takes).
NAMES = [
    "Ada", "Björn", "Chen Wei", "Dana", "Élodie", "Farah", "Gustavo", "Hana", "Ivan", "Jonas",
    "Kemal", "Lina", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomás",
    "Uma", "Viktor", "Wen", "Xochitl", "Yusuf", "Zoë", "Amaru", "Bea", "Ciarán", "Maximiliana Rosenthal-Li",
]  # fmt: skip

# The page's JavaScript that reports which elements are not wholly in the viewport, horizontal
# scrolling, and visible text smaller than a minimum size.
LAYOUT_JS = """
([selectors, minPx]) => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const outside = selectors.filter((sel) => {
    const el = document.querySelector(sel);
    if (!el) return true;
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    return r.width === 0 || r.height === 0 || r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5
      || st.visibility === "hidden" || st.display === "none";
  });
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest("script,style,title,[hidden]")) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    const cls = el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className;
    if (size < minPx) small.push(`${el.tagName}.${cls}: ${size}px "${node.textContent.trim().slice(0, 30)}"`);
  }
  return {outside, small, hscroll: document.documentElement.scrollWidth > vw || document.body.scrollWidth > vw};
}
"""


class ClassServer:
    """``ccei demo --scenario smith-1962`` in its own process group on a free loopback port; knows the teacher's token."""

    def __init__(self, out: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out = out / "logs"
        self.log = out / "server.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "experiments.cli", "demo", "--scenario", "smith-1962", "--port", str(self.port), "--out", str(self.out)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.token = ""
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"ccei demo exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            found = re.search(r"teacher:\s+(\S+)", self.log.read_text())
            if found:
                self.teacher_url = found.group(1)
                self.token = self.teacher_url.split("token=", 1)[1]
                try:
                    with urllib.request.urlopen(f"{self.base}/projector", timeout=5) as response:
                        if response.status == 200:
                            return
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"ccei demo did not answer on {self.base} within {STARTUP_S} s:\n{self.log.read_text()[-3000:]}")

    def call(self, path: str, body: dict[str, Any] | None = None, token: str | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Teacher-Token"] = token
        request = urllib.request.Request(self.base + path, data=json.dumps(body or {}).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ClassServer]:
    started = ClassServer(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def _page(browser: Any, url: str, viewport: dict[str, int]) -> Any:
    page = browser.new_context(viewport=viewport).new_page()  # a context each: its own storage, like its own device
    page.goto(url, timeout=UI_MS)
    return page


def _take_seat(page: Any, name: str) -> str:
    page.locator(".ccei-name").fill(name)
    page.get_by_role("button", name="Take a seat").click()
    page.locator("#seat:not([hidden])").wait_for(timeout=UI_MS)
    return str(page.locator(".ccei-code").inner_text())


def _fair_quote(page: Any) -> str:
    """A quote a person would send: a buyer bids at their value, a seller asks at their cost (never at a loss)."""
    return str(page.locator("#limit").inner_text())


def _layout(page: Any, selectors: list[str], min_px: float) -> dict[str, Any]:
    return page.evaluate(LAYOUT_JS, [selectors, min_px])


@pytest.mark.parametrize("in_browser", [3, pytest.param(CLASS, marks=pytest.mark.slow)])
def test_a_class_of_thirty_trades_in_one_market(server: ClassServer, in_browser: int) -> None:
    streams: list[EventStream] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            teacher = _page(browser, server.teacher_url, PROJECTOR)
            projector = _page(browser, f"{server.base}/projector", PROJECTOR)
            projector.locator(".ccei-period", has_text="period 0").wait_for(timeout=UI_MS)

            # students in the browser take their seats through the form; the others through the API, each holding a page's stream
            pages = [_page(browser, f"{server.base}/", PHONE) for _ in range(in_browser)]
            codes = {name: _take_seat(page, name) for name, page in zip(NAMES, pages, strict=False)}
            seats: dict[str, dict[str, Any]] = {}
            for name in NAMES[in_browser:]:
                status, seat = server.call("/api/join", {"name": name})
                assert status == 200, seat
                seats[name], codes[name] = seat, seat["code"]
                streams.append(EventStream(server.port, seat["code"]))
            assert len(set(codes.values())) == CLASS
            projector.locator(".ccei-bidders .chip").nth(CLASS - 1).wait_for(timeout=UI_MS)

            # one name, however it is typed, is one seat
            for twin in ("ADA", "Аda", "  ada  "):  # the second starts with a Cyrillic А
                status, answer = server.call("/api/join", {"name": twin})
                assert status == 400 and "taken" in answer["error"]

            # students have no step or reset control, and the teacher's actions need the teacher's token
            for page in pages:
                assert page.get_by_role("button").filter(has_text=re.compile(r"period|round|step|reset|remove|export", re.I)).count() == 0
                assert page.locator(".ccei-step, .ccei-reset, .ccei-export").count() == 0
            for token in (None, "", "guess"):
                assert server.call("/api/teacher/step", token=token)[0] == 403
                assert server.call("/api/teacher/reset", token=token)[0] == 403

            # bad input gets one line in tokens and the page keeps working
            first = pages[0]
            for typed, message in (("1e5000", "not a price"), ("0", "more than 0 tokens"), ("2.505", "at most 2 decimals")):
                first.locator(".ccei-price").fill(typed)
                first.locator(".ccei-submit").click()
                first.locator(".ccei-message.error", has_text=message).wait_for(timeout=UI_MS)
            assert "Traceback" not in first.content()

            # every bid registers: in the browser (one with a decimal comma), then through the API
            for page in pages:
                page.locator(".ccei-price").fill(_fair_quote(page).replace(".", ","))
                page.locator(".ccei-submit").click()
                page.locator(".ccei-message.ok", has_text="stands for the next period").wait_for(timeout=UI_MS)
                assert page.locator("#standing").inner_text().startswith(_fair_quote(page))
            for name, seat in seats.items():
                status, answer = server.call(f"/api/seat/{codes[name]}/quote", {"price": seat["limit"]})
                assert status == 200 and answer["quote"] == seat["limit"], answer
            projector.locator(".ccei-who-bid", has_text=f"{CLASS} of {CLASS}").wait_for(timeout=UI_MS)
            assert teacher.locator(".ccei-seats tr", has_text="✓").count() == CLASS

            # a bid can be changed and withdrawn (and sent again)
            second = pages[1]
            second.locator(".ccei-withdraw").click()
            second.locator("#standing", has_text="none").wait_for(timeout=UI_MS)
            projector.locator(".ccei-who-bid", has_text=f"{CLASS - 1} of {CLASS}").wait_for(timeout=UI_MS)
            second.locator(".ccei-price").fill(_fair_quote(second))
            second.get_by_role("button", name=re.compile("Send")).click()
            projector.locator(".ccei-who-bid", has_text=f"{CLASS} of {CLASS}").wait_for(timeout=UI_MS)

            # a reload keeps the seat (same code, same name), and adds none
            code = second.locator(".ccei-code").inner_text()
            second.reload()
            second.locator("#seat:not([hidden])").wait_for(timeout=UI_MS)
            assert second.locator(".ccei-code").inner_text() == code
            assert second.locator("#me-name").inner_text() == NAMES[1]
            assert projector.locator(".ccei-bidders .chip").count() == CLASS

            # the teacher's step reaches every session: browser pages and the others
            teacher.get_by_role("button", name="Run a period").click()
            for page in (teacher, projector, *pages):
                page.locator(".ccei-period", has_text="Round 1 · period 1").wait_for(timeout=UI_MS)
            for stream in streams:
                assert stream.wait_for(1, 60.0) is not None
            projector.locator(".ccei-who-bid", has_text=f"0 of {CLASS}").wait_for(timeout=UI_MS)
            assert re.fullmatch(r"\d+ %", projector.locator("#eff-period").inner_text())

            # the teacher starts timed periods: the projector counts down
            teacher.locator("#seconds").fill("300")
            teacher.get_by_role("button", name="Start").click()
            projector.locator(".ccei-timer", has_text=re.compile(r"[45]:\d\d left")).wait_for(timeout=UI_MS)

            # the projector at 1280×800: every element in view, no horizontal scroll, no text under 16 px
            ARTIFACTS.mkdir(exist_ok=True)
            shown = _layout(
                projector,
                [".ccei-join-url", ".ccei-qr img", ".ccei-period", ".ccei-timer", ".ccei-staircase svg", ".ccei-equilibrium",
                 ".ccei-prices svg", ".ccei-who-bid", ".ccei-efficiency", f".ccei-bidders .chip:nth-child({CLASS})"],
                16,
            )  # fmt: skip
            assert shown == {"outside": [], "small": [], "hscroll": False}
            projector.screenshot(path=str(ARTIFACTS / "classroom-projector.png"))

            # a student's phone at 390×844: name, value, bid, change or withdraw, own history and profit in view
            first.locator(".ccei-price").fill(_fair_quote(first))
            first.locator(".ccei-submit").click()
            first.locator(".ccei-message.ok").wait_for(timeout=UI_MS)
            shown = _layout(
                first,
                ["#me-name", ".ccei-limit", ".ccei-price", ".ccei-submit", ".ccei-withdraw", ".ccei-history", ".ccei-profit", ".ccei-period"],
                11,
            )
            assert shown == {"outside": [], "small": [], "hscroll": False}
            assert first.locator(".ccei-submit").inner_text().startswith("Change")
            first.screenshot(path=str(ARTIFACTS / "classroom-student.png"))
            teacher.screenshot(path=str(ARTIFACTS / "classroom-teacher.png"), full_page=True)

            # a new round keeps every seat; the debrief overlays the rounds
            teacher.locator("#strategy").select_option("zi-c")
            teacher.get_by_role("button", name="New round (seats stay)").click()
            projector.locator(".ccei-period", has_text="Round 2 · period 0").wait_for(timeout=UI_MS)
            assert projector.locator(".ccei-bidders .chip").count() == CLASS
            teacher.get_by_role("button", name="Run a period").click()
            projector.locator(".ccei-period", has_text="Round 2 · period 1").wait_for(timeout=UI_MS)
            debrief = _page(browser, f"{server.base}/debrief", PROJECTOR)
            debrief.locator(".ccei-rounds tr").nth(1).wait_for(timeout=UI_MS)
            assert "ZI-C" in debrief.locator(".ccei-rounds").inner_text()
            debrief.screenshot(path=str(ARTIFACTS / "classroom-debrief.png"))

            # the teacher removes a seat: that student's page says so and offers a new seat
            leaving = pages[2]
            teacher.on("dialog", lambda dialog: dialog.accept())
            teacher.locator(".ccei-seats tr", has_text=NAMES[2]).get_by_role("button", name="remove").click()
            leaving.locator("#join-msg", has_text="Your seat was removed").wait_for(timeout=UI_MS)
            projector.locator(".ccei-who-bid", has_text=f"of {CLASS - 1}").wait_for(timeout=UI_MS)

            # the CSV export from the console names every student (the removed one too)
            with teacher.expect_download(timeout=UI_MS) as download:
                teacher.locator(".ccei-export").click()
            exported = Path(download.value.path()).read_text(encoding="utf-8")
            assert all(name in exported for name in NAMES)
        finally:
            for stream in streams:
                stream.close()
            browser.close()
    server.stop()
    kept = (server.out / "smith-1962-seed1-class.csv").read_text(encoding="utf-8")  # kept after the server stopped
    assert all(name in kept for name in NAMES) and kept.count("\n1,zip,cda,1,") >= 1
