"""Resource metering (whitepaper §3.2): from a task to compute, network and energy demand.

The whitepaper's metering model maps a task in two layers: *task type → compute and network
resources*, then *resources → energy*. Here the first layer is a :class:`Meter`: the default
:class:`AnalyticalMeter` multiplies the task's size by per-type coefficients and a QoS headroom;
:class:`LearnedMeter` is fitted to recorded tasks instead (a log-linear regression per task type,
standing in for the whitepaper's neural-network/LightGBM fit behind the same interface). The
second layer, :func:`energy`, is physical: IT energy from core- and GPU-hours times the data
centre's PUE, plus network energy per GB per hop of the path.

Quantities come out as integers in the smallest units: milli-core-hours, milli-GPU-hours, MB and
Wh for what is billed (:class:`Demand`); energy is reported in Wh as floats (an input to pricing
and carbon accounting, not a payment).

References:
    The Green Grid, "PUE: a comprehensive examination of the metric", White Paper 49, 2012.
    J. Aslan, K. Mayers, J. G. Koomey and C. France, "Electricity intensity of internet data
    transmission: untangling the estimates", Journal of Industrial Ecology 22(4), pp. 785–798,
    2018 (0.06 kWh/GB in 2015, halving about every two years).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from market.errors import MechanismError

__all__ = [
    "WATTS_PER_CORE",
    "WATTS_PER_GPU",
    "NETWORK_ENERGY_YEAR",
    "NETWORK_WH_PER_GB",
    "TYPICAL_HOPS",
    "NETWORK_WH_PER_GB_HOP",
    "network_wh_per_gb",
    "TaskType",
    "QosClass",
    "TaskSpec",
    "TypeProfile",
    "DEFAULT_PROFILES",
    "Demand",
    "Metering",
    "Meter",
    "AnalyticalMeter",
    "TaskRecord",
    "LearnedMeter",
    "it_energy_wh",
    "network_energy_wh",
    "energy",
    "meter",
]

#: Power per busy core: a two-socket server drawing about 320 W at full load over 32 cores.
WATTS_PER_CORE = 10.0
#: Power per busy GPU: the board power of a data-centre accelerator such as an A100 PCIe card.
WATTS_PER_GPU = 300.0
#: The year the network-energy figure stands for.
NETWORK_ENERGY_YEAR = 2022


def network_wh_per_gb(year: int = NETWORK_ENERGY_YEAR) -> float:
    """End-to-end electricity of moving a GB over the internet (core and access networks) in ``year``:
    Aslan et al.'s (2018) 0.06 kWh/GB for 2015, halving every two years as they found it did
    from 2000 to 2015 (about 5.3 Wh/GB for 2022)."""
    return 60.0 * 0.5 ** ((year - 2015) / 2.0)


#: End-to-end network energy per GB transferred, Wh: the one figure metering and the models use.
NETWORK_WH_PER_GB = network_wh_per_gb()
#: Hops on a typical end-to-end path, over which :data:`NETWORK_WH_PER_GB` is spread where energy is
#: counted per hop (:func:`network_energy_wh`, the allocation's routes).
TYPICAL_HOPS = 10
#: Network energy per GB per hop: the end-to-end figure spread over a typical path, to one decimal.
NETWORK_WH_PER_GB_HOP = round(NETWORK_WH_PER_GB / TYPICAL_HOPS, 1)


class TaskType(enum.StrEnum):
    """Kinds of task the metering model distinguishes."""

    INFERENCE = "inference"
    TRAINING = "training"
    ANALYTICS = "analytics"
    STREAMING = "streaming"


class QosClass(enum.StrEnum):
    """Service classes: a stricter class reserves more headroom and tolerates less latency."""

    REALTIME = "realtime"
    INTERACTIVE = "interactive"
    BATCH = "batch"

    @property
    def headroom(self) -> float:
        """Factor by which reserved compute exceeds the expected need."""
        return {QosClass.REALTIME: 1.5, QosClass.INTERACTIVE: 1.2, QosClass.BATCH: 1.0}[self]

    @property
    def max_latency_ms(self) -> float:
        """One-way network latency the class tolerates."""
        return {QosClass.REALTIME: 10.0, QosClass.INTERACTIVE: 50.0, QosClass.BATCH: math.inf}[self]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What a user asks for: a task of a type, a size in the type's work unit, and a QoS class."""

    task_type: TaskType
    size: float
    qos: QosClass = QosClass.BATCH


@dataclass(frozen=True, slots=True)
class TypeProfile:
    """Resources one work unit of a task type needs (before QoS headroom).

    Attributes:
        unit: What one unit of size means.
        core_h_per_unit: CPU core-hours.
        gpu_h_per_unit: GPU-hours.
        data_mb_per_unit: Data moved over the network, MB.
    """

    unit: str
    core_h_per_unit: float
    gpu_h_per_unit: float
    data_mb_per_unit: float


#: Order-of-magnitude profiles: inference per thousand requests, training per PFLOP on an
#: accelerator sustaining ~100 TFLOP/s, analytics per GB scanned, streaming per hour of a 5 Mbit/s stream.
DEFAULT_PROFILES: Mapping[TaskType, TypeProfile] = {
    TaskType.INFERENCE: TypeProfile("thousand requests", 0.02, 0.002, 2.0),
    TaskType.TRAINING: TypeProfile("PFLOP", 0.01, 0.0028, 50.0),
    TaskType.ANALYTICS: TypeProfile("GB scanned", 0.05, 0.0, 1000.0),
    TaskType.STREAMING: TypeProfile("stream-hour", 0.5, 0.0, 2250.0),
}


@dataclass(frozen=True, slots=True)
class Demand:
    """Resources a task needs, in billing units."""

    compute_mcore_h: int
    gpu_mgpu_h: int
    data_mb: int


@dataclass(frozen=True, slots=True)
class Metering:
    """A task's metered demand and the energy it takes at a given data centre and path.

    Attributes:
        demand: Compute, GPU and network demand.
        it_energy_wh: Energy of the IT equipment.
        facility_energy_wh: IT energy times the data centre's PUE.
        network_energy_wh: Energy of moving the data over the path.
    """

    demand: Demand
    it_energy_wh: float
    facility_energy_wh: float
    network_energy_wh: float

    @property
    def energy_wh(self) -> float:
        """Total energy: facility plus network."""
        return self.facility_energy_wh + self.network_energy_wh


class Meter(Protocol):
    """Maps a task to its resource demand."""

    def demand(self, task: TaskSpec) -> Demand:
        """The task's demand in billing units."""
        ...


def _check_size(task: TaskSpec) -> None:
    if not (math.isfinite(task.size) and task.size > 0):
        raise MechanismError(f"task size {task.size} must be finite and positive")


class AnalyticalMeter:
    """Demand = size × per-type coefficients, compute scaled by the QoS headroom, rounded up.

    Args:
        profiles: Per task type coefficients; :data:`DEFAULT_PROFILES` when omitted.
    """

    def __init__(self, profiles: Mapping[TaskType, TypeProfile] | None = None) -> None:
        self.profiles = dict(DEFAULT_PROFILES if profiles is None else profiles)
        for kind, p in self.profiles.items():
            if min(p.core_h_per_unit, p.gpu_h_per_unit, p.data_mb_per_unit) < 0:
                raise MechanismError(f"profile for {kind}: coefficients must be non-negative")

    def demand(self, task: TaskSpec) -> Demand:
        """The task's demand.

        Raises:
            MechanismError: a non-positive size or a task type without a profile.
        """
        _check_size(task)
        try:
            p = self.profiles[task.task_type]
        except KeyError:
            raise MechanismError(f"no metering profile for task type {task.task_type!r}") from None
        h = task.qos.headroom
        return Demand(
            compute_mcore_h=math.ceil(task.size * p.core_h_per_unit * h * 1000 - 1e-9),
            gpu_mgpu_h=math.ceil(task.size * p.gpu_h_per_unit * h * 1000 - 1e-9),
            data_mb=math.ceil(task.size * p.data_mb_per_unit - 1e-9),
        )

    def demand_many(self, task_type: TaskType, sizes: np.ndarray, qos: QosClass) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The demand of many tasks of one type and class at once, equal element by element to
        :meth:`demand` (the same floating-point operations, vectorised).

        Returns:
            Integer arrays: compute (milli-core-hours), GPU (milli-GPU-hours) and data (MB).

        Raises:
            MechanismError: a non-positive or non-finite size, or a task type without a profile.
        """
        sizes = np.asarray(sizes, dtype=float)
        if sizes.size and not (np.all(np.isfinite(sizes)) and np.all(sizes > 0)):
            bad = sizes[~(np.isfinite(sizes) & (sizes > 0))][0]
            raise MechanismError(f"task size {bad} must be finite and positive")
        try:
            p = self.profiles[task_type]
        except KeyError:
            raise MechanismError(f"no metering profile for task type {task_type!r}") from None
        h = qos.headroom
        return (
            np.ceil(sizes * p.core_h_per_unit * h * 1000 - 1e-9).astype(np.int64),
            np.ceil(sizes * p.gpu_h_per_unit * h * 1000 - 1e-9).astype(np.int64),
            np.ceil(sizes * p.data_mb_per_unit - 1e-9).astype(np.int64),
        )


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task that ran and the resources it was measured to use."""

    task: TaskSpec
    demand: Demand


_RESOURCES = ("compute_mcore_h", "gpu_mgpu_h", "data_mb")


class LearnedMeter:
    """Demand predicted by a regression fitted to recorded tasks, one per task type.

    For each task type and resource, ``log(y)`` is regressed by least squares on ``log(size)`` and
    an indicator per QoS class (the first class seen is the baseline), so demand may grow as a
    power of size and scale by class; a resource some records show as zero is regressed as
    ``log(1 + y)`` instead. Build it with :meth:`fit`.
    """

    def __init__(self, coefficients: Mapping[TaskType, tuple[tuple[QosClass, ...], np.ndarray, np.ndarray]]) -> None:
        self._coef = dict(coefficients)

    @staticmethod
    def _features(sizes: np.ndarray, qos: Sequence[QosClass], classes: Sequence[QosClass]) -> np.ndarray:
        cols = [np.ones_like(sizes), np.log(sizes)]
        cols += [np.array([q is c for q in qos], dtype=float) for c in classes[1:]]
        return np.column_stack(cols)

    @classmethod
    def fit(cls, records: Sequence[TaskRecord]) -> LearnedMeter:
        """Fits the per-type regressions.

        Args:
            records: Measured tasks; every task type to be predicted needs more records than
                the regression has coefficients (2 plus one per extra QoS class), with at least
                two distinct sizes.

        Returns:
            The fitted meter.

        Raises:
            MechanismError: no records, a non-positive size, or too few records for a type.
        """
        if not records:
            raise MechanismError("LearnedMeter.fit needs task records")
        by_type: dict[TaskType, list[TaskRecord]] = {}
        for r in records:
            _check_size(r.task)
            by_type.setdefault(r.task.task_type, []).append(r)
        coefficients = {}
        for kind, rs in by_type.items():
            classes = tuple(dict.fromkeys(r.task.qos for r in rs))
            sizes = np.array([r.task.size for r in rs], dtype=float)
            x = cls._features(sizes, [r.task.qos for r in rs], classes)
            if len(rs) <= x.shape[1] or np.ptp(np.log(sizes)) == 0:
                raise MechanismError(
                    f"LearnedMeter.fit: task type {kind} needs more than {x.shape[1]} records of different sizes, got {len(rs)}"
                )
            y = np.array([[getattr(r.demand, k) for k in _RESOURCES] for r in rs], dtype=float)
            shift = np.where(np.all(y > 0, axis=0), 0.0, 1.0)
            beta, *_ = np.linalg.lstsq(x, np.log(y + shift), rcond=None)
            coefficients[kind] = (classes, beta, shift)
        return cls(coefficients)

    def demand(self, task: TaskSpec) -> Demand:
        """The predicted demand, rounded up to whole units.

        Raises:
            MechanismError: a non-positive size, or a task type or QoS class not seen in fitting.
        """
        _check_size(task)
        if task.task_type not in self._coef:
            raise MechanismError(f"LearnedMeter was not fitted on task type {task.task_type!r}")
        classes, beta, shift = self._coef[task.task_type]
        if task.qos not in classes:
            raise MechanismError(f"LearnedMeter saw no {task.qos} tasks of type {task.task_type}")
        x = self._features(np.array([task.size]), [task.qos], classes)
        y = np.maximum(np.exp(x @ beta)[0] - shift, 0.0)
        return Demand(*(math.ceil(v - 1e-6) for v in y))


def it_energy_wh(
    compute_mcore_h: float, gpu_mgpu_h: float = 0.0, *, watts_per_core: float = WATTS_PER_CORE, watts_per_gpu: float = WATTS_PER_GPU
) -> float:
    """Energy of the IT equipment: core-hours × W per core plus GPU-hours × W per GPU, in Wh."""
    return compute_mcore_h / 1000 * watts_per_core + gpu_mgpu_h / 1000 * watts_per_gpu


def network_energy_wh(data_mb: float, hops: int, *, wh_per_gb_hop: float = NETWORK_WH_PER_GB_HOP) -> float:
    """Energy of moving ``data_mb`` over ``hops`` network hops, in Wh."""
    return data_mb / 1000 * hops * wh_per_gb_hop


def energy(
    demand: Demand,
    *,
    pue: float = 1.2,
    hops: int = 0,
    watts_per_core: float = WATTS_PER_CORE,
    watts_per_gpu: float = WATTS_PER_GPU,
    wh_per_gb_hop: float = NETWORK_WH_PER_GB_HOP,
) -> Metering:
    """The energy a demand takes at a data centre with ``pue`` over a path of ``hops`` hops.

    Args:
        demand: Metered demand.
        pue: The data centre's power usage effectiveness (facility over IT energy, at least 1).
        hops: Links on the network path (0 when the task runs where its data is).
        watts_per_core: Power per busy core.
        watts_per_gpu: Power per busy GPU.
        wh_per_gb_hop: Network energy per GB per hop.

    Returns:
        The metering record.

    Raises:
        MechanismError: a PUE below 1, negative hops, or negative power figures.
    """
    if not pue >= 1.0:
        raise MechanismError(f"PUE {pue} is below 1: a facility cannot use less than its IT load")
    if hops < 0 or min(watts_per_core, watts_per_gpu, wh_per_gb_hop) < 0:
        raise MechanismError("hops and power figures must be non-negative")
    it = it_energy_wh(demand.compute_mcore_h, demand.gpu_mgpu_h, watts_per_core=watts_per_core, watts_per_gpu=watts_per_gpu)
    return Metering(demand, it, it * pue, network_energy_wh(demand.data_mb, hops, wh_per_gb_hop=wh_per_gb_hop))


def meter(task: TaskSpec, model: Meter | None = None, *, pue: float = 1.2, hops: int = 0) -> Metering:
    """Meters a task end to end: demand from ``model`` (analytical by default), then energy.

    Args:
        task: The task.
        model: Any :class:`Meter`; an :class:`AnalyticalMeter` with the default profiles when omitted.
        pue: The data centre's PUE.
        hops: Hops on the network path.

    Returns:
        Demand and energy.

    Raises:
        MechanismError: see the meter's ``demand`` and :func:`energy`.
    """
    return energy((model or AnalyticalMeter()).demand(task), pue=pue, hops=hops)
