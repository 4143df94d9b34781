"""The training loop that super-resolution and the stylizer share: warm-up + cosine learning rate,
bfloat16 autocast, a progress bar, periodic validation, checkpoints every few steps (model, optimiser,
both random generators, history) and resuming from them, and the record of how weights were made.

A config is any dataclass with `steps`, `lr`, `seed`, `threads`, `bf16`, `checkpoint_every`,
`eval_every` and `resume`; a checkpoint only resumes a run whose other settings are the same.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nounlens.data.errors import NounlensError

RUN_ONLY = ("resume", "threads", "checkpoint_every", "eval_every", "steps")  # may change between resumes


def identity(config: dict) -> dict:
    """The settings a checkpoint must share with the run that resumes it."""
    return {k: v for k, v in config.items() if k not in RUN_ONLY}


def learning_rate(peak: float, steps: int, step: int, warmup: int = 50) -> float:
    """Linear warm-up over `warmup` steps, then cosine down to 5% of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def setup(cfg) -> None:
    import torch

    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    torch.manual_seed(cfg.seed)


def fit(cfg, net, opt, ckpt_path: Path, step_loss: Callable, validate: Callable[[], dict] | None = None,
        desc: str = "train", progress: bool = True, report: Callable[[dict], str] | None = None) -> dict:
    """Run `cfg.steps` optimiser steps, resuming from `ckpt_path` where it exists and matches.

    step_loss(rng) -> (loss tensor, {name: float} for the progress bar) draws its own batch;
    validate() -> a row for the history (given "step"), printed by `report`. Returns the state:
    {"step", "seconds", "history"}."""
    import torch

    rng = np.random.default_rng(cfg.seed)
    state = {"step": 0, "seconds": 0.0, "history": []}
    if cfg.resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if identity(ckpt["config"]) != identity(asdict(cfg)):
            raise NounlensError(f"{ckpt_path} was made with other settings; delete it or use --no-resume")
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        rng.bit_generator.state = ckpt["rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        state = ckpt["state"]
        tqdm.write(f"resumed from {ckpt_path} at step {state['step']}")

    def checkpoint() -> None:
        tmp = ckpt_path.with_name(ckpt_path.name + f".tmp{os.getpid()}")
        torch.save({"config": asdict(cfg), "model": net.state_dict(), "opt": opt.state_dict(),
                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "state": state}, tmp)
        tmp.replace(ckpt_path)

    net.train()
    bar = tqdm(total=cfg.steps, initial=state["step"], desc=desc, unit="step", disable=not progress)
    start = time.perf_counter() - state["seconds"]
    while state["step"] < cfg.steps:
        for g in opt.param_groups:
            g["lr"] = learning_rate(cfg.lr, cfg.steps, state["step"])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            loss, shown = step_loss(rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state["step"] += 1
        state["seconds"] = time.perf_counter() - start
        bar.update(1)
        bar.set_postfix({k: f"{v:.4f}" for k, v in shown.items()}, refresh=False)
        if validate is not None and (state["step"] % cfg.eval_every == 0 or state["step"] == cfg.steps):
            net.eval()
            row = {"step": state["step"], **validate()}
            net.train()
            state["history"].append(row)
            if report is not None:
                tqdm.write(report(row))
        if state["step"] % cfg.checkpoint_every == 0 or state["step"] == cfg.steps:
            checkpoint()
    bar.close()
    return state


def record(cfg, state: dict, command: str, data: list[str], **counts) -> dict:
    """How a set of weights was made: command, machine, data, counts, steps, minutes, settings."""
    import torch

    return {"command": command, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "data": [str(Path(d).expanduser()) for d in data], **counts, "steps": state["step"],
            "minutes": round(state["seconds"] / 60, 1), "threads": torch.get_num_threads(),
            "config": {k: v for k, v in asdict(cfg).items() if k not in ("data", "out", "resume")},
            "history": state["history"]}
