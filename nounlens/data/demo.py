"""The built-in demo gallery: the real photos scikit-image ships, so the demo needs nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

# scikit-image file -> name in the gallery (photographs only; no synthetic test patterns)
DEMO_PHOTOS = {
    "chelsea.png": "chelsea-the-cat.png",
    "coffee.png": "coffee.png",
    "rocket.jpg": "rocket.jpg",
    "astronaut.png": "astronaut.png",
    "motorcycle_left.png": "motorcycle.png",
    "hubble_deep_field.jpg": "hubble-deep-field.jpg",
    "moon.png": "moon.png",
    "camera.png": "cameraman.png",
    "coins.png": "coins.png",
    "brick.png": "brick-wall.png",
    "grass.png": "grass.png",
    "gravel.png": "gravel.png",
    "retina.jpg": "retina.jpg",
    "ihc.png": "immunohistochemistry.png",
    "page.png": "page-of-text.png",
    "text.png": "text.png",
    "clock_motion.png": "clock.png",
    "horse.png": "horse-silhouette.png",
}

DEMO_QUERIES = ("cat", "espresso", "rocket", "astronaut", "motorcycle", "coin", "okapi")


def skimage_data_dir() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def write_demo_gallery(target: Path) -> Path:
    """Copy the shipped photos (byte for byte) into `target`; existing copies are left alone."""
    source = skimage_data_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name, out in DEMO_PHOTOS.items():
        if (source / name).exists() and not (target / out).exists():
            shutil.copyfile(source / name, target / out)
    return target
