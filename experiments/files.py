"""Writing a user's files without ever destroying one: every output is written beside its
destination, flushed to disk, and renamed into place, so a crash, a full disk or a refused input
leaves the earlier file whole (or none), never a half-written one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from market.errors import CceiError

__all__ = ["OutputError", "atomic_output", "write_atomic"]


class OutputError(CceiError):
    """An output file cannot be written (a full disk, a directory in its place, no permission)."""

    exit_code = 2


@contextlib.contextmanager
def atomic_output(path: Path, what: str, *, newline: str | None = None) -> Iterator[IO[str]]:
    """A text handle whose contents replace ``path`` only once the block ends without error.

    Args:
        path: The destination.
        what: How the user named it (``--csv FILE``, ``summary.json`` ...), for the error message.
        newline: As :func:`open` takes it (``""`` for :mod:`csv`).

    Raises:
        OutputError: the file cannot be written; ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        try:
            with open(tmp, "w", encoding="utf-8", newline=newline) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputError(f"{what}: cannot write {path} ({exc.strerror or exc}); nothing was replaced") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_atomic(path: Path, text: str, what: str | None = None) -> None:
    """Replaces ``path`` with ``text`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path, what or path.name) as handle:
        handle.write(text)
