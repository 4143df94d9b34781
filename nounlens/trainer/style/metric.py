"""How styled a result is, judged by a network the losses never use: EfficientNet-Lite2.

Style distance: relative Gram distances on Lite2's inner activations at the end of each stage up to
stride 16 (a0, a3, a6 and a10, a14), averaged. Content distance: relative feature distance of block 6's
output (end of the stride-8 stage). The unstyled photo has content distance 0 and some style
distance; a good restyle lowers the style distance far more than it raises the content distance.
Colour distance: sliced Wasserstein-1 distance between the two images' pixel colour distributions
(64 random directions in RGB, grey levels 0-255). The Gram distance alone hardly tells a lightly
restyled photo from a fully restyled one (it scored the optimisation started from the photo as close
to Starry Night as the one started from noise, which is plainly bluer and swirlier); colour does.
"""

from __future__ import annotations

import numpy as np

METRIC_NET = "efficientnet-lite2"
METRIC_STYLE_TAPS = ("a0", "a3", "a6", "a10", "a14")
METRIC_CONTENT_TAP = "b6"


class StyleMetric:
    def __init__(self):
        from nounlens.models.style_losses import StyleLoss

        self.loss = StyleLoss(METRIC_STYLE_TAPS, (1.0,) * len(METRIC_STYLE_TAPS), METRIC_CONTENT_TAP,
                              name=METRIC_NET)

    def __call__(self, result: np.ndarray, photo: np.ndarray, painting: np.ndarray) -> dict[str, float]:
        """uint8 or [0, 1] float images; the painting is used as given (resize it to the result's area)."""
        import torch

        def t(a):
            a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]

        with torch.inference_mode():
            parts = self.loss.parts(t(result), self.loss.content_target(t(photo)),
                                    [(self.loss.style_targets(t(painting)), None)])
        return {"content": round(float(parts["content"][0]), 4), "style": round(float(parts["style"][0]), 4),
                "colour": round(colour_distance(result, painting), 2)}


def colour_distance(a: np.ndarray, b: np.ndarray, directions: int = 64, samples: int = 4096) -> float:
    """Sliced Wasserstein-1 distance between the pixel colours of two images (uint8, or floats in [0, 1]),
    in grey levels (0-255):
    the mean over fixed random unit directions of the distance between the sorted projections."""
    rng = np.random.default_rng(0)
    d = rng.normal(size=(directions, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    pa, pb = (x.reshape(-1, 3).astype(np.float64) * (1.0 if x.dtype == np.uint8 else 255.0) for x in (a, b))
    q = np.linspace(0, 1, samples)
    return float(np.mean([np.abs(np.quantile(pa @ v, q) - np.quantile(pb @ v, q)).mean() for v in d]))
