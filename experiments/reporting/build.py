"""Assembles a sweep report: reads the tables, computes the statistics, draws, renders HTML and Markdown.

The report is built as a list of blocks (headings, paragraphs, tables, figures) rendered twice,
once to Markdown and once to HTML, so the two never disagree.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.reporting.carbon import carbon_savings
from experiments.reporting.plots import FIGURES, PlotData, PlotSkipped
from experiments.reporting.stats import Comparison, StatTest, simple_effects, treatment_table
from experiments.results import flatten_params, load_runs, load_steps
from experiments.sweep import read_plan
from market.errors import CceiError

__all__ = ["Report", "ReportError", "build_report", "default_metrics"]

_KEYS = {"run_id", "treatment_id", "treatment", "seed", "status", "error", "error_type", "elapsed_s"}
_BOOKKEEPING = {"steps", "log_entries", "total_supply_micro"}
_METRICS_PER_TABLE = 4


class ReportError(CceiError):
    """A report cannot be built from this directory or with these options."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Report:
    """What :func:`build_report` wrote.

    Attributes:
        out: The report directory.
        html: ``report.html``.
        markdown: ``report.md``.
        figures: The PNG files drawn.
        notes: Figures skipped and metrics left out, one line each.
    """

    out: Path
    html: Path
    markdown: Path
    figures: tuple[Path, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


# A block is (kind, payload): ("h1" | "h2" | "h3" | "p", text), ("table", _Table), ("img", (file, alt)).
_Block = tuple[str, Any]


def _param_columns(plan: dict[str, Any]) -> set[str]:
    return {c for t in plan["treatments"] for c in flatten_params(t["params"])}


def default_metrics(runs: pd.DataFrame, plan: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The run-level metrics a report covers, and those left out because the treatments do not move them.

    Every numeric result column counts except bookkeeping (``steps``, ``log_entries``,
    ``total_supply_micro``), a ``<metric>_sum`` whose ``<metric>_mean`` is there too, and a
    ``<metric>_mean`` when the run's summary has ``<metric>`` itself. Left out: metrics equal in
    every run, and, with several treatments, metrics equal across treatments at each seed (e.g. a
    market's equilibrium drawn from the seed: common random numbers make it the same everywhere).

    Returns:
        ``(metrics, left_out)``.
    """
    keys = _KEYS | _param_columns(plan) | _BOOKKEEPING
    candidates = [
        c
        for c in runs.columns
        if c not in keys
        and pd.api.types.is_numeric_dtype(runs[c])
        and not pd.api.types.is_bool_dtype(runs[c])
        and not (c.endswith("_sum") and f"{c[:-4]}_mean" in runs.columns)
        and not (c.endswith("_mean") and c[:-5] in runs.columns)
    ]
    several = runs["treatment"].nunique() > 1
    metrics: list[str] = []
    left_out: list[str] = []
    for column in candidates:
        values = runs[column].astype("float64")
        fixed = values.nunique() <= 1 or (several and values.groupby(runs["seed"]).nunique().max() <= 1)
        (left_out if fixed else metrics).append(column)
    return metrics, left_out


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _p(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _means_tables(
    stats: pd.DataFrame, order: Sequence[str], metrics: Sequence[str], planned: dict[str, int]
) -> list[_Table]:
    cell = {(r.treatment, r.metric): r for r in stats.itertuples(index=False)}
    tables = []
    for start in range(0, len(metrics), _METRICS_PER_TABLE):
        chunk = metrics[start : start + _METRICS_PER_TABLE]
        rows = []
        for label in order:
            n = max(cell[(label, m)].n for m in chunk)
            values = []
            for m in chunk:
                r = cell[(label, m)]
                values.append(f"{_fmt(r.mean)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]" if r.n > 1 else _fmt(r.mean))
            rows.append((label, f"{n}/{planned[label]}", *values))
        tables.append(_Table(("treatment", "seeds", *chunk), tuple(rows)))
    return tables


def _tests_blocks(comparisons: Sequence[Comparison], factors: Sequence[str]) -> list[_Block]:
    blocks: list[_Block] = []
    for factor in factors:
        mine = [c for c in comparisons if c.factor == factor]
        if not mine:
            continue
        blocks.append(("h3", f"By {factor}"))
        rows = []
        for c in mine:
            if c.test is StatTest.WELCH:
                what = f"{c.levels[1]} − {c.levels[0]} = {_fmt(c.difference)} [{_fmt(c.diff_low)}, {_fmt(c.diff_high)}]"
            else:
                what = f"{len(c.levels)} levels: {', '.join(c.levels)}"
            paired = f"{_p(c.paired_p)} ({c.paired_test})" if c.paired_test else "–"
            rows.append((c.metric, c.context or "–", str(c.test), _fmt(c.statistic), _p(c.p_value), what, paired, c.note))
        headers = (
            "metric",
            "held fixed",
            "test",
            "statistic",
            "p",
            "difference [95 % CI] / levels",
            "seed-paired p",
            "note",
        )
        blocks.append(("table", _Table(headers, tuple(rows))))
        pairs = [(c, pw) for c in mine for pw in c.pairwise]
        if pairs:
            blocks.append(
                ("p", f"Pairwise Welch t-tests between the levels of {factor}, Holm-adjusted within each comparison:")
            )
            blocks.append(
                (
                    "table",
                    _Table(
                        ("metric", "held fixed", "difference", "p", "p (Holm)"),
                        tuple(
                            (
                                c.metric,
                                c.context or "–",
                                f"{pw.b} − {pw.a} = {_fmt(pw.difference)}",
                                _p(pw.p_value),
                                _p(pw.p_holm),
                            )
                            for c, pw in pairs
                        ),
                    ),
                )
            )
    return blocks


def _carbon_blocks(ok: pd.DataFrame) -> list[_Block]:
    """The spatial and temporal carbon savings of a carbon-aware sweep (:mod:`experiments.reporting.carbon`); none otherwise."""
    found = carbon_savings(ok)
    if found is None:
        return []
    windows = sorted(found.same_tasks)
    rows = [("spatial (carbon-aware vs carbon-blind, W = 0)", "0", found.spatial.percent(), "")]
    rows += [
        (f"temporal, W = {w} h", str(w), found.same_tasks[w].percent(), found.between_runs[w].percent()) for w in windows
    ]
    return [
        ("h2", "Carbon savings"),
        (
            "p",
            f"Over {found.seeds} seeds, means with 95 % confidence intervals. Spatial: 1 − kg CO2 of the carbon-aware run at "
            "W = 0 over the carbon-blind run's. Temporal, same tasks: 1 − the deferrable work's emissions over the same work's had "
            "it run in the hour it arrived (as Wiesner et al. 2021 measure it). Temporal, between runs: carbon-aware deferrable "
            "emissions at W = 0 less those at W, over the carbon-blind run's at W = 0; it also counts the work a longer window "
            "lets through in congested hours.",
        ),
        ("table", _Table(("saving", "window (h)", "same tasks", "between runs"), tuple(rows))),
        (
            "p",
            f"Page's trend test that the temporal saving grows with the window (one-sided, seeds as blocks, W = "
            f"{', '.join(map(str, windows))}): same tasks L = {_fmt(found.page_l)}, p = {_p(found.page_p)}; between runs "
            f"L = {_fmt(found.page_l_between)}, p = {_p(found.page_p_between)}.",
        ),
    ]


def _tests_frame(comparisons: Sequence[Comparison]) -> pd.DataFrame:
    rows = []
    for c in comparisons:
        base = {
            "metric": c.metric,
            "factor": c.factor,
            "context": c.context,
            "test": str(c.test),
            "statistic": c.statistic,
            "p_value": c.p_value,
            "paired_test": str(c.paired_test or ""),
            "paired_p": c.paired_p,
        }
        if c.test is StatTest.WELCH:
            rows.append(
                {
                    **base,
                    "a": c.levels[0],
                    "b": c.levels[1],
                    "difference": c.difference,
                    "diff_low": c.diff_low,
                    "diff_high": c.diff_high,
                    "p_holm": math.nan,
                }
            )
        else:
            rows.append(
                {
                    **base,
                    "a": "",
                    "b": "",
                    "difference": math.nan,
                    "diff_low": math.nan,
                    "diff_high": math.nan,
                    "p_holm": math.nan,
                }
            )
            for pw in c.pairwise:
                pair = {
                    "a": pw.a,
                    "b": pw.b,
                    "difference": pw.difference,
                    "diff_low": math.nan,
                    "diff_high": math.nan,
                    "p_value": pw.p_value,
                    "p_holm": pw.p_holm,
                }
                rows.append(
                    {
                        **base,
                        "test": str(StatTest.WELCH),
                        "statistic": math.nan,
                        "paired_test": "",
                        "paired_p": math.nan,
                        **pair,
                    }
                )
    columns = [
        "metric",
        "factor",
        "context",
        "test",
        "a",
        "b",
        "statistic",
        "p_value",
        "p_holm",
        "difference",
        "diff_low",
        "diff_high",
        "paired_test",
        "paired_p",
    ]
    return pd.DataFrame(rows, columns=columns)


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|")


def _markdown(blocks: Sequence[_Block]) -> str:
    lines: list[str] = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + payload, ""]
        elif kind == "p":
            lines += [payload, ""]
        elif kind == "img":
            file, alt = payload
            lines += [f"![{alt}]({file})", ""]
        else:
            lines.append("| " + " | ".join(_md_cell(h) for h in payload.headers) + " |")
            lines.append("|" + "---|" * len(payload.headers))
            lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in payload.rows]
            lines.append("")
    return "\n".join(lines)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;margin:0.5rem 0 1.5rem;font-size:0.9rem}"
    "th,td{border:1px solid #ccc;padding:0.25rem 0.5rem;text-align:left}th{background:#f3f3f3}"
    "img{max-width:100%;border:1px solid #eee}"
)


def _html(blocks: Sequence[_Block], title: str) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
    ]
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3", "p"):
            parts.append(f"<{kind}>{html.escape(payload)}</{kind}>")
        elif kind == "img":
            file, alt = payload
            parts.append(f"<p><img src='{html.escape(file)}' alt='{html.escape(alt)}'></p>")
        else:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in payload.headers)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in payload.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def build_report(sweep_dir: Path, out: Path | None = None, metrics: Sequence[str] | None = None) -> Report:
    """Writes the HTML and Markdown report, figures and statistics of the sweep in ``sweep_dir``.

    Args:
        sweep_dir: A directory written by ``ccei sweep``.
        out: Where to write (default ``sweep_dir/report``).
        metrics: Run-level columns to cover (default: :func:`default_metrics`).

    Returns:
        What was written.

    Raises:
        SweepError, ResultsError: ``sweep_dir`` holds no finished sweep.
        ReportError: no run succeeded, or an unknown metric was asked for.
    """
    sweep_dir = Path(sweep_dir)
    plan = read_plan(sweep_dir)
    runs, steps = load_runs(sweep_dir), load_steps(sweep_dir)
    ok = runs[runs["status"] == "ok"].reset_index(drop=True)
    if ok.empty:
        raise ReportError(f"{sweep_dir}: no run succeeded; see the error column of {sweep_dir}/runs.parquet")
    notes: list[str] = []
    if "gas_used" in ok.columns and "trades" in ok.columns and (ok["gas_used"].astype("float64") > 0).any():
        trades = ok["trades"].astype("float64")
        ok["gas_per_trade"] = ok["gas_used"].astype("float64") / trades.where(trades > 0)
    if metrics:
        for m in metrics:
            if m not in ok.columns or not pd.api.types.is_numeric_dtype(ok[m]):
                available = ", ".join(default_metrics(ok, plan)[0])
                raise ReportError(f"--metric {m}: not a numeric column of runs.parquet (e.g. {available})")
        chosen = list(metrics)
    else:
        chosen, left_out = default_metrics(ok, plan)
        if left_out:
            notes.append(f"left out, the same in every run or in every treatment at each seed: {', '.join(left_out)}")
    order = tuple(t["label"] for t in plan["treatments"] if (ok["treatment"] == t["label"]).any())
    planned = runs.groupby("treatment").size().to_dict()
    factors = [f for f in plan["grid"] if f in ok.columns]
    if not factors and len(order) > 1:
        factors = ["treatment"]
    out = Path(out) if out is not None else sweep_dir / "report"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None

    stats = treatment_table(ok, chosen)
    comparisons = [c for m in chosen for c in simple_effects(ok, m, factors)]
    stats.to_csv(out / "treatment_stats.csv", index=False)
    _tests_frame(comparisons).to_csv(out / "tests.csv", index=False)

    data = PlotData(ok, steps[steps["run_id"].isin(ok["run_id"])], order, plan)
    figures: list[Path] = []
    figure_blocks: list[_Block] = []
    for stem, title, draw in FIGURES:
        figure_blocks.append(("h3", title))
        try:
            fig = draw(data)
        except PlotSkipped as skipped:
            notes.append(f"{title}: not drawn: {skipped}")
            figure_blocks.append(("p", f"Not drawn: {skipped}."))
            continue
        path = out / f"{stem}.png"
        fig.savefig(path, dpi=110)
        figures.append(path)
        figure_blocks.append(("img", (path.name, title)))

    failed = runs[runs["status"] != "ok"]
    blocks: list[_Block] = [
        ("h1", f"Sweep {plan['name']}"),
        *([("p", plan["description"])] if plan.get("description") else []),
        (
            "p",
            f"Scenario {plan['scenario']} (model {plan['model']}), {plan['steps']} rounds per run on the {plan['chain']} back end; "
            f"{len(plan['treatments'])} treatments × {len(plan['seeds'])} seeds = {len(runs)} runs, {len(ok)} succeeded, {len(failed)} failed. "
            f"Code version {plan.get('code_version', '?')}.",
        ),
        ("h2", "Means across seeds"),
        (
            "p",
            "Per treatment: the mean of each run-level metric over its seeds with a 95 % confidence interval from Student's "
            "t-distribution (n − 1 degrees of freedom). '_mean' metrics are per-round averages within a run; the others are run totals.",
        ),
        *(("table", t) for t in _means_tables(stats, order, chosen, planned)),
        ("h2", "Tests between treatments"),
        (
            "p",
            "Each grid factor is compared at every combination of the other factors. Two levels: Welch's unequal-variance t-test, "
            "with the difference of means and its 95 % confidence interval. More levels: the Kruskal–Wallis H-test (rank-based, no "
            "normality assumed), then pairwise Welch tests with Holm-adjusted p-values. Every treatment runs the same seeds, so where "
            "the levels share theirs the seed-paired test is shown too (paired t-test for two levels, Friedman test for more): it "
            "removes the variation between seeds that all levels share and is usually the sharper test. p-values are not adjusted "
            "across metrics.",
        ),
        *_tests_blocks(comparisons, factors),
        *_carbon_blocks(ok),
        ("h2", "Figures"),
        *figure_blocks,
    ]
    if not comparisons:
        notes.append("no test: fewer than two treatments with two successful seeds each")
    if not failed.empty:
        blocks.append(("h2", "Failed runs"))
        rows = tuple(
            (r.run_id, r.treatment, str(r.seed), str(r.error_type), str(r.error)) for r in failed.itertuples(index=False)
        )
        blocks.append(("table", _Table(("run", "treatment", "seed", "error type", "error"), rows)))
    if notes:
        blocks.append(("h2", "Notes"))
        blocks += [("p", n) for n in notes]
    markdown, page = out / "report.md", out / "report.html"
    markdown.write_text(_markdown(blocks))
    page.write_text(_html(blocks, f"Sweep {plan['name']}"))
    return Report(out=out, html=page, markdown=markdown, figures=tuple(figures), notes=tuple(notes))
