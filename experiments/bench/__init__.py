"""Benchmarks behind ``ccei bench NAME --json``.

Each module in this package is one benchmark. It defines ``DESCRIPTION`` (one line),
``add_arguments(parser)`` and ``run(args) -> dict``; the CLI finds the modules by name, so adding
a benchmark needs no change anywhere else. Benchmarks compare side by side in one process and
report ratios, because the machines are shared and noisy; targets are asserted nowhere in tests.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

__all__ = ["available", "describe", "load"]


def available() -> list[str]:
    """Names of the benchmark modules, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> ModuleType:
    """Imports benchmark ``name``."""
    return importlib.import_module(f"{__name__}.{name}")


def describe(name: str) -> str:
    """Benchmark ``name``'s one-line ``DESCRIPTION``, read from its source without importing it
    (benchmarks import heavy packages; ``ccei --help`` should not wait for them)."""
    tree = ast.parse((Path(__file__).parent / f"{name}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DESCRIPTION" for t in node.targets):
            return str(ast.literal_eval(node.value))
    return ""
