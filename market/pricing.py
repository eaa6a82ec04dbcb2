"""Price rules.

``load_price`` is the load-dependent surcharge of the whitepaper's dynamic pricing (§3.4): the
posted price rises with utilisation so that scarce capacity costs more.
"""

from __future__ import annotations

__all__ = ["load_price"]


def load_price(base_price: float, utilization: float, surge: float) -> float:
    """Base price times ``1 + surge * utilization**2``.

    Args:
        base_price: Price at zero load (any currency unit).
        utilization: Share of capacity used in the last round, clipped to [0, 1].
        surge: Relative surcharge at full load (0.5 means +50 %).

    Returns:
        The posted price, in the unit of ``base_price``.
    """
    u = min(max(utilization, 0.0), 1.0)
    return base_price * (1.0 + surge * u * u)
