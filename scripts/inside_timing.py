"""How long the page's view inside the network takes, server side (docs/inside.md).

Runs ``digits serve`` on one core (``taskset``, one BLAS thread) with three networks (the book's
[784, 30, 10] trained for one epoch on MNIST, chapter 6's ReLU network
``conv20 conv40 fc100 softmax`` and ``conv20 conv40 fc1000 fc1000 softmax``, both in
float32 with random weights: the time does not depend on what they learned) and
posts 100 different drawings (MNIST test digits drawn as dark ink on a white page,
as PNG) to each route.  The time of each request is the server's own, from the
request's first line to the answer written, as its log line gives it; the medians
are printed.  The drawings are sent from this process, on another core if it can::

    taskset -c 1 python scripts/inside_timing.py --data DIR --core 0
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digits.data.mnist import load_data
from digits.nn.layer_spec import parse_layers
from digits.nn.network import Network
from digits.store import model_file

ROUTES = ["inside", "backprop?label=3", "saliency?digit=3", "neuron?layer=0&neuron=0", "step?label=3&eta=0.1"]
LAYERS = {"relu": "conv20 conv40 fc100 softmax", "relu-fc1000": "conv20 conv40 fc1000 fc1000 softmax"}


def drawn(digit: np.ndarray) -> bytes:
    ink = Image.fromarray(np.round(255 * digit.reshape(28, 28)).astype(np.uint8)).resize((224, 224))
    page = Image.new("L", (280, 280), 0)
    page.paste(ink, (28, 28))
    buffer = io.BytesIO()
    Image.eval(page, lambda value: 255 - value).save(buffer, format="PNG")
    return buffer.getvalue()


def networks(training):
    book = Network([784, 30, 10], seed=0)
    book.SGD(training, 1, 10, 3.0)
    made = {"[784, 30, 10]": book}
    for name, layers in LAYERS.items():
        made[name] = Network(parse_layers(layers, activation="relu"), seed=1, dtype=np.float32)
    return made


def serve(folder, paths, core):
    """``digits serve`` on one core (one BLAS thread), its log in a file: ``(process, port, log)``."""
    log = folder / "log.txt"
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(folder / "out.txt", "wb") as out, open(log, "wb") as err:
        process = subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-m", "digits", "serve",
                                    "--port", "0", "--model", *map(str, paths)],
                                   stdout=out, stderr=err, env=environment)
    for _ in range(600):
        found = re.search(r"Open http://127.0.0.1:([0-9]+)/", (folder / "out.txt").read_text())
        if found:
            return process, int(found.group(1)), log
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the folder of the MNIST files")
    parser.add_argument("--drawings", type=int, default=100)
    parser.add_argument("--core", type=int, default=0, help="the core the server runs on")
    args = parser.parse_args()
    training, _, test = load_data(args.data)
    made = networks(training)
    folder = Path(tempfile.mkdtemp())
    paths = [folder / f"model-{i}.npz" for i in range(len(made))]
    for path, network in zip(paths, made.values()):
        model_file.save(network, path)
    process, port, log = serve(folder, paths, args.core)
    bodies = [drawn(test.inputs[i]) for i in range(args.drawings)]
    try:
        for index, name in enumerate(made):
            for route in ROUTES:
                times = timed(port, log, f"/api/{route}{'&' if '?' in route else '?'}model={index}", bodies)
                print(f"{name:>14}  /api/{route.split('?')[0]:<9} median {statistics.median(times):6.1f} ms"
                      f"  (90th percentile {np.percentile(times, 90):6.1f} ms)", flush=True)
    finally:
        process.terminate()
        process.wait()


def timed(port, log, path, bodies) -> list:
    """The server's own time for each body posted to ``path``, from its log lines."""
    lines_before = len(log.read_text().splitlines())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for body in bodies:
        connection.request("POST", path, body=body)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
    connection.close()
    time.sleep(0.5)
    lines = log.read_text().splitlines()[lines_before:]
    times = [float(match.group(1)) for match in map(re.compile(r" 200 ([0-9.]+) ms").search, lines) if match]
    assert len(times) == len(bodies), (path, len(times))
    return times


if __name__ == "__main__":
    main()
