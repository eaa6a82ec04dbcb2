"""The classroom's web server: pages, the teacher's token, the students' requests and the event stream.

The app runs on uvicorn in a thread of the test process, on a free loopback port, and is stopped
at the end of each test; requests go through ``urllib`` and a raw socket (the event stream).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from experiments.demo import web
from experiments.demo.classroom import Classroom
from experiments.demo.server import free_port
from experiments.demo.web import create_app
from experiments.scenarios import load_scenario


class Client:
    """Requests to the app under test."""

    def __init__(self, port: int, room: Classroom) -> None:
        self.port, self.room = port, room
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers={"X-Teacher-Token": token} if token is not None else {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def post(self, path: str, body: Any = None, token: str | None = None, raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json", **({"X-Teacher-Token": token} if token is not None else {})}
        data = raw if raw is not None else json.dumps(body or {}).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def events(self, query: str, wanted: set[str], timeout: float = 20.0) -> dict[str, dict[str, Any]]:
        """Opens ``/events?query`` and reads until each event in ``wanted`` has come once; returns their data."""
        got: dict[str, dict[str, Any]] = {}
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(f"GET /events?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            buffer = b""
            deadline = time.monotonic() + timeout
            while not wanted <= set(got) and time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                for block in buffer.split(b"\n\n")[:-1]:
                    lines = dict(line.split(b": ", 1) for line in block.split(b"\n") if b": " in line and not line.startswith(b":"))
                    if b"event" in lines:
                        got[lines[b"event"].decode()] = json.loads(lines[b"data"])
                buffer = buffer.rsplit(b"\n\n", 1)[-1]
        return got


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setattr(web, "KEEPALIVE_S", 0.5)
    room = Classroom(load_scenario("smith-1962", ["shouts_per_period=120"]), out=tmp_path, join_url="http://127.0.0.1:1/")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(room), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    assert server.started, "the classroom app did not start"
    try:
        yield Client(port, room)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_the_pages(client: Client) -> None:
    for path, marker in (("/", b"Take a seat"), ("/projector", b"ccei-staircase"), ("/debrief", b"ccei-rounds")):
        status, headers, body = client.get(path)
        assert status == 200 and headers["content-type"].startswith("text/html") and marker in body
    assert client.get("/static/classroom.js")[0] == 200 and client.get("/static/style.css")[0] == 200
    status, headers, body = client.get("/qr.svg")
    assert status == 200 and headers["content-type"] == "image/svg+xml" and body.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')


def test_the_console_needs_the_teachers_token(client: Client) -> None:
    token = client.room.teacher_token
    assert client.get("/teacher")[0] == 403 and client.get("/teacher?token=guess")[0] == 403
    assert client.get(f"/teacher?token={token}")[0] == 200
    for action in ("step", "reset", "timer", "remove"):
        for wrong in (None, "", token[:-1], token + "x"):
            status, answer = client.post(f"/api/teacher/{action}", token=wrong)
            assert status == 403 and answer == {"error": "only the teacher's console (with its token) changes the market"}
    assert client.get("/api/teacher/export.csv")[0] == 403
    assert client.room.model.steps == 0 and len(client.room.rounds) == 1


def test_a_student_joins_bids_and_withdraws(client: Client) -> None:
    status, ada = client.post("/api/join", {"name": " Ada "})
    assert status == 200 and ada["name"] == "Ada" and ada["side"] == "buy" and ada["quote"] is None and ada["seated"]
    code = ada["code"]
    assert client.post("/api/join", {"name": "ADA"}) == (
        400,
        {"error": "the name 'ADA' is taken: if it is yours, type your join code; otherwise add an initial"},
    )
    assert client.post("/api/join", raw=b"not json")[0] == 400
    assert client.post("/api/join", body=["a", "list"])[1] == {"error": "type your name to take a seat"}
    assert client.post(f"/api/seat/{code}/quote", {"price": "1e5000"}) == (
        400,
        {"error": "'1e5000' is not a price: type a number of tokens, e.g. 2.00"},
    )
    assert client.post(f"/api/seat/{code}/quote", {"price": "0"})[1] == {"error": "a price must be more than 0 tokens"}
    status, view = client.post(f"/api/seat/{code}/quote", {"price": "0,75"})
    assert status == 200 and view["quote"] == "0.75"
    status, view = client.post(f"/api/seat/{code}/withdraw")
    assert status == 200 and view["quote"] is None
    assert client.post(f"/api/seat/{code}/bribe")[0] == 404
    assert client.post("/api/seat/ZZZZZ/quote", {"price": "1"})[1]["error"].startswith("no seat has the join code 'ZZZZZ'")
    status, _, body = client.get(f"/api/seat/{code.lower()}")
    assert status == 200 and json.loads(body)["name"] == "Ada"  # a reload (or another device) finds the seat by its code
    assert client.get("/api/seat/ZZZZZ")[0] == 404


def test_the_teachers_actions(client: Client) -> None:
    token = client.room.teacher_token
    _, ada = client.post("/api/join", {"name": "Ada"})
    assert client.post("/api/teacher/step", token=token) == (200, {"ok": True, "round": 1, "period": 1})
    assert client.post("/api/teacher/reset", {"strategy": "zi-c"}, token=token) == (200, {"ok": True, "round": 2, "period": 0})
    assert client.post("/api/teacher/reset", {"strategy": "greedy"}, token=token)[0] == 400
    assert client.post("/api/teacher/timer", {"seconds": 45}, token=token)[0] == 200 and client.room.period_s == 45
    assert client.post("/api/teacher/timer", {"seconds": "soon"}, token=token) == (400, {"error": "timed periods: 'soon' is not a number of seconds"})
    assert client.post("/api/teacher/timer", {"seconds": 5}, token=token)[1] == {"error": "a period lasts 10 to 600 seconds, not 5"}
    assert client.post("/api/teacher/timer", {"seconds": None}, token=token)[0] == 200 and client.room.period_s is None
    assert client.post("/api/teacher/remove", {"code": "ZZZZZ"}, token=token)[0] == 400
    assert client.post("/api/teacher/remove", {"code": ada["code"]}, token=token)[0] == 200 and not client.room.seats
    assert client.post("/api/teacher/launch", token=token)[0] == 404
    status, headers, body = client.get(f"/api/teacher/export.csv?token={token}")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert 'filename="smith-1962-seed1-class.csv"' in headers["content-disposition"]
    assert body.decode().startswith("round,strategy,mechanism,period,buyer,seller,price_tokens\n") and ",Ada,buy," in body.decode()


def test_every_page_gets_the_shared_state_and_a_student_their_own(client: Client) -> None:
    _, ada = client.post("/api/join", {"name": "Ada"})
    got = client.events(f"seat={ada['code']}", {"state", "seat"})
    assert got["state"]["seats"] == [{"name": "Ada", "side": "buy", "bid": False, "present": True}]
    assert got["seat"]["code"] == ada["code"] and got["seat"]["limit"] == ada["limit"]
    teacher = client.events(f"token={client.room.teacher_token}", {"state", "teacher"})
    assert teacher["teacher"]["seats"][0]["code"] == ada["code"]
    projector = client.events("", {"state", "seat", "teacher"}, timeout=2.0)
    assert set(projector) == {"state"} and ada["code"] not in json.dumps(projector)  # no codes for the projector
    assert client.get("/events?seat=ZZZZZ")[0] == 404


def test_a_timed_period_runs_by_itself(client: Client) -> None:
    client.post("/api/teacher/timer", {"seconds": 10}, token=client.room.teacher_token)
    client.room.period_ends = client.room.clock()  # the period's time is up
    deadline = time.monotonic() + 20
    while client.room.model.steps == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    with client.room.lock:  # the period has finished once the lock is free
        assert client.room.model.steps == 1 and client.room.period_ends is not None and client.room.period_ends > client.room.clock()
