"""Scenario files: TOML, validated on load, with ``--set KEY=VALUE`` overrides.

A scenario names a model (a key of :data:`agents.MODELS`), the number of steps and the model's
keyword arguments under ``[params]``. Validation checks every key against the model's constructor:
unknown keys, wrong types and negative quantities are reported as one line naming the file, the
key and the problem. The model class adds its own checks with its ``validate_params`` classmethod
(:meth:`agents.MarketModel.validate_params`), which returns ``(key, problem)`` pairs.
"""

from __future__ import annotations

import inspect
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from agents import MODELS, MarketModel
from market.errors import CceiError

__all__ = ["ScenarioError", "Scenario", "builtin_scenarios", "load_scenario", "apply_overrides", "read_toml", "validate"]

TOP_LEVEL = {"name": str, "description": str, "model": str, "steps": int, "params": dict}
_RESERVED_PARAMS = {"seed", "settler"}


class ScenarioError(CceiError):
    """A scenario file or override is wrong; the message names the file, the key and the problem."""

    exit_code = 2


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    Attributes:
        name: Its name (the file stem for a file without one).
        source: Where it came from (a file path, or ``builtin:NAME``).
        model: The model key.
        steps: Default number of rounds.
        params: Keyword arguments for the model class.
        description: One line for ``ccei scenarios``.
    """

    name: str
    source: str
    model: str
    steps: int
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def model_class(self) -> type[MarketModel]:
        return MODELS[self.model]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "steps": self.steps, "params": dict(self.params)}


def _scenario_dir() -> Path:
    return Path(str(resources.files("experiments") / "scenarios"))


def builtin_scenarios() -> dict[str, Path]:
    """Maps each built-in scenario's name to its file."""
    return {p.stem: p for p in sorted(_scenario_dir().glob("*.toml"))}


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


def _check_type(where: str, key: str, value: Any, default: Any) -> Any:
    """Returns ``value`` coerced to the default's type, or raises ScenarioError.

    A parameter whose default is ``None`` takes an optional array, or table, of non-negative numbers.
    """
    if default is None and isinstance(value, dict):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
            raise ScenarioError(f"{where}: key '{key}': expected a table of numbers")
        for k, v in value.items():
            if v < 0:
                raise ScenarioError(f"{where}: key '{key}.{k}': must not be negative, got {v}")
        return value
    if default is None or isinstance(default, list):
        numbers = isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if not numbers:
            raise ScenarioError(f"{where}: key '{key}': expected array of numbers, got {_type_name(value)} {value!r}")
        if not value:
            raise ScenarioError(f"{where}: key '{key}': must not be empty (leave the key out for the model's default)")
        if any(v < 0 for v in value):
            raise ScenarioError(f"{where}: key '{key}': must not hold negative numbers")
        for v in value:
            _check_bounds(where, key, v)
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ScenarioError(f"{where}: key '{key}': expected {_type_name(default)}, got {_type_name(value)} {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ScenarioError(f"{where}: key '{key}': must not be negative, got {value}")
        _check_bounds(where, key, value)
        if key.rpartition(".")[2].startswith("n_") and not 1 <= value <= MAX_AGENTS:
            raise ScenarioError(f"{where}: key '{key}': a number of agents must lie in 1..{MAX_AGENTS:,}, got {value}")
    return value


#: Bounds every scenario value keeps: integers fit in 63 bits, floats are finite, agent counts
#: (``n_*``) and rounds stay where a run ends in reasonable time and memory.
MAX_INT = 2**63 - 1
MAX_AGENTS = 1_000_000
MAX_STEPS = 1_000_000


def _check_bounds(where: str, key: str, value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(f"{where}: key '{key}': must be a finite number, got {value}")
    if isinstance(value, int) and value > MAX_INT:
        raise ScenarioError(f"{where}: key '{key}': must be at most 2**63 - 1, got {value}")


def validate(data: dict[str, Any], where: str, default_name: str) -> Scenario:
    """Validates a parsed scenario table and returns the scenario.

    Raises:
        ScenarioError: naming ``where``, the key and the problem.
    """
    for key, value in data.items():
        if key not in TOP_LEVEL:
            raise ScenarioError(f"{where}: unknown key '{key}' (allowed: {', '.join(TOP_LEVEL)})")
        if not isinstance(value, TOP_LEVEL[key]) or isinstance(value, bool):
            raise ScenarioError(f"{where}: key '{key}': expected {_type_name(TOP_LEVEL[key]())}, got {_type_name(value)}")
    model = data.get("model")
    if model is None:
        raise ScenarioError(f"{where}: missing key 'model' (one of: {', '.join(MODELS)})")
    if model not in MODELS:
        raise ScenarioError(f"{where}: key 'model': unknown model {model!r} (one of: {', '.join(MODELS)})")
    steps = data.get("steps", 100)
    if not 1 <= steps <= MAX_STEPS:
        raise ScenarioError(f"{where}: key 'steps': must lie in 1..{MAX_STEPS:,}, got {steps}")
    signature = inspect.signature(MODELS[model].__init__)
    defaults = {
        name: p.default
        for name, p in signature.parameters.items()
        if name not in _RESERVED_PARAMS and name != "self" and p.default is not inspect.Parameter.empty
    }
    params: dict[str, Any] = {}
    for key, value in data.get("params", {}).items():
        if key not in defaults:
            raise ScenarioError(f"{where}: unknown key 'params.{key}' for model {model!r} (allowed: {', '.join(defaults)})")
        params[key] = _check_type(where, f"params.{key}", value, defaults[key])
    for key, problem in MODELS[model].validate_params({**defaults, **params}):
        raise ScenarioError(f"{where}: key 'params.{key}': {problem}")
    return Scenario(
        name=data.get("name", default_name),
        source=where,
        model=model,
        steps=steps,
        params=params,
        description=data.get("description", ""),
    )


def _parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw  # a bare word such as zi-c is a string


def apply_overrides(data: dict[str, Any], overrides: list[str], where: str = "--set") -> dict[str, Any]:
    """Applies ``KEY=VALUE`` overrides (dotted keys; a key not at top level means ``params.KEY``).

    Raises:
        ScenarioError: an override without ``=``.
    """
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"{where} {item!r}: expected KEY=VALUE, e.g. --set params.n_users=20")
        parts = key.split(".")
        if len(parts) == 1 and parts[0] not in TOP_LEVEL:
            parts = ["params", parts[0]]
        table = data
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ScenarioError(f"{where} {item!r}: '{part}' is not a table")
        table[parts[-1]] = _parse_value(raw.strip())
    return data


def read_toml(
    name_or_path: str, shipped: dict[str, Path], what: str, shipped_label: str, error: type[CceiError]
) -> tuple[dict[str, Any], str, Path]:
    """Reads a shipped file by name, or a TOML file by path.

    Args:
        name_or_path: A name in ``shipped`` or a path.
        shipped: Names of the shipped files and their paths.
        what: What the file is, for messages ("scenario", "sweep").
        shipped_label: How messages list the shipped names ("built in", "shipped").
        error: The error class to raise.

    Returns:
        The parsed table, how messages name its source, and its path.

    Raises:
        error: unknown name, unreadable file or invalid TOML, as one line.
    """
    if name_or_path in shipped:
        path, where = shipped[name_or_path], f"{what} {name_or_path}"
    else:
        path, where = Path(name_or_path), name_or_path
        if path.suffix != ".toml" and not path.exists():
            listed = ", ".join(shipped) or "none"
            raise error(f"unknown {what} {name_or_path!r} ({shipped_label}: {listed}; or a .toml file)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), where, path
    except FileNotFoundError:
        raise error(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{where}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML: {exc}") from None


def load_scenario(name_or_path: str, overrides: list[str] | None = None) -> Scenario:
    """Loads a built-in scenario by name, or a scenario file by path, and applies overrides.

    Raises:
        ScenarioError: unknown name, unreadable or malformed file, or invalid content.
    """
    data, where, path = read_toml(name_or_path, builtin_scenarios(), "scenario", "built in", ScenarioError)
    if overrides:
        data = apply_overrides(data, overrides)
    return validate(data, where, path.stem)
