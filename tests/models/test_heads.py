"""DeViSE heads (models/heads.py): the numpy head that search runs against the torch one training
builds, and the head file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nounlens.data.errors import NounlensError
from nounlens.models.heads import Head, build_head, head_arrays


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_numpy_head_matches_torch(kind):
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=16).astype(np.float32), rng.uniform(0.5, 2, 16).astype(np.float32)
    torch.manual_seed(0)
    module = build_head(kind, 16, 5, mean, std, hidden=8, dropout=0.5).eval()
    x = rng.normal(size=(4, 16)).astype(np.float32)
    with torch.no_grad():
        ref = torch.nn.functional.normalize(module(torch.from_numpy(x)), dim=1).numpy()
    head = Head(head_arrays(module), {"kind": kind})
    np.testing.assert_allclose(head(x), ref, atol=1e-5)
    assert head.dim == 5


def test_head_file_round_trip(tmp_path):
    module = build_head("linear", 4, 3, np.zeros(4), np.ones(4))
    path = Head(head_arrays(module), {"encoder": "minilm"}).save(tmp_path / "h.npz")
    loaded = Head.load(path)
    assert loaded.meta == {"encoder": "minilm"}
    np.testing.assert_allclose(loaded.arrays["w0"], module[2].weight.detach().numpy().T, rtol=1e-3, atol=1e-4)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(loaded(x), Head(head_arrays(module), {})(x), atol=2e-3)


def test_a_file_that_is_not_a_head_is_a_one_line_error(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(NounlensError, match="not a nounlens DeViSE head"):
        Head.load(tmp_path / "bad.npz")
