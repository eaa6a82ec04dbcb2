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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from ledger.errors import LedgerError
from market.orders import Trade

__all__ = [
    "FORMAT_VERSION",
    "SIGNED_FORMAT",
    "SEALED_KINDS",
    "READ_FORMATS",
    "GENESIS",
    "canonical",
    "entry_hash",
    "TradeLogWriter",
    "trade_fields",
    "LogTampered",
    "LogTruncated",
    "LogUnreadable",
    "LOG_KINDS",
    "verified_log",
    "unverified_log",
    "LogDiverged",
    "read_log",
]

#: The format this code writes. Format 2 leaves authorization lines out of unsigned logs (they
#: carried nothing an order line does not give); format 1 logs are still read.
FORMAT_VERSION = 2
#: The format of a log signed by the lab's operator (:mod:`ledger.logsigning`).
SIGNED_FORMAT = 3
READ_FORMATS = (1, 2, 3)
#: The lines the operator signs in a format-3 log.
SEALED_KINDS = frozenset({"header", "batch", "close"})
GENESIS = "0" * 64


#: The reference encoder, which defines the canonical bytes. One instance serves every call
#: (``json.dumps`` with these options would build a new encoder each time).
_json_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
#: Value types orjson writes exactly as the reference encoder does (strings escaped alike, integers
#: in decimal, ``true``/``false``/``null``). Not floats: orjson writes ``1e-05`` as ``1e-5``.
_FAST_VALUE_TYPES = frozenset({str, int, bool, type(None)})
_SORT_KEYS = orjson.OPT_SORT_KEYS


def canonical(obj: Any) -> bytes:
    """The canonical JSON bytes of ``obj``: sorted keys, no whitespace, UTF-8.

    The bytes are :mod:`json`'s (``sort_keys``, compact separators, ``ensure_ascii=False``). A log
    line, a flat dict of strings, integers, booleans and ``None``, goes through orjson instead,
    several times faster and byte for byte the same on exactly those values; orjson refuses, and so
    leaves to :mod:`json`, what it might write differently among them: keys that are not exactly
    ``str``, integers beyond 64 bits, strings holding lone surrogates.
    """
    if type(obj) is dict and _FAST_VALUE_TYPES.issuperset(map(type, obj.values())):
        try:
            return orjson.dumps(obj, option=_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
    return _json_encode(obj).encode()


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


_PLACEHOLDER = "0" * 64
_PLACEHOLDER_FIELD = b'"hash":"' + _PLACEHOLDER.encode() + b'",'


def _line(entry: dict[str, Any], prev: str, seq: int) -> tuple[bytes, str]:
    """``entry``'s log line and hash, chained after ``prev`` as number ``seq``.

    ``seq``, ``prev`` and ``hash`` (the SHA-256 of the canonical JSON of everything else) are set
    on ``entry`` in place, so it becomes the entry as written; the line is its :func:`canonical`
    JSON. The entry is serialised once, with a placeholder hash: with sorted keys ``hash`` is
    followed by ``kind``, so cutting its ``"hash":"...",`` field out of the line leaves exactly the
    canonical JSON the hash is taken over (what :func:`_line_hash_ok` checks on reading). Where the
    placeholder field is not unique in the line (a nested value holds the same text), the entry is
    serialised twice instead.
    """
    entry["seq"] = seq
    entry["prev"] = prev
    entry["hash"] = _PLACEHOLDER
    line = canonical(entry)
    if line.count(_PLACEHOLDER_FIELD) == 1:
        at = line.index(_PLACEHOLDER_FIELD)
        digest = hashlib.sha256(line[:at] + line[at + _HASH_SPAN :]).hexdigest()
        line = line[: at + 8] + digest.encode() + line[at + 72 :]
    else:
        digest = entry_hash(entry)
        line = canonical({**entry, "hash": digest})
    entry["hash"] = digest
    return line + b"\n", digest


def _tagged(kind: str, step: int, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``rows`` with ``kind`` and ``step`` set on each."""
    for row in rows:
        row["kind"] = kind
        row["step"] = step
        yield row


class LogDiverged(LedgerError):
    """A resumed run regenerated an entry that differs from the one already in its log."""

    exit_code = 4


class TradeLogWriter:
    """Appends hash-chained entries to a JSON Lines file.

    With ``resume=True`` the file is kept: a torn last line (a crash mid-write) is cut off, and the
    entries the run regenerates are checked, byte for byte, against the lines already there instead
    of being written again; writing starts after the last of them. So a resumed run ends with
    exactly the log an uninterrupted run writes.

    Args:
        path: The log file; created (or truncated) with ``header`` as line 0 unless resuming.
        header: The run's header facts (scenario, seed, parameters ...).
        resume: Continue the log at ``path`` instead of starting it afresh.

    Raises:
        LogUnreadable, LogTampered: resuming a log that cannot be read or does not check out.
        LogDiverged: resuming with a header that differs from the log's.
    """

    def __init__(self, path: Path, header: dict[str, Any], *, resume: bool = False, operator: Any = None) -> None:
        self.path = Path(path)
        self.durable = True
        self.seq = 0
        self.head = GENESIS
        self.entries = 0
        self._operator = operator
        if operator is not None:
            from ledger.logsigning import line_tree

            self._tree, self._segment = line_tree(), line_tree()
            header = {"format": SIGNED_FORMAT, **header, "operator": operator.public_key.to_checksum_address()}
        self._existing: list[bytes] = _complete_lines(self.path) if resume else []
        self.resumed_entries = len(self._existing)
        header = {"kind": "header", "format": FORMAT_VERSION, **header}
        if resume and _line(self._sealed(dict(header), GENESIS, 0), GENESIS, 0)[0] != self._existing[0]:  # checked before the file is touched
            raise LogDiverged(f"{self.path}:1: the log's header differs from this run's (another code version, scenario or seed?)")
        mode = "r+b" if resume else "wb"
        self._file: IO[bytes] = open(self.path, mode)  # noqa: SIM115 - closed in close()
        if resume:
            self._file.truncate(sum(len(line) for line in self._existing))
            self._file.seek(0, os.SEEK_END)
        self._write((header,))

    @property
    def catching_up(self) -> bool:
        """Whether entries are still being checked against an existing log rather than written."""
        return self.seq < len(self._existing)

    def _write(self, entries: Iterable[dict[str, Any]]) -> None:
        """Chains and writes ``entries`` in order (or, catching up, checks them against the log).

        Each entry becomes the entry as written: ``seq``, ``prev`` and ``hash`` are set on it in
        place, as callers pass dicts of their own, so none is copied.

        The lines go to the file in one write, and the writer's state is kept in locals for the
        loop; both happen however the loop ends, so after an error the writer stands at the last
        good entry, as after one ``append`` per entry.

        Raises:
            LogDiverged: catching up, an entry differs from the log's line.
        """
        seq, head, existing = self.seq, self.head, self._existing
        catch_up = len(existing)
        lines: list[bytes] = []
        try:
            for entry in entries:
                if self._operator is not None:
                    self._sealed(entry, head, seq)
                line, digest = _line(entry, head, seq)
                if self._operator is not None:
                    self._grow(entry["kind"], digest)
                if seq < catch_up:
                    if line != existing[seq]:
                        raise LogDiverged(
                            f"{self.path}:{seq + 1}: the resumed run produced a different entry than the log holds "
                            "(another code version, scenario or seed?)"
                        )
                else:
                    lines.append(line)
                head = digest
                seq += 1
        finally:
            self._file.write(b"".join(lines))
            self.entries += seq - self.seq
            self.seq, self.head = seq, head

    def _sealed(self, entry: dict[str, Any], prev: str, seq: int) -> dict[str, Any]:
        """Signs ``entry`` as the operator if it is a header, batch or close line (see
        :mod:`ledger.logsigning`): a batch line over the lines since the batch before it, the
        close over every line before it."""
        kind = entry.get("kind")
        if kind not in SEALED_KINDS:
            return entry
        from ledger.logsigning import sign_entry

        entry["seq"], entry["prev"] = seq, prev
        if kind == "batch":
            entry["lines"], entry["lines_root"] = self._segment.size, self._segment.root().hex()
        elif kind == "close":
            entry["tree_size"], entry["tree_root"] = self._tree.size, self._tree.root().hex()
        sign_entry(entry, self._operator)
        return entry

    def _grow(self, kind: str, digest: str) -> None:
        """Adds a written line's hash to the signed trees."""
        raw = bytes.fromhex(digest)
        self._tree.append(raw)
        if kind == "batch":
            from ledger.logsigning import line_tree

            self._segment = line_tree()
        elif kind != "header":
            self._segment.append(raw)

    def append(self, kind: str, step: int, **fields: Any) -> dict[str, Any]:
        """Appends one event and returns the entry as written."""
        entry = {"kind": kind, "step": step, **fields}
        self._write((entry,))
        return entry

    def extend(self, kind: str, step: int, rows: Iterable[dict[str, Any]]) -> None:
        """Appends one ``kind`` event per row, in order, as ``append(kind, step, **row)`` does.

        The rows become the entries (``kind``, ``step`` and the chain fields are set on them in
        place), which saves copying each of the thousands of lines a round writes; pass fresh
        dicts, without ``kind`` or ``step`` keys. ``rows`` is consumed lazily: a row produced
        after an entry is written may depend on it.
        """
        self._write(_tagged(kind, step, rows))

    def sync(self) -> None:
        """Flushes to the operating system (which a killed process cannot lose) and, when the log is
        ``durable``, fsyncs so every entry so far also survives a power cut."""
        self._file.flush()
        if self.durable:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            try:
                self.sync()
            finally:
                self._file.close()

    def __enter__(self) -> TradeLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _complete_lines(path: Path) -> list[bytes]:
    """The log's complete lines (a torn last line is left out), after checking their chain.

    Raises:
        LogUnreadable, LogTampered: as :func:`read_log`.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LogUnreadable(f"{path}: cannot read the trade log to resume it ({exc.strerror or exc})") from None
    lines = data.splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        lines.pop()
    if not lines:
        raise LogUnreadable(f"{path}: the trade log is empty; nothing to resume")
    for _ in read_log(path, limit=len(lines)):
        pass
    return lines


class LogUnreadable(LedgerError):
    """The log file cannot be opened or is empty."""

    exit_code = 2


class LogTampered(LedgerError):
    """A line of the log breaks the format or the hash chain.

    Attributes:
        line: 1-based line number of the first bad line.
        field: The field that does not check out (``hash``: the content was edited; ``prev``: a
            line before it was edited, removed or moved; ``seq``: a line is missing or repeated).
    """

    exit_code = 4

    def __init__(self, path: Path, line: int, field: str, detail: str) -> None:
        self.line = line
        self.field = field
        super().__init__(f"{path}:{line}: field '{field}': {detail}")


_HASH_KEY = b'"hash":"'
_HASH_SPAN = len(_HASH_KEY) + 64 + 2  # key, 64 hex digits, closing quote, the comma after it


def _line_hash_ok(raw: bytes, entry: dict[str, Any]) -> bool:
    """Whether ``entry['hash']`` is the SHA-256 of the line without its hash field.

    Lines are canonical JSON with sorted keys, and ``hash`` is never the last key (``kind``,
    ``prev``, ``seq`` follow it), so the hashed body is the raw line with the ``"hash":"...",`` span
    cut out: one slice and one SHA-256, no re-serialisation. Where that span is not the top-level
    field (a nested ``hash`` key earlier in the line), the entry is re-serialised instead.
    """
    claimed = entry.get("hash")
    at = raw.find(_HASH_KEY)
    if at >= 0 and raw[at + 8 : at + 72].decode("ascii", "replace") == claimed and raw[at + 72 : at + 74] == b'",':
        return hashlib.sha256(raw[:at] + raw[at + _HASH_SPAN :]).hexdigest() == claimed
    return entry_hash(entry) == claimed


def _parse(raw: bytes) -> Any:
    """A log line's JSON value: orjson's reading, several times faster than :mod:`json`'s, or
    :mod:`json`'s where orjson refuses the line (integers beyond 64 bits, ``NaN``) and it does not.

    Raises:
        ValueError: the line is not JSON.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def read_log(path: Path, *, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Yields every entry of the log at ``path``, header first, checking the chain as it goes.

    Memory stays flat whatever the log's length: one line is held at a time.

    Args:
        path: The log.
        limit: Read only this many lines.

    Raises:
        LogUnreadable: the file cannot be read or is empty.
        LogTampered: at the first line that is not JSON, breaks the sequence, does not chain to the
            line before, or whose content does not match its hash.
    """
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        raise LogUnreadable(f"{path}: cannot read the trade log ({exc.strerror or exc})") from None
    prev = GENESIS
    number = 0
    try:
        for number, line in enumerate(handle, start=1):
            if limit is not None and number > limit:
                break
            torn = not line.endswith(b"\n")
            raw = line.rstrip(b"\n")
            try:
                entry = _parse(raw)
            except ValueError:
                if torn:  # the last line, cut off mid-write
                    raise LogTruncated(path, number - 1) from None
                raise LogTampered(path, number, "json", "not a JSON object") from None
            if not isinstance(entry, dict):
                raise LogTampered(path, number, "json", "not a JSON object")
            if number == 1 and (entry.get("kind") != "header" or entry.get("format") not in READ_FORMATS):
                raise LogTampered(path, 1, "kind", f"expected the header line of a format {' or '.join(map(str, READ_FORMATS))} log")
            if entry.get("seq") != number - 1:
                raise LogTampered(path, number, "seq", f"expected {number - 1}, found {entry.get('seq')!r} (a line is missing, repeated or moved)")
            if entry.get("prev") != prev:
                raise LogTampered(path, number, "prev", "does not match the hash of the line before (a line before it was edited, removed or moved)")
            if not _line_hash_ok(raw, entry):
                raise LogTampered(path, number, "hash", "does not match the line's content (the line was edited)")
            prev = entry["hash"]
            yield entry
    finally:
        handle.close()
    if number == 0:
        raise LogUnreadable(f"{path}: the trade log is empty")


#: Every kind of line a log may hold after its header. A line of any other kind is refused.
LOG_KINDS = frozenset(
    {
        "deposit",
        "order",
        "authorization",
        "trade",
        "payment",
        "batch",
        # guarantee contracts and green certificates (ledger.guarantee_log)
        "agreement",
        "delivery",
        "breach",
        "claim",
        "dispute",
        "certificate",
        "retire",
        "close",
    }
)


class LogTruncated(LogTampered):
    """The log ends before its ``close`` line: cut off, or still being written."""

    def __init__(self, path: Path, last_line: int) -> None:
        self.line = last_line
        self.field = "close"
        LedgerError.__init__(
            self, f"{path}:{last_line}: the log ends after this line, its last good one, without a close line (truncated, or the run is still going)"
        )


def verified_log(path: Path) -> Iterator[dict[str, Any]]:
    """:func:`read_log`, also refusing what breaks the log's shape: a header anywhere but line 1, a
    line of no known kind, any line after ``close``, and a log that ends without ``close``; in a
    format-3 log, also every operator signature and signed root (:class:`ledger.logsigning.SealCheck`:
    consistency with the operator the header names; who that operator is, is the caller's check).

    The checks come as the lines stream, so a reader sees the entries before the first bad line
    and then the error; only the end (a missing close) is known last.

    Raises:
        LogUnreadable, LogTampered: as :func:`read_log`, or at the first line of an unknown kind or
            after the close.
        LogTruncated: the log ends without its close line (naming the last good line).
    """
    closed = False
    number = 0
    seals = None
    for number, entry in enumerate(read_log(path), start=1):
        kind = entry.get("kind")
        if closed:
            raise LogTampered(path, number, "kind", f"a {kind!r} line after the close line (nothing may follow the close)")
        if number == 1:
            if entry.get("format") == SIGNED_FORMAT:
                from ledger.logsigning import SealCheck

                seals = SealCheck(path, entry)
        else:
            if kind not in LOG_KINDS:
                raise LogTampered(path, number, "kind", f"{kind!r} is no kind of log line")
            if seals is not None:
                seals.check(number, entry)
        closed = kind == "close"
        yield entry
    if not closed:
        raise LogTruncated(path, number)


def unverified_log(path: Path) -> Iterator[dict[str, Any]]:
    """Every line of the log at ``path`` that is a JSON object, nothing checked (``--unverified``).

    Raises:
        LogUnreadable: the file cannot be read.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in the with below
    except OSError as exc:
        raise LogUnreadable(f"{path}: cannot read the trade log ({exc.strerror or exc})") from None
    with handle:
        for raw in handle:
            try:
                entry = _parse(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry
