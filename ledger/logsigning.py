"""The operator's signatures on a format-3 trade log, and the Merkle trees they sign.

A hash chain alone proves nothing to someone who does not trust the file: whoever edits a line can
re-chain every hash after it. A format-3 log is also signed by the lab's operator (its key derives
from the lab secret, :func:`ledger.keys.operator_private_key`, never from anything in the log):

- the header carries the operator's address and the EIP-712 domain the orders were signed under;
- every ``batch`` line carries ``lines`` and ``lines_root``, the Merkle root over the hashes of the
  lines since the previous batch line (the header excluded), so an edit is pinned to one batch;
- the ``close`` line is a signed tree head, as Certificate Transparency's (RFC 9162, section 4.10):
  ``tree_size`` lines before it and ``tree_root`` over all their hashes, header included;
- each of those three lines carries ``operator_signature`` over the line without its ``hash`` and
  ``operator_signature`` fields (its ``seq`` and ``prev`` included, so it is bound to its place).

The trees are RFC 9162's (section 2.1.1) with SHA-256: a leaf is ``SHA-256(0x00 || line hash)``,
a node ``SHA-256(0x01 || left || right)``, a list of n > 1 leaves split at the largest power of two
below n. They are :class:`ledger.merkle.MerkleFrontier` (the contract's batch-root tree, with the
log's hash): computed incrementally, holding O(log n) hashes, so a writer or a reader of a
million-line log keeps its memory flat.

References:
    RFC 9162, "Certificate Transparency Version 2.0" (Laurie, Messeri, Stradling, 2021), §2.1, §4.10.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from eth_keys import keys
from eth_keys.datatypes import PrivateKey
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import is_checksum_address, keccak

from ledger.merkle import MerkleFrontier
from ledger.tradelog import LogTampered, canonical

__all__ = ["SIGNATURE_FIELD", "SealCheck", "line_tree", "sha256", "signing_digest", "sign_entry", "entry_signer"]

SIGNATURE_FIELD = "operator_signature"
#: Separates the operator's signatures from every other message a key might sign (EIP-191's
#: ``0x19`` first byte, so no signed log line is a valid transaction or EIP-712 message).
_PREFIX = b"\x19CCEI trade log v3\n"


def sha256(data: bytes) -> bytes:
    """SHA-256 (the log's line hash), the hash of the log's Merkle trees."""
    return hashlib.sha256(data).digest()


def line_tree() -> MerkleFrontier:
    """An empty RFC 9162 tree over line hashes (:class:`ledger.merkle.MerkleFrontier` with SHA-256)."""
    return MerkleFrontier(sha256)


def signing_digest(entry: dict[str, Any]) -> bytes:
    """What the operator signs for ``entry``: keccak256 of the prefix and the canonical JSON of the
    entry without ``hash`` and ``operator_signature``."""
    body = {k: v for k, v in entry.items() if k not in ("hash", SIGNATURE_FIELD)}
    return keccak(_PREFIX + canonical(body))


def sign_entry(entry: dict[str, Any], key: PrivateKey) -> None:
    """Sets ``entry['operator_signature']`` (65 bytes, hex, deterministic: RFC 6979)."""
    entry[SIGNATURE_FIELD] = "0x" + key.sign_msg_hash(signing_digest(entry)).to_bytes().hex()


def entry_signer(entry: dict[str, Any]) -> str | None:
    """The checksummed address that signed ``entry``, or ``None`` if its signature is malformed."""
    try:
        raw = bytes.fromhex(str(entry.get(SIGNATURE_FIELD, "")).removeprefix("0x"))
        signature = keys.Signature(raw)
        return signature.recover_public_key_from_msg_hash(signing_digest(entry)).to_checksum_address()
    except (ValueError, BadSignature, ValidationError):
        return None


class SealCheck:
    """Checks a format-3 log's operator signatures line by line, as it streams.

    Args:
        path: The log (for messages).
        header: Its header line.

    Raises:
        LogTampered: the header names no operator or is not signed by it.
    """

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        operator = header.get("operator")
        if not isinstance(operator, str) or not is_checksum_address(operator):
            raise LogTampered(path, 1, "operator", f"{operator!r} is not a checksummed address")
        self.operator: str = operator
        self._signed(1, header, "this header")
        self.tree = line_tree()
        self.segment = line_tree()
        self.segment_start = 2
        self.tree.append(bytes.fromhex(header["hash"]))

    def _signed(self, line: int, entry: dict[str, Any], what: str) -> None:
        if entry_signer(entry) != self.operator:
            raise LogTampered(self.path, line, SIGNATURE_FIELD, f"was not made by the operator {self.operator} over {what}")

    def check(self, line: int, entry: dict[str, Any]) -> None:
        """Checks line ``line`` (1-based), then adds it to the trees.

        Raises:
            LogTampered: a batch line whose root does not cover the lines since the batch before
                (naming them), a close whose tree head does not cover every line, or either not
                signed by the operator.
        """
        kind = entry.get("kind")
        if kind == "batch":
            span = f"lines {self.segment_start}-{line - 1}"
            if entry.get("lines") != self.segment.size or entry.get("lines_root") != self.segment.root().hex():
                raise LogTampered(
                    self.path, line, "lines_root", f"does not cover {span} as they are: they were changed after the operator signed them"
                )
            self._signed(line, entry, f"this batch ({span})")
        elif kind == "close":
            if entry.get("tree_size") != self.tree.size or entry.get("tree_root") != self.tree.root().hex():
                raise LogTampered(self.path, line, "tree_root", f"the signed tree head does not cover lines 1-{line - 1} as they are")
            self._signed(line, entry, "this tree head")
        raw = bytes.fromhex(entry["hash"])
        self.tree.append(raw)
        if kind == "batch":
            self.segment = line_tree()
            self.segment_start = line + 1
        else:
            self.segment.append(raw)
