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
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from eth_utils import is_checksum_address

from agents import MarketModel
from experiments.files import atomic_output, write_atomic
from experiments.scenarios import MAX_INT, MAX_STEPS, Scenario, ScenarioError, validate
from ledger.backends import SettlementBackend, attach_backend, open_backend
from ledger.errors import SettlementRejected
from ledger.keys import operator_private_key
from ledger.session import LedgerSession
from ledger.signing import OrderDomain
from ledger.tradelog import (
    LOG_KINDS,
    SIGNED_FORMAT,
    LogTampered,
    TradeLogWriter,
    read_log,
)
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
    "code_digest",
    "rerun",
    "Rerun",
    "frozen_heap",
    "finite",
]

RUN_FILES = ("trades.jsonl", "metrics.csv", "summary.json")
RUN_META = "run.json"
SETTLEMENTS = "settlements.jsonl"
#: The guarantee contracts' confidential terms and salts, beside the log (only hashes go on chain).
TERMS = "terms.jsonl"


class RunError(CceiError):
    """A run cannot start or finish (e.g. the output directory is unusable)."""

    exit_code = 2


_SOURCE_PACKAGES = ("market", "agents", "ledger", "experiments")


def code_digest() -> str:
    """SHA-256 over this code's Python sources and the contract artifacts (path and bytes of each,
    in path order): two runs with the same digest ran the same code, so a rerun that differs from a
    log under the same digest points at the log, not at a code change."""
    from ledger.compiler import BUILD_DIR, REPO_ROOT

    digest = hashlib.sha256()
    files = [p for package in _SOURCE_PACKAGES for p in (REPO_ROOT / package).rglob("*.py")]
    files += list(BUILD_DIR.glob("*.json"))
    for path in sorted(files):
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


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


def run_header(scenario: Scenario, seed: int, steps: int, signed: bool = True, domain: Any = None) -> dict[str, Any]:
    """The facts a run's trade log starts with (its line 0); ``domain``, the back end's EIP-712
    domain (:class:`ledger.signing.OrderDomain`), lets the orders' signatures be checked anywhere."""
    header = {
        "scenario": scenario.name,
        "model": scenario.model,
        "seed": seed,
        "steps": steps,
        "params": scenario.params,
        "signed": signed,
        "code_version": code_version(),
    }
    if domain is not None:
        header["domain"] = {"chain_id": domain.chain_id, "verifying_contract": domain.verifying_contract}
    return header


def open_accounts(settler: SettlementBackend | LedgerSession, model: MarketModel) -> None:
    """Opens an escrow account for each of ``model``'s participants with its initial funds (a
    session also logs the deposits, registers each participant in its role and opens the model's
    guarantee contracts and certificates, if it has them)."""
    deposits = {p.agent_id: p.initial_funds_micro for p in model.participants}
    if isinstance(settler, LedgerSession):
        settler.open_accounts(deposits, model.account_roles(), model.guarantee_setup())
    else:
        settler.open_accounts(deposits)


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (which JSON cannot hold) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _write_metrics(path: Path, model: MarketModel) -> None:
    frame = model.datacollector.get_model_vars_dataframe()
    columns = list(frame.columns)
    with atomic_output(path, path.name, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", *columns])
        for step, row in enumerate(frame.itertuples(index=False)):
            writer.writerow([step, *("" if isinstance(v, float) and math.isnan(v) else v for v in row)])


def _write_agents(path: Path, model: MarketModel) -> None:
    """``agents.csv``: the model's :meth:`~agents.model.MarketModel.agent_rows`, one per participant."""
    rows = model.agent_rows()
    if not rows:
        return
    with atomic_output(path, path.name, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


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
        RunError: as the message says (a round the back end refused names the round and, where
            money ran out, whose).
        ChainUnavailable: the chain cannot be reached.
    """
    if not 0 <= seed <= MAX_INT:
        raise RunError(f"--seed {seed}: must lie in 0..2**63 - 1")
    steps = scenario.steps if steps is None else steps
    if not 1 <= steps <= MAX_STEPS:
        raise RunError(f"--steps {steps}: must lie in 1..{MAX_STEPS:,}")
    if not sign and chain != "memory":
        raise RunError(f"--no-sign: only the memory back end settles unsigned orders, not --chain {chain}")
    _refuse_input_as_output(scenario, Path(out))
    out = prepare_out_dir(Path(out), overwrite)
    meta = {"chain": chain, "scenario_source": scenario.source, "code_digest": code_digest()}
    write_atomic(out / RUN_META, json.dumps(meta, indent=2) + "\n")
    return _execute(scenario, out, seed, steps, chain, sign, resume=False, on_step=on_step)


def _refuse_input_as_output(scenario: Scenario, out: Path) -> None:
    """A scenario file is never one of the files a run writes.

    Raises:
        RunError: the scenario file is (or would be replaced by) one of ``out``'s run files.
    """
    source = Path(scenario.source)
    if not source.is_file():
        return
    for name in (*RUN_FILES, RUN_META, SETTLEMENTS):
        target = out / name
        if target.exists() and target.samefile(source) or target.resolve() == source.resolve():
            raise RunError(f"--out {out}: would overwrite the scenario file {source} (an input is never an output)")


def resume(out: Path, *, on_step: Callable[[int, int], None] | None = None) -> RunResult:
    """Continues the run in ``out`` after a crash, to the same log and balances as an uninterrupted run.

    Raises:
        RunError: ``out`` holds no resumable run.
        LogTampered, LogDiverged: the log does not check out or the code no longer reproduces it.
    """

    out = Path(out)
    log = out / "trades.jsonl"
    if not log.is_file() or not (out / RUN_META).is_file():
        raise RunError(f"--resume --out {out}: no run to resume there (trades.jsonl and {RUN_META} are needed)")
    try:
        meta = json.loads((out / RUN_META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"--resume --out {out}: {RUN_META} cannot be read ({getattr(exc, 'strerror', None) or exc}); nothing was changed") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("chain"), str) or not meta["chain"]:
        raise RunError(f"--resume --out {out}: {RUN_META} does not name the run's chain; nothing was changed")
    header = _check_resumable(log)
    scenario, seed, steps, sign = _header_run(log, header, f"--resume --out {out}", "; nothing was changed")
    domain = header.get("domain")
    if header.get("format") == SIGNED_FORMAT and not (
        isinstance(domain, dict) and type(domain.get("chain_id")) is int and is_checksum_address(domain.get("verifying_contract"))
    ):
        raise LogTampered(log, 1, "domain", f"{domain!r} is not an EIP-712 domain (chain_id, verifying_contract)")
    landed = OrderDomain(domain["chain_id"], domain["verifying_contract"]) if isinstance(domain, dict) else None
    return _execute(scenario, out, seed, steps, meta["chain"], sign, resume=True, on_step=on_step, landed=landed)


def _header_run(log: Path, header: dict[str, Any], where: str, suffix: str = "") -> tuple[Scenario, int, int, bool]:
    """The scenario, seed, steps and signing a log's header records, as ``--resume`` and
    ``--rerun`` repeat them.

    Raises:
        RunError: naming ``where`` (and ending with ``suffix``): the header holds no scenario this
            code runs, or no valid seed, steps and signed fields.
    """

    data = {"name": header.get("scenario"), "model": header.get("model"), "steps": header.get("steps"), "params": header.get("params")}
    try:
        scenario = validate(data, f"{log} header", str(header.get("scenario")))
    except ScenarioError as exc:
        raise RunError(f"{where}: the log's header is no scenario this code runs ({exc}){suffix}") from None
    seed, steps, sign = header.get("seed"), header.get("steps"), header.get("signed", True)
    if type(seed) is not int or type(steps) is not int or type(sign) is not bool:
        raise RunError(f"{where}: the log's header has no valid seed, steps and signed fields{suffix}")
    return scenario, seed, steps, sign


def _check_resumable(log: Path) -> dict[str, Any]:
    """The header of the log ``log``, after checking every complete line (chain, kinds, nothing
    after the close) without changing the file.

    Raises:
        LogTampered, LogUnreadable: the log does not check out.
    """
    data_lines = log.read_bytes().count(b"\n")
    header: dict[str, Any] = {}
    closed = False
    for number, entry in enumerate(read_log(log, limit=data_lines), start=1):
        if number == 1:
            header = entry
            continue
        kind = entry.get("kind")
        if closed:
            raise LogTampered(log, number, "kind", f"a {kind!r} line after the close line (nothing may follow the close)")
        if kind not in LOG_KINDS:
            raise LogTampered(log, number, "kind", f"{kind!r} is no kind of log line")
        closed = kind == "close"
    if not header:
        raise RunError(f"--resume: {log} holds no complete line; nothing to resume")
    return header


#: Rejections that mean an agent's money ran out (the settlement escrow, or its token wallet).
_OUT_OF_FUNDS = frozenset({"InsufficientEscrow", "ERC20InsufficientBalance"})


def _rejected(exc: SettlementRejected, step: int, model: MarketModel, backend: SettlementBackend) -> str:
    """One line for a round the back end refused: the round, the refusal, and for money that ran
    out, whose it was and what to change."""
    message = f"round {step}: {exc}"
    if exc.reason not in _OUT_OF_FUNDS or not exc.args_:
        return message
    account = str(exc.args_[0]).lower()
    for agent in model.participants:
        if backend.address(agent.agent_id).lower() == account:
            role, region = model.agent_role(agent)
            message += f": agent {agent.unique_id} ({role}{' in ' + region if region else ''}) ran out of money"
            break
    funds = getattr(model, "initial_funds_micro", None)
    if funds is not None:
        message += f"; the agents do not budget against their funds, so raise initial_funds_micro (now {funds:,})"
    return message


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
    landed: OrderDomain | None = None,
) -> RunResult:
    started = time.perf_counter()
    # a run cut short while its node stayed up finishes on its own contracts (what landed is found there)
    backend = attach_backend(chain, seed, landed, verify_signatures=sign) if landed is not None else open_backend(chain, seed, verify_signatures=sign)
    if landed is not None and backend.domain != landed:
        backend.close()
        raise RunError(
            f"--resume on {chain}: the run's contract {landed.verifying_contract} (chain id {landed.chain_id}) is not there and cannot be "
            f"deployed there again (it would land at {backend.domain.verifying_contract}, chain id {backend.domain.chain_id}); "
            "resume on the node the run used, or on a fresh node of its chain id; nothing was changed"
        )
    # A resumed run settles every batch again on a fresh back end, so it rewrites the settlements
    # record: into a partial file, renamed over the old record only once the run has finished.
    settlements = out / (f".{SETTLEMENTS}.partial" if resume else SETTLEMENTS)
    terms = out / (f".{TERMS}.partial" if resume else TERMS)
    try:
        header = run_header(scenario, seed, steps, sign, backend.domain)
        with TradeLogWriter(out / "trades.jsonl", header, resume=resume, operator=operator_private_key()) as log:
            settlements.unlink(missing_ok=True)  # only now: the back end is up and the log's header checked out
            terms.unlink(missing_ok=True)
            session = LedgerSession(backend, log, sign=sign, settlements=settlements, terms=terms)
            model = scenario.model_class(**scenario.params, seed=seed, settler=session)
            open_accounts(session, model)
            with frozen_heap():
                for step in range(steps):
                    try:
                        model.step()
                    except SettlementRejected as exc:
                        raise RunError(_rejected(exc, step + 1, model, backend)) from exc
                    if on_step:
                        on_step(step + 1, steps)
            closing = session.close(steps)
            log_head, entries = log.head, log.entries
        if resume:
            settlements.replace(out / SETTLEMENTS)
            if terms.exists():
                terms.replace(out / TERMS)
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
        if session.guarantees is not None:
            summary.update(session.guarantees.totals.as_dict())
        summary.update(model.summary_metrics())
        write_atomic(out / "summary.json", json.dumps(finite(summary), indent=2, allow_nan=False) + "\n")
    except OSError as exc:
        raise RunError(
            f"--out {out}: cannot write ({exc.strerror or exc}); what was written is kept: "
            f"make room, then continue with `ccei run --resume --out {out}`"
        ) from None
    finally:
        backend.close()
    return RunResult(out=out, summary=summary, backend=backend, model=model)


@dataclass(frozen=True)
class Rerun:
    """What re-executing a log's run found: ``matches`` when the rerun's log is the log, byte for byte."""

    matches: bool
    lines: int
    first_difference: int | None
    same_code: bool | None


def rerun(log: Path) -> Rerun:
    """Re-executes the run of ``log`` from its header (scenario, seed, steps, signing; the local lab
    secret) on the memory back end and compares the log it writes with ``log``, byte for byte.

    ``run.json`` beside the log, if there, tells whether this code is the run's (its
    ``code_digest``), so a difference under other code is reported as such, not as a forgery.

    Raises:
        RunError: the header does not describe a run this code can repeat on memory.
        LogTampered, LogUnreadable: as :func:`_check_resumable`.
    """
    import tempfile

    from ledger.backends import MemoryBackend

    log = Path(log)
    header = _check_resumable(log)
    scenario, seed, steps, sign = _header_run(log, header, f"--rerun {log}")
    domain = header.get("domain")
    memory = MemoryBackend(seed).domain
    if domain is not None and domain != {"chain_id": memory.chain_id, "verifying_contract": memory.verifying_contract}:
        raise RunError(
            f"--rerun {log}: the log was signed for chain id {domain.get('chain_id')} at {domain.get('verifying_contract')}; "
            "a rerun on the memory back end signs for its own domain, so only logs of memory or eth-tester runs can be rerun"
        )
    same_code: bool | None = None
    meta_path = log.parent / RUN_META
    if meta_path.is_file():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            recorded = json.loads(meta_path.read_text(encoding="utf-8")).get("code_digest")
            same_code = None if recorded is None else recorded == code_digest()
    with tempfile.TemporaryDirectory(prefix="ccei-rerun-") as tmp:
        out = Path(tmp)
        _execute(scenario, out, seed, steps, "memory", sign, resume=False, on_step=None)
        mine, theirs = (out / "trades.jsonl").read_bytes().splitlines(), log.read_bytes().splitlines()
    first = next((n for n, (a, b) in enumerate(zip(mine, theirs, strict=False), start=1) if a != b), None)
    if first is None and len(mine) != len(theirs):
        first = min(len(mine), len(theirs)) + 1
    return Rerun(matches=first is None, lines=len(theirs), first_difference=first, same_code=same_code)
