"""Every training setting of FitConfig reaches every surface, with the config's default.

The cases are generated from the config's fields, so a setting added to FitConfig is
checked at once: ``glai.fit`` must take it, both estimators must have it as a parameter,
and ``glai fit`` must have a flag for it whose value flows into the estimator it builds.
"""

import contextlib
import dataclasses
import io
import typing

import pytest
import torch

import glai
from glai import GLAI, GLAIClassifier, GLAIRegressor
from glai.cli.main import build_estimator, build_parser
from glai.cli.settings import flag, setting_types
from glai.sklearn.estimators import ESTIMATOR_NAMES
from glai.training.config import FitConfig, flat_defaults, flat_fields

FIELDS = list(flat_fields())
NAMES = [item.name for item in FIELDS]
DEFAULTS = flat_defaults()
ESTIMATORS = [GLAIClassifier, GLAIRegressor]
BASE_ARGS = ["fit", "data.npz", "--out", "m.safetensors"]

# valid values that differ from the default where the rule in `other_value` cannot guess one
SAMPLES = {"device": "cpu", "seed": 7, "lr": 0.01, "batch_size": 16, "prune_threshold": 0.05}


def other_value(item: dataclasses.Field):
    """A valid value of the setting that differs from its default."""
    default = DEFAULTS[item.name]
    choices = item.metadata.get("choices")
    if item.name in SAMPLES:
        return SAMPLES[item.name]
    if choices:
        return next(choice for choice in choices if choice != default)
    if isinstance(default, bool):
        return not default
    if isinstance(default, int) and default is not None:
        return default + 1
    if isinstance(default, float):
        return default / 2 if default else 0.01
    pytest.fail(f"no non-default value for setting {item.name!r}: add one to SAMPLES")


@pytest.fixture(scope="module")
def problem():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(48, 8, generator=generator)
    y = (x[:, 0] > 0).long()
    return (x[:32], y[:32]), (x[32:], y[32:])


@pytest.mark.parametrize("item", FIELDS, ids=NAMES)
def test_the_sample_value_is_valid_and_not_the_default(item):
    value = other_value(item)
    assert value != DEFAULTS[item.name], item.name
    assert FitConfig().replace(**{item.name: value}).flat()[item.name] == value


@pytest.mark.parametrize("item", FIELDS, ids=NAMES)
def test_fit_takes_the_setting(item, problem):
    train, val = problem
    quick = {"epochs": 2, "max_structural_epochs": 1, "batch_size": 16, "probe_size": 16}
    settings = {**quick, "solver": "minibatch", item.name: other_value(item)}
    history = glai.fit(GLAI(8, 4, 2), train, val, **settings)
    assert len(history.records) >= 1


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
def test_the_estimator_parameters_are_the_settings(estimator_class):
    expected = {ESTIMATOR_NAMES.get(name, name) for name in NAMES}
    assert set(estimator_class().get_params()) == expected | {"hidden_features"}


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("item", FIELDS, ids=NAMES)
def test_the_estimators_have_the_setting_with_its_default(item, estimator_class):
    name = ESTIMATOR_NAMES.get(item.name, item.name)
    params = estimator_class().get_params()
    assert name in params, f"{estimator_class.__name__} lacks the parameter {name!r}"
    assert params[name] == DEFAULTS[item.name]
    assert type(params[name]) is type(DEFAULTS[item.name])
    value = other_value(item)
    config = estimator_class(**{name: value}).fit_config()
    assert config.flat()[item.name] == value


def command_line(item: dataclasses.Field, value) -> list[str]:
    if isinstance(value, bool):
        return [flag(item.name) if value else "--no-" + flag(item.name)[2:]]
    return [flag(item.name), str(value)]


@pytest.mark.parametrize("item", FIELDS, ids=NAMES)
def test_the_command_has_the_flag_with_its_default(item):
    args = build_parser().parse_args(BASE_ARGS)
    assert getattr(args, item.name) == DEFAULTS[item.name]
    assert type(getattr(args, item.name)) is type(DEFAULTS[item.name])
    value = other_value(item)
    args = build_parser().parse_args([*BASE_ARGS, *command_line(item, value)])
    assert getattr(args, item.name) == value


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("item", FIELDS, ids=NAMES)
def test_the_flag_reaches_the_estimator_the_command_builds(item, task):
    value = other_value(item)
    args = build_parser().parse_args([*BASE_ARGS, *command_line(item, value)])
    estimator = build_estimator(args, task)
    assert estimator.get_params()[ESTIMATOR_NAMES.get(item.name, item.name)] == value
    assert estimator.fit_config().flat()[item.name] == value


NULLABLE = [name for name, hint in setting_types().items() if type(None) in typing.get_args(hint)]


@pytest.mark.parametrize("name", NULLABLE)
def test_a_setting_that_may_be_none_takes_the_word(name):
    args = build_parser().parse_args([*BASE_ARGS, flag(name), "none"])
    assert getattr(args, name) is None
    assert build_estimator(args, "classification").fit_config().flat()[name] is None


def test_the_old_spellings_still_work():
    args = build_parser().parse_args([*BASE_ARGS, "--verbose", "--seed", "3"])
    estimator = build_estimator(args, "classification")
    assert estimator.verbose is True and estimator.random_state == 3
    assert estimator.fit_config().progress is True and estimator.fit_config().seed == 3


def test_a_bad_value_is_refused_with_the_config_message(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([*BASE_ARGS, "--epochs", "0"])
    assert "epochs" in capsys.readouterr().err


@pytest.fixture(scope="module")
def fit_help() -> str:
    """What ``glai fit --help`` prints."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["fit", "--help"])
    assert exit_info.value.code == 0
    return printed.getvalue()


@pytest.mark.parametrize("item", FIELDS, ids=NAMES)
def test_the_cli_help_shows_the_setting(item, fit_help):
    assert flag(item.name) in fit_help
