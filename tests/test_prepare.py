"""Preparing pictures the way MNIST's digits were prepared (digits/app/prepare.py).

Every test draws its own picture (a "0": an ellipse outline, balanced so that its
centre of mass is near its middle), writes it to a real file in one of the formats
people use, and checks that the 28x28 result looks like an MNIST digit: the ink
inside the central 20x20 box, filling it on its longer side, its centre of mass
within a pixel of MNIST's centre, and its strokes about as wide as MNIST's.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digits.system.errors import DigitsError
from digits.app.prepare import (CENTRE, WORKING_SIZE, BlankPictureError, PictureError,
                            centre_of_mass, prepare, prepare_bytes, prepare_file, read_picture,
                            read_picture_bytes, stroke_width)


def zero_on_page(page_size, box, width, ink=0, page=255, mode="L"):
    """A page of ``page_size`` (width, height) with a "0" drawn in ``box`` (left, top, right, bottom)."""
    image = Image.new(mode, page_size, page)
    ImageDraw.Draw(image).ellipse(box, outline=ink, width=width)
    return image


def assert_like_mnist(image):
    """The checks every prepared picture must pass."""
    assert image.shape == (28, 28)
    assert image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1
    assert image.max() > 0.9, "the strokes are bright"
    rows = np.flatnonzero(image.any(axis=1))
    columns = np.flatnonzero(image.any(axis=0))
    assert rows[0] >= 4 and rows[-1] <= 23, f"ink in rows {rows[0]}-{rows[-1]}, outside the central 20x20 box"
    assert columns[0] >= 4 and columns[-1] <= 23, f"ink in columns {columns[0]}-{columns[-1]}"
    assert max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1 >= 19, "the longer side fills the box"
    row, column = centre_of_mass(image)
    assert np.hypot(row - CENTRE, column - CENTRE) <= 1.0, f"centre of mass at ({row:.2f}, {column:.2f})"


def test_a_digit_off_centre_on_a_large_white_page(tmp_path):
    path = tmp_path / "page.png"
    zero_on_page((2400, 1800), (150, 200, 450, 700), width=24).save(path)
    assert_like_mnist(prepare_file(path))


def test_ink_only_in_the_alpha_channel_is_composited_onto_white(tmp_path):
    # Drawing programs save a transparent page: every pixel is black, only alpha differs.
    mask = zero_on_page((300, 300), (60, 40, 200, 260), width=14, ink=255, page=0)
    rgba = Image.new("RGBA", mask.size, (0, 0, 0, 0))
    rgba.putalpha(mask)
    path = tmp_path / "transparent.png"
    rgba.save(path)
    assert_like_mnist(prepare_file(path))


@pytest.mark.parametrize("colour", [(20, 40, 200), (200, 20, 20), (250, 210, 0)],
                         ids=["blue", "red", "yellow"])
def test_coloured_ink_counts_as_fully_as_black(tmp_path, colour):
    path = tmp_path / "coloured.png"
    zero_on_page((400, 400), (100, 60, 260, 340), width=16, ink=colour,
                 page=(255, 255, 255), mode="RGB").save(path)
    prepared = prepare_file(path)
    black = prepare(np.asarray(zero_on_page((400, 400), (100, 60, 260, 340), width=16)))
    assert_like_mnist(prepared)
    assert np.abs(prepared - black).max() < 0.05


def test_a_jpeg_with_its_compression_noise(tmp_path):
    path = tmp_path / "photo.jpg"
    zero_on_page((800, 600), (420, 90, 620, 470), width=20, ink=(30, 30, 30),
                 page=(235, 230, 220), mode="RGB").save(path, quality=60)
    assert_like_mnist(prepare_file(path))


@pytest.mark.parametrize("width", [2, 180], ids=["hairline", "marker"])
def test_thin_and_thick_strokes_come_out_about_as_wide_as_mnist(tmp_path, width):
    # MNIST's strokes: 2.0 pixels wide at the median, 10% below 1.5, 10% above 2.8.
    path = tmp_path / "stroke.png"
    zero_on_page((1000, 1000), (250, 100, 650, 900), width=width).save(path)
    prepared = prepare_file(path)
    assert_like_mnist(prepared)
    assert 1.2 <= stroke_width(prepared) <= 3.2


def test_a_16_bit_grey_picture(tmp_path):
    ring = np.asarray(zero_on_page((300, 300), (80, 30, 220, 270), width=14), dtype=np.uint16)
    deep = ring * 257                     # 0 and 65535: black ink on white
    path = tmp_path / "deep.png"
    Image.fromarray(deep).save(path)
    assert Image.open(path).mode.startswith("I")
    assert_like_mnist(prepare_file(path))


def test_a_palette_picture(tmp_path):
    path = tmp_path / "palette.png"
    zero_on_page((300, 300), (80, 30, 220, 270), width=14, ink=(0, 0, 120),
                 page=(250, 250, 240), mode="RGB").quantize(8).save(path)
    assert Image.open(path).mode == "P"
    assert_like_mnist(prepare_file(path))


def test_a_gif_whose_first_frame_is_the_digit(tmp_path):
    path = tmp_path / "animated.gif"
    first = zero_on_page((300, 300), (80, 30, 220, 270), width=14)
    second = Image.new("L", (300, 300), 255)
    first.save(path, save_all=True, append_images=[second], duration=100)
    assert_like_mnist(prepare_file(path))


def test_a_bmp(tmp_path):
    path = tmp_path / "digit.bmp"
    zero_on_page((300, 200), (20, 10, 120, 190), width=10, mode="RGB",
                 ink=(0, 0, 0), page=(255, 255, 255)).save(path)
    assert_like_mnist(prepare_file(path))


def test_a_small_picture_the_size_of_mnist(tmp_path):
    path = tmp_path / "small.png"
    zero_on_page((28, 28), (9, 5, 19, 23), width=2).save(path)
    assert_like_mnist(prepare_file(path))


def test_light_ink_on_a_dark_page_is_read_the_same_as_dark_on_light():
    dark_on_light = prepare(np.asarray(zero_on_page((300, 300), (80, 30, 220, 270), width=14)))
    chalk = prepare(np.asarray(zero_on_page((300, 300), (80, 30, 220, 270), width=14,
                                            ink=240, page=20)))
    assert np.abs(dark_on_light - chalk).max() < 0.05


def test_an_mnist_digit_comes_through_almost_unchanged(mnist):
    _, _, test = mnist
    digits = test.inputs[:50].reshape(-1, 28, 28)
    prepared = np.stack([prepare(digit) for digit in digits])
    assert np.abs(prepared - digits).mean() < 0.03


def test_a_large_photo_is_reduced_as_it_is_read(tmp_path):
    path = tmp_path / "large.jpg"
    zero_on_page((6000, 4000), (2000, 1000, 3000, 3000), width=80, mode="RGB",
                 ink=(0, 0, 0), page=(255, 255, 255)).save(path, quality=80)
    picture = read_picture(path)
    assert max(picture.shape[:2]) <= WORKING_SIZE
    assert picture.shape[1] > picture.shape[0]       # still landscape
    assert_like_mnist(prepare(picture))


def test_a_photo_is_turned_the_way_the_camera_was_held(tmp_path):
    # EXIF orientation 6: the stored pixels must be turned 90 degrees clockwise to view.
    stored = Image.new("L", (400, 200), 255)          # wide as stored, tall when turned
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "turned.jpg"
    stored.save(path, exif=exif)
    assert read_picture(path).shape[:2] == (400, 200)


# -- from the bytes of a file (the page's uploads) -----------------------------------------

@pytest.mark.parametrize("suffix", ["png", "jpg", "gif", "bmp"])
def test_bytes_read_exactly_as_the_file_they_came_from(tmp_path, suffix):
    path = tmp_path / f"zero.{suffix}"
    zero_on_page((300, 400), (60, 50, 240, 350), width=16).save(path)
    assert np.array_equal(read_picture_bytes(path.read_bytes()), read_picture(path))
    assert np.array_equal(prepare_bytes(path.read_bytes()), prepare_file(path))


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"seven, I think\n", "not a picture (PNG, JPEG, BMP, GIF, TIFF or WebP expected)"),
])
def test_bytes_that_are_no_picture_say_so_without_a_file_name(data, message):
    with pytest.raises(PictureError) as raised:
        prepare_bytes(data)
    assert str(raised.value) == message


def test_truncated_and_blank_bytes(tmp_path):
    path = tmp_path / "cut.png"
    zero_on_page((300, 300), (80, 30, 220, 270), width=14).save(path)
    with pytest.raises(PictureError, match=r"^cannot read the picture \("):
        prepare_bytes(path.read_bytes()[:200])
    Image.new("L", (500, 500), 255).save(path)
    with pytest.raises(BlankPictureError, match="^no ink found: the picture is blank$"):
        prepare_bytes(path.read_bytes())


# -- pictures that cannot be read ------------------------------------------------------

def test_a_missing_file(tmp_path):
    with pytest.raises(PictureError, match="no such file"):
        prepare_file(tmp_path / "nothing.png")


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(PictureError, match="empty"):
        prepare_file(path)


def test_a_file_that_is_not_a_picture(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("seven, I think\n")
    with pytest.raises(PictureError, match="not a picture"):
        prepare_file(path)


def test_a_truncated_picture(tmp_path):
    path = tmp_path / "cut.png"
    zero_on_page((300, 300), (80, 30, 220, 270), width=14).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(PictureError, match="cut.png"):
        prepare_file(path)


def test_a_folder(tmp_path):
    with pytest.raises(PictureError, match="folder"):
        prepare_file(tmp_path)


def test_a_blank_page(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("L", (500, 500), 255).save(path)
    with pytest.raises(BlankPictureError, match="blank.png: no ink"):
        prepare_file(path)


def test_a_blank_page_photographed_with_a_little_noise(tmp_path):
    noise = np.random.default_rng(0).normal(230, 4, size=(400, 600, 3))
    path = tmp_path / "blank.jpg"
    Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8)).save(path, quality=70)
    with pytest.raises(BlankPictureError):
        prepare_file(path)


def test_picture_errors_are_the_errors_the_command_line_reports(tmp_path):
    assert issubclass(PictureError, DigitsError)
    assert issubclass(BlankPictureError, PictureError)


def test_an_array_of_the_wrong_shape_is_refused():
    with pytest.raises(PictureError, match="shape"):
        prepare(np.zeros((10, 10, 2)))
