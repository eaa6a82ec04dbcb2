"""Parameter sweeps: many treatments × many seeds of one scenario, locally or on Dask, resumable.

A sweep file (TOML) names a scenario and what varies across its runs::

    name = "surge"                     # default: the file stem
    description = "How the surcharge moves prices"
    scenario = "posted-price"          # a built-in scenario or a .toml file (relative to this file)
    steps = 200                        # rounds per run (default: the scenario's)
    chain = "memory"                   # back end of every run (default memory)
    seeds = 10                         # seeds 1..10, or a list such as [3, 5, 8]

    [params]                           # fixed overrides for every run
    n_users = 20

    [grid]                             # every combination of these values ...
    surge = [0.0, 0.5, 1.0]

    [sample]                           # ... crossed with n points drawn from these distributions
    n = 8
    seed = 7
    method = "lhs"                     # random (default) or lhs (Latin hypercube)
    [sample.params]
    task_probability = { uniform = [0.3, 0.9] }
    n_suppliers = { integers = [2, 6] }           # inclusive
    max_price_micro = { choice = [380, 420, 460] }
    task_mean_mcore_h = { loguniform = [500, 5000] }

A *treatment* is one combination of the swept values; every treatment runs once per seed, and the
same seeds are used for every treatment (common random numbers). Each treatment is validated
against the model like a scenario file, so a wrong key or type stops the sweep before any run
starts, with one line naming the file, the treatment and the key.

Runs execute through :func:`experiments.run.run` in worker processes (a spawn-context
``ProcessPoolExecutor``), on an existing Dask cluster, or in the calling process (``workers=0``,
for debugging). Each run writes ``DIR/runs/<run_id>/`` and, last, its record ``run.json``: a run
whose record says ``ok`` is skipped when the sweep is started again, so an interrupted sweep
resumes where it stopped. A run that raises is recorded as failed, with its error on one line and
the exception's type, and the sweep goes on. Run ids are derived from the scenario, the resolved
parameters, the back end and the seed, so changing any of them never reuses a stale run.

References:
    McKay, Beckman, Conover, "A comparison of three methods for selecting values of input variables
    in the analysis of output from a computer code", Technometrics 21(2), 1979 (Latin hypercube).
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError
from scipy.stats import qmc

from experiments.results import write_tables
from experiments.run import code_version, run
from experiments.scenarios import Scenario, load_scenario, model_defaults, read_toml, validate
from market.errors import CceiError

__all__ = [
    "SweepError",
    "SchedulerUnavailable",
    "RunStatus",
    "Treatment",
    "RunSpec",
    "RunRecord",
    "Sweep",
    "SweepResult",
    "builtin_sweeps",
    "load_sweep",
    "parse_sweep",
    "plan_sweep",
    "sample_points",
    "open_executor",
    "execute_run",
    "run_sweep",
    "read_plan",
    "read_record",
    "finished_record",
    "prepare_sweep_dir",
    "RECORD_FILE",
    "PLAN_FILE",
    "PARTIAL_SUFFIX",
    "LAB_SECRET_ENV",
    "WorkerContext",
    "worker_context",
]

RECORD_FILE = "run.json"
PLAN_FILE = "sweep.json"

SWEEP_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "description": (str,),
    "scenario": (str,),
    "steps": (int,),
    "chain": (str,),
    "seeds": (int, list),
    "params": (dict,),
    "grid": (dict,),
    "sample": (dict,),
}
SAMPLE_KEYS: dict[str, tuple[type, ...]] = {"n": (int,), "seed": (int,), "method": (str,), "params": (dict,)}
DISTRIBUTIONS = ("uniform", "loguniform", "integers", "choice")
SAMPLE_METHODS = ("random", "lhs")


class SweepError(CceiError):
    """A sweep file, its output directory or an option is wrong; the message names which and why."""

    exit_code = 2


class SchedulerUnavailable(SweepError):
    """The Dask scheduler given by ``--scheduler`` cannot be reached."""

    exit_code = 3


class RunStatus(enum.StrEnum):
    """How a run of a sweep ended."""

    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Treatment:
    """One combination of swept values and the model parameters it resolves to.

    Attributes:
        treatment_id: Short hash of the scenario, steps, back end and resolved parameters.
        label: ``key=value, ...`` of the swept values (``baseline`` when nothing is swept).
        factors: The swept values only.
        params: Every keyword argument the model receives (its defaults included).
        scenario: The validated scenario for this treatment.
    """

    treatment_id: str
    label: str
    factors: Mapping[str, Any]
    params: Mapping[str, Any]
    scenario: Scenario


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run of a sweep: a treatment with a seed. Picklable, so it travels to worker processes."""

    run_id: str
    treatment: Treatment
    seed: int
    steps: int
    chain: str


@dataclass(frozen=True, slots=True)
class RunRecord:
    """How one run ended; stored as ``runs/<run_id>/run.json``, written after the run's other files.

    Attributes:
        run_id: The run's id (``<treatment_id>-s<seed>``).
        treatment_id: Its treatment.
        seed: Its seed.
        status: ``ok`` or ``failed``.
        error: The first line of the error message of a failed run.
        error_type: The exception's class name of a failed run.
        elapsed_s: Wall time of the run, in seconds.
    """

    run_id: str
    treatment_id: str
    seed: int
    status: RunStatus
    error: str | None = None
    error_type: str | None = None
    elapsed_s: float = 0.0

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "status": str(self.status)}, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        data = json.loads(text)
        return cls(**{**data, "status": RunStatus(data["status"])})


@dataclass(frozen=True, slots=True)
class Sweep:
    """A validated sweep plan.

    Attributes:
        name: The sweep's name.
        source: Where it came from (a file path, or ``builtin:NAME``).
        description: One line.
        scenario: The base scenario.
        steps: Rounds per run.
        chain: Back end of every run.
        seeds: The seeds every treatment runs with.
        grid: Names of the grid factors, in file order.
        sampled: Names of the sampled factors, in file order.
        treatments: Every treatment, grid-major.
    """

    name: str
    source: str
    description: str
    scenario: Scenario
    steps: int
    chain: str
    seeds: tuple[int, ...]
    grid: tuple[str, ...]
    sampled: tuple[str, ...]
    treatments: tuple[Treatment, ...]

    def runs(self) -> list[RunSpec]:
        """Every run, treatment-major then by seed."""
        return [
            RunSpec(f"{t.treatment_id}-s{seed}", t, seed, self.steps, self.chain)
            for t in self.treatments
            for seed in self.seeds
        ]

    def plan(self) -> dict[str, Any]:
        """The plan as written to ``DIR/sweep.json`` (and read back by reports)."""
        return {
            "name": self.name,
            "source": self.source,
            "description": self.description,
            "scenario": self.scenario.name,
            "model": self.scenario.model,
            "steps": self.steps,
            "chain": self.chain,
            "seeds": list(self.seeds),
            "grid": list(self.grid),
            "sampled": list(self.sampled),
            "treatments": [
                {"treatment_id": t.treatment_id, "label": t.label, "factors": dict(t.factors), "params": dict(t.params)}
                for t in self.treatments
            ],
            "code_version": code_version(),
        }


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes:
        out: The sweep directory.
        records: One record per planned run, in plan order.
        skipped: How many runs were already finished and were not run again.
        tables: The result tables written.
    """

    out: Path
    records: tuple[RunRecord, ...]
    skipped: int
    tables: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> tuple[RunRecord, ...]:
        return tuple(r for r in self.records if r.status is RunStatus.FAILED)

    @property
    def ok(self) -> int:
        return sum(r.status is RunStatus.OK for r in self.records)


# ----------------------------------------------------------------------------------------- parsing


def _sweep_dir() -> Path:
    return Path(str(resources.files("experiments") / "sweeps"))


def builtin_sweeps() -> dict[str, Path]:
    """Maps each shipped sweep's name to its file."""
    return {p.stem: p for p in sorted(_sweep_dir().glob("*.toml"))}


def _kind(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


_STRICT = ConfigDict(extra="forbid", strict=True)


class _SweepFile(BaseModel):
    """A sweep file's keys and their types (what they mean is checked in :func:`parse_sweep`)."""

    model_config = _STRICT
    name: str | None = None
    description: str | None = None
    scenario: str
    steps: int | None = None
    chain: str | None = None
    seeds: int | list[Any]
    params: dict[str, Any] | None = None
    grid: dict[str, Any] | None = None
    sample: dict[str, Any] | None = None


class _SampleTable(BaseModel):
    """A sweep's ``[sample]`` table."""

    model_config = _STRICT
    n: int
    seed: int | None = None
    method: str | None = None
    params: dict[str, Any]


def _validated(schema: type[BaseModel], data: dict[str, Any], where: str, prefix: str, wording: dict[str, tuple[type, ...]]) -> None:
    """Validates ``data`` against ``schema``; the first problem raised as one line naming
    ``where`` and the key (``prefix`` + key), the expected types worded from ``wording``."""
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        # as a reader checks a table: unknown keys first, then the types of the known, then what is missing
        error = min(exc.errors(), key=lambda e: {"extra_forbidden": 0, "missing": 2}.get(e["type"], 1))
        key = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden":
            raise SweepError(f"{where}: unknown key '{prefix}{key}' (allowed: {', '.join(wording)})") from None
        if error["type"] == "missing":
            raise SweepError(f"{where}: missing key '{prefix}{key}'") from None
        value = data.get(key)
        wanted = " or ".join(_kind(t()) for t in wording[key])
        raise SweepError(f"{where}: key '{prefix}{key}': expected {wanted}, got {_kind(value)} {value!r}") from None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_distribution(where: str, key: str, spec: Any) -> None:
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise SweepError(f"{where}: key '{key}': expected one of {{{' | '.join(f'{d} = [...]' for d in DISTRIBUTIONS)}}}")
    kind, args = next(iter(spec.items()))
    if not isinstance(args, list) or not args:
        raise SweepError(f"{where}: key '{key}.{kind}': expected a non-empty array")
    if kind == "choice":
        return
    if len(args) != 2 or not all(_number(a) for a in args):
        raise SweepError(f"{where}: key '{key}.{kind}': expected [low, high], got {args!r}")
    low, high = args
    if kind == "integers" and not all(isinstance(a, int) for a in args):
        raise SweepError(f"{where}: key '{key}.integers': bounds must be integers, got {args!r}")
    if (kind == "integers" and low > high) or (kind != "integers" and low >= high):
        raise SweepError(f"{where}: key '{key}.{kind}': low must be below high, got {args!r}")
    if kind == "loguniform" and low <= 0:
        raise SweepError(f"{where}: key '{key}.loguniform': bounds must be positive, got {args!r}")


def parse_sweep(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Checks a parsed sweep table's structure (not yet against the scenario's model).

    Args:
        data: The parsed TOML.
        where: The file (or ``sweep NAME``) named in error messages.

    Returns:
        ``data`` itself, once checked.

    Raises:
        SweepError: naming ``where``, the key and the problem.
    """
    _validated(_SweepFile, data, where, "", SWEEP_KEYS)
    if data.get("steps", 1) < 1:
        raise SweepError(f"{where}: key 'steps': must be at least 1, got {data['steps']}")
    seeds = data["seeds"]
    if isinstance(seeds, int):
        if seeds < 1:
            raise SweepError(f"{where}: key 'seeds': must be at least 1, got {seeds}")
    else:
        if not seeds:
            raise SweepError(f"{where}: key 'seeds': expected a non-empty array")
        for i, seed in enumerate(seeds):
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise SweepError(f"{where}: key 'seeds[{i}]': expected a non-negative integer, got {seed!r}")
        if len(set(seeds)) != len(seeds):
            raise SweepError(f"{where}: key 'seeds': duplicate seeds in {seeds!r}")
    fixed = data.get("params", {})
    grid = data.get("grid", {})
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{where}: key 'grid.{key}': expected a non-empty array of values")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise SweepError(f"{where}: key 'grid.{key}': duplicate values in {values!r}")
        if key in fixed:
            raise SweepError(f"{where}: key 'grid.{key}': also set in [params]; set it in one place")
    sample = data.get("sample")
    if sample is not None:
        _validated(_SampleTable, sample, where, "sample.", SAMPLE_KEYS)
        if sample["n"] < 1:
            raise SweepError(f"{where}: key 'sample.n': must be at least 1, got {sample['n']}")
        if sample.get("method", "random") not in SAMPLE_METHODS:
            raise SweepError(
                f"{where}: key 'sample.method': expected one of {', '.join(SAMPLE_METHODS)}, got {sample['method']!r}"
            )
        if not sample["params"]:
            raise SweepError(f"{where}: key 'sample.params': expected at least one parameter")
        for key, spec in sample["params"].items():
            if key in grid or key in fixed:
                raise SweepError(f"{where}: key 'sample.params.{key}': also set in [grid] or [params]; set it in one place")
            _check_distribution(where, f"sample.params.{key}", spec)
    return data


def _grid_points(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def _from_unit(spec: Mapping[str, list[Any]], u: float) -> Any:
    """Maps ``u`` in [0, 1) to a value of the distribution ``spec``."""
    kind, args = next(iter(spec.items()))
    if kind == "choice":
        return args[min(int(u * len(args)), len(args) - 1)]
    low, high = args
    if kind == "integers":
        return min(int(low + math.floor(u * (high - low + 1))), high)
    if kind == "loguniform":
        return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
    return float(low + u * (high - low))


def sample_points(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Draws ``spec['n']`` points of ``spec['params']`` with ``spec['seed']`` (random or Latin hypercube).

    Args:
        spec: A checked ``[sample]`` table.

    Returns:
        The points, each mapping a parameter to its drawn value; the same spec gives the same points.
    """
    names = list(spec["params"])
    rng = np.random.default_rng(spec.get("seed", 0))
    if spec.get("method", "random") == "lhs":
        unit = qmc.LatinHypercube(d=len(names), rng=rng).random(spec["n"])
    else:
        unit = rng.random((spec["n"], len(names)))
    return [{name: _from_unit(spec["params"][name], float(u)) for name, u in zip(names, row, strict=True)} for row in unit]


def _digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _label(factors: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in factors.items()) or "baseline"


def plan_sweep(data: dict[str, Any], where: str, *, base_dir: Path | None = None, default_name: str = "sweep") -> Sweep:
    """Resolves a checked sweep table into treatments and validates each against the scenario's model.

    Args:
        data: A sweep table that passed :func:`parse_sweep`.
        where: The file (or ``sweep NAME``) named in error messages.
        base_dir: Directory that a relative ``scenario`` path is taken from (the sweep file's).
        default_name: The name when the table has none.

    Returns:
        The sweep.

    Raises:
        SweepError, ScenarioError: an unknown scenario or an invalid treatment, naming the key.
    """
    name = data["scenario"]
    if base_dir is not None and name.endswith(".toml") and not Path(name).is_absolute():
        name = str(base_dir / name)
    base = load_scenario(name)
    steps = data.get("steps", base.steps)
    chain = data.get("chain", "memory")
    seeds = tuple(range(1, data["seeds"] + 1)) if isinstance(data["seeds"], int) else tuple(data["seeds"])
    defaults = model_defaults(base.model_class)
    fixed = {**base.params, **data.get("params", {})}
    sample = data.get("sample")
    samples = sample_points(sample) if sample else [{}]
    treatments: dict[str, Treatment] = {}
    for point in _grid_points(data.get("grid", {})):
        for drawn in samples:
            factors = {**point, **drawn}
            label = _label(factors)
            scenario = validate({**base.as_dict(), "params": {**fixed, **factors}}, f"{where}: treatment {label}", base.name)
            params = {**defaults, **scenario.params}
            treatment_id = _digest(
                {"scenario": base.name, "model": base.model, "steps": steps, "chain": chain, "params": params}
            )
            if treatment_id in treatments:  # e.g. two sampled points that coincide: one treatment
                continue
            if any(t.label == label for t in treatments.values()):
                label = f"{label} [{treatment_id[:6]}]"
            treatments[treatment_id] = Treatment(treatment_id, label, factors, params, scenario)
    return Sweep(
        name=data.get("name", default_name),
        source=where,
        description=data.get("description", ""),
        scenario=base,
        steps=steps,
        chain=chain,
        seeds=seeds,
        grid=tuple(data.get("grid", {})),
        sampled=tuple(sample["params"]) if sample else (),
        treatments=tuple(treatments.values()),
    )


def load_sweep(name_or_path: str, *, steps: int | None = None, seeds: int | None = None, chain: str | None = None) -> Sweep:
    """Loads a shipped sweep by name, or a sweep file by path, checks it and plans it.

    Args:
        name_or_path: A name from :func:`builtin_sweeps` or a ``.toml`` file.
        steps: Override of the rounds per run (e.g. for a quick trial).
        seeds: Override of the seeds: ``1..seeds``.
        chain: Override of the back end of every run (e.g. ``revm``: the contracts at native speed).

    Returns:
        The sweep.

    Raises:
        SweepError, ScenarioError: one line naming the file, the key and the problem.
    """
    data, where, path = read_toml(name_or_path, builtin_sweeps(), "sweep", "shipped", SweepError)
    for option, value in (("--steps", steps), ("--seeds", seeds)):
        if value is not None and value < 1:
            raise SweepError(f"{option} {value}: must be at least 1")
    data = parse_sweep(data, where)
    if steps is not None:
        data["steps"] = steps
    if seeds is not None:
        data["seeds"] = seeds
    if chain is not None:
        data["chain"] = chain
    return plan_sweep(data, where, base_dir=path.parent, default_name=path.stem)


# --------------------------------------------------------------------------------------- executing


class _InlineExecutor(Executor):
    """Runs each call at submission, in the calling process: ``workers=0``, for debugging and tests."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # delivered through the future, as a pool would
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def open_executor(
    workers: int | None = None, scheduler: str | None = None, *, connect_timeout_s: float = 10.0
) -> Iterator[Executor]:
    """The executor runs go to: worker processes, a Dask cluster, or the calling process.

    Args:
        workers: Worker processes (default: the number of CPUs); 0 runs everything in this process.
        scheduler: Address of a running Dask scheduler (e.g. ``tcp://10.0.0.5:8786``); overrides ``workers``.
        connect_timeout_s: How long to try reaching ``scheduler``.

    Yields:
        A ``concurrent.futures.Executor``.

    Raises:
        SweepError: ``workers`` is negative. SchedulerUnavailable: the scheduler cannot be reached.
    """
    if scheduler is not None:
        from distributed import Client

        try:
            client = Client(scheduler, timeout=connect_timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerUnavailable(f"--scheduler {scheduler}: cannot connect ({str(exc).splitlines()[0]})") from None
        with client:
            yield client.get_executor(pure=False)
        return
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 0:
        raise SweepError(f"--workers {workers}: must not be negative")
    if workers == 0:
        yield _InlineExecutor()
        return
    # spawn, not fork: the parent may hold threads (progress bar, Dask) that fork would copy half-way
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


#: The environment variable a worker reads the lab secret from (:mod:`ledger.keys` resolves it the
#: same way in every process: this variable, else the user's key file).
LAB_SECRET_ENV = "CCEI_LAB_SECRET"


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """What a run needs besides its spec, sent with every task: a worker on another machine shares
    no environment, file or key with the client.

    Attributes:
        lab_secret: The client's lab secret (it derives every agent's key), or ``None`` when the
            client has none set; applied as ``CCEI_LAB_SECRET`` in the worker for the run.
    """

    lab_secret: str | None = None

    def __repr__(self) -> str:  # never print the secret (Dask logs task arguments on errors)
        return f"WorkerContext(lab_secret={'<set>' if self.lab_secret else None})"


def worker_context() -> WorkerContext:
    """The context of this (client) process, to send to workers with each task: the lab secret as
    :func:`ledger.keys.lab_secret` resolves it (the variable, else the user's key file, created on
    first use), so the workers' runs sign as this lab.
    """
    from ledger.keys import lab_secret

    return WorkerContext(lab_secret=lab_secret().decode())


@contextlib.contextmanager
def _applied(context: WorkerContext) -> Iterator[None]:
    if context.lab_secret is None:
        yield
        return
    saved = os.environ.get(LAB_SECRET_ENV)
    os.environ[LAB_SECRET_ENV] = context.lab_secret
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(LAB_SECRET_ENV, None)
        else:
            os.environ[LAB_SECRET_ENV] = saved


#: How the folder of an unfinished attempt of a run ends (``runs/.<run_id>.<pid>.<ns>.partial``).
PARTIAL_SUFFIX = ".partial"


def execute_run(spec: RunSpec, runs_dir: str, context: WorkerContext | None = None) -> RunRecord:
    """Runs one run into ``runs_dir/<run_id>/``, idempotently: whichever attempt finishes first wins.

    This is what workers execute. A cluster runs a task again when the worker running it is lost,
    and a resumed sweep may start a run whose earlier attempt is still going on a worker of a dead
    client; so each attempt writes into a hidden folder of its own in ``runs_dir`` (ending
    ``.partial``) and, complete with its record, renames it to ``runs_dir/<run_id>`` in one step. An attempt that finds the run
    already there discards its own output and returns the record it finds. Any exception the run
    raises becomes a failed record, because one broken treatment must not stop the others.

    Args:
        spec: The run.
        runs_dir: The sweep's ``runs`` directory (a path every worker can reach).
        context: What the client sends with the task (see :class:`WorkerContext`).

    Returns:
        The run's record.
    """
    final = Path(runs_dir) / spec.run_id
    existing = finished_record(final)
    if existing is not None:
        return existing
    attempt = Path(runs_dir) / f".{spec.run_id}.{os.getpid()}.{time.time_ns()}{PARTIAL_SUFFIX}"
    started = time.perf_counter()
    error: str | None = None
    error_type: str | None = None
    try:
        with _applied(context or WorkerContext()):
            run(spec.treatment.scenario, out=attempt, seed=spec.seed, steps=spec.steps, chain=spec.chain, overwrite=True)
    except Exception as exc:  # recorded, not raised: see the docstring
        error, error_type = _first_line(exc), type(exc).__name__
    record = RunRecord(
        run_id=spec.run_id,
        treatment_id=spec.treatment.treatment_id,
        seed=spec.seed,
        status=RunStatus.FAILED if error_type else RunStatus.OK,
        error=error,
        error_type=error_type,
        elapsed_s=round(time.perf_counter() - started, 4),
    )
    attempt.mkdir(parents=True, exist_ok=True)
    _write_atomic(attempt / RECORD_FILE, record.to_json())
    return _publish(attempt, final, record)


def _publish(attempt: Path, final: Path, record: RunRecord) -> RunRecord:
    """Moves a finished attempt into place unless another attempt's successful run is already there."""
    existing = finished_record(final)
    if existing is not None:
        shutil.rmtree(attempt, ignore_errors=True)
        return existing
    if final.exists():  # a failed earlier attempt, or output of an older version: replaced
        shutil.rmtree(final, ignore_errors=True)
    try:
        os.rename(attempt, final)
    except OSError:  # another attempt got there between the check and the rename
        shutil.rmtree(attempt, ignore_errors=True)
        return read_record(final) or record
    return record


def read_record(run_dir: Path) -> RunRecord | None:
    """The record of a finished run in ``run_dir``, or ``None`` if it has not finished."""
    try:
        return RunRecord.from_json((run_dir / RECORD_FILE).read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None


def finished_record(run_dir: Path) -> RunRecord | None:
    """The record of a run in ``run_dir`` that finished well (record ``ok`` and its summary there)."""
    record = read_record(run_dir)
    if record is None or record.status is not RunStatus.OK or not (run_dir / "summary.json").exists():
        return None
    return record


def read_plan(out: Path) -> dict[str, Any]:
    """The plan in ``out/sweep.json``.

    Raises:
        SweepError: ``out`` holds no readable sweep plan.
    """
    try:
        return json.loads((Path(out) / PLAN_FILE).read_text())
    except FileNotFoundError:
        raise SweepError(f"{out}: no {PLAN_FILE}; is this a sweep directory (ccei sweep ... --out DIR)?") from None
    except (OSError, ValueError) as exc:
        raise SweepError(f"{out}/{PLAN_FILE}: cannot read: {exc}") from None


def prepare_sweep_dir(out: Path, sweep: Sweep) -> Path:
    """Creates ``out`` (or reopens it to resume the same sweep) and writes the plan.

    Raises:
        SweepError: ``out`` is a file, unwritable, holds other files, or holds a different sweep.
    """
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out}: is a file, not a directory")
    if (out / PLAN_FILE).exists():
        earlier = read_plan(out).get("name")
        if earlier != sweep.name:
            raise SweepError(f"--out {out}: holds sweep {earlier!r}, not {sweep.name!r}; choose another directory")
    elif out.exists() and any(out.iterdir()):
        raise SweepError(f"--out {out}: not empty and holds no sweep; choose a new or empty directory")
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
        _write_atomic(out / PLAN_FILE, json.dumps(sweep.plan(), indent=2, default=str) + "\n")
    except OSError as exc:
        raise SweepError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return out


def run_sweep(
    sweep: Sweep,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    csv: bool = False,
    on_progress: Callable[[int, int, RunRecord | None], None] | None = None,
) -> SweepResult:
    """Runs every unfinished run of ``sweep`` into ``out`` and writes the result tables.

    Args:
        sweep: The sweep.
        out: The sweep directory; a directory holding the same sweep is resumed.
        workers: Local worker processes (default: CPUs; 0: in this process).
        scheduler: A Dask scheduler address to run on instead.
        csv: Also write the tables as CSV.
        on_progress: Called with (runs finished, runs total, the record just finished or ``None``
            for the first call, which counts the runs skipped as already finished).

    Returns:
        What ran, failed and was skipped, and the tables written.

    Raises:
        SweepError: see :func:`prepare_sweep_dir` and :func:`open_executor`.
    """
    out = prepare_sweep_dir(Path(out), sweep)
    runs_dir = out / "runs"
    specs = sweep.runs()
    records: dict[str, RunRecord] = {}
    for spec in specs:
        record = finished_record(runs_dir / spec.run_id)
        if record is not None:
            records[spec.run_id] = record
    skipped = len(records)
    todo = [s for s in specs if s.run_id not in records]
    if on_progress:
        on_progress(skipped, len(specs), None)
    if todo:
        n_workers = (os.cpu_count() or 1) if workers is None else workers
        with open_executor(min(n_workers, len(todo)), scheduler) as executor:
            futures: dict[Future[RunRecord], RunSpec] = {}
            try:
                context = worker_context()
                for spec in todo:
                    futures[executor.submit(execute_run, spec, str(runs_dir), context)] = spec
                for future in as_completed(futures):
                    spec = futures[future]
                    try:
                        record = future.result()
                    except Exception as exc:  # the worker itself died (e.g. out of memory): still one failed run
                        record = RunRecord(
                            spec.run_id,
                            spec.treatment.treatment_id,
                            spec.seed,
                            RunStatus.FAILED,
                            _first_line(exc),
                            type(exc).__name__,
                        )
                    records[spec.run_id] = record
                    if on_progress:
                        on_progress(len(records), len(specs), record)
            except BaseException:  # e.g. Ctrl-C: drop the queued runs; finished ones stay recorded
                for future in futures:
                    future.cancel()
                executor.shutdown(wait=False)
                raise
    ordered = tuple(records[s.run_id] for s in specs)
    if all(r.status is RunStatus.OK for r in ordered):  # attempts lost with their worker, now redundant
        for attempt in runs_dir.glob(f".*{PARTIAL_SUFFIX}"):
            shutil.rmtree(attempt, ignore_errors=True)
    tables = write_tables(out, specs, ordered, csv=csv)
    return SweepResult(out=out, records=ordered, skipped=skipped, tables=tuple(tables))
