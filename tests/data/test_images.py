"""Decoding that a real photo collection survives; built on scikit-image's real photos."""

import contextlib
import io
import os
import signal

import numpy as np
import pytest
from conftest import fake_png
from PIL import Image

from nounlens.data.demo import skimage_data_dir
from nounlens.data.images import (
    MAX_ASPECT,
    MODEL_SIZE,
    THUMB_SIDE,
    ImageError,
    decode,
    decode_job,
    open_rgb,
    read_and_decode,
)


def chelsea() -> Image.Image:
    return Image.open(skimage_data_dir() / "chelsea.png").convert("RGB")


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()




def check(d, width, height):
    assert d.pixels.shape == (MODEL_SIZE, MODEL_SIZE, 3) and d.pixels.dtype == np.uint8
    assert (d.width, d.height) == (width, height)
    thumb = Image.open(io.BytesIO(d.thumb))
    assert thumb.format == "JPEG" and min(thumb.size) == THUMB_SIDE


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16", "1"])
def test_modes_become_rgb(mode):
    img = chelsea()
    if mode == "I;16":
        img = Image.fromarray(np.asarray(img.convert("L"), dtype=np.uint16) * 257)
        assert img.mode.startswith("I;16")
        data = encoded(img, "PNG")
    elif mode == "CMYK":
        data = encoded(img.convert("CMYK"), "JPEG")
    else:
        data = encoded(img.convert(mode), "PNG" if mode != "P" else "GIF")
    d = decode(data)
    check(d, 451, 300)
    if mode == "I;16":  # 16-bit scaled down, not clipped to white
        assert 40 < d.pixels.mean() < 200


def test_transparent_pixels_go_white():
    img = Image.new("RGBA", (300, 300), (255, 0, 0, 0))
    d = decode(encoded(img, "PNG"))
    assert d.pixels.min() == 255


def test_exif_orientation_turns_the_photo():
    img = chelsea()  # landscape 451x300
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    d = decode(encoded(img, "JPEG", exif=exif))
    check(d, 300, 451)


def test_animated_gif_uses_first_frame():
    frames = [chelsea(), Image.new("RGB", (451, 300), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    d = decode(data)
    check(d, 451, 300)
    assert d.pixels[..., 2].mean() < 200  # not the all-blue second frame


def test_big_jpeg_decodes_in_draft_mode_to_the_same_crop():
    img = chelsea().resize((451 * 8, 300 * 8), Image.Resampling.BICUBIC)
    d = decode(encoded(img, "JPEG", quality=90))
    check(d, 451 * 8, 300 * 8)
    small = decode(encoded(chelsea(), "JPEG", quality=90))
    assert np.abs(d.pixels.astype(int) - small.pixels.astype(int)).mean() < 12


@pytest.mark.parametrize("data, why", [
    (b"", "not an image"),
    (b"this is a text file, not a photo\n" * 10, "not an image"),
    (fake_png(30000, 30000), "decompression-bomb"),
    (fake_png(10000, 10000), "decompression-bomb"),  # Pillow only warns between 1x and 2x the limit
])
def test_bad_bytes_raise_one_line_errors(data, why):
    with pytest.raises(ImageError, match=why) as e:
        decode(data)
    assert "\n" not in str(e.value)


def test_truncated_jpeg_is_an_error():
    data = encoded(chelsea(), "JPEG")
    with pytest.raises(ImageError):
        decode(data[: len(data) // 2])


def test_read_and_decode_hashes_bytes(tmp_path):
    p = tmp_path / "c.jpg"
    p.write_bytes(encoded(chelsea(), "JPEG"))
    h1, _ = read_and_decode(str(p))
    h2, _ = read_and_decode(str(p))
    assert h1 == h2 and len(h1) == 32
    with pytest.raises(ImageError, match="vanished"):
        read_and_decode(str(tmp_path / "gone.jpg"))
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        read_and_decode(str(tmp_path / "empty.jpg"))


@pytest.mark.parametrize("size", [(10000, 1), (1, 10000), (6720, 224)])
def test_extreme_aspect_ratio_decodes_from_its_centre(tmp_path, size):
    path = tmp_path / "strip.png"
    chelsea().resize(size, Image.Resampling.BICUBIC).save(path)  # a valid PNG, once "broken data stream"
    _, digest, d, why = decode_job(str(path))  # the indexer's own entry point
    assert why is None and digest
    check(d, *size)
    thumb = Image.open(io.BytesIO(d.thumb)).size
    assert max(thumb) == THUMB_SIDE * MAX_ASPECT  # the centre of the strip, not 720,000 px wide


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""
    def expire(*_):
        raise TimeoutError(f"still blocked after {seconds} s")
    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("read", [read_and_decode, open_rgb])
def test_fifo_is_refused_before_it_is_opened(tmp_path, read):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(ImageError, match="not a regular file: a FIFO"):
        read(str(fifo))


@pytest.mark.parametrize("read", [read_and_decode, open_rgb])
def test_device_is_refused_before_it_is_read(read):
    with deadline(10), pytest.raises(ImageError, match="not a regular file: a character device"):
        read("/dev/zero")  # read to the end, it never ends


def test_folder_is_refused_as_a_photo(tmp_path):
    with pytest.raises(ImageError, match="not a regular file: a folder"):
        open_rgb(str(tmp_path))
