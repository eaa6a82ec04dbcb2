"""Recompiles the test-only Solidity in this folder into ``tests/contracts/build``.

Run ``.venv/bin/python tests/contracts/compile_test_contracts.py`` after editing a ``.sol`` here;
``test_test_contracts_are_compiled`` fails while the committed artifacts are stale.
"""

from __future__ import annotations

from pathlib import Path

from ledger.compiler import compile_contracts, write_artifacts

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"


def main() -> None:
    written = write_artifacts(compile_contracts(HERE), BUILD)
    print(f"compiled {len(written)} test contracts into {BUILD}")


if __name__ == "__main__":
    main()
