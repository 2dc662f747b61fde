"""Does `digits classify` read digits drawn as people draw them as well as MNIST's own?

Takes MNIST test digits and redraws each as a picture a person might make: dark ink
on a light page, 4 to 12 times larger, somewhere off-centre on a page larger than
the digit, saved as PNG or JPEG in grey, RGB or RGBA (a transparent page with the
ink in the alpha channel).  Then runs ``python -m digits classify --json`` on all of
them, exactly as a user would, and compares its accuracy with the same network's
accuracy on the same digits in their original 28x28 form.

    python scripts/redrawn_accuracy.py --model data/network.npz --data data/mnist --count 2000
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from digits.app.cli import ArgumentParser, HelpFormatter
from digits.app.mnist_flags import add_data_arguments, load_mnist
from digits.app.terminal import notice, show

# (mode, file format): every kind of picture is drawn in turn.
KINDS = [("L", "PNG"), ("L", "JPEG"), ("RGB", "PNG"), ("RGB", "JPEG"), ("RGBA", "PNG")]


def redraw(digit: np.ndarray, kind, rng) -> Image.Image:
    """MNIST's ``digit`` (28x28 floats, ink 1) redrawn as a person would: a Pillow image.

    The digit is enlarged 4 to 12 times with bicubic interpolation (smooth strokes,
    as from a pen), inverted to dark ink on a light page of a random light shade,
    and placed at a random spot on a page up to three times its size, with a little
    paper noise.  ``RGB`` pictures use a dark ink colour (black, blue, green, red,
    purple); ``RGBA`` pictures have a fully transparent page whose colour channels
    are black, so only the alpha channel holds the digit.
    """
    mode, _ = kind
    scale = rng.uniform(4, 12)
    side = int(round(28 * scale))
    ink = np.asarray(Image.fromarray(np.round(digit * 255).astype(np.uint8)).resize(
        (side, side), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    page_height = side + int(rng.integers(side // 8, 2 * side))
    page_width = side + int(rng.integers(side // 8, 2 * side))
    top = int(rng.integers(0, page_height - side + 1))
    left = int(rng.integers(0, page_width - side + 1))
    canvas = np.zeros((page_height, page_width), dtype=np.float32)
    canvas[top:top + side, left:left + side] = ink

    if mode == "RGBA":
        alpha = np.round(255 * canvas).astype(np.uint8)
        ink_colour = rng.integers(0, 90, size=3).astype(np.uint8)
        rgba = np.zeros((page_height, page_width, 4), dtype=np.uint8)
        rgba[:, :, :3] = ink_colour * (alpha[:, :, None] > 0)
        rgba[:, :, 3] = alpha
        return Image.fromarray(rgba, mode="RGBA")

    paper = rng.uniform(200, 255)
    noise = rng.normal(0, 3, size=canvas.shape)
    if mode == "L":
        ink_level = rng.uniform(0, 70)
        grey = paper + (ink_level - paper) * canvas + noise
        return Image.fromarray(np.clip(np.round(grey), 0, 255).astype(np.uint8), mode="L")
    ink_colours = np.array([[10, 10, 10], [20, 40, 160], [20, 110, 40], [170, 20, 20], [90, 30, 120]])
    ink_colour = ink_colours[rng.integers(len(ink_colours))]
    paper_colour = paper - rng.uniform(0, 15, size=3)
    rgb = (paper_colour + (ink_colour - paper_colour) * canvas[:, :, None]
           + noise[:, :, None])
    return Image.fromarray(np.clip(np.round(rgb), 0, 255).astype(np.uint8), mode="RGB")


def build_parser():
    parser = ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("data/network.npz"),
                        help="the trained network (make train)")
    add_data_arguments(parser)
    parser.add_argument("--count", type=int, default=2000,
                        help="how many test digits (the first COUNT of the 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the redrawing")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the redrawn pictures in DIR (default: a temporary folder)")
    return parser


def redraw_all(digits, labels, folder, rng) -> tuple:
    """Save each digit redrawn as a picture in ``folder``; ``(paths, kinds)``."""
    paths, kinds = [], []
    for i, digit in enumerate(digits):
        kind = KINDS[i % len(KINDS)]
        path = folder / f"{i:05d}-label{labels[i]}-{kind[0]}.{kind[1].lower()}"
        redraw(digit.reshape(28, 28), kind, rng).save(       # (784,) -> (28, 28)
            path, format=kind[1], **({"quality": int(rng.integers(75, 96))}
                                     if kind[1] == "JPEG" else {}))
        paths.append(path)
        kinds.append(kind)
    return paths, kinds


def classify(model, paths):
    """The digit ``digits classify`` reads in each picture, or None (said) if it failed."""
    result = subprocess.run(
        [sys.executable, "-m", "digits", "classify", "--json", "--model", str(model),
         *map(str, paths)], capture_output=True, text=True)
    if result.returncode != 0:
        notice(f"redrawn_accuracy: classify failed ({result.returncode}): {result.stderr.strip()}")
        return None
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["file"] for answer in answers] == list(map(str, paths))
    return np.array([answer["digit"] for answer in answers])


def show_results(args, network, sizes, original, redrawn, kinds):
    by_kind = defaultdict(list)
    for kind, correct in zip(kinds, redrawn):
        by_kind[kind].append(correct)
    sides = [max(size) for size in sizes]
    show(f"{args.count} MNIST test digits, network {args.model} ({network.sizes})")
    show(f"  pictures of {min(sides)} to {max(sides)} pixels on the longer side "
         f"(first 200 measured)")
    show(f"  original 28x28:   {original.sum()} / {args.count} = {100 * original.mean():.2f}%")
    show(f"  redrawn+classify: {redrawn.sum()} / {args.count} = {100 * redrawn.mean():.2f}%")
    show(f"  difference:       {100 * (redrawn.mean() - original.mean()):+.2f} percentage points")
    for kind in KINDS:
        results = np.array(by_kind[kind])
        show(f"    {kind[0]:>4} {kind[1]:<4}: {100 * results.mean():.2f}% of {len(results)}")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 10000:
        parser.error(f"--count must be between 1 and 10000, got {args.count}")

    from digits.store import model_file
    from digits.system.errors import DigitsError

    try:
        network, _ = model_file.load(args.model)
        _, _, test = load_mnist(args)
    except DigitsError as error:
        notice(f"redrawn_accuracy: error: {error}")
        return 1
    digits = test.inputs[:args.count]
    labels = test.labels[:args.count]
    outputs = network.feedforward(digits.T.astype(network.dtype))        # (10, count)
    original = outputs.argmax(axis=0) == labels
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        paths, kinds = redraw_all(digits, labels, folder, np.random.default_rng(args.seed))
        sizes = [Image.open(path).size for path in paths[:200]]
        answers = classify(args.model, paths)
    if answers is None:
        return 1
    show_results(args, network, sizes, original, answers == labels, kinds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
