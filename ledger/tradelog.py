"""The trade log: JSON Lines, one event a line, each line chained to the one before by its hash.

Line 0 is the header (format version, scenario, seed, parameters, code version). Every line is
canonical JSON (sorted keys, no spaces) carrying ``seq``, ``kind``, ``prev`` (the previous line's
hash) and ``hash`` (SHA-256 of the line's canonical JSON without ``hash``), so editing, deleting or
reordering any line breaks the chain at that line. The log records what the market agreed, not how
it was settled, so the same run gives the same bytes on every back end.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import IO, Any

from market.orders import Trade

__all__ = ["FORMAT_VERSION", "GENESIS", "canonical", "entry_hash", "TradeLogWriter", "trade_fields"]

FORMAT_VERSION = 1
GENESIS = "0" * 64


def canonical(obj: Any) -> bytes:
    """The canonical JSON bytes of ``obj``: sorted keys, no whitespace, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 hex of the entry's canonical JSON without its ``hash`` field."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def trade_fields(trade: Trade) -> dict[str, Any]:
    """A trade's facts as they go into the log."""
    return {
        "buyer": int(trade.buyer),
        "seller": int(trade.seller),
        "resource": trade.resource.value,
        "price": trade.price,
        "quantity": trade.quantity,
        "buy_order": int(trade.buy_order),
        "sell_order": int(trade.sell_order),
    }


class TradeLogWriter:
    """Appends hash-chained entries to a JSON Lines file.

    Args:
        path: The log file; created (truncated) with ``header`` as line 0.
        header: The run's header facts (scenario, seed, parameters ...).
    """

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = Path(path)
        self._file: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self.seq = 0
        self.head = GENESIS
        self.entries = 0
        self._write({"kind": "header", "format": FORMAT_VERSION, **header})

    def _write(self, fields: dict[str, Any]) -> dict[str, Any]:
        entry = {**fields, "seq": self.seq, "prev": self.head}
        entry["hash"] = entry_hash(entry)
        self._file.write(canonical(entry) + b"\n")
        self.head = entry["hash"]
        self.seq += 1
        self.entries += 1
        return entry

    def append(self, kind: str, step: int, **fields: Any) -> dict[str, Any]:
        """Appends one event and returns the entry as written."""
        return self._write({"kind": kind, "step": step, **fields})

    def sync(self) -> None:
        """Flushes and fsyncs, so every entry so far survives a crash."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self) -> TradeLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
