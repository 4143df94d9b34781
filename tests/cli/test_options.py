"""Options declared from a config dataclass's fields and the config built back from them (cli.common), the
verbs with sub-commands, and the summary line of a net trained by steps."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

import nounlens.cli.train as cli_train
from nounlens.cli import build_parser, main
from nounlens.cli.common import add_options, config_from
from nounlens.trainer.sr.train import TrainConfig


@dataclass
class Toy:
    out: str
    steps: int = 700
    lr: float = 2e-3
    taps: tuple[int, ...] = (0, 2, 4)
    weights: tuple[float, ...] | None = None
    init: str | None = None
    fast: bool = False
    widths: list[int] = field(default_factory=lambda: [16, 32])
    temperature: float | None = 0.5


def toy_parser(options: dict) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_options(p, Toy, options)
    return p


ALL = {"out": None, "steps": None, "lr": None, "taps": None, "weights": None, "init": None, "fast": None,
       "widths": None, "temperature": {"default": None}}


def test_options_take_type_and_default_from_the_field():
    args = toy_parser(ALL).parse_args(["--out", "o", "--steps", "5", "--lr", "0.5", "--weights", "1", "2"])
    assert (args.steps, args.lr, args.weights, args.fast) == (5, 0.5, [1.0, 2.0], False)
    assert (args.taps, args.widths, args.init) == ([0, 2, 4], [16, 32], None)


def test_a_field_without_a_default_is_a_required_option():
    with pytest.raises(SystemExit):
        toy_parser(ALL).parse_args([])


def test_a_false_bool_field_is_a_switch():
    assert toy_parser(ALL).parse_args(["--out", "o", "--fast"]).fast is True


def test_a_bool_field_true_by_default_cannot_be_a_switch():
    @dataclass
    class On:
        resume: bool = True

    with pytest.raises(TypeError):
        add_options(argparse.ArgumentParser(), On, {"resume": None})


def test_an_entry_overrides_a_field_keyword_and_other_entries_are_plain_options():
    args = toy_parser({"steps": {"type": float}, "name": {"default": "x"}}).parse_args(["--steps", "2.5"])
    assert (args.steps, args.name) == (2.5, "x")


def test_help_writes_the_default_as_by_hand():
    text = toy_parser({"lr": "rate (default {default})", "taps": "blocks (default {default})"}).format_help()
    assert "rate (default 2e-3)" in text and "blocks (default 0 2 4)" in text


def test_the_config_built_back_is_the_dataclass_default():
    assert config_from(Toy, toy_parser(ALL).parse_args(["--out", "o"])) == Toy(out="o")


def test_an_option_left_as_none_keeps_the_field_default_and_tuples_come_back_as_tuples():
    cfg = config_from(Toy, toy_parser(ALL).parse_args(["--out", "o", "--taps", "1", "--weights", "3"]))
    assert (cfg.temperature, cfg.taps, cfg.weights) == (0.5, (1,), (3.0,))


def test_given_values_win_over_the_options():
    assert config_from(Toy, toy_parser(ALL).parse_args(["--out", "o"]), steps=3).steps == 3


def test_train_sr_tap_weights_become_a_tuple():
    args = build_parser().parse_args(["train", "sr", "--data", "d", "--out", "sr.pt", "--tap-weights", "1", "0.5"])
    assert cli_train.sr_config(args).tap_weights == (1.0, 0.5)
    assert isinstance(cli_train.sr_config(args), TrainConfig)


@pytest.mark.parametrize("history, line", [
    ([], "validation PSNR nan dB (bicubic nan)"),
    ([{"val_psnr": 25.0, "bicubic_psnr": 24.5}], "validation PSNR 25.00 dB (bicubic 24.50)"),
])
def test_train_sr_prints_one_summary_line(monkeypatch, capsys, history, line):
    trained = {"steps": 3, "train_photos": 5, "minutes": 0.25, "history": history}
    monkeypatch.setattr(cli_train, "train_sr", lambda cfg, progress, command: trained)
    assert main(["train", "sr", "--data", "d", "--out", "sr.pt"]) == 0
    assert capsys.readouterr().out == f"wrote sr.pt: 3 steps on 5 photos in 0.2 min; {line}\n"


def test_train_style_needs_the_painting(tmp_path, capsys):
    assert main(["train", "style", "--style", str(tmp_path / "none.jpg"), "--data", "d", "--out", "s.pt"]) == 1
    assert "no such painting" in capsys.readouterr().err


def test_a_verb_with_sub_commands_runs_the_one_chosen(monkeypatch):
    help_text, declare, _ = cli_train.MODELS["devise"]
    monkeypatch.setitem(cli_train.MODELS, "devise", (help_text, declare, lambda args: 7 if args.out == "h" else 0))
    assert main(["train", "devise", "--out", "h"]) == 7
