"""Tidy result tables of a sweep: ``runs.parquet`` (one row per run) and ``steps.parquet`` (one per run × step).

Both tables start with the same columns: ``run_id``, ``treatment_id``, ``treatment`` (its label),
every model parameter (flattened: a table parameter ``a = {b = 1}`` becomes column ``a.b``, an
array becomes its JSON text) and ``seed``. Then:

* ``runs``: ``status`` (``ok`` or ``failed``), ``error`` and ``error_type`` (failed runs),
  ``elapsed_s``, the scalar figures of the run's ``summary.json`` (``trades``, ``volume_micro``,
  ``gas_used`` ...; nested tables flattened with ``_``, per-agent balances left out) and, for every
  numeric metric of the model's DataCollector, its mean and its sum over the rounds
  (``<metric>_mean``, ``<metric>_sum``; the row collected before the first round is left out).
* ``steps``: ``step`` and every DataCollector metric (step 0 is the state before the first round).
  Failed runs have no rows here.

A result column whose name a parameter already uses gets the prefix ``result_``, so parameters keep
their own names. One line of pandas loads either: ``pandas.read_parquet("DIR/runs.parquet")``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from market.errors import CceiError

if TYPE_CHECKING:
    from experiments.sweep import RunRecord, RunSpec

__all__ = [
    "ResultsError",
    "RUNS_TABLE",
    "STEPS_TABLE",
    "flatten_params",
    "build_tables",
    "write_tables",
    "load_runs",
    "load_steps",
]

RUNS_TABLE = "runs.parquet"
STEPS_TABLE = "steps.parquet"
_SUMMARY_SKIP = {"scenario", "seed", "elapsed_s", "balances_micro"}


class ResultsError(CceiError):
    """A sweep directory has no result tables to read."""

    exit_code = 2


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Parameters as flat columns: nested tables joined with ``.``, arrays as JSON text.

    Args:
        params: Model parameters.
        prefix: Prepended to every key (used in the recursion).

    Returns:
        A flat mapping of column name to scalar.
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value, default=str)
        else:
            flat[name] = value
    return flat


def _flatten_summary(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        if not prefix and key in _SUMMARY_SKIP:
            continue
        if isinstance(value, Mapping):
            flat.update(_flatten_summary(value, f"{prefix}{key}_"))
        elif not isinstance(value, (list, tuple)):
            flat[f"{prefix}{key}"] = value
    return flat


def _result_name(name: str, params: Mapping[str, Any]) -> str:
    return f"result_{name}" if name in params else name


def _keep_integers(frame: pd.DataFrame, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Integer columns with gaps (failed runs) as nullable ``Int64`` rather than float."""
    for column in frame.columns:
        values = [row[column] for row in rows if row.get(column) is not None]
        if values and len(values) < len(rows) and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[column] = frame[column].astype("Int64")
    return frame


def build_tables(
    runs_dir: Path, specs: Sequence[RunSpec], records: Sequence[RunRecord]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Builds the runs and steps tables from each run's files.

    Args:
        runs_dir: The sweep's ``runs`` directory.
        specs: The planned runs.
        records: Their records, in the same order.

    Returns:
        ``(runs, steps)``.
    """
    run_rows: list[dict[str, Any]] = []
    step_frames: list[pd.DataFrame] = []
    key_columns: list[str] = []
    for spec, record in zip(specs, records, strict=True):
        params = flatten_params(spec.treatment.params)
        keys: dict[str, Any] = {
            "run_id": spec.run_id,
            "treatment_id": spec.treatment.treatment_id,
            "treatment": spec.treatment.label,
        }
        keys.update(params)
        keys["seed"] = spec.seed
        key_columns = list(keys)
        row = {
            **keys,
            "status": str(record.status),
            "error": record.error,
            "error_type": record.error_type,
            "elapsed_s": record.elapsed_s,
        }
        if record.status == "ok":
            run_dir = runs_dir / spec.run_id
            summary = json.loads((run_dir / "summary.json").read_text())
            for key, value in _flatten_summary(summary).items():
                row[_result_name(key, keys)] = value
            metrics = pd.read_csv(run_dir / "metrics.csv")
            rounds = metrics[metrics["step"] >= 1]
            for column in metrics.columns.drop("step"):
                if pd.api.types.is_numeric_dtype(metrics[column]):
                    row[_result_name(f"{column}_mean", keys)] = float(rounds[column].mean())
                    row[_result_name(f"{column}_sum", keys)] = float(rounds[column].sum())
            frame = metrics.rename(columns={c: _result_name(c, keys) for c in metrics.columns if c != "step"})
            step_frames.append(pd.concat([pd.DataFrame([keys] * len(frame)), frame], axis=1))
        run_rows.append(row)
    runs = _keep_integers(pd.DataFrame(run_rows), run_rows)
    steps = pd.concat(step_frames, ignore_index=True) if step_frames else pd.DataFrame(columns=[*key_columns, "step"])
    return runs, steps


def write_tables(out: Path, specs: Sequence[RunSpec], records: Sequence[RunRecord], *, csv: bool = False) -> list[Path]:
    """Writes ``runs.parquet`` and ``steps.parquet`` (and ``.csv`` twins with ``csv``) into ``out``.

    Returns:
        The files written.
    """
    runs, steps = build_tables(out / "runs", specs, records)
    written = []
    for frame, name in ((runs, RUNS_TABLE), (steps, STEPS_TABLE)):
        path = out / name
        frame.to_parquet(path, index=False)
        written.append(path)
        if csv:
            frame.to_csv(path.with_suffix(".csv"), index=False)
            written.append(path.with_suffix(".csv"))
    return written


def _load(out: Path, name: str) -> pd.DataFrame:
    path = Path(out) / name
    if not path.exists():
        raise ResultsError(f"{out}: no {name}; run `ccei sweep SWEEP.toml --out {out}` first")
    return pd.read_parquet(path)


def load_runs(out: Path) -> pd.DataFrame:
    """The runs table of the sweep in ``out``.

    Raises:
        ResultsError: the sweep has not written it.
    """
    return _load(out, RUNS_TABLE)


def load_steps(out: Path) -> pd.DataFrame:
    """The run × step table of the sweep in ``out``.

    Raises:
        ResultsError: the sweep has not written it.
    """
    return _load(out, STEPS_TABLE)
