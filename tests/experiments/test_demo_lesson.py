"""The lesson notebook runs from top to bottom and shows what its text says it shows."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import matplotlib
import nbformat
import pytest

LESSON = Path(__file__).resolve().parents[2] / "experiments" / "lesson.ipynb"


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    matplotlib.use("Agg")
    notebook = nbformat.read(LESSON, as_version=4)
    namespace: dict[str, Any] = {}
    here = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("lesson"))  # no class export there: the debrief plays its own class
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
                exec(compile(cell.source, f"{LESSON.name}, code cell {i + 1}", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(here)
    return namespace


def test_the_notebook_is_valid_and_has_no_stale_outputs() -> None:
    notebook = nbformat.read(LESSON, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def test_the_lesson_runs_and_its_claims_hold(lesson: dict[str, Any]) -> None:
    smith = lesson["AuctionModel"](**lesson["smith"].params, seed=1)
    assert (smith.equilibrium_volume, smith.equilibrium_price) == (6, 2 * lesson["TOKEN"])  # Part 1
    for _ in range(10):
        smith.step()
    assert smith.efficiency() > 0.9  # Part 3: prices settle near the equilibrium
    assert lesson["ada"].surplus_micro > 0 and lesson["ada"].traded == 1  # a person traded and gained
    assert lesson["efficiency"]["zi-c"] > lesson["efficiency"]["zi-u"] + 0.05  # Part 4: Gode & Sunder
    assert lesson["smith_ziu"].efficiency() == 0 and sum(lesson["values"]) == sum(lesson["costs"])  # ... and why not Smith's market
    before, after = lesson["emissions"].values()
    assert after < 0.93 * before  # Part 6: a visible cut (Wiesner et al.: 2.5-13.5 %), both curves drawn
    assert set(lesson["hourly"]) == set(lesson["treatments"]) and all(len(c) == 24 for c in lesson["hourly"].values())


def test_the_lessons_class_is_the_one_the_projector_shows(lesson: dict[str, Any]) -> None:
    eq = lesson["projector"]["equilibrium"]
    assert eq["people"] == lesson["CLASS_SIZE"] == 20
    assert (eq["volume"], eq["price"]) != (6, 2.0)  # the students moved it, as the text says
    room = lesson["Classroom"](lesson["smith"], out=lesson["tempfile"].mkdtemp(), seed=1)  # what `ccei demo` (seed 1) builds
    for i in range(lesson["CLASS_SIZE"]):
        room.join(f"anyone {i}")
    assert lesson["orjson"].loads(room.snapshot())["equilibrium"] == eq


def test_the_debrief_overlays_the_class_rounds(lesson: dict[str, Any]) -> None:
    assert sorted(lesson["rounds"]) == [1, 2] and all(len(periods) == 5 for periods in lesson["rounds"].values())
    assert lesson["labels"] == {1: "round 1: zip, cda", 2: "round 2: zi-c, cda"}
