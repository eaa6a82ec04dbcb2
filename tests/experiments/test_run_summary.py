"""The console table ``ccei run`` prints: the headline figures, and a model's market figures when
its summary has them."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from experiments.run_summary import summary_table

BASE: dict[str, Any] = {
    "scenario": "s",
    "seed": 1,
    "chain": "memory",
    "steps": 3,
    "trades": 4,
    "volume_micro": 1_500_000,
    "transactions": 0,
    "gas_used": 0,
    "total_supply_micro": 10_000_000,
    "log_head": "a" * 64,
    "balances_digest": "b" * 64,
    "elapsed_s": 0.25,
}


def rendered(summary: dict[str, Any]) -> str:
    console = Console(width=100, record=True)
    console.print(summary_table(summary))
    return console.export_text()


def test_the_headline_figures_are_shown_without_market_rows() -> None:
    text = rendered(BASE)
    assert "volume (tokens)" in text and "1.500000" in text and "aaaaaaaaaaaaaaaa…" in text
    assert "guarantee agreements" not in text and "kg CO2" not in text


def test_guarantee_and_carbon_figures_are_shown_when_the_summary_has_them() -> None:
    text = rendered(
        {**BASE, "agreements": 136, "breaches": 52, "compensation_micro": 26_616_836, "certificates_retired_wh": 10_448,
         "green_share": 0.229938, "kg_co2_location": 25.528, "kg_co2_market": 27.272, "efficiency": 0.7548}
    )  # fmt: skip
    for expected in ("guarantee agreements", "136", "breaches", "52", "26.616836", "10.448", "23.0%", "25.528", "27.272", "0.755"):
        assert expected in text, expected
