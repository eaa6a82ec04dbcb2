"""Scenario files: loading, validation messages and --set overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.scenarios import ScenarioError, apply_overrides, builtin_scenarios, load_scenario


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return str(path)


def test_every_builtin_scenario_loads() -> None:
    assert "posted-price" in builtin_scenarios()
    for name in builtin_scenarios():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.steps >= 1


def test_file_scenario_defaults_name_to_stem(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, 'model = "posted-price"\nsteps = 3\n'))
    assert scenario.name == "s"
    assert scenario.params == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('model = "posted-price"\ncolour = 3\n', r"s\.toml: unknown key 'colour'"),
        ("steps = 3\n", r"s\.toml: missing key 'model'"),
        ('model = "nope"\n', r"s\.toml: key 'model': unknown model 'nope'"),
        ('model = "posted-price"\nsteps = 0\n', r"key 'steps': must lie in 1..1,000,000"),
        ('model = "posted-price"\nsteps = "ten"\n', r"key 'steps': expected integer, got string"),
        ('model = "posted-price"\n[params]\nn_users = "many"\n', r"key 'params\.n_users': expected integer, got string"),
        ('model = "posted-price"\n[params]\nn_users = 2.5\n', r"key 'params\.n_users': expected integer, got number"),
        ('model = "posted-price"\n[params]\ncapacity_mcore_h = -5\n', r"key 'params\.capacity_mcore_h': must not be negative"),
        ('model = "posted-price"\n[params]\nwings = 2\n', r"unknown key 'params\.wings' for model 'posted-price'"),
        ('model = "posted-price"\n[params]\nseed = 2\n', r"unknown key 'params\.seed'"),
        ('model = "posted-price"\nsteps = \n', r"s\.toml: not valid TOML"),
    ],
)
def test_bad_files_get_one_line_naming_file_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(write(tmp_path, text))
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_unknown_scenario_name_lists_the_builtins() -> None:
    with pytest.raises(ScenarioError, match=r"unknown scenario 'nope'.*posted-price"):
        load_scenario("nope")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(str(tmp_path / "missing.toml"))


def test_float_parameter_accepts_an_integer(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, 'model = "posted-price"\n[params]\nsurge = 1\n'))
    assert scenario.params["surge"] == 1.0
    assert isinstance(scenario.params["surge"], float)


def test_overrides_dotted_and_short_keys() -> None:
    scenario = load_scenario("posted-price", ["params.n_users=20", "surge=0.25", "steps=7"])
    assert scenario.params["n_users"] == 20
    assert scenario.params["surge"] == 0.25
    assert scenario.steps == 7


def test_override_with_bare_word_is_a_string() -> None:
    data = apply_overrides({"params": {}}, ["strategy=zi-c", "params.label=\"x y\""])
    assert data["params"] == {"strategy": "zi-c", "label": "x y"}


def test_override_does_not_mutate_the_input() -> None:
    data = {"params": {"a": 1}}
    apply_overrides(data, ["a=2"])
    assert data == {"params": {"a": 1}}


@pytest.mark.parametrize("bad", ["n_users", "=3", "steps.x=1"])
def test_bad_overrides(bad: str) -> None:
    with pytest.raises(ScenarioError, match="--set"):
        load_scenario("posted-price", [bad])


def test_override_is_validated_like_the_file() -> None:
    with pytest.raises(ScenarioError, match=r"scenario posted-price: key 'params\.n_users': expected integer, got string"):
        load_scenario("posted-price", ["n_users=lots"])


@pytest.mark.parametrize(
    ("value", "message"),
    [("3", r"expected array of numbers, got integer"), ("[1, -2]", "must not hold negative numbers"), ('[1, "a"]', "expected array")],
)
def test_array_parameters_are_checked(value: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=rf"key 'params\.buyer_values': {message}"):
        load_scenario("smith-1962", [f"buyer_values={value}"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("strategy=zz", r"params\.strategy': unknown strategy 'zz'"),
        ("mechanism=barter", r"params\.mechanism': unknown mechanism 'barter'"),
        ("value_min=500", r"params\.value_min': must not exceed value_max"),
    ],
)
def test_model_specific_checks(override: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario("gode-sunder", [override])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ('link_latency_ms={"zhangjiakou-helinger" = 1.0}', r"link_latency_ms\.zhangjiakou-helinger': 1\.0 ms is below the fibre delay"),
        ('link_latency_ms={"zhangjiakou-atlantis" = 9.0}', r"'zhangjiakou-atlantis' does not name a link"),
        ('link_latency_ms={"zhangjiakou-helinger" = -1.0}', r"must not be negative"),
        ("mechanism=barter", r"unknown energy mechanism 'barter'"),
        ("route_factor=0.9", r"no fibre route is shorter than the great circle"),
        ("outage_per_year=9000", r"outage_per_year': must be in \[0, 8760\]"),
        ("repair_h=-1", r"repair_h': must not be negative"),
        ("idle_share=1.5", r"idle_share': must be in \[0, 1\]"),
        ("inference_share=0.8", r"must not exceed 1"),
    ],
)
def test_east_west_checks(override: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario("east-west", [override])


def test_east_west_accepts_a_measured_latency_above_the_floor() -> None:
    scenario = load_scenario("east-west", ['link_latency_ms={"zhangjiakou-helinger" = 9.5}'])
    assert scenario.params["link_latency_ms"] == {"zhangjiakou-helinger": 9.5}
