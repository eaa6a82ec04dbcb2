"""Gas accounting for contract developers: a recorder of gas per contract function, the report table
the pytest plugin prints with ``--gas-report``, and the committed gas snapshot check.

Every transaction sent through :meth:`ledger.contracts.Deployed.transact` (and every deployment
through :func:`ledger.contracts.deploy`) reports its gas here; nothing is kept unless a
:class:`GasRecorder` is active, so recording costs nothing in ordinary runs.

The snapshot is a JSON object ``{"Contract.function": gas}``. :func:`compare_snapshot` fails any
function whose gas grew more than the tolerance (5 %) over the committed figure, and any function
missing from it; set ``CCEI_UPDATE_GAS_SNAPSHOT=1`` to rewrite the file instead.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "GasRecorder",
    "GasRow",
    "recording",
    "suspended",
    "record",
    "format_report",
    "SnapshotDrift",
    "UPDATE_ENV",
    "TOLERANCE",
    "compare_snapshot",
    "check_snapshot",
]

UPDATE_ENV = "CCEI_UPDATE_GAS_SNAPSHOT"
TOLERANCE = 0.05

_active: list[GasRecorder] = []


@dataclass(frozen=True, slots=True)
class GasRow:
    """One line of the gas report: a contract function's calls and gas used."""

    contract: str
    function: str
    calls: int
    min: int
    median: int
    max: int


class GasRecorder:
    """Collects the gas each contract function used, while active (see :func:`recording`).

    Transactions that reverted are kept apart (``reverted_samples``): what a failed call burns says
    nothing about what the function costs, and mixing them in would move the median.
    """

    def __init__(self) -> None:
        self.samples: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.reverted_samples: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add(self, contract: str, function: str, gas_used: int, *, reverted: bool = False) -> None:
        target = self.reverted_samples if reverted else self.samples
        target[(contract, function)].append(int(gas_used))

    def rows(self, *, reverted: bool = False) -> list[GasRow]:
        """One row per contract function (of successful or of reverted transactions), sorted by contract then function."""
        samples = self.reverted_samples if reverted else self.samples
        return [
            GasRow(c, f, len(g), min(g), int(statistics.median_low(g)), max(g)) for (c, f), g in sorted(samples.items())
        ]

    def medians(self) -> dict[str, int]:
        """``{"Contract.function": median gas of its successful transactions}`` (what ``ccei gas snapshot`` keeps)."""
        return {f"{r.contract}.{r.function}": r.median for r in self.rows()}

    def last(self) -> dict[str, int]:
        """``{"Contract.function": gas of its last call}``."""
        return {f"{c}.{f}": g[-1] for (c, f), g in sorted(self.samples.items())}


@contextmanager
def recording(recorder: GasRecorder | None = None) -> Iterator[GasRecorder]:
    """Activates ``recorder`` (a new one by default) for the ``with`` block."""
    recorder = recorder or GasRecorder()
    _active.append(recorder)
    try:
        yield recorder
    finally:
        _active.remove(recorder)


@contextmanager
def suspended() -> Iterator[None]:
    """Records nothing during the ``with`` block (e.g. while fixtures set a chain up)."""
    saved = list(_active)
    _active.clear()
    try:
        yield
    finally:
        _active[:] = saved + [r for r in _active if r not in saved]


def record(contract: str, function: str, gas_used: int, *, reverted: bool = False) -> None:
    """Reports one transaction's gas (``reverted``: one mined as failed) to every active recorder."""
    for recorder in _active:
        recorder.add(contract, function, gas_used, reverted=reverted)


def format_report(rows: list[GasRow]) -> str:
    """A fixed-width table: contract, function, calls, min, median, max."""
    header = ("contract", "function", "calls", "min", "median", "max")
    cells = [header] + [(r.contract, r.function, str(r.calls), str(r.min), str(r.median), str(r.max)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class SnapshotDrift(AssertionError):
    """Gas grew beyond the tolerance, or a function is missing from the committed snapshot."""


def compare_snapshot(measured: Mapping[str, int], committed: Mapping[str, int], tolerance: float = TOLERANCE) -> list[str]:
    """Problems with ``measured`` against ``committed``: growth over ``tolerance`` or a missing entry.

    Returns:
        One line per problem (empty when all is well). Gas that fell is no problem.
    """
    problems = []
    for name, gas in sorted(measured.items()):
        if name not in committed:
            problems.append(f"{name}: {gas} gas, not in the snapshot")
        elif gas > committed[name] * (1 + tolerance):
            growth = 100 * (gas / committed[name] - 1)
            problems.append(f"{name}: {gas} gas, {growth:.1f}% over the snapshot's {committed[name]}")
    return problems


def check_snapshot(measured: Mapping[str, int], path: Path, tolerance: float = TOLERANCE) -> None:
    """Checks ``measured`` against the snapshot at ``path``, or rewrites it when ``CCEI_UPDATE_GAS_SNAPSHOT=1``.

    Raises:
        SnapshotDrift: naming every function that grew too much or is missing.
    """
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_text(json.dumps(dict(sorted(measured.items())), indent=2) + "\n")
        return
    committed = json.loads(path.read_text()) if path.is_file() else {}
    problems = compare_snapshot(measured, committed, tolerance)
    if problems:
        raise SnapshotDrift(
            f"gas snapshot {path} exceeded (rerun with {UPDATE_ENV}=1 to accept): " + "; ".join(problems)
        )
