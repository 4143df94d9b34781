"""all-MiniLM-L6-v2 without sentence-transformers: the `tokenizers` package and an ONNX Runtime session.

Importing sentence-transformers (and torch, transformers) took 10-45 s per CLI process, for a model
that runs in milliseconds. The network, with sentence-transformers' mean pooling and normalisation
inside the graph, is exported once per weights file into the cache (as the backbone is) and checked
against sentence-transformers to TOLERANCE; after that a query needs neither torch nor transformers.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from nounlens.data.errors import NounlensError
from nounlens.data.paths import cache_dir

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)
TOLERANCE = 1e-4
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHECK_TEXTS = ("okapi", "a red car", "crane: large long-necked wading bird of marshes and plains",
               "Ünïcödé café, 3 naïve résumés!", "dog " * 300)  # the last one is truncated


def onnx_file(digest: str) -> Path:
    return cache_dir() / "onnx" / f"minilm-{digest[:16]}.onnx"


def tokenizer(model_dir: Path):
    """The model's own fast tokenizer, truncating and padding as sentence-transformers does."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch
    return tok


def session(path: Path, threads: int | None = None):
    """An ONNX Runtime session on the exported (already optimised) graph; threads from OMP_NUM_THREADS
    where set (the page sets 1), else all cores. Loading skips graph optimisation and weight prepacking,
    done once at export: 0.27 s instead of 0.43 s per process on 2 busy cores, and no slower to run."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or int(os.environ.get("OMP_NUM_THREADS", 0)) or os.cpu_count() or 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.add_session_config_entry("session.disable_prepacking", "1")
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def optimise(source: Path, target: Path) -> None:
    """Save the graph as ONNX Runtime optimises it for this machine's CPU (fused attention, layer norm)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(target)
    ort.InferenceSession(str(source), opts, providers=["CPUExecutionProvider"])


def run(sess, tok, texts: list[str]) -> np.ndarray:
    """Unit vectors (float32) for one batch of texts."""
    enc = tok.encode_batch(list(texts))
    feeds = {name: np.array([getattr(e, attr) for e in enc], dtype=np.int64)
             for name, attr in zip(INPUTS, ("ids", "attention_mask", "type_ids"), strict=True)}
    return sess.run(None, feeds)[0].astype(np.float32)


def export(model_dir: Path, path: Path) -> float:
    """Export the network with pooling and normalisation, check it against sentence-transformers on
    CHECK_TEXTS, and return the largest difference (set-up time only: needs torch and transformers)."""
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu")
    bert = st[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    tok = tokenizer(model_dir)
    enc = tok.encode_batch(["a red car", "okapi"])
    example = tuple(torch.tensor([getattr(e, a) for e in enc]) for a in ("ids", "attention_mask", "type_ids"))
    axes = {name: {0: "n", 1: "tokens"} for name in INPUTS}
    path.parent.mkdir(parents=True, exist_ok=True)
    raw, tmp = path.with_suffix(f".raw{os.getpid()}"), path.with_suffix(f".tmp{os.getpid()}")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on constants that are constant here
            torch.onnx.export(Pooled(), example, str(raw), input_names=list(INPUTS), output_names=["embedding"],
                              dynamic_axes={**axes, "embedding": {0: "n"}}, opset_version=17, dynamo=False)
        optimise(raw, tmp)
        ref = st.encode(list(CHECK_TEXTS), convert_to_numpy=True, normalize_embeddings=True)
        diff = float(np.abs(run(session(tmp), tok, list(CHECK_TEXTS)) - ref).max())
        if diff > TOLERANCE:
            raise NounlensError(f"ONNX export of all-MiniLM-L6-v2 differs from sentence-transformers by {diff:.2g} "
                                f"(> {TOLERANCE})")
        tmp.replace(path)
    finally:
        raw.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return diff
