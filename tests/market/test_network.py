"""Great-circle distances, the fibre latency floor and the region graph."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.errors import MechanismError
from market.network import CLUSTERS, FIBRE_MS_PER_KM, Link, backbone_graph, fibre_latency_ms, haversine_km, region_graph

lat = st.floats(-90, 90)
lon = st.floats(-180, 180)


def test_known_distances() -> None:
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.01)  # one degree of the equator
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0088)
    # Beijing (39.90, 116.40) to Shanghai (31.23, 121.47): about 1067 km
    assert haversine_km(39.90, 116.40, 31.23, 121.47) == pytest.approx(1067, abs=5)


def test_fibre_latency_floor_and_route_factor() -> None:
    d = haversine_km(40.77, 114.88, 24.81, 113.60)  # Zhangjiakou to Shaoguan
    assert fibre_latency_ms(40.77, 114.88, 24.81, 113.60, route_factor=1.0) == pytest.approx(d * 0.005)
    assert fibre_latency_ms(40.77, 114.88, 24.81, 113.60) == pytest.approx(d * 1.5 * FIBRE_MS_PER_KM)
    assert d == pytest.approx(1777, abs=5)  # 15.96 degrees of latitude, a little longitude
    assert 11.4 < fibre_latency_ms(40.77, 114.88, 24.81, 113.60, route_factor=1.3) < 11.7
    with pytest.raises(MechanismError, match="route factor 0.9"):
        fibre_latency_ms(0, 0, 1, 1, route_factor=0.9)
    with pytest.raises(MechanismError, match="out of range"):
        fibre_latency_ms(91, 0, 0, 0)


@given(lat, lon, lat, lon, st.floats(1, 2))
def test_latency_is_symmetric_and_never_below_the_floor(a: float, b: float, c: float, d: float, f: float) -> None:
    there = fibre_latency_ms(a, b, c, d, route_factor=f)
    assert there == pytest.approx(fibre_latency_ms(c, d, a, b, route_factor=f), abs=1e-9)
    assert there >= fibre_latency_ms(a, b, c, d, route_factor=1.0) - 1e-12
    assert there <= math.pi * 6371.0088 * f * FIBRE_MS_PER_KM + 1e-9


def test_region_graph_attributes_and_errors() -> None:
    g = region_graph([Link("a", "b", 2.0, 100, 3)], {"a": 0.3})
    assert g.edges["a", "b"] == {"latency_ms": 2.0, "bandwidth_mb": 100.0, "price_micro_per_mb": 3}
    assert g.nodes["a"]["grid_factor_kg_per_kwh"] == 0.3 and g.nodes["b"]["grid_factor_kg_per_kwh"] == 0.5366
    with pytest.raises(MechanismError, match="to itself"):
        region_graph([Link("a", "a", 1.0)])
    with pytest.raises(MechanismError, match="listed twice"):
        region_graph([Link("a", "b", 1.0), Link("b", "a", 2.0)])
    with pytest.raises(MechanismError, match="non-negative"):
        region_graph([Link("a", "b", -1.0)])


def test_backbone_over_the_ten_clusters() -> None:
    g = backbone_graph()
    assert set(g.nodes) == {c.name for c in CLUSTERS} and nx.is_connected(g)
    assert g.nodes["tianfu"]["grid_factor_kg_per_kwh"] == 0.2268
    assert g.nodes["zhangjiakou"]["hub"] == "Beijing-Tianjin-Hebei"
    for a, b, d in g.edges(data=True):
        ca = next(c for c in CLUSTERS if c.name == a)
        cb = next(c for c in CLUSTERS if c.name == b)
        assert d["latency_ms"] == pytest.approx(fibre_latency_ms(ca.lat, ca.lon, cb.lat, cb.lon, 1.5))
    sparse = backbone_graph(neighbours=1)
    assert nx.is_connected(sparse)  # islands of nearest neighbours get joined
    with pytest.raises(MechanismError, match="at least two clusters"):
        backbone_graph(CLUSTERS[:1])
    with pytest.raises(MechanismError, match="neighbours"):
        backbone_graph(neighbours=0)
