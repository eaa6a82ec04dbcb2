"""The CCEI teaching demo as a Mesa SolaraViz app: ``ccei demo``, or ``solara run experiments/demo/app.py``.

The settings come from the environment (see :mod:`experiments.demo.server`; ``ccei demo`` sets
them): scenario (default ``east-west``), ``--set`` overrides, chain (default ``memory``), seed and
the trade-log directory. Every browser session of one server shows the same market.
"""

from __future__ import annotations

import os
import warnings

import solara

from experiments.demo.server import DemoConfig, room_for
from experiments.demo.views import Dashboard
from market.errors import CceiError

# pvlib (solar model) still calls a pandas accessor pandas has deprecated; it says nothing to a class.
warnings.filterwarnings("ignore", message="DatetimeIndex.dayofyear is deprecated")


@solara.component
def Page() -> None:
    """The page Solara serves."""
    try:
        config = DemoConfig.from_env(os.environ)
        scenario, room = room_for(config)
    except CceiError as exc:
        solara.Error(f"ccei demo: {exc}")
        return
    Dashboard(room, scenario, config)


__all__ = ["Page"]
