"""The console table of one run's summary, as ``ccei run`` prints it (a sweep's report is :mod:`experiments.reporting`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.table import Table

__all__ = ["summary_table"]


#: Figures shown when the run's summary has them: (key, label, format).
_MARKET_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("efficiency", "efficiency", lambda v: f"{v:.3f}"),
    ("agreements", "guarantee agreements", str),
    ("breaches", "breaches", str),
    ("compensation_micro", "compensation (tokens)", lambda v: f"{v / 1e6:,.6f}"),
    ("certificates_retired_wh", "certificates retired (kWh)", lambda v: f"{v / 1e3:,.3f}"),
    ("green_share", "green share", lambda v: f"{v:.1%}"),
    ("kg_co2_location", "kg CO2, location-based", lambda v: f"{v:,.3f}"),
    ("kg_co2_market", "kg CO2, market-based", lambda v: f"{v:,.3f}"),
)


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
    for key, label, show in _MARKET_ROWS:
        if summary.get(key) is not None:  # figures a model reports (e.g. east-west's guarantees and carbon)
            table.add_row(label, show(summary[key]))
    table.add_row("token supply (tokens)", f"{summary['total_supply_micro'] / 1e6:,.6f}")
    table.add_row("log head", summary["log_head"][:16] + "…")
    table.add_row("balances digest", summary["balances_digest"][:16] + "…")
    table.add_row("elapsed (s)", f"{summary['elapsed_s']:.1f}")
    return table
