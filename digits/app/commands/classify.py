"""``digits classify``: read the digit in each of some pictures with a trained network.

Each picture goes through :mod:`digits.app.prepare` (the steps that made MNIST's digits
what they are) and then through the network.  Per picture one line: the digit, the
network's confidence and the next two candidates; or, with ``--json``, one JSON
object per line with the ten raw outputs.

About "confidence": the book's output neurons are sigmoids, each giving a number
between 0 and 1 on its own, so the ten outputs need not add up to 1 and are not
probabilities.  The confidence shown is a digit's share of the ten outputs,
``a_j / sum_k a_k``; a softmax output layer (chapter 3) already sums to 1, so
there it is the output itself.  It says how clearly one neuron wins, not how
often the network is right when it says 90%.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from digits.app.terminal import notice, show
from digits.app.models import DEFAULT_MODEL, load_models
from digits.app.prepare import FORMAT_NAMES
from digits.nn.ensemble import shares, vote
from digits.system.errors import UsageError
from digits.system.files import shown

PREVIEW_LIMIT = 24     # pictures drawn by --preview (one row each); the rest are only printed

CONFIDENCE_HELP = ("confidence is a digit's share of the ten outputs (a_j / sum of a): the "
                   "book's sigmoid outputs do not add up to 1, so they are not probabilities")


def configure(parser):
    parser.epilog = CONFIDENCE_HELP
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                        help=f"pictures of one digit each: {FORMAT_NAMES}, any size, "
                             "dark ink on a light page or light on dark; other files are "
                             "refused before they are decoded")
    parser.add_argument("--model", type=Path, action="append", metavar="PATH",
                        help="the trained network (default: data/network.npz, where `make train` "
                             "saves it); give it several times and the networks vote")
    parser.add_argument("--json", action="store_true",
                        help='one JSON object per picture: {"file", "digit", "scores"}, where '
                             'scores are the ten raw outputs of the network (with several '
                             'networks, one list each, and "votes": each one\'s digit; '
                             '{"file", "error"} for a picture that could not be read)')
    parser.add_argument("--preview", type=Path, metavar="PATH",
                        help="also write a PNG showing each picture (the first "
                             f"{PREVIEW_LIMIT}), the 28x28 image the network sees, and its "
                             "ten outputs")


def reading_line(name: str, outputs: np.ndarray) -> str:
    """One line for one picture: ``seven.png: 7 (confidence 93%; then 1 3%, 9 2%)``."""
    confidence = shares(outputs.reshape(-1, 1))[:, 0]
    ranked = np.argsort(-outputs, kind="stable")
    runners_up = ", ".join(f"{digit} {confidence[digit]:.0%}" for digit in ranked[1:3])
    return f"{name}: {ranked[0]} (confidence {confidence[ranked[0]]:.0%}; then {runners_up})"


def vote_line(name: str, digit: int, columns) -> str:
    """One line for several networks: ``seven.png: 7 (3 of 3 networks; they read 7 7 7)``."""
    answers = [int(column.argmax()) for column in columns]
    agreeing = answers.count(digit)
    return (f"{name}: {digit} ({agreeing} of {len(answers)} networks; they read "
            f"{' '.join(map(str, answers))})")


def run(args) -> int:
    from digits.app.prepare import PictureError, prepare, read_picture

    if args.preview is not None:
        if args.preview.suffix.lower() != ".png":
            raise UsageError(f"--preview must name a .png file, got {args.preview}")
        if not args.preview.parent.is_dir():
            raise UsageError(f"cannot write {args.preview}: the folder "
                             f"{args.preview.parent} does not exist")

    models = load_models(args.model or [DEFAULT_MODEL])

    # Each picture is read, prepared, classified and printed before the next is opened,
    # so memory stays that of one picture however many are given; only the first
    # PREVIEW_LIMIT are kept for --preview.
    previewed = []     # (name, picture, 28x28, outputs) for the preview
    failed = read = 0
    for path in args.images:
        try:
            picture = read_picture(path)
            image = prepare(picture)
        except PictureError as error:
            message = str(error)
            if not message.startswith(f"{shown(path)}:"):
                message = f"{shown(path)}: {message}"
            notice(f"digits classify: {message}")
            if args.json:      # a line for every input, so the lines pair with the files
                show(json.dumps({"file": str(path),
                                  "error": message.removeprefix(f"{shown(path)}: ")}))
            failed += 1
            continue
        read += 1
        columns = [model.network.feedforward(image.reshape(-1, 1))[:, 0] for model in models]
        column = columns[0] if len(columns) == 1 else np.mean([shares(c.reshape(-1, 1))[:, 0]
                                                                for c in columns], axis=0)
        digit = int(vote([c.reshape(-1, 1) for c in columns])[0])
        if args.json:
            answer = {"file": str(path), "digit": digit,
                      "scores": [round(float(score), 6) for score in columns[0]]}
            if len(columns) > 1:
                answer["votes"] = [int(c.argmax()) for c in columns]
                answer["scores"] = [[round(float(score), 6) for score in c] for c in columns]
            show(json.dumps(answer))
        elif len(columns) == 1:
            show(reading_line(shown(path), column))
        else:
            show(vote_line(shown(path), digit, columns))
        if args.preview is not None and len(previewed) < PREVIEW_LIMIT:
            previewed.append((str(path), picture, image, column))

    if args.preview is not None and previewed:
        write_preview(args.preview, previewed)
        if not args.json:
            more = f" (the first {PREVIEW_LIMIT} of {read} pictures)" if read > PREVIEW_LIMIT else ""
            show(f"Wrote the preview to {args.preview}{more}")
    elif args.preview is not None:
        notice("digits classify: no picture could be read, so no preview was written")
    return 1 if failed else 0


def write_preview(path, shown):
    """A PNG with one row per picture: the picture, what the network sees, its outputs.

    ``shown`` holds ``(name, picture, 28x28 image, outputs)`` per picture.
    """
    from matplotlib.figure import Figure

    from digits.system.files import write_atomically

    rows = len(shown)
    figure = Figure(figsize=(9, 2.6 * rows), layout="constrained")
    axes = figure.subplots(rows, 3, squeeze=False, width_ratios=[1, 1, 1.6])
    for (name, picture, image, column), (left, middle, right) in zip(shown, axes):
        share = shares(column.reshape(-1, 1))[:, 0]
        digit = int(column.argmax())
        if picture.shape[2] == 1:
            left.imshow(picture[:, :, 0], cmap="gray", vmin=0, vmax=1)
        else:
            left.imshow(picture)
        left.set_title(Path(name).name, fontsize=9)
        middle.imshow(image, cmap="gray", vmin=0, vmax=1)
        middle.set_title("what the network sees (28x28)", fontsize=9)
        for axis in (left, middle):
            axis.set_xticks([])
            axis.set_yticks([])
        bars = right.bar(range(10), column, color="0.7")
        bars[digit].set_color("tab:blue")
        right.set_xticks(range(10))
        right.set_ylim(0, 1)
        right.set_ylabel("output")
        right.set_title(f"reads {digit} (confidence {share[digit]:.0%})", fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomically(path, buffer.getvalue())
