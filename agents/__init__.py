"""Mesa 3 agents and models of the CCEI market. They decide and emit orders; they never touch a chain.

``MODELS`` maps the ``model`` key of a scenario file to its model class.
"""

from __future__ import annotations

from agents.auction import AuctionModel
from agents.eastwest import EastWestModel
from agents.microgrids import MicrogridModel
from agents.model import MarketModel, Settler
from agents.posted_price import PostedPriceModel

__all__ = ["MODELS", "AuctionModel", "EastWestModel", "MarketModel", "MicrogridModel", "PostedPriceModel", "Settler"]

MODELS: dict[str, type[MarketModel]] = {
    "east-west": EastWestModel,
    "posted-price": PostedPriceModel,
    "double-auction": AuctionModel,
    "microgrids": MicrogridModel,
}
