"""Looking into a trade log: filter its events into a table, or export them as CSV.

Both read the log as a stream (:func:`ledger.tradelog.verified_log`), checking its hash chain and
its shape on the way (no unknown kinds, nothing after the close, the close present), so a tampered
or truncated log is refused at its first bad line instead of being shown; ``unverified=True``
shows whatever lines parse, checking nothing.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.table import Table

from experiments.files import atomic_output
from ledger.tradelog import unverified_log, verified_log
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
#: The fields that name an agent taking part in an event, for ``--agent``.
_PARTIES = ("buyer", "seller", "owner", "agent", "payer", "payee")


class LogViewError(CceiError):
    """A filter or output file given to ``ccei log`` is unusable."""

    exit_code = 2


def events(
    log: Path, *, agent: int | None = None, step: int | None = None, kind: str | None = None, unverified: bool = False
) -> Iterator[dict[str, Any]]:
    """The log's events (not the header) that match every filter given.

    Args:
        log: The trade log.
        agent: Keep events where this agent is buyer, seller or owner.
        step: Keep events of this step.
        kind: Keep events of this kind (trade, batch, order, ...).
        unverified: Read the lines without checking anything.

    Raises:
        LogTampered, LogTruncated, LogUnreadable: the log does not check out (unless ``unverified``).
    """
    for entry in unverified_log(log) if unverified else verified_log(log):
        if entry.get("kind") == "header":
            continue
        if step is not None and entry.get("step") != step:
            continue
        if kind is not None and entry.get("kind") != kind:
            continue
        if agent is not None and agent not in (entry.get(k) for k in _PARTIES):
            continue
        yield entry


def _amount(entry: dict[str, Any]) -> int | str:
    """The money an event moves: a trade's price times quantity, a deposit's or payment's amount."""
    price, quantity, amount = entry.get("price"), entry.get("quantity"), entry.get("amount")
    if isinstance(price, int) and isinstance(quantity, int):
        return price * quantity
    return amount if isinstance(amount, int) else ""


def show_table(log: Path, *, limit: int | None = None, **filters: Any) -> tuple[Table, int]:
    """A table of the matching events (at most ``limit`` rows) and how many matched in all.

    Raises:
        LogViewError: a negative ``limit``.
    """
    if limit is not None and limit < 0:
        raise LogViewError(f"--limit {limit}: must not be negative")
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


def export_csv(log: Path, out: Path, *, overwrite: bool = False, **filters: Any) -> int:
    """Writes one CSV row per matching event to ``out``; returns the number of rows.

    The file is written next to its destination and moved into place at the end, so a failure
    (a tampered line halfway) leaves no half-written file where an earlier export stood. An
    existing ``out`` is replaced only when ``overwrite`` is given (never the log itself).

    Raises:
        LogViewError: ``out`` is a directory, is the log itself, exists (without ``overwrite``),
            or cannot be written.
        LogTampered, LogUnreadable: the log does not check out.
    """
    if out.is_dir():
        raise LogViewError(f"--csv {out}: is a directory; name the CSV file to write")
    if out.exists() and Path(log).exists() and out.samefile(log):
        raise LogViewError(f"--csv {out}: is the trade log being read; an input is never overwritten")
    if out.exists() and not overwrite:
        raise LogViewError(f"--csv {out}: already exists; name a new file, or pass --overwrite to replace it")
    rows = 0
    with atomic_output(out, f"--csv {out}", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*EXPORT_COLUMNS, "extra"])
        for entry in events(log, **filters):
            extra = {k: v for k, v in entry.items() if k not in _NOT_EXTRA}
            writer.writerow(
                [*(_amount(entry) if c == "amount" else entry.get(c, "") for c in EXPORT_COLUMNS), json.dumps(extra, sort_keys=True) if extra else ""]
            )
            rows += 1
    return rows
