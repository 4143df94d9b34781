"""DeViSE heads: a learned map from pooled backbone features into the text space.

Built from small torch blocks for training (trainer.devise); saved as plain arrays in an .npz and run
in numpy at search time, so a search never needs torch for the head. Shapes: "linear" (the paper's
map M) and "mlp" (one hidden ReLU layer). Both start by standardising the features with the training
set's mean and std, which makes one learning rate fit every backbone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.models.text import unit_rows

HEAD_KINDS = ("linear", "mlp")


def build_head(kind: str, in_dim: int, out_dim: int, mean: np.ndarray, std: np.ndarray, hidden: int = 1024,
               dropout: float = 0.0):
    """The torch module: Standardize -> [Dropout] -> Linear, or -> Linear -> ReLU -> Dropout -> Linear."""
    import torch
    from torch import nn

    class Standardize(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

        def forward(self, x):
            return (x - self.mean) / self.std

    if kind == "linear":
        layers = [Standardize(), nn.Dropout(dropout), nn.Linear(in_dim, out_dim)]
    elif kind == "mlp":
        layers = [Standardize(), nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim)]
    else:
        raise NounlensError(f"unknown head {kind!r}; choose one of {', '.join(HEAD_KINDS)}")
    return nn.Sequential(*layers)


def head_arrays(module) -> dict[str, np.ndarray]:
    """The weights the numpy forward needs, from a module made by build_head."""
    arrays = {"mean": module[0].mean.numpy(), "std": module[0].std.numpy()}
    linears = [m for m in module if hasattr(m, "weight")]
    for j, lin in enumerate(linears):
        arrays[f"w{j}"] = lin.weight.detach().numpy().T.astype(np.float32)
        arrays[f"b{j}"] = lin.bias.detach().numpy().astype(np.float32)
    return arrays


@dataclass
class Head:
    """A trained head loaded from its .npz: arrays plus the metadata of how it was trained."""

    arrays: dict[str, np.ndarray]
    meta: dict
    path: Path | None = None

    @property
    def dim(self) -> int:
        return int(self.arrays[f"b{self.layers - 1}"].shape[0])

    @property
    def layers(self) -> int:
        return sum(1 for k in self.arrays if k.startswith("w"))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """float32 (N, 1280) -> unit vectors (N, d); mirrors the torch module in eval mode."""
        x = (np.asarray(features, dtype=np.float32) - self.arrays["mean"]) / self.arrays["std"]
        for j in range(self.layers):
            x = x @ self.arrays[f"w{j}"] + self.arrays[f"b{j}"]
            if j < self.layers - 1:
                x = np.maximum(x, 0.0)
        return unit_rows(x)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        # weight matrices as float16 halve the package (scores move by ~1e-3); the rest stays float32
        np.savez(tmp, meta=np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8),
                 **{k: v.astype(np.float16 if k.startswith("w") else np.float32) for k, v in self.arrays.items()})
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Head:
        path = Path(path)
        if not path.exists():
            raise NounlensError(f"no DeViSE head at {path}")
        try:
            with np.load(path) as z:
                arrays = {k: z[k].astype(np.float32) for k in z.files if k != "meta"}
                meta = json.loads(z["meta"].tobytes().decode())
        except (OSError, ValueError, KeyError) as e:
            raise NounlensError(f"{path} is not a nounlens DeViSE head: {e}") from None
        return cls(arrays, meta, path)
