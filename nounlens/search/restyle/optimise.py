"""Style transfer by optimising the pixels (Gatys, Ecker & Bethge 2016), with the course's tweaks:
the start image (Gaussian-blurred noise, the photo, or plain noise), a weight per style layer,
colour preservation (luminance only, or the painting recoloured to the photo's colours), a mask that
keeps part of the photo unstyled, and two paintings for two masked regions (Gatys et al. 2017).

L-BFGS runs in chunks of 20 iterations with the pixels clipped to [0, 1] between chunks, as the
course did with scipy's fmin_l_bfgs_b; Adam is the alternative.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

from nounlens.data.errors import NounlensError
from nounlens.data.images import ImageError, open_rgb
from nounlens.search.restyle import settings as best
from nounlens.search.restyle.colour import grey, keep_chroma, match_colours, match_luminance
from nounlens.search.restyle.settings import COLOUR_MODES, INITS, MASKS

LBFGS_CHUNK = 20


@dataclass
class GatysConfig:
    size: int = best.SIZE  # long side of the result, in pixels
    steps: int = best.STEPS  # loss evaluations (L-BFGS) or Adam steps
    optimizer: str = "lbfgs"
    lr: float = 1.0  # L-BFGS: 1 with a line search; Adam: about 0.02
    init: str = best.INIT
    colour: str = "none"
    content_weight: float = best.CONTENT_WEIGHT
    style_weight: float = best.STYLE_WEIGHT
    tv_weight: float = best.TV_WEIGHT
    style_taps: tuple[str, ...] = best.STYLE_TAPS
    style_weights: tuple[float, ...] = best.STYLE_WEIGHTS
    content_tap: str = best.CONTENT_TAP
    softmax: float | None = best.SOFTMAX  # Wang et al.'s softmax temperature; None: off
    style_scale: float = 1.0  # painting area / result area: larger paints larger strokes
    seed: int = 0
    threads: int = 0  # 0: all cores
    extra: dict = field(default_factory=dict)


def load_rgb(source: str | Path | bytes | np.ndarray, long_side: int | None = None,
             area: int | None = None) -> np.ndarray:
    """float32 (h, w, 3) in [0, 1], upright, resized (Lanczos) to a long side or to about an area."""
    if isinstance(source, np.ndarray):
        img = Image.fromarray(source if source.dtype == np.uint8 else (np.clip(source, 0, 1) * 255).astype(np.uint8))
    else:
        name = "the uploaded image" if isinstance(source, bytes) else str(source)
        if isinstance(source, str | Path) and not Path(source).expanduser().is_file():
            raise NounlensError(f"no such image: {source}")
        try:
            img = open_rgb(source if isinstance(source, bytes) else str(Path(source).expanduser()), min_side=2048)
        except ImageError as e:
            raise NounlensError(f"cannot use {name}: {e}") from None
    w, h = img.size
    scale = long_side / max(w, h) if long_side else (area / (w * h)) ** 0.5 if area else 1.0
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    if size != img.size:
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0 if scale < 1 else None)
    return np.asarray(img, dtype=np.float32) / 255.0


def make_mask(spec: str | Path | np.ndarray, h: int, w: int, feather: float = 0.02) -> np.ndarray:
    """float32 (h, w) in [0, 1], 1 where the (first) painting applies. `spec`: left, right, top, bottom,
    centre (an ellipse), a greyscale image file (white = styled) or an array; built-in masks are
    feathered over `feather` of the long side."""
    if isinstance(spec, np.ndarray):
        m = spec.astype(np.float32)
        if m.max() > 1:
            m = m / 255.0
        img = Image.fromarray((np.clip(m, 0, 1) * 255).astype(np.uint8))
        return np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), np.float32) / 255.0
    if str(spec) in MASKS:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u, v = (xx + 0.5) / w, (yy + 0.5) / h
        m = {"left": u < 0.5, "right": u >= 0.5, "top": v < 0.5, "bottom": v >= 0.5,
             "centre": ((u - 0.5) / 0.35) ** 2 + ((v - 0.5) / 0.35) ** 2 < 1}[str(spec)].astype(np.float32)
        img = Image.fromarray((m * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(feather * max(h, w)))
        return np.asarray(img, np.float32) / 255.0
    path = Path(spec).expanduser()
    if not path.is_file():
        raise NounlensError(f"--mask {spec}: give {', '.join(MASKS)} or a greyscale image file")
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("L").resize((w, h), Image.Resampling.BILINEAR), np.float32) / 255.0
    except OSError as e:
        raise NounlensError(f"cannot read the mask {path}: {e}") from None


def start_image(init: str, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The pixels the optimisation starts from. "blur": uniform noise blurred by a Gaussian (sigma 2% of
    the long side) and shrunk to +-0.1 around mid-grey: no high-frequency noise for the style loss to
    keep, and no photo for the content loss to start at."""
    h, w = photo.shape[:2]
    if init == "content":
        return photo.copy()
    noise = rng.random((h, w, 3), dtype=np.float32)
    if init == "noise":
        return noise
    if init != "blur":
        raise NounlensError(f"--init {init}: choose one of {', '.join(INITS)}")
    from scipy.ndimage import gaussian_filter

    blurred = gaussian_filter(noise, sigma=(0.02 * max(h, w), 0.02 * max(h, w), 0))
    spread = max(float(np.abs(blurred - blurred.mean()).max()), 1e-6)
    return (0.5 + 0.1 * (blurred - blurred.mean()) / spread).astype(np.float32)


def _tensor(a: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float()


def _image(t) -> np.ndarray:
    return t[0].detach().clamp(0, 1).permute(1, 2, 0).numpy().astype(np.float32)


def to_uint8(a: np.ndarray) -> np.ndarray:
    return (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)


def check(cfg: GatysConfig) -> None:
    if cfg.init not in INITS:
        raise NounlensError(f"--init {cfg.init}: choose one of {', '.join(INITS)}")
    if cfg.colour not in COLOUR_MODES:
        raise NounlensError(f"--colour {cfg.colour}: choose one of {', '.join(COLOUR_MODES)}")
    if cfg.optimizer not in ("lbfgs", "adam"):
        raise NounlensError(f"--optimizer {cfg.optimizer}: choose lbfgs or adam")
    if not 16 <= cfg.size <= 2048 or cfg.steps < 1:
        raise NounlensError("--size must be 16..2048 and --steps at least 1")


def transfer(photo: str | Path | bytes | np.ndarray, style: str | Path | bytes | np.ndarray,
             cfg: GatysConfig | None = None, mask: str | Path | np.ndarray | None = None,
             style2: str | Path | bytes | np.ndarray | None = None, progress: bool = True) -> dict:
    """Restyle `photo` with the painting `style`: {"image": uint8 (h, w, 3), "losses", "seconds", ...}.

    `mask` (1 = styled): without `style2` the rest keeps the photo's pixels; with `style2` the rest is
    painted in the second painting's style."""
    import torch

    from nounlens.models.threads import torch_threads

    cfg = cfg or GatysConfig()
    check(cfg)
    if style2 is not None and mask is None:
        raise NounlensError("two paintings need a --mask saying where each one goes")
    start = time.perf_counter()
    with torch_threads(cfg.threads), flush_denormals():  # the deep layers' tiny gradients: 2-3x slower as denormals
        p, seen, paintings, m = inputs(photo, style, style2, mask, cfg)
        objective = Objective(cfg, seen, paintings, m, two=style2 is not None)
        history = optimise(cfg, objective, progress)
        with torch.no_grad():
            result = _image(objective.compose())
    if cfg.colour == "luminance":
        result = keep_chroma(result, p)
    evals = objective.evals
    return {"image": to_uint8(result), "losses": evals["last"], "start": evals["first"], "evaluations": evals["n"],
            "seconds": round(time.perf_counter() - start, 2), "history": history,
            "config": {k: v for k, v in asdict(cfg).items() if k != "extra"}}


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Denormal floats read as zero inside the block: a loss network's tiny deep gradients make the
    arithmetic 2-3x slower as denormals (here and in training a stylizer)."""
    import torch

    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def inputs(photo, style, style2, mask, cfg: GatysConfig) -> tuple[np.ndarray, np.ndarray, list[np.ndarray],
                                                                   np.ndarray | None]:
    """(the photo at `cfg.size`, the photo as the losses see it (grey for colour "luminance"), the
    paintings at the result's area times `style_scale` (matched to the photo's colours when asked), the
    mask or None)."""
    p = load_rgb(photo, cfg.size)
    h, w = p.shape[:2]
    area = int(h * w * cfg.style_scale)
    paintings = [load_rgb(s, area=area) for s in ([style] if style2 is None else [style, style2])]
    m = make_mask(mask, h, w) if mask is not None else None
    if cfg.colour == "luminance":
        paintings = [match_luminance(s, p) for s in paintings]
        seen = grey(p)
    else:
        if cfg.colour == "histogram":
            paintings = [match_colours(s, p) for s in paintings]
        seen = p
    return p, seen, paintings, m


class Objective:
    """The loss of the free pixels: content against the photo, Gram style against each painting in its
    region (two paintings: the mask and its complement), total variation. Counts its evaluations and
    keeps the first one's figures and the latest's. Without a second painting, the mask keeps the photo's
    own pixels where it is 0."""

    def __init__(self, cfg: GatysConfig, seen: np.ndarray, paintings: list[np.ndarray], m: np.ndarray | None,
                 two: bool):
        import torch

        from nounlens.models.style_losses import StyleLoss

        self.cfg = cfg
        self.loss_fn = loss_fn = StyleLoss(cfg.style_taps, cfg.style_weights, cfg.content_tap, cfg.softmax)
        self.photo = _tensor(seen)
        self.content = loss_fn.content_target(self.photo)
        mask_t = torch.from_numpy(m)[None, None] if m is not None else None
        if two:
            self.regions = [(loss_fn.style_targets(_tensor(paintings[0])), mask_t),
                            (loss_fn.style_targets(_tensor(paintings[1])), 1 - mask_t)]
        else:
            self.regions = [(loss_fn.style_targets(_tensor(paintings[0])), mask_t)]
        rng = np.random.default_rng(cfg.seed)
        self.free = _tensor(start_image(cfg.init, seen, rng)).requires_grad_(True)
        self.keep = mask_t if (mask_t is not None and not two) else None
        self.evals = {"n": 0, "last": {}}

    def compose(self):
        """The picture: the free pixels, or the photo where the mask keeps it."""
        return self.free if self.keep is None else self.keep * self.free + (1 - self.keep) * self.photo

    def __call__(self):
        from nounlens.models.style_losses import total_variation

        cfg, evals = self.cfg, self.evals
        x = self.compose()
        parts = self.loss_fn.parts(x, self.content, self.regions)
        loss = cfg.content_weight * parts["content"].sum() + cfg.style_weight * parts["style"].sum()
        if cfg.tv_weight:
            loss = loss + cfg.tv_weight * total_variation(x).sum()
        evals["n"] += 1
        if evals["n"] == 1:
            evals["first"] = {"total": loss.item(), "content": parts["content"].sum().item(),
                              "style": parts["style"].sum().item()}
        evals["last"] = {"total": loss.item(), "content": parts["content"].sum().item(),
                         "style": parts["style"].sum().item(),
                         "layers": [round(v, 5) for v in parts["layers"][:, 0].tolist()]}
        return loss


def optimise(cfg: GatysConfig, objective: Objective, progress: bool = True) -> list[dict]:
    """Optimise the free pixels for `cfg.steps` loss evaluations: L-BFGS in chunks of LBFGS_CHUNK iterations
    (or Adam steps), the pixels clipped to [0, 1] after each chunk. Returns the figures after each chunk."""
    import torch

    free, evals = objective.free, objective.evals
    bar = tqdm(total=cfg.steps, desc="style (optimising pixels)", unit="eval", disable=not progress)
    history = []
    if cfg.optimizer == "lbfgs":
        opt = torch.optim.LBFGS([free], lr=cfg.lr, max_iter=LBFGS_CHUNK, history_size=50,
                                tolerance_grad=1e-12, tolerance_change=1e-12, line_search_fn="strong_wolfe")
    else:
        opt = torch.optim.Adam([free], lr=cfg.lr)

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = objective()
        loss.backward()
        return loss

    while evals["n"] < cfg.steps:
        n0 = evals["n"]
        if cfg.optimizer == "lbfgs":
            opt.param_groups[0]["max_iter"] = max(1, min(LBFGS_CHUNK, cfg.steps - evals["n"]))
            opt.param_groups[0]["max_eval"] = max(1, cfg.steps - evals["n"])
        opt.step(closure)
        with torch.no_grad():
            free.clamp_(0, 1)
        history.append({"evals": evals["n"], **{k: v for k, v in evals["last"].items() if k != "layers"}})
        bar.update(evals["n"] - n0)
        bar.set_postfix(content=f"{evals['last']['content']:.3f}", style=f"{evals['last']['style']:.4f}",
                        refresh=False)
    bar.close()
    return history
