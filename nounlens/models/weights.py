"""Weights files of the small networks (super-resolution, stylizers): one torch file holding the network's
constructor arguments, its weights and the record of how it was trained, so a file rebuilds its own net."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from nounlens.data.errors import NounlensError


def save_net(net: nn.Module, path: str | Path, trained: dict, half: bool = False) -> None:
    """`net.config`, the weights (float16 when `half`: half the size, run in float32) and `trained`,
    written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    state = net.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save({"config": net.config, "state_dict": state, "trained": trained}, tmp)
    tmp.replace(path)


def load_net(path: Path, build: Callable[[dict], nn.Module], what: str, missing: str) -> tuple[nn.Module, dict]:
    """(network in eval mode, float32, how it was trained). NounlensError naming `what` when the file is
    absent (with the hint `missing`) or unreadable."""
    if not path.is_file():
        raise NounlensError(f"no {what} at {path}: {missing}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        net = build(blob["config"])
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    except Exception as e:
        raise NounlensError(f"cannot load {what} {path}: {type(e).__name__}: {e}") from None
    return net.eval(), blob.get("trained", {})
