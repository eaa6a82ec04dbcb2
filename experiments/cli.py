"""The ``ccei`` command line: parse, call, print. Every deliberate error becomes one line and an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from market.errors import CceiError

__all__ = ["main", "build_parser"]


#: Exit code of ``ccei replay`` for a log that checks out but whose operator was not authenticated.
UNAUTHENTICATED = 5


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from experiments.run import RunError, default_out_dir, resume, run
    from experiments.run_summary import summary_table
    from experiments.scenarios import load_scenario

    if args.resume:
        if not args.out:
            raise RunError("--resume needs --out DIR, the directory of the run to continue")
        scenario_name, total = f"resuming {args.out}", None
    else:
        scenario = load_scenario(args.scenario, args.set)
        scenario_name, total = scenario.name, args.steps or scenario.steps
    out = Path(args.out) if args.out else default_out_dir(scenario.name, args.seed)
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=args.quiet or not console.is_terminal,
    ) as progress:
        task = progress.add_task(scenario_name if args.resume else f"{scenario_name} on {args.chain}", total=total)

        def on_step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if args.resume:
            result = resume(out, on_step=on_step)
        else:
            result = run(
                scenario,
                out=out,
                seed=args.seed,
                steps=args.steps,
                chain=args.chain,
                overwrite=args.overwrite,
                sign=not args.no_sign,
                on_step=on_step,
            )
    Console().print(summary_table(result.summary))
    print(f"wrote {result.out}/trades.jsonl, metrics.csv, summary.json")
    return 0


def _cmd_compile(args: argparse.Namespace) -> int:
    from ledger.compiler import BUILD_DIR, check_artifacts, compile_contracts, find_solc, write_artifacts

    if args.check:
        check_artifacts()
        print(f"contract artifacts in {BUILD_DIR} are up to date")
        return 0
    solc = find_solc()
    artifacts = compile_contracts(solc=solc)
    written = write_artifacts(artifacts)
    print(f"compiled {len(written)} contracts with solc {solc.version} ({solc.origin}) into {BUILD_DIR}")
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from experiments.scenarios import builtin_scenarios, load_scenario

    rows: list[dict[str, Any]] = []
    for name in builtin_scenarios():
        s = load_scenario(name)
        rows.append({"name": name, "model": s.model, "steps": s.steps, "description": s.description})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from experiments import bench

    result = bench.load(args.benchmark).run(args)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from experiments.sweep import load_sweep, run_sweep

    sweep = load_sweep(args.sweep, steps=args.steps, seeds=args.seeds, chain=args.chain)
    out = Path(args.out) if args.out else Path("runs") / sweep.name
    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True, disable=args.quiet or not console.is_terminal) as progress:
            task = progress.add_task(f"{sweep.name}: {len(sweep.treatments)} treatments × {len(sweep.seeds)} seeds", total=None)
            result = run_sweep(
                sweep,
                out,
                workers=args.workers,
                scheduler=args.scheduler,
                csv=args.csv,
                on_progress=lambda done, total, _: progress.update(task, completed=done, total=total),
            )
    except KeyboardInterrupt:
        print(f"ccei: interrupted; finished runs are kept in {out}: run the same command again to resume", file=sys.stderr)
        return 130
    for record in result.failed[:10]:
        print(f"failed: {record.run_id} (seed {record.seed}): {record.error_type}: {record.error}", file=sys.stderr)
    if len(result.failed) > 10:
        print(f"failed: ... and {len(result.failed) - 10} more (status column of runs.parquet)", file=sys.stderr)
    print(
        f"{len(result.records)} runs: {result.ok} ok, {len(result.failed)} failed, {result.skipped} already done; "
        f"wrote {', '.join(str(p) for p in result.tables)}"
    )
    return 0 if result.ok else 1


def _cmd_report(args: argparse.Namespace) -> int:
    from experiments.reporting import build_report

    report = build_report(Path(args.dir), out=Path(args.out) if args.out else None, metrics=args.metric or None)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {report.html}, {report.markdown} and {len(report.figures)} figures")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from eth_utils import is_checksum_address

    from ledger.replay import ReplayRefused, replay

    if args.mechanism:
        from experiments.counterfactual import reclear, render

        if args.until is not None or args.chain is not None or args.against is not None:
            raise ReplayRefused("--mechanism re-clears every round of the log off chain; it takes neither --until, --chain nor --against")

        outcome = reclear(Path(args.log), args.mechanism)
        print(json.dumps(outcome.as_dict(), indent=2, sort_keys=True) if args.json else render(outcome))
        return 0
    if args.rerun:
        if args.mechanism or args.until is not None or args.chain is not None or args.against is not None:
            raise ReplayRefused("--rerun re-executes the whole run on memory; it takes no --mechanism, --until or --chain")
        from experiments.run import rerun

        again = rerun(Path(args.log))
        if again.matches:
            print(f"{args.log}: the rerun wrote the same {again.lines} lines, byte for byte")
            return 0
        why = {
            True: "this is the run's code (same source and contract digest): the log is not what its header's run writes",
            False: "the code differs from the run's (source or contract digest): another code version, not necessarily a forgery",
            None: "no run.json with a code digest beside the log: cannot tell a forgery from another code version",
        }[again.same_code]
        print(f"ccei: error: {args.log}:{again.first_difference}: differs from the rerun; {why}", file=sys.stderr)
        return 4
    from ledger.keys import local_operator

    operator = args.operator
    if operator is not None and not is_checksum_address(operator):
        raise ReplayRefused(f"--operator {operator}: not a checksummed Ethereum address (0x and 40 hex digits, mixed case)")
    operator = operator or local_operator()
    result = replay(Path(args.log), args.chain or "memory", until=args.until, operator=operator, against=args.against)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    else:
        if not result.verified:
            state = "stopped at --until" if args.until is not None else "NOT verified"
        elif result.authenticated:
            state = f"verified, signed by the operator {result.operator}"
        else:
            state = "consistent but unauthenticated (" + (
                f"signed by {result.operator}; pass --operator ADDRESS to authenticate it)"
                if result.operator
                else "a log without operator signatures)"
            )
        print(f"{args.log}: {result.entries} entries, {result.batches} batches, {result.trades} trades replayed on {result.backend}: {state}")
        print(f"log head {result.log_head}\nbalances digest {result.balances_digest}")
    if result.verified and not result.authenticated:
        return UNAUTHENTICATED
    return 0 if result.verified or args.until is not None else 4  # a log ending early raised LogTruncated


def _cmd_log_show(args: argparse.Namespace) -> int:
    from rich.console import Console

    from experiments.logview import show_table

    table, matched = show_table(Path(args.log), limit=args.limit, agent=args.agent, step=args.step, kind=args.kind, unverified=args.unverified)
    Console().print(table)
    shown = matched if args.limit is None else min(matched, args.limit)
    print(f"{matched} events matched, {shown} shown")
    return 0


def _cmd_log_export(args: argparse.Namespace) -> int:
    from experiments.logview import export_csv

    rows = export_csv(
        Path(args.log), Path(args.csv), overwrite=args.overwrite, agent=args.agent, step=args.step, kind=args.kind, unverified=args.unverified
    )
    print(f"wrote {rows} events to {args.csv}")
    return 0


def _cmd_gas_snapshot(args: argparse.Namespace) -> int:
    from ledger.gas import take_snapshot

    measured = take_snapshot(args.paths, snapshot=Path(args.file), check=args.check, tolerance=args.tolerance)
    verb = "match" if args.check else "written to"
    print(f"{len(measured)} functions' gas {verb} {args.file}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from experiments.demo.server import DemoConfig, launch

    config = DemoConfig(scenario=args.scenario, overrides=tuple(args.set), chain=args.chain, seed=args.seed, out=args.out)
    launch(config, host=args.host, port=args.port)
    return 0  # not reached: the server replaced this process


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="ccei", description="CCEI Market Lab: computing-network-energy markets settled on a chain.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("run", help="run a market scenario and settle every round")
    p.add_argument("--scenario", default="east-west", help="built-in scenario name or a .toml file (default east-west)")
    p.add_argument("--steps", type=int, default=None, help="market rounds (default: the scenario's)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--chain", default="eth-tester", help="memory | eth-tester (default, in-process) | revm (in-process, fast) | http(s):// node URL"
    )
    p.add_argument("--out", default=None, help="output directory (default: runs/<scenario>-seed<S>)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a scenario value")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    p.add_argument("--no-sign", action="store_true", help="settle unsigned orders (memory back end only, for large sweeps)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("compile", help="compile contracts/*.sol into contracts/build")
    p.add_argument("--check", action="store_true", help="only check that the artifacts match the sources")
    p.set_defaults(func=_cmd_compile)

    from experiments import bench

    p = sub.add_parser("bench", help="run a benchmark (prints JSON with --json)")
    benches = p.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK", parser_class=_Parser)
    chosen = argv[1] if argv and len(argv) > 1 and argv[0] == "bench" else None
    for name in bench.available():
        b = benches.add_parser(name, help=bench.describe(name))
        b.add_argument("--json", action="store_true", help="print the result as JSON")
        if name == chosen:  # only the benchmark being run is imported
            bench.load(name).add_arguments(b)
        b.set_defaults(func=_cmd_bench)

    p = sub.add_parser("sweep", help="run a parameter sweep (treatments × seeds); resumes an interrupted one")
    p.add_argument("sweep", help="shipped sweep name or a sweep .toml file")
    p.add_argument("--out", default=None, help="sweep directory (default: runs/<sweep name>)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPUs; 0: in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://HOST:8786")
    p.add_argument("--steps", type=int, default=None, help="override the rounds per run")
    p.add_argument("--seeds", type=int, default=None, metavar="N", help="override the seeds with 1..N")
    p.add_argument("--chain", default=None, help="override the back end of every run: memory | eth-tester | revm | node URL")
    p.add_argument("--csv", action="store_true", help="also write runs.csv and steps.csv")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("report", help="write an HTML and Markdown report (statistics, tests, figures) of a sweep")
    p.add_argument("dir", help="a sweep directory written by ccei sweep")
    p.add_argument("--out", default=None, help="report directory (default: DIR/report)")
    p.add_argument("--metric", action="append", default=[], help="run-level metric to cover (repeatable; default: all that vary)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("replay", help="re-execute and verify a trade log, or re-clear it under another mechanism")
    p.add_argument("log", metavar="LOG", help="a trades.jsonl")
    p.add_argument("--chain", default=None, help="memory (default) | eth-tester | revm | http(s):// node URL")
    p.add_argument("--until", type=int, default=None, metavar="SEQ", help="stop after the line with this seq")
    p.add_argument(
        "--against", default=None, metavar="URL", help="also check every batch's root against the Settlement contract's batchRoot on the node at URL"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--mechanism", default=None, help="re-clear the recorded orders: uniform | pay-as-bid | mcafee")
    p.add_argument("--rerun", action="store_true", help="re-execute the run from the log's header and compare the log byte for byte")
    p.add_argument(
        "--operator",
        default=None,
        metavar="ADDRESS",
        help="authenticate the log against this operator (default: this lab's, from its secret); "
        f"a log that is only consistent exits {UNAUTHENTICATED}",
    )
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("log", help="look into a trade log: show or export its events")
    logs = p.add_subparsers(dest="log_command", required=True, metavar="ACTION", parser_class=_Parser)
    for name, helptext, func in (
        ("show", "print the matching events as a table", _cmd_log_show),
        ("export", "write the matching events to a CSV file", _cmd_log_export),
    ):
        q = logs.add_parser(name, help=helptext)
        q.add_argument("log", metavar="LOG", help="a trades.jsonl")
        q.add_argument("--agent", type=int, default=None, help="only events where this agent id is a party")
        q.add_argument("--step", type=int, default=None, help="only events of this step")
        q.add_argument("--kind", default=None, help="only events of this kind (trade, batch, order, ...)")
        q.add_argument("--unverified", action="store_true", help="read a log that does not check out (truncated, tampered) without checking")
        if name == "show":
            q.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
        else:
            q.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write")
            q.add_argument("--overwrite", action="store_true", help="replace FILE if it exists (never the log itself)")
        q.set_defaults(func=func)

    p = sub.add_parser("demo", help="serve the teaching demo in the browser (map, charts, ticker, classroom mode)")
    p.add_argument("--scenario", default="east-west", help="built-in scenario name or a .toml file (default east-west)")
    p.add_argument("--port", type=int, default=8521, help="port on the host (default 8521)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 lets a class join)")
    p.add_argument("--chain", default="memory", help="memory (default) | eth-tester (shows gas and transactions) | http(s):// node URL")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a scenario value")
    p.add_argument("--out", default="runs/demo", help="directory for the trade logs (default runs/demo)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("gas", help="gas tooling for contract tests")
    gas = p.add_subparsers(dest="gas_command", required=True, metavar="ACTION", parser_class=_Parser)
    q = gas.add_parser("snapshot", help="run the tests and write (or --check) each function's median gas")
    q.add_argument("paths", nargs="*", metavar="PATH", help="test files or folders (default: pytest's)")
    q.add_argument("--check", action="store_true", help="compare with the snapshot instead of writing it")
    q.add_argument("--file", default=".gas-snapshot.json", help="the snapshot file (default .gas-snapshot.json)")
    q.add_argument("--tolerance", type=float, default=0.05, help="relative change --check allows (default 0.05)")
    q.set_defaults(func=_cmd_gas_snapshot)

    p = sub.add_parser("scenarios", help="list the built-in scenarios")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_scenarios)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit code (0 on success)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CceiError as exc:
        print(f"ccei: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ccei: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file the command needed: one line, never a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"ccei: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
