"""The dashboard's panels and SolaraViz parameters, rendered without a browser."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import ipywidgets
import pytest
import solara

from experiments.demo.live import DemoMarket, Room, demo_class
from experiments.demo.server import DemoConfig
from experiments.demo.views import LedgerView, MapView, TickerView, components_for, model_params
from experiments.scenarios import load_scenario


@pytest.fixture
def smith(tmp_path: Path) -> DemoMarket:
    scenario = load_scenario("smith-1962")
    return demo_class(scenario.model_class)(**{**scenario.params, "shouts_per_period": 120}, log_dir=str(tmp_path), scenario="smith-1962")


def html_of(rc: Any) -> str:
    """The markup of every ``solara.HTML`` the panel shows."""
    return " ".join(w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets)


def test_controls_for_the_key_parameters_and_fixed_wiring(tmp_path: Path) -> None:
    scenario = load_scenario("east-west")
    config = DemoConfig(out=str(tmp_path), chain="eth-tester", seed=5)
    room = Room(lambda r: None)  # type: ignore[arg-type, return-value]
    params = model_params(scenario, config, room)
    controls = {k: p for k, p in params.items() if isinstance(p, dict) and "type" in p}
    assert set(controls) == {"n_users", "green_preference", "mechanism", "carbon_price_micro_per_kg", "carbon_aware", "outage_per_year"}
    assert controls["carbon_aware"] == {"type": "Checkbox", "label": "carbon-aware shifting", "value": scenario.params["carbon_aware"]}
    assert controls["n_users"]["value"] == scenario.params["n_users"] and controls["mechanism"]["values"] == [
        "uniform",
        "pay-as-bid",
        "mcafee",
        "nash",
    ]
    assert params["chain"] == "eth-tester" and params["seed"] == 5 and params["room"] is room and params["log_dir"] == str(tmp_path)
    assert params["solar_w"] == scenario.params["solar_w"]  # the rest of the scenario is passed through
    accepted = inspect.signature(demo_class(scenario.model_class).__init__).parameters
    assert "kwargs" in accepted  # SolaraViz rebuilds the model from these keywords on reset
    auction = model_params(load_scenario("gode-sunder"), config, room)
    assert {k for k, p in auction.items() if isinstance(p, dict)} == {"strategy", "mechanism", "shouts_per_period"}
    assert "zi-u" in auction["strategy"]["values"]


def test_panels_per_model() -> None:
    def name(component: Any) -> str:  # a plain function, or a Solara component wrapping one in .f
        return str(component.__name__ if hasattr(component, "__name__") else component.f.__name__)

    def names(key: str) -> list[str]:
        return [name(c) for c, _ in components_for(key)]

    assert names("east-west") == ["MapView", "ChartsView", "TickerView", "LedgerView"]
    assert names("double-auction") == ["ChartsView", "TickerView", "LedgerView"]  # a class uses the classroom server
    assert names("microgrids") == ["ChartsView", "TickerView", "LedgerView"]


def test_ticker_and_ledger_panels(smith: DemoMarket) -> None:
    box, rc = solara.render(TickerView(smith), handle_error=False)
    assert "no trades yet" in html_of(rc)
    smith.step()
    box, rc = solara.render(TickerView(smith), handle_error=False)
    assert html_of(rc).count('class="ccei-trade"') == len(smith.ticker()) > 0
    box, rc = solara.render(LedgerView(smith), handle_error=False)
    assert "memory back end" in html_of(rc) and "no gas" in html_of(rc)


def test_map_panel_draws_a_picture(tmp_path: Path) -> None:
    scenario = load_scenario("east-west")
    model = demo_class(scenario.model_class)(**{**scenario.params, "n_users": 10}, log_dir=str(tmp_path), scenario="east-west")
    box, rc = solara.render(MapView(model), handle_error=False)
    image = rc.find(ipywidgets.Image).widget
    assert image.format == "png" and bytes(image.value).startswith(b"\x89PNG")
    first = bytes(image.value)
    model.step()
    box, rc = solara.render(MapView(model), handle_error=False)
    assert bytes(rc.find(ipywidgets.Image).widget.value) != first  # a new hour, a new picture
