"""The benchmark's parts run on a tiny slice of real photos (skimage's). No timing is asserted; timings
live in docs/benchmarks.md."""

from __future__ import annotations

import pytest
from PIL import Image

from nounlens.bench import embedding
from nounlens.data.demo import skimage_data_dir
from nounlens.models.embed import ModelStack

NAMES = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png", "hubble_deep_field.jpg",
         "camera.png", "retina.jpg"]


@pytest.fixture(scope="module")
def photos() -> list[str]:
    return [str(skimage_data_dir() / n) for n in NAMES]


@pytest.fixture(scope="module")
def models() -> ModelStack:
    m = ModelStack()
    embedding.warm(m)
    return m


@pytest.fixture(scope="module")
def shared_like(tmp_path_factory) -> str:
    """A folder shaped like ../shared/data (imagenet-sample with its two CSVs) holding 8 real photos."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "imagenet-sample"
    folder.mkdir()
    rows = []
    for i, name in enumerate(NAMES):
        img = Image.open(skimage_data_dir() / name).convert("RGB")
        out = f"n{i:08d}_{name.split('.')[0]}.JPEG"
        img.save(folder / out, quality=90)
        rows.append((out, *img.size))
    (folder / "highres_512.csv").write_text("path,width,height\n" + "".join(f"{p},{w},{h}\n" for p, w, h in rows))
    (folder / "labels.csv").write_text("path,wnid,name,in_imagenet1k,class_index\n" + "".join(
        f"{p},n{i:08d},x,1,{i}\n" for i, (p, _, _) in enumerate(rows)))
    return str(root)
