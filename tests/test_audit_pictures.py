"""Pictures that claim more than they are, formats not read here, damaged files: each is
refused in one line (a PictureError), before costing what it claims, and a batch of
``classify`` goes on past them."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest
from PIL import Image, ImageFile

from digits.app import prepare
from digits.app.prepare import (FORMATS, MAX_DECODED_BYTES, NOT_A_PICTURE, PictureError,
                                prepare_bytes, read_picture, read_picture_bytes)
from test_prepare import zero_on_page


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """``jpeg`` with its frame header (SOF0 or SOF2) rewritten to say ``width`` x ``height``."""
    for marker in (b"\xff\xc2", b"\xff\xc0"):
        start = jpeg.find(marker)
        if start >= 0:
            return jpeg[:start + 5] + struct.pack(">HH", height, width) + jpeg[start + 9:]
    raise AssertionError("no frame header")


# -- 3. the cost of a decode is bounded from the header -------------------------------------

def test_a_small_progressive_jpeg_claiming_65500_squared_is_refused_from_its_header(monkeypatch):
    small = encoded(zero_on_page((64, 64), (8, 8, 56, 56), width=4).convert("L"), "JPEG", progressive=True)
    bomb = claiming(small, 65_500, 65_500)
    assert len(bomb) < 2000
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image.size))
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(PictureError) as refused:
            read_picture_bytes(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoded == []                 # the decoder was never asked for the pixels
    assert peak < 10 * 2**20             # the 8 GiB it claims were never allocated
    assert time.monotonic() - started < 30       # (only a guard against a hang)
    message = str(refused.value)
    assert "progressive JPEG of 65500 x 65500 pixels" in message
    assert f"{MAX_DECODED_BYTES / 2**30:g} GiB" in message
    with pytest.raises(PictureError, match="progressive JPEG"):
        prepare_bytes(bomb)                      # the page's uploads go the same way


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_progressive_jpeg_is_refused_when_its_coefficients_pass_the_limit(tmp_path, monkeypatch, mode):
    # A real progressive JPEG of 4000 x 4000 keeps 32 MB (grey) or 96 MB (colour) of
    # coefficients while it is decoded, at any draft size; with the limit at 16 MiB it
    # is refused, and the same picture as a baseline JPEG is read.
    monkeypatch.setattr(prepare, "MAX_DECODED_BYTES", 16 * 2**20)
    picture = zero_on_page((4000, 4000), (500, 500, 3500, 3500), width=200).convert(mode)
    progressive, baseline = tmp_path / "progressive.jpg", tmp_path / "baseline.jpg"
    picture.save(progressive, progressive=True)
    picture.save(baseline)
    with pytest.raises(PictureError, match="more than the 0.015625 GiB a picture may take here"):
        read_picture(progressive)
    assert read_picture(baseline).shape[:2] == (512, 512)


MEASURE = """
import sys
from digits.app.prepare import PictureError, read_picture_bytes
try:
    read_picture_bytes(open(sys.argv[1], "rb").read())
except PictureError as error:
    print(error, file=sys.stderr)
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")))
"""


def test_refusing_a_claimed_size_takes_little_memory(tmp_path):
    small = encoded(zero_on_page((64, 64), (8, 8, 56, 56), width=4), "JPEG", progressive=True)
    path = tmp_path / "bomb.jpg"
    path.write_bytes(claiming(small, 30_000, 30_000))      # 5.4 GB of coefficients claimed
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                            text=True, timeout=60)
    assert "progressive JPEG of 30000 x 30000" in result.stderr
    assert int(result.stdout) < 300 * 2**20


# -- 8. the formats read are one table -------------------------------------------------------------

def test_the_message_names_exactly_the_formats_of_the_table():
    for name in FORMATS.values():
        assert name in NOT_A_PICTURE
    with pytest.raises(PictureError) as refused:
        read_picture_bytes(b"seven, I think\n")
    assert str(refused.value) == NOT_A_PICTURE


def test_classifys_help_names_the_formats_of_the_table():
    result = subprocess.run([sys.executable, "-m", "digits", "classify", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert " ".join(prepare.FORMAT_NAMES.split()) in " ".join(result.stdout.split())


@pytest.mark.parametrize("format", ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"])
def test_each_format_of_the_table_is_read(format):
    picture = zero_on_page((100, 120), (20, 10, 80, 110), width=8)
    assert read_picture_bytes(encoded(picture, format)).shape[:2] == (120, 100)


@pytest.mark.parametrize("format", ["AVIF", "DDS", "ICO", "PPM", "TGA", "PCX", "SGI", "IM", "EPS"])
def test_formats_outside_the_table_are_refused_before_decoding(format, monkeypatch):
    picture = zero_on_page((64, 64), (10, 10, 54, 54), width=6)
    try:
        data = encoded(picture.convert("RGB"), format)
    except (KeyError, OSError, ValueError) as error:
        pytest.skip(f"this Pillow cannot write {format} ({error})")
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(PictureError) as refused:
        read_picture_bytes(data)
    assert str(refused.value) == NOT_A_PICTURE
    assert decoded == []


# -- 5. damaged pictures: one line each, generated ---------------------------------------------

def samples() -> dict:
    """A small picture of a zero in each format Pillow writes here, readable or not."""
    picture = zero_on_page((48, 40), (6, 4, 34, 44), width=4)
    found = {}
    for format, options in [("PNG", {}), ("JPEG", {}), ("JPEG", {"progressive": True}),
                            ("BMP", {}), ("GIF", {}), ("TIFF", {}),
                            ("TIFF", {"compression": "tiff_lzw"}), ("WEBP", {}),
                            ("AVIF", {}), ("DDS", {})]:
        try:
            found["-".join([format, *map(str, options.values())])] = encoded(
                picture.convert("RGB"), format, **options)
        except (KeyError, OSError, ValueError):
            continue
    found["TIFF-float"] = encoded(Image.fromarray(np.asarray(picture, np.float32) / 255, "F"), "TIFF")
    return found


def damaged(data: bytes, seed: int) -> bytes:
    """``data`` with a few bytes changed, cut short, or both, as the seed draws."""
    rng = np.random.default_rng(seed)
    array = np.frombuffer(data, np.uint8).copy()
    kind = seed % 3
    if kind in (0, 2):
        places = rng.integers(0, len(array), size=int(rng.integers(1, 9)))
        array[places] = rng.integers(0, 256, size=len(places))
    if kind in (1, 2):
        array = array[:int(rng.integers(1, len(array)))]
    return array.tobytes()


CASES = [(name, seed) for name in samples() for seed in range(100)]   # seeds 42, 51, 60 of AVIF raised RuntimeError


@pytest.mark.parametrize("name, seed", CASES)
def test_a_damaged_picture_is_read_or_refused_in_one_line(name, seed):
    data = damaged(samples_once()[name], seed)
    try:
        prepare_bytes(data)
    except PictureError as error:
        assert "\n" not in str(error) and str(error)


_samples = None


def samples_once():
    global _samples
    if _samples is None:
        _samples = samples()
    return _samples


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_float_tiff_holding_a_non_number_is_refused_in_one_line(value):
    pixels = np.ones((40, 40), np.float32)
    pixels[10:30, 18:22] = 0
    pixels[0, 0] = value
    with pytest.raises(PictureError, match="NaN or infinity"):
        prepare_bytes(encoded(Image.fromarray(pixels, "F"), "TIFF"))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_an_array_holding_a_non_number_is_refused_by_prepare(value):
    pixels = np.zeros((28, 28), np.float32)
    pixels[5:20, 12:15] = 1
    pixels[3, 3] = value
    with pytest.raises(PictureError, match="NaN or infinity"):
        prepare.prepare(pixels)


def test_a_batch_goes_on_past_bad_pictures_each_with_its_line(tmp_path, trained_network_file):
    good = tmp_path / "good.png"
    zero_on_page((200, 160), (30, 20, 130, 180), width=14).save(good)
    bad = {"nan.tif": nan_tiff(), "cut.png": samples_once()["PNG"][:60],
           "text.png": b"seven, I think\n", **{f"picture.{name.lower()}": samples_once()[name]
                                                for name in ("AVIF", "DDS") if name in samples_once()}}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    bad = [tmp_path / name for name in bad]
    files = [bad[0], good, *bad[1:], good]
    result = subprocess.run([sys.executable, "-m", "digits", "classify", "--json",
                             "--model", str(trained_network_file), *map(str, files)],
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(path) for path in files]
    assert [("digit" in line) for line in lines] == [path == good for path in files]
    assert result.returncode == 1                    # some pictures failed


def nan_tiff() -> bytes:
    pixels = np.ones((40, 40), np.float32)
    pixels[5:35, 18:22] = 0
    pixels[1, 1] = np.nan
    return encoded(Image.fromarray(pixels, "F"), "TIFF")
