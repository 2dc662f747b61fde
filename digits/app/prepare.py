"""Turn any picture of a digit into the 28x28 input the network was trained on.

A network trained on MNIST has only ever seen digits prepared the way MNIST's were:
white ink on black, the digit scaled with anti-aliasing to fit a 20x20 box (keeping
its aspect ratio), then placed in a 28x28 frame so that its centre of mass sits at
the centre.  A photo of a 7 written in black pen on white paper looks nothing like
that to the network, so before it is classified every picture goes through the same
steps, one function each:

1. :func:`read_picture` opens the file (one of :data:`FORMATS`: PNG, JPEG, BMP, GIF,
   TIFF, WebP; grey, RGB, palette, 16-bit, float), refuses one whose decoding would
   take more than :data:`MAX_DECODED_BYTES`, reduces a large picture first (a JPEG as it is decoded, others a band
   of rows at a time), and only then composites a transparent background onto
   white, so that reading a picture takes little more memory than its decoded
   pixels.  It returns the picture as an ``(height, width, channels)`` array of
   floats in [0, 1].
2. :func:`ink_on_black` finds the page colour at the picture's border, decides
   whether the ink is darker or lighter than the page, and measures how far each
   pixel is from the page in the ink's direction: ink becomes bright, page black.
   For a colour picture it takes the channel that differs most, so yellow or red
   ink counts as fully as black ink.
3. :func:`normalise_contrast` scales the ink so its strokes are 1, and zeroes the
   faint noise of paper and JPEG compression.
4. :func:`crop_to_ink` cuts the picture down to the ink's bounding box.
5. :func:`even_out_strokes` thickens strokes that would come out much thinner
   than MNIST's (a fine pen on a large page), and thins very heavy ones.
6. :func:`fit_in_box` scales the digit with anti-aliasing so its longer side is 20.
7. :func:`centre_by_mass` places it in a 28x28 frame with its centre of mass at
   MNIST's centre.

:func:`prepare` runs steps 2-7 on a picture; :func:`prepare_file` runs them all on a
file, :func:`prepare_bytes` on the bytes of one (the page's uploads).
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from digits.system.errors import DigitsError
from digits.system.files import shown, special_kind

SIZE = 28              # the network sees 28x28 pixels ...
BOX = 20               # ... with the digit scaled to fit a 20x20 box inside them
# MNIST puts the centre of mass of every digit on pixel (14, 14), counting rows and
# columns from 0 (measured on the test images: mean 13.99, 14.01; spread +-0.5, the
# rounding of a whole-pixel shift).  That is half a pixel below and right of the
# frame's geometric centre, 13.5; the network learned MNIST's convention, so we use it
# (centring on 13.5 instead cost the book's network 3.6 points of accuracy on test
# digits redrawn larger: a sigmoid network is that sensitive to half a pixel).
CENTRE = 14.0
WORKING_SIZE = 512     # larger pictures are reduced to this many pixels on their longer side
MIN_CONTRAST = 0.08    # ink must differ from the page by 8% of black-to-white (about 20 of 255)
NOISE_FLOOR = 0.2      # ink fainter than 20% of the strokes' strength counts as page
# Stroke width, in pixels of the 20x20 box, estimated as 2 x area / perimeter of the
# ink: MNIST's median is 2.0 (10% of digits are below 1.5, 10% above 2.8).
STROKE_WIDTH = 2.0
THIN_STROKE = 1.2      # thinner than this: thicken to STROKE_WIDTH
THICK_STROKE = 3.0     # thicker than this: thin to THINNED_STROKE
THINNED_STROKE = 2.5    # (thresholds chosen on MNIST digits redrawn thinner and thicker)
ORIENTATION = 0x0112   # the EXIF tag that says which way up a photo was taken
# How to turn the stored pixels upright for each EXIF orientation (as ImageOps.exif_transpose).
_TURNS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
          6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_90}
# A picture whose decoding would take more than this is refused before it is decoded.
# The cost is read from the header: the decoded pixels (Pillow keeps 1 byte per pixel
# for grey and palette pictures, 2 for 16-bit grey, and 4 for everything else, RGB
# included: a 16,384 x 16,384 RGBA PNG takes 1 GiB), and for a JPEG whose scans each
# hold part of the picture (progressive ones) also the whole picture's DCT
# coefficients, 2 bytes per pixel and colour channel, which libjpeg keeps at full
# size however small it is asked to decode (a baseline JPEG is decoded at 1/8 of its
# size, streaming, and costs little).
MAX_DECODED_BYTES = 1 << 30
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
BAND_PIXELS = 1 << 20  # large pictures are reduced about a megapixel (4 MB or less) at a time
# The picture formats read, Pillow's name for each -> the name people know it by.  Every
# other kind of file is refused before any decoder sees it (Pillow is asked to try only
# these), and the messages and ``--help`` name this list.
FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "BMP": "BMP", "GIF": "GIF", "TIFF": "TIFF",
           "WEBP": "WebP"}
FORMAT_NAMES = ", ".join(list(FORMATS.values())[:-1]) + " or " + list(FORMATS.values())[-1]
NOT_A_PICTURE = f"not a picture ({FORMAT_NAMES} expected)"
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's "L"


class PictureError(DigitsError):
    """A file that cannot be read as a picture of a digit: missing, empty, not an image."""


class BlankPictureError(PictureError):
    """A picture with no ink on it: a blank page, or a uniform colour."""


# -- 1. reading ----------------------------------------------------------------------

def read_picture(path) -> np.ndarray:
    """Read an image file as an ``(height, width, channels)`` float32 array in [0, 1].

    ``channels`` is 1 for a grey picture and 3 for a colour one; pictures larger than
    :data:`WORKING_SIZE` on their longer side are reduced (JPEGs while they are
    decoded, others as soon as they are), and only then is a transparent background
    composited onto white.  Raises :class:`PictureError` with a one-line reason for a
    missing or empty file, a folder, a file that is not an image Pillow can read, or
    one whose decoded pixels would take more than :data:`MAX_DECODED_BYTES`.
    """
    path = Path(path)
    name = shown(path)
    if not path.exists():
        raise PictureError(f"{name}: no such file")
    kind = special_kind(path)
    if kind is not None:
        raise PictureError(f"{name}: is {kind}, not a picture")
    try:
        if path.stat().st_size == 0:
            raise PictureError("the file is empty")
        return _decode(path)
    except PictureError as error:
        raise PictureError(f"{name}: {error}") from None
    except OSError as error:                 # a file we may not read
        raise PictureError(f"{name}: cannot read the picture ({error.strerror or error})") from None


def read_picture_bytes(data: bytes) -> np.ndarray:
    """:func:`read_picture` for the bytes of a picture file (the page's uploads, say),
    read from memory; its errors name no file."""
    if not data:
        raise PictureError("the file is empty")
    return _decode(io.BytesIO(data))


def _decode(source) -> np.ndarray:
    """Open ``source`` (a path or a binary file object) with Pillow and read it as
    :func:`read_picture` says; raises PictureError with a reason that names no file."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about, and refuses beyond about 179 megapixels, pictures it
            # fears are "decompression bombs", before a JPEG can be asked for a reduced
            # size; picture_from_image checks what will really be decoded instead.
            # Its other warnings (corrupt EXIF data, a tag larger than the file) say that
            # a file is damaged: it is then read, or refused in one line, regardless.
            warnings.simplefilter("ignore")
            with _without_pillows_size_limit():
                image = Image.open(source, formats=list(FORMATS))
            with image:
                return picture_from_image(image)
    except PictureError:
        raise
    except UnidentifiedImageError:
        raise PictureError(NOT_A_PICTURE) from None
    except Image.DecompressionBombError:
        raise PictureError("the picture is too large to read safely") from None
    except MemoryError:
        raise PictureError("not enough memory to read the picture") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        # Truncated or damaged image data, or a file we may not read.
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise PictureError(f"cannot read the picture ({reason})") from None
    except Exception as error:
        # A decoder meeting bytes it did not expect fails in its own ways (struct.error,
        # IndexError, ZeroDivisionError, ...): the file is damaged, whatever the type.
        raise PictureError(f"cannot read the picture (damaged: {type(error).__name__}: "
                           f"{str(error)[:100]})") from None


@contextlib.contextmanager
def _without_pillows_size_limit():
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def picture_from_image(image: Image.Image) -> np.ndarray:
    """A Pillow image (any mode) as an ``(height, width, channels)`` float32 array in [0, 1].

    The same conversion as :func:`read_picture`, for an image already opened.  The
    order of the steps keeps the memory near that of the decoded pixels: a JPEG is
    decoded at 1/2, 1/4 or 1/8 of its size; any picture is reduced band by band in
    its own mode; transparency is flattened and the picture turned upright only at the
    reduced size.
    """
    whole_coefficients, full_size = 0, image.size
    if image.format in ("JPEG", "MPO"):
        whole_coefficients = jpeg_coefficient_bytes(image)
        # Let the JPEG decoder scale down by 2, 4 or 8 as it decodes: cheap and small.
        image.draft(image.mode, (WORKING_SIZE, WORKING_SIZE))
    image.seek(0)              # the first frame of an animated GIF
    _check_decoded_size(image, whole_coefficients, full_size)
    image.load()
    turn = _TURNS.get(image.getexif().get(ORIENTATION, 1))
    white = _white(image)
    image = reduce_picture(image)
    if turn is not None:
        image = image.transpose(turn)      # a phone photo: turn it as the camera was held
    with np.errstate(invalid="ignore", divide="ignore"):   # NaN and infinity are refused next
        array = np.asarray(image, dtype=np.float32) / white
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    _check_finite(array)
    return np.clip(array, 0, 1)


def _check_finite(array: np.ndarray) -> None:
    """Refuse pixels that are not numbers (a floating-point TIFF may hold NaN or infinity)."""
    if not np.isfinite(array).all():
        raise PictureError("the picture's pixels include NaN or infinity, which are no "
                           "shade of grey")


def jpeg_coefficient_bytes(image: Image.Image) -> int:
    """The bytes libjpeg keeps for the whole picture's DCT coefficients while decoding
    ``image`` (an opened JPEG), or 0 when it decodes as a stream.

    A JPEG whose first scan lacks some colour channel, or that is progressive, is
    decoded from a buffer of every coefficient of the picture: 2 bytes per pixel and
    channel, at full size whatever :meth:`~PIL.Image.Image.draft` asks (counted here
    with the blocks' padding, an upper bound).  Read from the headers Pillow has already
    parsed, up to the first scan's.
    """
    width, height = image.size
    channels = getattr(image, "layers", len(image.getbands()))
    progressive = bool(image.info.get("progressive") or image.info.get("progression"))
    if not progressive:
        try:
            position = image.fp.tell()
            image.fp.seek(0)
            headers = image.fp.read(position)
            image.fp.seek(position)
        except (AttributeError, OSError, ValueError):
            return 0
        start = headers.rfind(b"\xff\xda")     # the first scan's header: FF DA, length, count
        if start < 0 or start + 4 >= len(headers) or headers[start + 4] >= channels:
            return 0
    return channels * (width + 15) * (height + 15) * 2


def _check_decoded_size(image: Image.Image, whole_coefficients=0, full_size=None) -> None:
    """Refuse, before decoding, a picture whose decoding would take more than
    MAX_DECODED_BYTES: its pixels, plus ``whole_coefficients`` for a JPEG decoded
    from a buffer of the whole picture (:func:`jpeg_coefficient_bytes`)."""
    width, height = image.size
    size = width * height * _BYTES_PER_PIXEL.get(image.mode, 4) + whole_coefficients
    if size <= MAX_DECODED_BYTES:
        return
    limit = f"more than the {MAX_DECODED_BYTES / 2**30:g} GiB a picture may take here"
    if whole_coefficients:
        full_width, full_height = full_size or image.size
        raise PictureError(
            f"a progressive JPEG of {full_width} x {full_height} pixels is too large to read: "
            f"decoding it would take {size / 2**30:.1f} GiB, {limit}; a baseline "
            f"(non-progressive) JPEG of it would be read in little memory")
    hint = "" if image.format in ("JPEG", "MPO") else \
        "; a JPEG of it would be decoded at 1/8 of its size"
    raise PictureError(
        f"{width} x {height} pixels are too large to read: decoded they would take "
        f"{size / 2**30:.1f} GiB, {limit}{hint}")


def reduce_picture(image: Image.Image) -> Image.Image:
    """The picture as "L", "RGB" or "F", transparency composited onto white, reduced
    with area averaging so that its longer side is at most :data:`WORKING_SIZE`.

    A large picture is reduced a band of rows at a time: each band is converted to a
    mode Pillow can average, resized to its rows of the result (each pixel the mean
    of the area it covers, the bands meeting exactly where the result's rows do), and
    only then composited onto white.  Pillow averages colours weighted by their
    opacity, so flattening after reducing gives the picture flattening first would,
    and no copy of the picture is ever made at its full size.
    """
    grey = image.mode in ("L", "LA", "La", "1")
    mode = _averaging_mode(image)
    width, height = image.size
    if max(width, height) <= WORKING_SIZE:
        return _flatten_transparency(_convert(image, mode), grey)
    scale = WORKING_SIZE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    source_rows = height / size[1]                   # per row of the result
    rows = max(1, int(BAND_PIXELS / (width * source_rows)))
    flat_mode = ("L" if grey else "RGB") if mode == "RGBA" else mode
    reduced = Image.new(flat_mode, size)
    for first in range(0, size[1], rows):
        last = min(first + rows, size[1])
        top, bottom = first * source_rows, last * source_rows
        crop_top, crop_bottom = math.floor(top), min(height, math.ceil(bottom))
        band = _convert(image.crop((0, crop_top, width, crop_bottom)), mode)
        band = band.resize((size[0], last - first), Image.Resampling.BOX,
                           box=(0, top - crop_top, width, bottom - crop_top))
        reduced.paste(_flatten_transparency(band, grey), (0, first))
    return reduced


def _averaging_mode(image: Image.Image) -> str:
    if image.mode.startswith("I") or image.mode == "F":
        return "F"                      # 16- and 32-bit grey
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        return "RGBA"
    return "L" if image.mode in ("L", "1") else "RGB"   # palette, CMYK, YCbCr, ... are colour


def _convert(image: Image.Image, mode: str) -> Image.Image:
    if image.mode == mode:
        return image
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    return image.convert(mode)


def _flatten_transparency(image: Image.Image, grey: bool) -> Image.Image:
    """Composite an "RGBA" picture onto white, as "L" if it was ``grey``; other modes are
    returned as they are."""
    if image.mode != "RGBA":
        return image
    page = Image.new("RGBA", image.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(page, image).convert("RGB")
    return flat.convert("L") if grey else flat


def _white(image: Image.Image) -> float:
    """The value that means white: 255, or for deep grey 65535 (16-bit) or the largest value."""
    if image.mode.startswith("I;16"):
        return 65535.0
    if image.mode == "I":
        return 65535.0 if image.getextrema()[1] > 255 else 255.0
    if image.mode == "F":
        return max(1.0, float(image.getextrema()[1]))
    return 255.0


# -- 2-7. preparing --------------------------------------------------------------------

def prepare(picture) -> np.ndarray:
    """The 28x28 float32 image the network sees, ink 1 on black 0, from any picture.

    ``picture`` is an array from :func:`read_picture` (``(h, w, channels)`` floats
    in [0, 1]), a 2-D grey array (floats in [0, 1] or uint8), or a Pillow image.
    Raises :class:`BlankPictureError` if there is no ink.  Flatten the result with
    ``.reshape(784, 1)`` for :meth:`~digits.nn.network.Network.feedforward`.
    """
    channels = _as_channels(picture)
    ink = normalise_contrast(ink_on_black(channels))
    digit = even_out_strokes(crop_to_ink(ink))
    return centre_by_mass(fit_in_box(digit))


def prepare_file(path) -> np.ndarray:
    """:func:`read_picture` then :func:`prepare`; a blank page names the file."""
    picture = read_picture(path)
    try:
        return prepare(picture)
    except BlankPictureError as error:
        raise BlankPictureError(f"{path}: {error}") from None


def prepare_bytes(data: bytes) -> np.ndarray:
    """:func:`read_picture_bytes` then :func:`prepare`: the 28x28 image from the bytes
    of a picture file, with :func:`prepare_file`'s errors less the file name."""
    return prepare(read_picture_bytes(data))


def _as_channels(picture) -> np.ndarray:
    if isinstance(picture, Image.Image):
        return picture_from_image(picture)
    array = np.asarray(picture)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255
    else:
        array = array.astype(np.float32, copy=False)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or array.shape[2] not in (1, 3) or min(array.shape[:2]) < 1:
        raise PictureError(f"a picture must be (height, width), (height, width, 1) or "
                           f"(height, width, 3), got shape {array.shape}")
    _check_finite(array)
    return array


def ink_on_black(channels: np.ndarray) -> np.ndarray:
    """Ink strength per pixel, ``(h, w)``: 0 where the page is, larger where ink is.

    The page colour is the median of the picture's border pixels.  The ink is dark
    on a light page if the pixels that differ from the page are, in sum, darker
    than it (judged by luminance); then each pixel's ink is how much darker it is
    than the page (the picture is inverted), otherwise how much lighter.  In colour,
    the channel with the largest difference counts, so coloured ink is as strong as
    black ink.
    """
    border = np.concatenate([channels[0], channels[-1], channels[:, 0], channels[:, -1]])
    page = np.median(border, axis=0)
    difference = channels - page
    if channels.shape[2] == 3:
        luminance_difference = difference @ LUMINANCE
    else:
        luminance_difference = difference[:, :, 0]
    darker = np.maximum(-luminance_difference, 0).sum()
    lighter = np.maximum(luminance_difference, 0).sum()
    if darker >= lighter:
        difference = -difference      # dark ink on a light page: invert
    return np.maximum(difference, 0).max(axis=2)


def normalise_contrast(ink: np.ndarray) -> np.ndarray:
    """Scale ``ink`` so its strokes are 1, and set anything fainter than the noise floor to 0.

    The strokes' strength is the median of the pixels at least half as strong as
    the strongest, which a stray dark speck cannot inflate.  Raises
    :class:`BlankPictureError` when nothing differs from the page by more than
    :data:`MIN_CONTRAST`.
    """
    strongest = float(ink.max()) if ink.size else 0.0
    if strongest < MIN_CONTRAST:
        raise BlankPictureError("no ink found: the picture is blank")
    strength = float(np.median(ink[ink >= strongest / 2]))
    return np.clip((ink / strength - NOISE_FLOOR) / (1 - NOISE_FLOOR), 0, 1)


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest rectangle of ``ink`` that holds every non-zero pixel."""
    rows = np.flatnonzero(ink.any(axis=1))
    columns = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise BlankPictureError("no ink found: the picture is blank")
    return ink[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]


def stroke_width(ink: np.ndarray) -> float:
    """The ink's typical stroke width in pixels: 2 x area / perimeter.

    A stroke of width w and length L has area w L and a perimeter of about 2 L.
    Area and perimeter are counted on the ink thresholded at 0.5, the perimeter as
    the number of ink-to-page edges between neighbouring pixels (the same measure
    gives 2.0 pixels for MNIST's median digit).
    """
    solid = np.pad(ink >= 0.5, 1)
    area = int(solid.sum())
    perimeter = (int(np.count_nonzero(solid[1:] != solid[:-1]))
                 + int(np.count_nonzero(solid[:, 1:] != solid[:, :-1])))
    return 2 * area / perimeter if perimeter else 0.0


def even_out_strokes(digit: np.ndarray) -> np.ndarray:
    """Thicken strokes that would be much thinner than MNIST's in the 20x20 box, thin heavy ones.

    A digit drawn with a fine pen on a large page would shrink to faint hairlines,
    and one drawn with a thick marker to a blob; MNIST's strokes are about 2 pixels
    wide in the 20x20 box.  Strokes thinner than :data:`THIN_STROKE` are dilated
    to :data:`STROKE_WIDTH`, strokes thicker than :data:`THICK_STROKE` are eroded
    to :data:`THINNED_STROKE`; everything in between (most of MNIST) is left as
    drawn.  Works on the cropped digit and returns it cropped again.
    """
    width = stroke_width(digit)
    scale = BOX / max(digit.shape)      # crop pixels -> box pixels
    if width == 0:                      # faint ink only: nothing to measure
        return digit
    if width * scale < THIN_STROKE:
        steps = int(round((STROKE_WIDTH / scale - width) / 2))
        if steps > 0:
            return crop_to_ink(_morphology(np.pad(digit, steps), steps, np.maximum))
    elif width * scale > THICK_STROKE:
        steps = int(round((width - THINNED_STROKE / scale) / 2))
        if steps > 0:
            thinned = _morphology(digit, steps, np.minimum)
            if thinned.max() >= 0.5:
                return crop_to_ink(thinned)
    return digit


def _morphology(image: np.ndarray, steps: int, combine) -> np.ndarray:
    """Grow (``np.maximum``) or shrink (``np.minimum``) bright regions by ``steps`` pixels.

    Each step combines every pixel with its 4 neighbours (a "+"); odd steps also use
    the diagonal neighbours (a square).  Alternating the two grows a near-round pen
    (an octagon) instead of a diamond or a square.
    """
    image = image.copy()
    for step in range(steps):
        padded = np.pad(image, 1, mode="edge")
        neighbours = [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]]
        if step % 2:
            neighbours += [padded[:-2, :-2], padded[:-2, 2:], padded[2:, :-2], padded[2:, 2:]]
        for shifted in neighbours:
            combine(image, shifted, out=image)
    return image


def fit_in_box(digit: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale ``digit`` with anti-aliasing so its longer side is ``box`` pixels, keeping its shape.

    Pillow's resampling filters average over every source pixel a target pixel
    covers, so a large digit shrinks smoothly, with grey edges like MNIST's.
    """
    height, width = digit.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(digit.astype(np.float32), mode="F").resize(
        size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """``(row, column)`` of the ink's centre of mass, counting pixels from 0."""
    total = image.sum()
    rows = np.arange(image.shape[0]) @ image.sum(axis=1) / total
    columns = np.arange(image.shape[1]) @ image.sum(axis=0) / total
    return float(rows), float(columns)


def centre_by_mass(digit: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Place ``digit`` in a ``size`` x ``size`` frame with its centre of mass at :data:`CENTRE`.

    The shift is a whole number of pixels, as MNIST's was, so nothing is blurred;
    a half is rounded down, so a symmetric digit 20 pixels tall fills rows 4 to 23,
    the frame's central 20x20 box, with its centre of mass at 13.5.  A very lopsided
    digit is kept whole rather than centred exactly: the shift is limited so that no
    ink falls off the frame.  (Like MNIST's own, a lopsided digit, a 7 heavy at the
    top, leaves the central box: centring the mass matters more to the network.)
    """
    row, column = centre_of_mass(digit)
    height, width = digit.shape
    top = min(max(_round_half_down(CENTRE - row), 0), size - height)
    left = min(max(_round_half_down(CENTRE - column), 0), size - width)
    frame = np.zeros((size, size), dtype=np.float32)
    frame[top:top + height, left:left + width] = digit
    return frame


def _round_half_down(value: float) -> int:
    # A tie is within 0.01 pixel of a half: a symmetric digit's centre of mass comes
    # out a hair off 9.5 in floating point, and should not decide the shift.
    return int(np.ceil(value - 0.5 - 0.01))
