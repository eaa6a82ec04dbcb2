"""Looking into a trade log: filter its events into a table, or export them as CSV.

Both read the log as a stream (:func:`ledger.tradelog.read_log`), checking its hash chain on the
way, so a tampered log is reported at its first bad line instead of being shown.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.table import Table

from ledger.tradelog import read_log
from market.errors import CceiError

__all__ = ["EXPORT_COLUMNS", "LogViewError", "events", "show_table", "export_csv"]

#: Columns of the CSV export; whatever an event carries beyond them goes, as JSON, into ``extra``.
EXPORT_COLUMNS = (
    "seq",
    "step",
    "kind",
    "buyer",
    "seller",
    "resource",
    "price",
    "quantity",
    "amount",
    "buy_order",
    "sell_order",
    "batch_id",
    "hash",
)
_NOT_EXTRA = {*EXPORT_COLUMNS, "prev"}


class LogViewError(CceiError):
    """A filter or output file given to ``ccei log`` is unusable."""

    exit_code = 2


def events(
    log: Path, *, agent: int | None = None, step: int | None = None, kind: str | None = None
) -> Iterator[dict[str, Any]]:
    """The log's events (not the header) that match every filter given.

    Args:
        log: The trade log.
        agent: Keep events where this agent is buyer, seller or owner.
        step: Keep events of this step.
        kind: Keep events of this kind (trade, batch, order, ...).
    """
    for entry in read_log(log):
        if entry.get("kind") == "header":
            continue
        if step is not None and entry.get("step") != step:
            continue
        if kind is not None and entry.get("kind") != kind:
            continue
        if agent is not None and agent not in (entry.get("buyer"), entry.get("seller"), entry.get("owner")):
            continue
        yield entry


def _amount(entry: dict[str, Any]) -> int | str:
    price, quantity = entry.get("price"), entry.get("quantity")
    return price * quantity if isinstance(price, int) and isinstance(quantity, int) else ""


def show_table(log: Path, *, limit: int | None = None, **filters: Any) -> tuple[Table, int]:
    """A table of the matching events (at most ``limit`` rows) and how many matched in all."""
    table = Table(title=str(log))
    for column in ("seq", "step", "kind", "buyer", "seller", "resource", "price", "quantity", "amount"):
        table.add_column(column, justify="right" if column not in ("kind", "resource") else "left")
    matched = 0
    for entry in events(log, **filters):
        matched += 1
        if limit is None or matched <= limit:
            row = [entry.get(c, "") for c in ("seq", "step", "kind", "buyer", "seller", "resource", "price", "quantity")]
            table.add_row(*(str(v) for v in row), str(_amount(entry)))
    return table, matched


def export_csv(log: Path, out: Path, **filters: Any) -> int:
    """Writes one CSV row per matching event to ``out``; returns the number of rows.

    The file is written next to its destination and moved into place at the end, so a failure
    (a tampered line halfway) leaves no half-written file where an earlier export stood.

    Raises:
        LogViewError: ``out`` cannot be written.
        LogTampered, LogUnreadable: the log does not check out.
    """
    partial = out.with_name(out.name + ".partial")
    try:
        handle = open(partial, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise LogViewError(f"--csv {out}: cannot write there ({exc.strerror or exc})") from None
    rows = 0
    try:
        with handle:
            writer = csv.writer(handle)
            writer.writerow([*EXPORT_COLUMNS, "extra"])
            for entry in events(log, **filters):
                extra = {k: v for k, v in entry.items() if k not in _NOT_EXTRA}
                writer.writerow(
                    [*(_amount(entry) if c == "amount" else entry.get(c, "") for c in EXPORT_COLUMNS), json.dumps(extra, sort_keys=True) if extra else ""]
                )
                rows += 1
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return rows
