"""Metering: analytical and learned demand, and energy at a data centre and over a path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.errors import MechanismError
from market.metering import (
    NETWORK_ENERGY_YEAR,
    NETWORK_WH_PER_GB,
    NETWORK_WH_PER_GB_HOP,
    TYPICAL_HOPS,
    AnalyticalMeter,
    Demand,
    LearnedMeter,
    QosClass,
    TaskRecord,
    TaskSpec,
    TaskType,
    TypeProfile,
    energy,
    meter,
    network_wh_per_gb,
)


def test_analytical_demand_by_hand() -> None:
    m = AnalyticalMeter()
    # streaming: 0.5 core-h and 2250 MB per stream-hour; realtime reserves 1.5x compute
    assert m.demand(TaskSpec(TaskType.STREAMING, 2, QosClass.REALTIME)) == Demand(1_500, 0, 4_500)
    assert m.demand(TaskSpec(TaskType.TRAINING, 100)) == Demand(1_000, 280, 5_000)
    assert QosClass.BATCH.max_latency_ms == float("inf") and QosClass.REALTIME.max_latency_ms == 10.0


def test_energy_by_hand() -> None:
    e = energy(Demand(2_000, 500, 3_000), pue=1.25, hops=2)
    # 2 core-h x 10 W + 0.5 GPU-h x 300 W = 170 Wh of IT; 3 GB over 2 hops at 5.3 Wh/GB end to end
    # (Aslan et al. 2018 for 2022) spread over 10 hops, 0.5 Wh/GB/hop = 3 Wh
    assert (e.it_energy_wh, e.facility_energy_wh, e.network_energy_wh, e.energy_wh) == (170.0, 212.5, 3.0, 215.5)
    assert meter(TaskSpec(TaskType.ANALYTICS, 1.0), pue=1.0).energy_wh == pytest.approx(0.5)  # no hops: IT only


def test_network_energy_follows_aslan_et_al() -> None:
    # 0.06 kWh/GB in 2015, halving every two years
    assert network_wh_per_gb(2015) == pytest.approx(60.0)
    assert network_wh_per_gb(2017) == pytest.approx(30.0)
    assert NETWORK_WH_PER_GB == pytest.approx(network_wh_per_gb(NETWORK_ENERGY_YEAR)) == pytest.approx(5.3033, rel=1e-4)
    assert NETWORK_WH_PER_GB_HOP == round(NETWORK_WH_PER_GB / TYPICAL_HOPS, 1) == 0.5


@given(st.sampled_from(list(TaskType)), st.floats(0.01, 1e4), st.sampled_from(list(QosClass)), st.floats(1, 2), st.integers(0, 8))
def test_demand_and_energy_grow_with_size_pue_and_hops(kind: TaskType, size: float, qos: QosClass, pue: float, hops: int) -> None:
    small = meter(TaskSpec(kind, size, qos), pue=pue, hops=hops)
    big = meter(TaskSpec(kind, size * 2, qos), pue=pue, hops=hops)
    for field in ("compute_mcore_h", "gpu_mgpu_h", "data_mb"):
        assert getattr(big.demand, field) >= getattr(small.demand, field) >= 0
    assert big.energy_wh >= small.energy_wh
    assert small.facility_energy_wh >= small.it_energy_wh
    assert meter(TaskSpec(kind, size, qos), pue=pue, hops=hops + 1).energy_wh >= small.energy_wh


def records(rng: np.random.Generator, n: int, noise: float) -> list[TaskRecord]:
    truth = AnalyticalMeter()
    out = []
    for _ in range(n):
        task = TaskSpec(TaskType(rng.choice(list(TaskType))), float(rng.lognormal(3, 1)), QosClass(rng.choice(list(QosClass))))
        d = truth.demand(task)
        jitter = rng.lognormal(0, noise, 3) if noise else np.ones(3)
        out.append(TaskRecord(task, Demand(*(int(round(v * j)) for v, j in zip((d.compute_mcore_h, d.gpu_mgpu_h, d.data_mb), jitter, strict=True)))))
    return out


def test_learned_meter_recovers_the_analytical_model() -> None:
    learned = LearnedMeter.fit(records(np.random.default_rng(1), 600, noise=0.1))
    truth = AnalyticalMeter()
    for kind in TaskType:
        for qos in QosClass:
            for size in (5.0, 50.0, 200.0):
                task = TaskSpec(kind, size, qos)
                want, got = truth.demand(task), learned.demand(task)
                for field in ("compute_mcore_h", "gpu_mgpu_h", "data_mb"):
                    w, g = getattr(want, field), getattr(got, field)
                    assert g == pytest.approx(w, rel=0.1, abs=2), (task, field)


def test_learned_meter_needs_enough_data_and_known_types() -> None:
    with pytest.raises(MechanismError, match="needs task records"):
        LearnedMeter.fit([])
    few = [TaskRecord(TaskSpec(TaskType.INFERENCE, s), Demand(1, 1, 1)) for s in (1.0, 2.0)]
    with pytest.raises(MechanismError, match="needs more than 2 records"):
        LearnedMeter.fit(few)
    same = [TaskRecord(TaskSpec(TaskType.INFERENCE, 3.0), Demand(1, 1, 1))] * 5
    with pytest.raises(MechanismError, match="different sizes"):
        LearnedMeter.fit(same)
    m = LearnedMeter.fit([TaskRecord(TaskSpec(TaskType.INFERENCE, s), Demand(int(s), 0, 2 * int(s))) for s in (1.0, 2.0, 4.0)])
    assert m.demand(TaskSpec(TaskType.INFERENCE, 8.0)) == Demand(8, 0, 16)
    with pytest.raises(MechanismError, match="not fitted on task type"):
        m.demand(TaskSpec(TaskType.TRAINING, 1.0))
    with pytest.raises(MechanismError, match="saw no realtime"):
        m.demand(TaskSpec(TaskType.INFERENCE, 1.0, QosClass.REALTIME))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: AnalyticalMeter().demand(TaskSpec(TaskType.INFERENCE, 0.0)), "must be finite and positive"),
        (lambda: AnalyticalMeter({}).demand(TaskSpec(TaskType.INFERENCE, 1.0)), "no metering profile"),
        (lambda: AnalyticalMeter({TaskType.INFERENCE: TypeProfile("x", -1, 0, 0)}), "non-negative"),
        (lambda: energy(Demand(1, 1, 1), pue=0.8), "PUE 0.8"),
        (lambda: energy(Demand(1, 1, 1), hops=-1), "non-negative"),
        (lambda: LearnedMeter.fit([TaskRecord(dataclasses.replace(TaskSpec(TaskType.INFERENCE, 1.0), size=-2.0), Demand(1, 1, 1))]), "positive"),
    ],
)
def test_rejects_bad_input(call, message: str) -> None:
    with pytest.raises(MechanismError, match=message):
        call()


@given(
    st.sampled_from(list(TaskType)),
    st.sampled_from(list(QosClass)),
    st.lists(st.floats(min_value=1e-6, max_value=1e7, allow_nan=False), min_size=0, max_size=30),
)
def test_demand_many_equals_demand_task_by_task(kind: TaskType, qos: QosClass, sizes: list[float]) -> None:
    m = AnalyticalMeter()
    compute, gpu, data = m.demand_many(kind, np.array(sizes), qos)
    assert [Demand(int(c), int(g), int(d)) for c, g, d in zip(compute, gpu, data, strict=True)] == [
        m.demand(TaskSpec(kind, s, qos)) for s in sizes
    ]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_demand_many_refuses_a_bad_size(bad: float) -> None:
    with pytest.raises(MechanismError, match="must be finite and positive"):
        AnalyticalMeter().demand_many(TaskType.INFERENCE, np.array([1.0, bad]), QosClass.BATCH)


def test_demand_many_refuses_a_type_without_a_profile() -> None:
    meter_ = AnalyticalMeter({TaskType.INFERENCE: TypeProfile("req", 0.1, 0.0, 1.0)})
    with pytest.raises(MechanismError, match="no metering profile"):
        meter_.demand_many(TaskType.TRAINING, np.array([1.0]), QosClass.BATCH)
