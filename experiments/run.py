"""One market run: build the model from a scenario, settle every round on a back end, write the results.

``DIR/trades.jsonl`` is the hash-chained trade log, ``DIR/settlements.jsonl`` where each batch
landed (transaction, block, gas), ``DIR/metrics.csv`` one row per step from the model's
DataCollector, ``DIR/agents.csv`` one row per participant (what it bought, sold, paid, received,
its surplus, kWh and kg CO2), ``DIR/summary.json`` the totals, final balances and digests, and ``DIR/run.json``
what a resume needs beyond the log's header (the back end).

A run killed at any moment continues with :func:`resume`: the model is rebuilt from the log's
header and re-run from the start (it is deterministic), the entries already in the log are checked
instead of written again, and every batch settles on a fresh back end, so the finished log and
balances are those of an uninterrupted run and no batch settles twice on one contract.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from agents import MarketModel
from experiments.scenarios import Scenario
from ledger.backends import SettlementBackend, open_backend
from ledger.session import LedgerSession
from ledger.tradelog import TradeLogWriter
from market.errors import CceiError

__all__ = [
    "RunError",
    "RunResult",
    "run",
    "resume",
    "run_header",
    "open_accounts",
    "prepare_out_dir",
    "code_version",
    "frozen_heap",
]

RUN_FILES = ("trades.jsonl", "metrics.csv", "summary.json")
RUN_META = "run.json"


class RunError(CceiError):
    """A run cannot start or finish (e.g. the output directory is unusable)."""

    exit_code = 2


def code_version() -> str:
    try:
        return version("ccei-market")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keeps CPython's cyclic garbage collector off the objects that outlive every step.

    The model, its agents and the libraries loaded with them are hundreds of thousands of objects
    that live for the whole run. Each step allocates many more (tasks, orders, trades, log
    entries), which triggers about one full collection per step at 10,000 agents, and a full
    collection walks every object alive: over half the step's time at that size. ``gc.freeze()``
    moves everything alive at the start into the permanent generation, which collections skip;
    reference counting still frees those objects as usual. Everything is unfrozen on exit, so
    garbage from the run is collected afterwards. Not re-entrant: an inner exit unfreezes all.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class RunResult:
    """What a run produced: the summary written to ``summary.json`` and where the files are."""

    out: Path
    summary: dict[str, Any]
    backend: SettlementBackend
    model: MarketModel


def prepare_out_dir(out: Path, overwrite: bool = False) -> Path:
    """Creates ``out`` and checks it can be written without destroying an earlier run.

    Raises:
        RunError: ``out`` is a file, not writable, or holds a run and ``overwrite`` is False.
    """
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out}: is a file, not a directory")
    if not overwrite and any((out / name).exists() for name in RUN_FILES):
        raise RunError(f"--out {out}: already holds a run; choose another directory or pass --overwrite")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".ccei-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return out


def default_out_dir(scenario: str, seed: int, root: Path = Path("runs")) -> Path:
    """``runs/<scenario>-seed<S>``, or the first ``-N`` suffix that does not hold a run yet."""
    base = root / f"{Path(scenario).stem}-seed{seed}"
    candidate, n = base, 1
    while any((candidate / name).exists() for name in RUN_FILES):
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def run_header(scenario: Scenario, seed: int, steps: int, signed: bool = True) -> dict[str, Any]:
    """The facts a run's trade log starts with (its line 0)."""
    return {
        "scenario": scenario.name,
        "model": scenario.model,
        "seed": seed,
        "steps": steps,
        "params": scenario.params,
        "signed": signed,
        "code_version": code_version(),
    }


def open_accounts(settler: SettlementBackend | LedgerSession, model: MarketModel) -> None:
    """Opens an escrow account for each of ``model``'s participants with its initial funds (a
    session also logs the deposits)."""
    settler.open_accounts({p.agent_id: p.initial_funds_micro for p in model.participants})


def _write_metrics(path: Path, model: MarketModel) -> None:
    frame = model.datacollector.get_model_vars_dataframe()
    columns = list(frame.columns)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", *columns])
        for step, row in enumerate(frame.itertuples(index=False)):
            writer.writerow([step, *("" if isinstance(v, float) and math.isnan(v) else v for v in row)])


def _write_agents(path: Path, model: Any) -> None:
    """``agents.csv``: the model's :meth:`~agents.model.MarketModel.agent_rows`, one per participant."""
    rows = model.agent_rows()
    if not rows:
        return
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def run(
    scenario: Scenario,
    *,
    out: Path,
    seed: int = 1,
    steps: int | None = None,
    chain: str = "eth-tester",
    overwrite: bool = False,
    sign: bool = True,
    on_step: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Runs ``scenario`` for ``steps`` rounds with ``seed``, settling on ``chain``.

    Args:
        scenario: The validated scenario.
        out: Output directory (created).
        seed: The model's seed; also derives every agent's key.
        steps: Rounds to run (default: the scenario's).
        chain: ``memory``, ``eth-tester`` or a JSON-RPC node URL.
        overwrite: Replace an earlier run in ``out``.
        sign: Sign every paying order (default); ``False`` only on the memory back end, for speed.
        on_step: Called after each round with (rounds done, rounds total), e.g. for a progress bar.

    Returns:
        The result, after ``trades.jsonl``, ``metrics.csv`` and ``summary.json`` are written.

    Raises:
        RunError, ChainUnavailable, SettlementRejected: as the message says.
    """
    if seed < 0:
        raise RunError(f"--seed {seed}: must not be negative")
    steps = scenario.steps if steps is None else steps
    if steps < 1:
        raise RunError(f"--steps {steps}: must be at least 1")
    if not sign and chain != "memory":
        raise RunError(f"--no-sign: only the memory back end settles unsigned orders, not --chain {chain}")
    out = prepare_out_dir(Path(out), overwrite)
    (out / "settlements.jsonl").unlink(missing_ok=True)
    (out / RUN_META).write_text(json.dumps({"chain": chain, "scenario_source": scenario.source}, indent=2) + "\n")
    return _execute(scenario, out, seed, steps, chain, sign, resume=False, on_step=on_step)


def resume(out: Path, *, on_step: Callable[[int, int], None] | None = None) -> RunResult:
    """Continues the run in ``out`` after a crash, to the same log and balances as an uninterrupted run.

    Raises:
        RunError: ``out`` holds no resumable run.
        LogTampered, LogDiverged: the log does not check out or the code no longer reproduces it.
    """
    from experiments.scenarios import validate
    from ledger.tradelog import read_log

    out = Path(out)
    log = out / "trades.jsonl"
    if not log.is_file() or not (out / RUN_META).is_file():
        raise RunError(f"--resume --out {out}: no run to resume there (trades.jsonl and {RUN_META} are needed)")
    header = next(read_log(log, limit=1))
    meta = json.loads((out / RUN_META).read_text())
    data = {"name": header["scenario"], "model": header["model"], "steps": header["steps"], "params": header["params"]}
    scenario = validate(data, f"{log} header", header["scenario"])
    for name in ("metrics.csv", "agents.csv", "summary.json", "settlements.jsonl"):
        (out / name).unlink(missing_ok=True)  # rewritten: a fresh back end settles every batch again
    return _execute(
        scenario, out, header["seed"], header["steps"], meta["chain"], header.get("signed", True), resume=True, on_step=on_step
    )


def _execute(
    scenario: Scenario,
    out: Path,
    seed: int,
    steps: int,
    chain: str,
    sign: bool,
    *,
    resume: bool,
    on_step: Callable[[int, int], None] | None,
) -> RunResult:
    started = time.perf_counter()
    backend = open_backend(chain, seed, verify_signatures=sign)
    try:
        with TradeLogWriter(out / "trades.jsonl", run_header(scenario, seed, steps, sign), resume=resume) as log:
            session = LedgerSession(backend, log, sign=sign, settlements=out / "settlements.jsonl")
            model = scenario.model_class(**scenario.params, seed=seed, settler=session)
            open_accounts(session, model)
            with frozen_heap():
                for step in range(steps):
                    model.step()
                    if on_step:
                        on_step(step + 1, steps)
            closing = session.close(steps)
            log_head, entries = log.head, log.entries
        _write_metrics(out / "metrics.csv", model)
        _write_agents(out / "agents.csv", model)
        balances = backend.balances()
        summary = {
            "scenario": scenario.name,
            "seed": seed,
            "steps": steps,
            "chain": chain,
            "backend": backend.name,
            "signed": sign,
            "log_entries": entries,
            "trades": session.trades,
            "volume_micro": session.volume_micro,
            "transactions": getattr(backend, "transactions", 0),
            "gas_used": session.gas_used,
            "total_supply_micro": backend.total_supply(),
            "balances_micro": {str(k): v for k, v in balances.items()},
            "log_head": log_head,
            "balances_digest": closing["balances_digest"],
            "elapsed_s": round(time.perf_counter() - started, 3),
        }
        summary.update(model.summary_metrics())
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        backend.close()
    return RunResult(out=out, summary=summary, backend=backend, model=model)
