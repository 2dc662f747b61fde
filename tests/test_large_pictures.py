"""Very large pictures: read in about the memory of their decoded pixels, at any size
a JPEG can have, and refused in one line when even that would be too much.

Peak memory is measured in a fresh process (the kernel's high-water mark of its
resident memory, VmHWM, which counts Pillow's own allocations and, unlike
``ru_maxrss``, not the parent's memory at the fork), as the growth from reading a
small picture to reading the large one.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from digits.app.prepare import WORKING_SIZE, PictureError, prepare, prepare_file, read_picture
from test_prepare import assert_like_mnist, zero_on_page

MEASURE = """
import sys
from digits.app.prepare import prepare_file

def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))

prepare_file(sys.argv[1])
before = peak()
prepare_file(sys.argv[2])
print(peak() - before)
"""


def peak_growth(small, large) -> int:
    """Bytes by which reading ``large`` raises a fresh process's peak memory above
    reading ``small``."""
    result = subprocess.run([sys.executable, "-c", MEASURE, str(small), str(large)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def transparent_zero(side):
    """A square RGBA picture, black everywhere, the "0" drawn only in the alpha channel."""
    alpha = Image.new("L", (side, side), 0)
    ImageDraw.Draw(alpha).ellipse((side // 4, side // 8, 3 * side // 4, 7 * side // 8),
                                  outline=255, width=side // 30)
    black = Image.new("L", (side, side), 0)
    return Image.merge("RGBA", (black, black, black, alpha))


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux's /proc")
def test_a_large_transparent_png_takes_little_more_than_its_decoded_pixels(tmp_path):
    side = 4200                                  # 17.6 megapixels, 70.6 MB decoded as RGBA
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    transparent_zero(200).save(small)
    transparent_zero(side).save(large, compress_level=1)
    decoded = side * side * 4
    # Flattening the transparency at full size took four more copies of the pixels.
    assert peak_growth(small, large) < decoded + 40 * 2**20
    assert_like_mnist(prepare_file(large))


def test_a_large_transparent_png_reads_like_the_same_digit_drawn_small(tmp_path):
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    transparent_zero(420).save(small)
    transparent_zero(4200).save(large, compress_level=1)
    assert abs(prepare_file(large) - prepare_file(small)).max() < 0.15


def test_a_jpeg_larger_than_pillows_safety_limit_is_decoded_at_reduced_size(tmp_path, monkeypatch):
    # Pillow refuses more than 2 x MAX_IMAGE_PIXELS (179 megapixels) before a JPEG can
    # be asked for a smaller size; a 200-megapixel phone photo met that limit.  Here
    # the limit is lowered so that a 6-megapixel JPEG stands in for the phone's.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    path = tmp_path / "photo.jpg"
    zero_on_page((3000, 2000), (1200, 500, 1800, 1500), width=40, mode="RGB",
                 ink=(0, 0, 0), page=(255, 255, 255)).save(path, quality=85)
    picture = read_picture(path)
    assert max(picture.shape[:2]) == WORKING_SIZE
    assert_like_mnist(prepare(picture))
    assert Image.MAX_IMAGE_PIXELS == 1_000_000    # Pillow's setting is left as it was


def png_header_only(width, height) -> bytes:
    """A PNG that claims ``width`` x ``height`` RGBA pixels and holds one row of them."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * (1 + 4 * width))) + chunk(b"IEND", b""))


def test_a_picture_whose_pixels_would_not_fit_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(100_000, 100_000))     # 40 GB of pixels, 100 kB of file
    with pytest.raises(PictureError) as raised:
        read_picture(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: 100000 x 100000 pixels are too large to read")
    assert "37.3 GiB" in message and "\n" not in message
