"""Scenario files: loading, validation messages and --set overrides."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ("value_min=500", r"keys 'params\.value_min' and 'params\.value_max': value_min must not exceed value_max \(500 > "),
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


@pytest.mark.parametrize(
    ("params", "key"),
    [("n_users = \"many\"", "params.n_users"), ("colour = 3", "params.colour"), ("capacity_mcore_h = -5", "params.capacity_mcore_h")],
    ids=["wrong type", "unknown key", "negative quantity"],
)
def test_the_cli_gives_one_line_naming_file_and_key_and_exits_2(
    tmp_path: Path, params: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from experiments.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(f'model = "posted-price"\n[params]\n{params}\n')
    assert main(["run", "--scenario", str(path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and f"'{key}'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ('[params]\nn_users = "many"\n', "params.n_users"),
        ("colour = 3\n", "colour"),
        ("[grid]\nn_users = [2, -1]\n", "params.n_users"),
        ("[grid]\nsurge = [0.5, -1.0]\n", "params.surge"),
    ],
    ids=["wrong type", "unknown key", "negative count", "negative quantity"],
)
def test_the_cli_gives_one_line_naming_the_sweep_file_and_key_and_exits_2(
    tmp_path: Path, lines: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from experiments.cli import main

    path = tmp_path / "bad-sweep.toml"
    path.write_text(f'scenario = "posted-price"\nsteps = 2\nseeds = 1\n{lines}')
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and f"'{key}'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("override", "key", "problem"),
    [
        ("n_users=many", "params.n_users", "expected integer, got string 'many'"),
        ("colour=3", "params.colour", "unknown key"),
        ("capacity_mcore_h=-5", "params.capacity_mcore_h", "must not be negative, got -5"),
    ],
    ids=["wrong type", "unknown key", "negative quantity"],
)
def test_the_cli_gives_one_line_naming_the_set_key_and_exits_2(
    tmp_path: Path, override: str, key: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from experiments.cli import main

    argv = ["run", "--scenario", "posted-price", "--set", override, "--out", str(tmp_path / "out"), "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scenario posted-price" in err and f"'{key}'" in err and problem in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_the_parameters_schema_follows_the_models_constructor() -> None:
    """A parameter added to a model's constructor is a scenario key with no list kept by hand."""
    from agents import MODELS
    from experiments.scenarios import model_defaults, params_model

    for model_class in MODELS.values():
        schema = params_model(model_class)
        signature = inspect.signature(model_class.__init__)
        given = {n for n, p in signature.parameters.items() if p.default is not inspect.Parameter.empty} - {"seed", "settler"}
        assert set(schema.model_fields) == given
        assert model_defaults(model_class) == {n: signature.parameters[n].default for n in given}


_TOML_VALUES = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.text(max_size=2)), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=4), st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.text(max_size=2)), max_size=2),
)


@settings(max_examples=150)
@given(data=st.data())
def test_any_value_for_any_key_is_accepted_or_one_line(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(builtin_scenarios())))
    scenario = load_scenario(name)
    from experiments.scenarios import model_defaults, validate

    keys = sorted(model_defaults(scenario.model_class)) + ["not_a_parameter"]
    key = data.draw(st.sampled_from(keys))
    value = data.draw(_TOML_VALUES)
    try:
        checked = validate({"model": scenario.model, "params": {**scenario.params, key: value}}, "f.toml", name)
    except ScenarioError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith("f.toml: ") and f"'params.{key}" in message
    else:
        assert key in checked.params
