"""Sweep files: structure checks with one-line errors, treatment planning, sampling and run ids."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.scenarios import ScenarioError, builtin_scenarios
from experiments.sweep import SweepError, builtin_sweeps, load_sweep, parse_sweep, plan_sweep, sample_points

BASE = 'scenario = "posted-price"\nsteps = 3\nseeds = 2\n'


def write(tmp_path: Path, text: str, name: str = "sw.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_grid_is_the_cartesian_product_in_file_order(tmp_path: Path) -> None:
    sweep = load_sweep(write(tmp_path, BASE + "[grid]\nsurge = [0.0, 1.0]\nn_users = [2, 4]\n"))
    assert [t.label for t in sweep.treatments] == [
        "surge=0, n_users=2",
        "surge=0, n_users=4",
        "surge=1, n_users=2",
        "surge=1, n_users=4",
    ]
    assert sweep.grid == ("surge", "n_users") and sweep.sampled == ()
    assert sweep.seeds == (1, 2) and sweep.steps == 3 and sweep.chain == "memory"
    runs = sweep.runs()
    assert len(runs) == 8 and len({r.run_id for r in runs}) == 8
    first = sweep.treatments[0]
    assert first.params["n_suppliers"] == 3  # the model's default is part of the resolved parameters
    assert first.params["surge"] == 0.0 and isinstance(first.params["surge"], float)
    assert first.scenario.params["n_users"] == 2 and first.scenario.params.items() <= first.params.items()


def test_fixed_params_and_scenario_params_reach_every_treatment(tmp_path: Path) -> None:
    sweep = load_sweep(write(tmp_path, BASE + "[params]\nn_suppliers = 5\n[grid]\nn_users = [2, 4]\n"))
    assert all(t.params["n_suppliers"] == 5 for t in sweep.treatments)
    assert all(t.params["max_price_micro"] == 420 for t in sweep.treatments)  # from posted-price.toml
    assert [t.factors for t in sweep.treatments] == [{"n_users": 2}, {"n_users": 4}]


def test_no_grid_is_one_baseline_treatment(tmp_path: Path) -> None:
    sweep = load_sweep(write(tmp_path, BASE))
    assert [t.label for t in sweep.treatments] == ["baseline"]
    assert [r.seed for r in sweep.runs()] == [1, 2]
    assert sweep.name == "sw" and sweep.steps == 3


def test_seed_list_and_command_line_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, 'scenario = "posted-price"\nseeds = [5, 9]\nname = "mine"\n')
    sweep = load_sweep(path)
    assert sweep.seeds == (5, 9) and sweep.name == "mine"
    assert sweep.steps == 720  # the scenario's
    quick = load_sweep(path, steps=7, seeds=3)
    assert quick.seeds == (1, 2, 3) and quick.steps == 7


def test_run_ids_are_deterministic_and_change_with_every_input(tmp_path: Path) -> None:
    text = BASE + "[grid]\nn_users = [2, 4]\n"
    ids = [r.run_id for r in load_sweep(write(tmp_path, text)).runs()]
    assert ids == [r.run_id for r in load_sweep(write(tmp_path, text, "other-name.toml")).runs()]
    treatment = load_sweep(write(tmp_path, text)).treatments[0].treatment_id
    assert ids[:2] == [f"{treatment}-s1", f"{treatment}-s2"]
    for changed in (
        text.replace("steps = 3", "steps = 4"),
        text.replace("seeds = 2", 'seeds = 2\nchain = "eth-tester"'),
        text.replace("[grid]", "[params]\nsurge = 0.25\n[grid]"),
    ):
        other = {r.run_id for r in load_sweep(write(tmp_path, changed, "changed.toml")).runs()}
        assert other.isdisjoint(ids), changed


def test_scenario_file_is_found_next_to_the_sweep_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = tmp_path / "study"
    sub.mkdir()
    (sub / "market.toml").write_text('model = "posted-price"\nsteps = 4\n[params]\nn_users = 3\n')
    path = write(sub, 'scenario = "market.toml"\nseeds = 1\n')
    monkeypatch.chdir(tmp_path)
    sweep = load_sweep(path)
    assert sweep.scenario.name == "market" and sweep.steps == 4
    assert sweep.treatments[0].params["n_users"] == 3


def test_sampled_treatments_are_crossed_with_the_grid(tmp_path: Path) -> None:
    text = BASE + (
        "[grid]\nn_users = [2, 4]\n"
        '[sample]\nn = 3\nseed = 11\nmethod = "lhs"\n'
        "[sample.params]\nsurge = { uniform = [0.1, 0.9] }\nn_suppliers = { integers = [1, 4] }\n"
    )
    sweep = load_sweep(write(tmp_path, text))
    assert len(sweep.treatments) == 6 and sweep.sampled == ("surge", "n_suppliers")
    assert [t.factors["n_users"] for t in sweep.treatments] == [2, 2, 2, 4, 4, 4]
    assert [t.factors["surge"] for t in sweep.treatments[:3]] == [t.factors["surge"] for t in sweep.treatments[3:]]
    assert all(0.1 <= t.params["surge"] < 0.9 and 1 <= t.params["n_suppliers"] <= 4 for t in sweep.treatments)
    assert [t.treatment_id for t in sweep.treatments] == [
        t.treatment_id for t in load_sweep(write(tmp_path, text)).treatments
    ]


def test_coinciding_sampled_points_are_one_treatment(tmp_path: Path) -> None:
    text = BASE + "[sample]\nn = 12\n[sample.params]\nn_users = { choice = [2, 3] }\n"
    sweep = load_sweep(write(tmp_path, text))
    assert sorted(t.params["n_users"] for t in sweep.treatments) == [2, 3]


def test_labels_stay_unique_when_rounding_makes_them_equal(tmp_path: Path) -> None:
    sweep = load_sweep(write(tmp_path, BASE + "[grid]\nsurge = [0.500001, 0.5000011]\n"))
    labels = [t.label for t in sweep.treatments]
    assert labels[0] == "surge=0.5" and labels[1].startswith("surge=0.5 [") and len(set(labels)) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "colour = 1\n", r"sw\.toml: unknown key 'colour'"),
        ("seeds = 2\n", r"sw\.toml: missing key 'scenario'"),
        ('scenario = "posted-price"\n', r"missing key 'seeds'"),
        ('scenario = "posted-price"\nseeds = 0\n', r"key 'seeds': must be at least 1"),
        ('scenario = "posted-price"\nseeds = "ten"\n', r"key 'seeds': expected integer or array, got string"),
        ('scenario = "posted-price"\nseeds = []\n', r"key 'seeds': expected a non-empty array"),
        ('scenario = "posted-price"\nseeds = [1, -2]\n', r"key 'seeds\[1\]': expected a non-negative integer"),
        ('scenario = "posted-price"\nseeds = [3, 3]\n', r"key 'seeds': duplicate seeds"),
        ('scenario = "posted-price"\nseeds = true\n', r"key 'seeds': expected integer or array, got boolean"),
        (BASE.replace("steps = 3", "steps = 0"), r"key 'steps': must be at least 1"),
        (BASE + "[grid]\nsurge = 0.5\n", r"key 'grid\.surge': expected a non-empty array"),
        (BASE + "[grid]\nsurge = []\n", r"key 'grid\.surge': expected a non-empty array"),
        (BASE + "[grid]\nsurge = [0.5, 0.5]\n", r"key 'grid\.surge': duplicate values"),
        (BASE + "[params]\nsurge = 0.5\n[grid]\nsurge = [0.1]\n", r"key 'grid\.surge': also set in \[params\]"),
        (BASE + "[sample]\nn = 2\n", r"missing key 'sample\.params'"),
        (BASE + "[sample.params]\nsurge = { uniform = [0, 1] }\n", r"missing key 'sample\.n'"),
        (BASE + "[sample]\nn = 0\n[sample.params]\nsurge = { uniform = [0, 1] }\n", r"key 'sample\.n': must be at least 1"),
        (BASE + "[sample]\nn = 2\nsize = 3\n", r"unknown key 'sample\.size'"),
        (
            BASE + '[sample]\nn = 2\nmethod = "sobol"\n[sample.params]\nsurge = { uniform = [0, 1] }\n',
            r"key 'sample\.method': expected one of random, lhs",
        ),
        (BASE + "[sample]\nn = 2\n[sample.params]\n", r"key 'sample\.params': expected at least one parameter"),
        (BASE + "[sample]\nn = 2\n[sample.params]\nsurge = 0.5\n", r"key 'sample\.params\.surge': expected one of"),
        (
            BASE + "[sample]\nn = 2\n[sample.params]\nsurge = { normal = [0, 1] }\n",
            r"key 'sample\.params\.surge': expected one of",
        ),
        (BASE + "[sample]\nn = 2\n[sample.params]\nsurge = { uniform = [0, 1], choice = [1] }\n", r"expected one of"),
        (
            BASE + "[sample]\nn = 2\n[sample.params]\nsurge = { uniform = [1] }\n",
            r"key 'sample\.params\.surge\.uniform': expected \[low, high\]",
        ),
        (
            BASE + "[sample]\nn = 2\n[sample.params]\nsurge = { uniform = [] }\n",
            r"key 'sample\.params\.surge\.uniform': expected a non-empty array",
        ),
        (BASE + "[sample]\nn = 2\n[sample.params]\nsurge = { uniform = [2, 1] }\n", r"low must be below high"),
        (BASE + "[sample]\nn = 2\n[sample.params]\nn_users = { integers = [1.5, 3] }\n", r"bounds must be integers"),
        (BASE + "[sample]\nn = 2\n[sample.params]\nsurge = { loguniform = [0, 1] }\n", r"bounds must be positive"),
        (
            BASE + "[grid]\nsurge = [0.1]\n[sample]\nn = 2\n[sample.params]\nsurge = { uniform = [0, 1] }\n",
            r"key 'sample\.params\.surge': also set",
        ),
        ("scenario = \n", r"sw\.toml: not valid TOML"),
    ],
)
def test_bad_sweep_files_get_one_line_naming_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SweepError, match=message) as info:
        load_sweep(write(tmp_path, text))
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "[grid]\nwings = [1, 2]\n", r"sw\.toml: treatment wings=1: unknown key 'params\.wings'"),
        (
            BASE + '[grid]\nn_users = [2, "many"]\n',
            r"treatment n_users=many: key 'params\.n_users': expected integer, got string",
        ),
        (BASE + "[grid]\nsurge = [0.5, -1.0]\n", r"treatment surge=-1: key 'params\.surge': must not be negative"),
        (BASE.replace("posted-price", "nope"), r"unknown scenario 'nope'"),
    ],
)
def test_invalid_treatments_stop_the_sweep_before_any_run(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as info:
        load_sweep(write(tmp_path, text))
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_unknown_files_names_and_overrides(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match=r"unknown sweep 'nope' \(shipped: .*gode-sunder"):
        load_sweep("nope")
    with pytest.raises(SweepError, match=r"missing\.toml: no such file"):
        load_sweep(str(tmp_path / "missing.toml"))
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SweepError, match=r"binary\.toml: cannot read"):
        load_sweep(str(tmp_path / "binary.toml"))
    with pytest.raises(SweepError, match=r"--steps 0: must be at least 1"):
        load_sweep(write(tmp_path, BASE), steps=0)
    with pytest.raises(SweepError, match=r"--seeds 0: must be at least 1"):
        load_sweep(write(tmp_path, BASE), seeds=0)


# The shipped sweeps name scenarios and parameters of the real model (issue 5). Their structure is
# checked always; their treatments are validated against the model once the scenario is built in.
SHIPPED = {
    "mechanisms-east-west": ("east-west", {"mechanism": 4}),
    "carbon-aware": ("east-west", {"carbon_aware": 2, "deadline_flex_h": 4}),
    "gode-sunder": ("gode-sunder", {"strategy": 2}),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_sweeps_are_well_formed(name: str) -> None:
    path = builtin_sweeps()[name]
    data = parse_sweep(tomllib.loads(path.read_text()), str(path))
    scenario, grid = SHIPPED[name]
    assert data["name"] == name and data["scenario"] == scenario
    assert {k: len(v) for k, v in data["grid"].items()} == grid
    assert data["seeds"] >= 8 and data["description"]  # issue 16 asks for 8 seeds


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_sweeps_plan_against_their_scenario(name: str) -> None:
    scenario = SHIPPED[name][0]
    if scenario not in builtin_scenarios():
        pytest.skip(f"scenario {scenario!r} is not built in yet (issue 5)")
    sweep = load_sweep(name)
    assert len(sweep.treatments) == math.prod(SHIPPED[name][1].values())


def test_every_shipped_sweep_is_covered() -> None:
    assert set(builtin_sweeps()) == set(SHIPPED)


def _plan(grid: dict[str, list[Any]]) -> Any:
    return plan_sweep({"scenario": "posted-price", "steps": 2, "seeds": 1, "grid": grid}, "test")


@given(
    users=st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True),
    suppliers=st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True),
)
def test_grid_size_is_the_product_and_every_combination_appears_once(users: list[int], suppliers: list[int]) -> None:
    sweep = _plan({"n_users": users, "n_suppliers": suppliers})
    combos = [(t.params["n_users"], t.params["n_suppliers"]) for t in sweep.treatments]
    assert sorted(combos) == sorted((u, s) for u in users for s in suppliers)
    assert len({t.treatment_id for t in sweep.treatments}) == len(combos)


distributions = st.one_of(
    st.tuples(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6)).map(lambda p: {"uniform": [p[0], p[0] + p[1]]}),
    st.tuples(st.floats(1e-6, 1e3), st.floats(1.001, 1e3)).map(lambda p: {"loguniform": [p[0], p[0] * p[1]]}),
    st.tuples(st.integers(-100, 100), st.integers(0, 50)).map(lambda p: {"integers": [p[0], p[0] + p[1]]}),
    st.lists(st.integers(), min_size=1, max_size=5).map(lambda v: {"choice": v}),
)


def _inside(value: Any, spec: dict[str, list[Any]]) -> bool:
    kind, args = next(iter(spec.items()))
    if kind == "choice":
        return value in args
    if kind == "integers":
        return isinstance(value, int) and args[0] <= value <= args[1]
    return isinstance(value, float) and args[0] <= value <= args[1]


@given(
    specs=st.lists(distributions, min_size=1, max_size=3),
    n=st.integers(1, 20),
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["random", "lhs"]),
)
def test_samples_stay_inside_their_distributions_and_repeat_with_the_seed(
    specs: list[dict[str, list[Any]]], n: int, seed: int, method: str
) -> None:
    spec: dict[str, Any] = {"n": n, "seed": seed, "method": method, "params": {f"p{i}": s for i, s in enumerate(specs)}}
    points = sample_points(spec)
    assert len(points) == n
    assert all(_inside(point[name], s) for point in points for name, s in spec["params"].items())
    assert points == sample_points(spec)


@given(n=st.integers(2, 30), seed=st.integers(0, 1000))
def test_latin_hypercube_puts_one_point_in_each_stratum(n: int, seed: int) -> None:
    points = sample_points({"n": n, "seed": seed, "method": "lhs", "params": {"x": {"uniform": [0.0, 1.0]}}})
    assert sorted(int(p["x"] * n) for p in points) == list(range(n))
