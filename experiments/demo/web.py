"""The classroom's web server: the teacher's console, the projector page, the students' pages and the debrief.

A small Starlette app on uvicorn serves four pages (plain HTML and JavaScript in ``static/``, no
network needed) and one event stream. Every page opens ``/events``; whenever the class's state
changes the server sends each page the same bytes, :meth:`Classroom.snapshot`, built once per
change, and the page draws its charts itself (SVG), so a step costs the server the same with one
page open or thirty. A student's stream also carries that seat's own few numbers. A page that goes
away closes its stream and costs nothing more; a student's page reconnects by itself after a phone
wakes (``EventSource`` does) and re-attaches to its seat with the join code kept in the browser.

Only the teacher's console changes the market: its requests carry the teacher token that
``ccei demo`` prints in the console's address, compared in constant time.

Routes: ``/`` (student), ``/projector``, ``/teacher?token=…``, ``/debrief``, ``/qr.svg``,
``/events[?seat=CODE|token=…]``, ``POST /api/join``, ``POST /api/seat/CODE/quote|withdraw``,
``POST /api/teacher/step|reset|timer|remove``, ``GET /api/teacher/export.csv?token=…``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import segno
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from experiments.demo.classroom import Classroom
from experiments.demo.live import DemoError

__all__ = ["Hub", "create_app", "STATIC", "KEEPALIVE_S", "TICK_S"]

#: The pages, script and style sheet.
STATIC = Path(__file__).with_name("static")
#: A stream with nothing to say sends a comment this often, so proxies and phones keep it open, seconds.
KEEPALIVE_S = 15.0
#: How often the server looks at the period timer and at seats whose page went away, seconds.
TICK_S = 0.25


class Hub:
    """Wakes every open stream when the class's state changes (one event per change, however many streams)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.streams = 0

    def publish(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Waits for the next change; False when ``timeout`` passed first."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


def _error(exc: DemoError, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def create_app(room: Classroom) -> Starlette:
    """The classroom's Starlette app around ``room``."""
    hub = Hub()
    qr = io.BytesIO()
    segno.make(room.join_url or "http://127.0.0.1/", error="m").save(qr, kind="svg", scale=6, border=2, dark="#111", light="#fff", xmldecl=False)
    qr_svg = qr.getvalue()

    def teacher(request: Request) -> bool:
        token = request.headers.get("x-teacher-token") or request.query_params.get("token") or ""
        return secrets.compare_digest(token.encode(), room.teacher_token.encode())

    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            if name == "teacher.html" and not teacher(request):
                return Response(
                    "The teacher's console needs the address `ccei demo` printed when it started (with its token).",
                    status_code=403,
                    media_type="text/plain",
                )
            return FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})

        return serve

    async def qr_code(request: Request) -> Response:
        return Response(qr_svg, media_type="image/svg+xml")

    async def events(request: Request) -> Response:
        code = request.query_params.get("seat")
        is_teacher = teacher(request)
        seat = None
        if code:
            try:
                seat = room.attach(code)
            except DemoError as exc:
                return _error(exc, 404)
            hub.publish()

        async def stream() -> AsyncIterator[bytes]:
            hub.streams += 1
            try:
                yield b"retry: 2000\n\n"
                sent = -1
                while True:
                    if room.version != sent:
                        sent = room.version
                        yield b"event: state\ndata: " + room.snapshot() + b"\n\n"
                        if seat is not None:
                            yield b"event: seat\ndata: " + orjson.dumps(room.seat_view(seat)) + b"\n\n"
                        if is_teacher:
                            yield b"event: teacher\ndata: " + orjson.dumps(_teacher_view(room)) + b"\n\n"
                    if not await hub.wait(KEEPALIVE_S) and room.version == sent:
                        yield b": keep-alive\n\n"
            finally:
                hub.streams -= 1
                if seat is not None:
                    room.detach(seat)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def join(request: Request) -> Response:
        data = await _body(request)
        try:
            seat = room.join(str(data.get("name", "")))
        except DemoError as exc:
            return _error(exc)
        hub.publish()
        return JSONResponse(room.seat_view(seat))

    async def seat_get(request: Request) -> Response:
        try:
            seat = room.seat(request.path_params["code"])
        except DemoError as exc:
            return _error(exc, 404)
        return JSONResponse(room.seat_view(seat))

    async def seat_act(request: Request) -> Response:
        code, action = request.path_params["code"], request.path_params["action"]
        data = await _body(request)
        try:
            if action == "quote":
                room.quote(code, str(data.get("price", "")))
            elif action == "withdraw":
                room.withdraw(code)
            else:
                return JSONResponse({"error": f"no action {action!r}"}, status_code=404)
            seat = room.seat(code)
        except DemoError as exc:
            return _error(exc)
        hub.publish()
        return JSONResponse(room.seat_view(seat))

    async def teacher_act(request: Request) -> Response:
        if not teacher(request):
            return JSONResponse({"error": "only the teacher's console (with its token) changes the market"}, status_code=403)
        action = request.path_params["action"]
        data = await _body(request)
        try:
            if action == "step":
                await asyncio.to_thread(room.step)
            elif action == "reset":
                await asyncio.to_thread(room.reset, data.get("strategy") or None, data.get("mechanism") or None)
            elif action == "timer":
                seconds = data.get("seconds")
                if seconds not in (None, "", 0) and not isinstance(seconds, int | float):
                    raise DemoError(f"timed periods: {str(seconds)[:20]!r} is not a number of seconds")
                room.set_timer(None if seconds in (None, "", 0) else float(seconds))
            elif action == "remove":
                room.remove(str(data.get("code", "")))
            else:
                return JSONResponse({"error": f"no action {action!r}"}, status_code=404)
        except DemoError as exc:
            return _error(exc)
        hub.publish()
        return JSONResponse({"ok": True, "round": len(room.rounds), "period": room.model.steps})

    async def export(request: Request) -> Response:
        if not teacher(request):
            return JSONResponse({"error": "only the teacher's console (with its token) exports the class's trades"}, status_code=403)
        name = room.csv_path.name
        return Response(room.csv_text(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def ticker() -> None:
        """Steps the market when a timed period ends; tells the pages when a seat stops counting as present."""
        while True:
            await asyncio.sleep(TICK_S)
            if room.due():
                await asyncio.to_thread(room.step)
                hub.publish()
            if room.check_presence():
                hub.publish()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(ticker())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            room.close()

    routes = [
        Route("/", page("student.html")),
        Route("/projector", page("projector.html")),
        Route("/teacher", page("teacher.html")),
        Route("/debrief", page("debrief.html")),
        Route("/qr.svg", qr_code),
        Route("/events", events),
        Route("/api/join", join, methods=["POST"]),
        Route("/api/seat/{code}", seat_get),
        Route("/api/seat/{code}/{action}", seat_act, methods=["POST"]),
        Route("/api/teacher/export.csv", export),
        Route("/api/teacher/{action}", teacher_act, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.room = room
    app.state.hub = hub
    return app


def _teacher_view(room: Classroom) -> dict[str, Any]:
    """What only the console shows: each seat's join code (to help a student back in, or to remove a seat)."""
    return {
        "seats": [
            {"code": s.code, "name": s.name, "side": s.side.value, "present": room.present(s), "bid": s.quote_micro is not None}
            for s in room.seats.values()
        ],
        "csv": str(room.csv_path),
        "log": str(room.market.log_path),
    }
