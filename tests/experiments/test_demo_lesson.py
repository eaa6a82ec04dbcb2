"""The lesson notebook runs from top to bottom and shows what its text says it shows."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import matplotlib
import nbformat
import pytest

LESSON = Path(__file__).resolve().parents[2] / "experiments" / "lesson.ipynb"


@pytest.fixture(scope="module")
def lesson() -> dict[str, Any]:
    matplotlib.use("Agg")
    notebook = nbformat.read(LESSON, as_version=4)
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
            exec(compile(cell.source, f"{LESSON.name}, code cell {i + 1}", "exec"), namespace)  # noqa: S102
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
    assert lesson["emissions"][True] < lesson["emissions"][False]  # Part 5: carbon-aware scheduling cuts emissions
