"""Build step that pyproject.toml cannot declare: the wheel carries the Solidity suite.

``ledger`` reads the suite's sources, compiled artifacts and the solc-js bridge from ``contracts/``
in a checkout; a wheel has no ``contracts/``, so ``build_py`` copies them into
``ledger/solidity/``, together with every file they import from ``node_modules`` (OpenZeppelin's
contracts, once the suite imports them), followed import by import, so a contract developer's own
contracts can import the suite and compile against the very sources its artifacts were built from.
Everything else is in ``pyproject.toml``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
CONTRACTS = ROOT / "contracts"
NODE_MODULES = ROOT / "node_modules"
IMPORT = re.compile(r'^\s*import\s+(?:[^"\';]*\bfrom\s+)?["\']([^"\']+)["\']', re.MULTILINE)


def imported_files(sources: list[Path]) -> set[Path]:
    """Every file the ``sources`` import, directly or not, that lies in ``node_modules``."""
    seen: set[Path] = set()
    todo = list(sources)
    while todo:
        source = todo.pop()
        for name in IMPORT.findall(source.read_text()):
            path = (source.parent / name) if name.startswith(".") else (NODE_MODULES / name)
            if not path.is_file():
                path = CONTRACTS / name
            path = path.resolve()
            if path.is_file() and path not in seen:
                seen.add(path)
                todo.append(path)
    return {p for p in seen if NODE_MODULES.resolve() in p.parents}


class BuildWithContracts(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # `pip install -e`: ledger reads contracts/ in place
            return
        target = Path(self.build_lib) / "ledger" / "solidity"
        if target.exists():
            shutil.rmtree(target)
        (target / "build").mkdir(parents=True)
        sources = sorted(CONTRACTS.glob("*.sol"))
        for path in [*sources, CONTRACTS / "solc-bridge.cjs"]:
            shutil.copy2(path, target / path.name)
        for path in sorted((CONTRACTS / "build").glob("*.json")):
            shutil.copy2(path, target / "build" / path.name)
        for path in sorted(imported_files(sources)):
            copy = target / "node_modules" / path.relative_to(NODE_MODULES.resolve())
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)


setup(cmdclass={"build_py": BuildWithContracts})
