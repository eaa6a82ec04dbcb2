"""The console table of one run's summary, as ``ccei run`` prints it (a sweep's report is :mod:`experiments.reporting`)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

__all__ = ["summary_table"]


def summary_table(summary: dict[str, Any]) -> Table:
    """A two-column table of a run's headline figures."""
    table = Table(title=f"{summary['scenario']} · seed {summary['seed']} · {summary['chain']}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("steps", str(summary["steps"]))
    table.add_row("trades", str(summary["trades"]))
    table.add_row("volume (tokens)", f"{summary['volume_micro'] / 1e6:,.6f}")
    table.add_row("transactions", str(summary["transactions"]))
    table.add_row("gas used", f"{summary['gas_used']:,}")
    table.add_row("token supply (tokens)", f"{summary['total_supply_micro'] / 1e6:,.6f}")
    table.add_row("log head", summary["log_head"][:16] + "…")
    table.add_row("balances digest", summary["balances_digest"][:16] + "…")
    table.add_row("elapsed (s)", f"{summary['elapsed_s']:.1f}")
    return table
