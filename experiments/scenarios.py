"""Scenario files: TOML, validated on load, with ``--set KEY=VALUE`` overrides.

A scenario names a model (a key of :data:`agents.MODELS`), the number of steps and the model's
keyword arguments under ``[params]``. Validation checks every key against the model's constructor,
through a pydantic model built from its signature (:func:`params_model`): unknown keys, wrong
types, negative quantities and values out of bounds are reported as one line naming the file, the
key and the problem. The model class adds its own checks with its ``validate_params`` classmethod
(:meth:`agents.MarketModel.validate_params`), which returns ``(key, problem)`` pairs; a check that
relates several parameters names them all ("keys 'params.value_min' and 'params.value_max': ...").
"""

from __future__ import annotations

import inspect
import math
import tomllib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, create_model

from agents import MODELS, MarketModel
from agents.model import param_names
from market.errors import CceiError

__all__ = [
    "ScenarioError", "Scenario", "builtin_scenarios", "load_scenario", "apply_overrides", "read_toml", "validate", "params_model", "model_defaults",
]

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


#: Bounds every scenario value keeps: integers fit in 63 bits, floats are finite, agent counts
#: (``n_*``) and rounds stay where a run ends in reasonable time and memory.
MAX_INT = 2**63 - 1
MAX_AGENTS = 1_000_000
MAX_STEPS = 1_000_000


_COUNT = Annotated[StrictInt, Field(ge=0, le=MAX_INT)]
_AGENTS = Annotated[StrictInt, Field(ge=1, le=MAX_AGENTS)]
_NUMBER = Annotated[StrictFloat | StrictInt, Field(ge=0, allow_inf_nan=False, le=MAX_INT)]  # an integer is a number too
#: What a parameter annotated with each type takes from a scenario file: non-negative, finite and
#: bounded values of exactly that type (TOML has no null, so an optional parameter takes its type).
_FIELD_TYPES: dict[Any, Any] = {
    bool: StrictBool,
    int: _COUNT,
    float: _NUMBER,
    str: StrictStr,
    list[int] | None: Annotated[list[_NUMBER], Field(min_length=1)],
    dict[str, float] | None: dict[StrictStr, _NUMBER],
}
_TYPE_WORDS = {"int": "integer", "float": "number", "bool": "boolean", "str": "string", "list": "array", "dict": "table"}


#: params_model's models, built once per model class (a dict: mypy takes a class for unhashable
#: when it is passed to a functools.cache function)
_PARAMS_MODELS: dict[type[MarketModel], type[BaseModel]] = {}


def params_model(model_class: type[MarketModel]) -> type[BaseModel]:
    """The pydantic model of ``model_class``'s scenario parameters, read from its constructor:
    each keyword with a default becomes a field of its annotated type (see ``_FIELD_TYPES``),
    unknown keys are refused, and a parameter named ``n_*`` counts agents (1..``MAX_AGENTS``)."""
    found = _PARAMS_MODELS.get(model_class)
    if found is None:
        found = _PARAMS_MODELS[model_class] = _build_params_model(model_class)
    return found


def _build_params_model(model_class: type[MarketModel]) -> type[BaseModel]:
    hints = typing.get_type_hints(model_class.__init__)
    fields: dict[str, Any] = {}
    for name, parameter in inspect.signature(model_class.__init__).parameters.items():
        if name in _RESERVED_PARAMS or name == "self" or parameter.default is inspect.Parameter.empty:
            continue
        hint = hints[name]
        if hint not in _FIELD_TYPES:
            raise TypeError(f"{model_class.__name__}.__init__: parameter {name!r} has type {hint}, which scenario files cannot give")
        kind = _AGENTS if name.startswith("n_") and hint is int else _FIELD_TYPES[hint]
        fields[name] = (kind, parameter.default)
    return create_model(f"{model_class.__name__}Params", __config__=ConfigDict(extra="forbid"), **fields)


def model_defaults(model_class: type[MarketModel]) -> dict[str, Any]:
    """Every scenario parameter of ``model_class`` with its default."""
    return {name: f.default for name, f in params_model(model_class).model_fields.items()}


def _problem(error: Any, value: Any, hint: Any) -> str:
    """One pydantic error as the phrase a scenario message ends with."""
    kind, ctx = error["type"], error.get("ctx", {})
    got = error.get("input", value)
    if isinstance(got, float) and not math.isfinite(got):
        return f"must be a finite number, got {got}"
    if (kind == "greater_than_equal" and ctx.get("ge") == 1) or (kind == "less_than_equal" and ctx.get("le") == MAX_AGENTS):
        return f"a number of agents must lie in 1..{MAX_AGENTS:,}, got {got}"
    if kind == "greater_than_equal":
        return "must not hold negative numbers" if isinstance(value, list) else f"must not be negative, got {got}"
    if kind == "less_than_equal":
        return f"must be at most 2**63 - 1, got {got}"
    if kind == "finite_number":
        return f"must be a finite number, got {got}"
    if kind == "too_short":
        return "must not be empty (leave the key out for the model's default)"
    if isinstance(value, list) or any(typing.get_origin(arg) is list for arg in typing.get_args(hint)):
        return f"expected array of numbers, got {_type_name(value)} {value!r}"
    if isinstance(value, dict) or hint == dict[str, float] | None:
        return "expected a table of numbers"
    wanted = _TYPE_WORDS.get(getattr(hint, "__name__", ""), str(hint))
    return f"expected {wanted}, got {_type_name(value)} {value!r}"


def _check_params(where: str, model: str, raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` validated against the model's :func:`params_model`; the first problem raised as one
    line naming ``where`` and the key (``params.KEY``, or ``params.KEY.SUBKEY`` in a table)."""
    model_class = MODELS[model]
    schema = params_model(model_class)
    try:
        schema.model_validate(raw)
    except ValidationError as exc:
        error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")  # unknown keys first
        key = str(error["loc"][0])
        if error["type"] == "extra_forbidden":
            raise ScenarioError(f"{where}: unknown key 'params.{key}' for model {model!r} (allowed: {', '.join(schema.model_fields)})") from None
        hints = typing.get_type_hints(model_class.__init__)
        sub = error["loc"][1] if len(error["loc"]) > 1 and isinstance(raw.get(key), dict) else None
        name = f"params.{key}" + (f".{sub}" if sub is not None else "")
        raise ScenarioError(f"{where}: key '{name}': {_problem(error, raw.get(key), hints.get(key))}") from None
    defaults = model_defaults(model_class)
    # the values given, with floats where the model's parameter is a float (an integer in TOML)
    return {key: (float(value) if isinstance(defaults[key], float) and isinstance(value, int) else value) for key, value in raw.items()}


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
    params = _check_params(where, model, data.get("params", {}))
    defaults = model_defaults(MODELS[model])
    for names, problem in MODELS[model].validate_params({**defaults, **params}):
        named = [f"'params.{k}'" for k in param_names(names)]
        raise ScenarioError(f"{where}: {'key' if len(named) == 1 else 'keys'} {' and '.join(named)}: {problem}")
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
