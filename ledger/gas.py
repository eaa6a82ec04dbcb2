"""Gas accounting for contract developers: a recorder of gas per contract function, the report table
the pytest plugin prints with ``--gas-report``, and the committed gas snapshot check.

Every transaction sent through :meth:`ledger.contracts.Deployed.transact` (and every deployment
through :func:`ledger.contracts.deploy`) reports its gas here; nothing is kept unless a
:class:`GasRecorder` is active, so recording costs nothing in ordinary runs.

The snapshot is a JSON object ``{"Contract.function": gas}``. :func:`compare_snapshot` fails any
function whose gas grew more than the tolerance (5 %) over the committed figure, and any function
missing from it; set ``CCEI_UPDATE_GAS_SNAPSHOT=1`` to rewrite the file instead.

:func:`take_snapshot` is ``ccei gas snapshot [--check]`` for any project, as ``forge snapshot
[--check]`` is for Foundry's: it runs the project's tests with the pytest plugin recording, keeps
each function's median gas, and writes the snapshot, or checks it (a change beyond the tolerance
either way, a new or a vanished function, each named on its own line).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import LedgerError

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
    "SnapshotError",
    "take_snapshot",
    "DEFAULT_SNAPSHOT",
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


#: Where ``ccei gas snapshot`` keeps a project's snapshot (in the working directory).
DEFAULT_SNAPSHOT = Path(".gas-snapshot.json")


class SnapshotError(LedgerError):
    """``ccei gas snapshot`` could not measure (the tests failed) or the check found changes."""


def _changes(measured: Mapping[str, int], committed: Mapping[str, int], tolerance: float) -> list[str]:
    problems = []
    for name in sorted(measured.keys() | committed.keys()):
        if name not in committed:
            problems.append(f"{name}: {measured[name]} gas, not in the snapshot")
        elif name not in measured:
            problems.append(f"{name}: in the snapshot ({committed[name]} gas), no longer called by the tests")
        elif abs(measured[name] - committed[name]) > committed[name] * tolerance:
            change = 100 * (measured[name] / committed[name] - 1)
            problems.append(f"{name}: {measured[name]} gas, {change:+.1f}% against the snapshot's {committed[name]}")
    return problems


def take_snapshot(
    paths: list[str],
    *,
    snapshot: Path = DEFAULT_SNAPSHOT,
    check: bool = False,
    tolerance: float = TOLERANCE,
    pytest_args: tuple[str, ...] = (),
) -> dict[str, int]:
    """Runs ``pytest PATHS`` recording gas, then writes ``snapshot`` or (``check``) compares with it.

    Args:
        paths: Test files or folders (pytest's default when empty).
        snapshot: The snapshot file (written atomically; never written by a check).
        check: Compare instead of writing.
        tolerance: The relative change a check allows, either way.
        pytest_args: More arguments for pytest (e.g. ``("--ccei-chain", "anvil")``).

    Returns:
        The measured median gas per ``Contract.function``.

    Raises:
        SnapshotError: the tests failed or recorded nothing; the snapshot is missing or unreadable
            on a check; the check found changes (one per line, each function named).
    """
    if tolerance < 0:
        raise SnapshotError(f"--tolerance {tolerance}: must not be negative")
    committed: dict[str, int] = {}
    if check:
        try:
            committed = json.loads(snapshot.read_text())
        except FileNotFoundError:
            raise SnapshotError(f"{snapshot}: no snapshot to check against; run `ccei gas snapshot` first") from None
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"{snapshot}: cannot read the snapshot ({exc})") from None
    with tempfile.TemporaryDirectory(prefix="ccei-gas-") as tmp:
        measured_file = Path(tmp) / "gas.json"
        command = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider", "--ccei-gas-json", str(measured_file), *pytest_args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
            raise SnapshotError(f"the tests failed (pytest exit {result.returncode}: {tail}); no gas snapshot taken")
        measured = json.loads(measured_file.read_text()) if measured_file.is_file() else {}
    if not measured:
        raise SnapshotError("the tests sent no transaction through the ccei_* fixtures; nothing to snapshot")
    if check:
        problems = _changes(measured, committed, tolerance)
        if problems:
            raise SnapshotError(f"gas changed beyond {tolerance:.0%} in {snapshot}:\n  " + "\n  ".join(problems))
        return measured
    tmp_path = snapshot.with_name(f".{snapshot.name}.tmp")
    tmp_path.write_text(json.dumps(dict(sorted(measured.items())), indent=2) + "\n")
    os.replace(tmp_path, snapshot)
    return measured
