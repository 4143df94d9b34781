"""The parser without running a verb: the verb table, option defaults read from the config dataclasses
(so the CLI and the Python API train and restyle alike), and the one-line errors."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from nounlens.cli import VERBS, build_parser
from nounlens.cli.common import defaults, run, shown
from nounlens.cli.style import _gatys_config
from nounlens.cli.train import devise_config, sr_config, style_train_config
from nounlens.data.errors import NounlensError
from nounlens.search.restyle.optimise import GatysConfig
from nounlens.trainer.devise.train import DeviseConfig
from nounlens.trainer.sr.train import TrainConfig
from nounlens.trainer.style.train import StyleTrainConfig


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_the_parser_has_the_verbs_of_the_table_in_its_order():
    verbs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(verbs.choices) == list(VERBS)


def test_train_devise_defaults_are_devise_config_defaults():
    assert devise_config(parse("train", "devise", "--out", "h.npz")) == DeviseConfig()


def test_train_devise_options_named_like_fields_default_to_the_field():
    args = vars(parse("train", "devise", "--out", "h.npz"))
    shared = {k: v for k, v in defaults(DeviseConfig).items() if k in args}
    assert shared == {k: args[k] for k in shared}
    assert set(defaults(DeviseConfig)) - set(shared) == {"val_fraction"}  # the one field without an option


def test_train_sr_defaults_are_train_config_defaults():
    assert sr_config(parse("train", "sr", "--data", "d", "--out", "sr.pt")) == TrainConfig(data=["d"], out="sr.pt")


def test_train_style_defaults_are_style_train_config_defaults():
    args = parse("train", "style", "--style", "p.jpg", "--data", "d", "--out", "s.pt")
    assert style_train_config(args) == StyleTrainConfig(style="p.jpg", data=["d"], out="s.pt")


def test_style_optimisation_defaults_are_gatys_config_defaults():
    args = parse("style", "photo.jpg", "--out", "o.png", "--style", "painting.jpg")
    assert _gatys_config(args, defaults(GatysConfig)["size"]) == GatysConfig()


def test_eval_style_optimises_at_gatys_config_size_and_steps():
    args = parse("eval", "style")
    assert (args.size, args.steps) == (GatysConfig().size, GatysConfig().steps)


def test_an_option_given_overrides_the_dataclass_default():
    args = parse("train", "sr", "--data", "d", "--out", "sr.pt", "--feature-weight", "5e-4", "--res-blocks", "3")
    cfg = sr_config(args)
    assert cfg.feature_weight == 5e-4 and cfg.width["n_res"] == 3


def test_defaults_call_default_factories_and_skip_fields_without_one():
    d = defaults(TrainConfig)
    assert "data" not in d and "out" not in d
    assert d["width"] == TrainConfig(data=[], out="").width


@pytest.mark.parametrize("value, text", [(0.05, "0.05"), (1.0, "1"), (2e-3, "2e-3"), (1e-4, "1e-4"),
                                         ([16, 32, 64], "16 32 64"), ((0, 2, 4), "0 2 4"), ("unit", "unit")])
def test_help_shows_defaults_as_written_by_hand(value, text):
    assert shown(value) == text


def test_building_the_parser_does_not_import_torch():
    code = "import sys; from nounlens.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_python_m_nounlens_prints_the_version():
    out = subprocess.run([sys.executable, "-m", "nounlens", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("nounlens ")


def failing(error: BaseException):
    def handler(args):
        raise error
    return handler


def test_an_error_is_one_line_and_exit_status_1(capsys):
    assert run(failing(NounlensError("no catalogue at x\nmore")), argparse.Namespace(debug=False)) == 1
    assert capsys.readouterr().err == "nounlens: error: no catalogue at x\n"


def test_an_unexpected_error_names_its_type(capsys):
    assert run(failing(ValueError("bad")), argparse.Namespace(debug=False)) == 1
    assert capsys.readouterr().err == "nounlens: error: ValueError: bad\n"


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError):
        run(failing(ValueError("bad")), argparse.Namespace(debug=True))


def test_interrupt_exits_130(capsys):
    assert run(failing(KeyboardInterrupt()), argparse.Namespace(debug=False)) == 130
    assert capsys.readouterr().err == "nounlens: interrupted\n"
