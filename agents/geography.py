"""East-Data-West-Compute (东数西算) geography for the agents: which hubs are east, and PUE targets.

The clusters themselves (coordinates, hubs, regional grids) live in :mod:`market.network`, the
emission factors in :mod:`market.carbon`. This module adds what the agents need on top: the
programme's split into eastern (demand-side) and western (resource-side) hubs and the PUE targets
set for each side (east <= 1.25, west <= 1.2; see shared/REFERENCES.md).
"""

from __future__ import annotations

from market.network import CLUSTERS, Cluster

__all__ = ["CLUSTERS", "Cluster", "EAST_HUBS", "cluster", "is_east", "pue_target"]

#: The four demand-side hubs of the programme; the other four are the resource-side western hubs.
EAST_HUBS = frozenset({"Beijing-Tianjin-Hebei", "Yangtze River Delta", "Guangdong-HK-Macao", "Chengdu-Chongqing"})

_BY_NAME = {c.name: c for c in CLUSTERS}


def cluster(name: str) -> Cluster:
    """The cluster called ``name``.

    Raises:
        KeyError: no such cluster (the message lists the names).
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown cluster {name!r} (one of: {', '.join(_BY_NAME)})") from None


def is_east(c: Cluster) -> bool:
    """Whether the cluster belongs to an eastern (demand-side) hub."""
    return c.hub in EAST_HUBS


def pue_target(c: Cluster) -> float:
    """The programme's PUE ceiling for the cluster: 1.25 in the east, 1.2 in the west."""
    return 1.25 if is_east(c) else 1.2
