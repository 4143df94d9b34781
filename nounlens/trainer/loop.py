"""The one training loop that DeViSE, super-resolution and the stylizer share: optimiser steps under
bfloat16 autocast (when asked), the learning rate set per step or by a torch scheduler, a progress bar,
periodic validation into a history, checkpoints every few steps (model, optimiser, scheduler, both
random generators, progress; trainer/checkpoint.py) and resuming from them, and the record of how
weights were made.

`fit` runs it from a config, as super-resolution and the stylizer do: any dataclass with `steps`, `lr`,
`seed`, `threads`, `bf16`, `checkpoint_every`, `eval_every` and `resume`, with a warm-up + cosine
learning rate. DeViSE builds a `Run` and a `Plan` of its own (an epoch is a number of steps).
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np
from tqdm import tqdm

from nounlens.trainer import checkpoint

RUN_ONLY = ("resume", "threads", "checkpoint_every", "eval_every", "steps")  # may change between resumes


def learning_rate(peak: float, steps: int, step: int, warmup: int = 50) -> float:
    """Linear warm-up over `warmup` steps, then cosine down to 5% of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


@dataclass
class Plan:
    """When the loop steps, validates and checkpoints. Validation comes every `eval_every` steps and at
    the last step of a call; checkpoints every `checkpoint_every` steps and at the last of `steps`, so a
    call that `limit` stops early keeps its checkpoint at a whole period."""

    steps: int  # optimiser steps of the whole training
    eval_every: int
    checkpoint_every: int
    lr: Callable[[int], float] | None = None  # each step's learning rate; None: the run's scheduler sets it
    bf16: bool = False
    limit: int | None = None  # at most this many steps in this call (tests)


class Progress(Protocol):
    def update(self, step: int, shown: dict[str, float]) -> None: ...

    def close(self) -> None: ...


class StepBar:
    """One progress bar over every step, with the step's figures beside it."""

    def __init__(self, total: int, initial: int, desc: str, progress: bool = True):
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit="step", disable=not progress)

    def update(self, step: int, shown: dict[str, float]) -> None:
        self.bar.update(1)
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in shown.items()}, refresh=False)

    def close(self) -> None:
        self.bar.close()


class Run:
    """What a killed run needs to go on where it stopped: the network, its optimiser (and scheduler), the
    random generators (numpy's for the batches, torch's), the progress so far ({"step", "seconds",
    "history"}) and the checkpoint file with the settings it must match (less `run_only`)."""

    def __init__(self, net, opt, seed: int, config: dict, ckpt: Path | None = None, sched=None,
                 run_only: tuple[str, ...] = ()):
        self.net, self.opt, self.sched = net, opt, sched
        self.config, self.ckpt, self.run_only = config, ckpt, run_only
        self.rng = np.random.default_rng(seed)
        self.state: dict[str, Any] = {"step": 0, "seconds": 0.0, "history": []}

    def resume(self) -> bool:
        """Load the checkpoint where one exists (NounlensError when its settings differ); True when it did."""
        import torch

        if self.ckpt is None or not self.ckpt.exists():
            return False
        ckpt = checkpoint.load(self.ckpt, self.config, self.run_only)
        self.net.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["opt"])
        if self.sched is not None:
            self.sched.load_state_dict(ckpt["sched"])
        self.rng.bit_generator.state = ckpt["rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        self.state = ckpt["state"]
        return True

    def checkpoint(self) -> None:
        import torch

        blob = {"config": self.config, "model": self.net.state_dict(), "opt": self.opt.state_dict(),
                "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "state": self.state}
        if self.sched is not None:
            blob["sched"] = self.sched.state_dict()
        checkpoint.save(self.ckpt, blob)

    def step(self, plan: Plan, step_loss: Callable) -> dict[str, float]:
        """One optimiser step; step_loss(rng, step) -> (loss tensor, {name: float} to show) draws its batch."""
        import torch

        if plan.lr is not None:
            for g in self.opt.param_groups:
                g["lr"] = plan.lr(self.state["step"])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=plan.bf16):
            loss, shown = step_loss(self.rng, self.state["step"])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        return shown

    def run(self, plan: Plan, step_loss: Callable, validate: Callable[[int], dict] | None = None,
            bar: Progress | None = None, report: Callable[[dict], str] | None = None,
            to: TextIO | None = None) -> dict:
        """Step until `plan.steps` (or `plan.limit` more); validate(step) -> a history row, printed by
        `report` to `to` (stdout when None). Returns the state."""
        state = self.state
        end = plan.steps if plan.limit is None else min(plan.steps, state["step"] + plan.limit)
        self.net.train()
        start = time.perf_counter() - state["seconds"]
        while state["step"] < end:
            shown = self.step(plan, step_loss)
            state["step"] += 1
            state["seconds"] = time.perf_counter() - start
            if bar is not None:
                bar.update(state["step"], shown)
            if validate is not None and (state["step"] % plan.eval_every == 0 or state["step"] == end):
                self.net.eval()
                row = validate(state["step"])
                self.net.train()
                state["history"].append(row)
                if report is not None:
                    tqdm.write(report(row), file=to)
            if self.ckpt is not None and (state["step"] % plan.checkpoint_every == 0 or state["step"] == plan.steps):
                self.checkpoint()
        if bar is not None:
            bar.close()
        return state


def fit(cfg, net, opt, ckpt_path: Path, step_loss: Callable, validate: Callable[[], dict] | None = None,
        desc: str = "train", progress: bool = True, report: Callable[[dict], str] | None = None) -> dict:
    """Run `cfg.steps` optimiser steps with a warm-up + cosine learning rate, resuming from `ckpt_path`
    where it exists (and matches: trainer/checkpoint.py).

    step_loss(rng) -> (loss tensor, {name: float} for the progress bar) draws its own batch;
    validate() -> a row for the history (given "step"), printed by `report`. Returns the state:
    {"step", "seconds", "history"}."""
    run = Run(net, opt, cfg.seed, asdict(cfg), ckpt_path, run_only=RUN_ONLY)
    if cfg.resume and run.resume():
        tqdm.write(f"resumed from {ckpt_path} at step {run.state['step']}")
    plan = Plan(cfg.steps, cfg.eval_every, cfg.checkpoint_every, bf16=cfg.bf16,
                lr=lambda step: learning_rate(cfg.lr, cfg.steps, step))
    row = (lambda step: {"step": step, **validate()}) if validate is not None else None
    bar = StepBar(cfg.steps, run.state["step"], desc, progress)
    return run.run(plan, lambda rng, step: step_loss(rng), row, bar, report)


def record(cfg, state: dict, command: str, data: list[str], **counts) -> dict:
    """How a set of weights was made: command, machine, data, counts, steps, minutes, settings."""
    import torch

    return {"command": command, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "data": [str(Path(d).expanduser()) for d in data], **counts, "steps": state["step"],
            "minutes": round(state["seconds"] / 60, 1), "threads": torch.get_num_threads(),
            "config": {k: v for k, v in asdict(cfg).items() if k not in ("data", "out", "resume")},
            "history": state["history"]}
