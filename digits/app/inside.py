"""The API of the page's "inside the network" view: every layer, one neuron, backpropagation.

Each route takes the same body as ``POST /api/classify`` (a picture file, prepared by
the same code, within the same limits) and answers in JSON, computed by
:mod:`digits.nn.inspect`, that is by the forward and backward passes training runs:

``POST /api/inside``
    ``{"digit", "image", "outputs", "layers": [{"kind", "activation", "shape", "z", "a"}]}``:
    every layer's weighted inputs and activations in its output shape (``[n]``, or
    ``[maps, height, width]`` for a conv-pool layer, which also gives ``filters``, each
    map's filter summed over its input maps); the input layer is not included.
``POST /api/neuron?layer=L&neuron=J`` (``&position=ROW,COLUMN`` for a feature map)
    one neuron's arithmetic: its weights (``[28, 28]`` for a first fully connected layer,
    ``[channels, k, k]`` for a filter, else a strip), its bias, z and a, and the
    ``largest`` products w_j a_j.
``POST /api/backprop?label=N`` (``&neuron=J``: the first-layer neuron whose ∂C/∂w to draw)
    ``{"label", "cost", "layers": [{"delta", "nabla_b", "nabla_w_norm", ...}], "nabla_w_neuron"}``.
``POST /api/saliency?digit=N``
    ``{"digit", "occlusion", "gradient"}``: two 28x28 maps of how much each pixel mattered.
``POST /api/step?label=N&eta=E``
    one step of gradient descent on this picture, taken by this page's own copy of the
    network: ``{"page", "steps", "before", "after", ...}``.  The page sends ``page=`` with
    every later request to see its copy; ``POST /api/reset?page=T`` forgets it.

All take ``model=K`` (0, 1, ...) to choose among several ``--model``s.  The copies are
bounded (:class:`PageCopies`): at most :data:`MAX_COPIES` at once, each forgotten after
:data:`MAX_IDLE_SECONDS` unused, and at most :data:`MAX_COPY_BYTES` of weights in all;
the least recently used goes first.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from urllib.parse import parse_qs

import numpy as np

from digits.app.http import Refusal
from digits.nn import inspect

MAX_COPIES = 32                   # pages' copies of networks held at once
MAX_IDLE_SECONDS = 15 * 60        # a copy unused this long is forgotten
MAX_COPY_BYTES = 256_000_000      # weights and biases of all the copies together
LARGEST = 8                       # products w_j a_j named in a neuron's arithmetic
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")

ROUTES = ("/api/inside", "/api/neuron", "/api/backprop", "/api/saliency", "/api/step", "/api/reset")
# The routes that read a picture (reset needs none).
PICTURE_ROUTES = ROUTES[:-1]


# -- the numbers, as JSON ------------------------------------------------------------------

def numbers(array, digits=6):
    """Nested lists of ``array``'s numbers rounded to ``digits`` significant digits
    (None for a number that is not finite, which JSON cannot hold)."""
    array = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    magnitude = np.floor(np.log10(np.abs(array), out=np.zeros_like(array), where=finite & (array != 0)))
    scale = 10.0 ** (digits - 1 - magnitude)
    rounded = np.round(array * scale) / scale
    if finite.all():
        return rounded.tolist()
    return np.where(finite, rounded, None).tolist()


def layers_json(network, layers) -> list:
    """``/api/inside``'s layers: kind, activation, shape, z and a (and a conv layer's filters)."""
    shown = []
    for layer, seen in zip(network.layers, layers):
        entry = {"kind": seen.kind, "activation": seen.activation, "shape": list(seen.shape),
                 "z": numbers(seen.z), "a": numbers(seen.a)}
        if seen.kind == "conv_pool":
            entry["filters"] = numbers(np.asarray(layer.weights, np.float64).sum(axis=1))
        shown.append(entry)
    return shown


def weights_picture(network, layer_index, weights):
    """A neuron's weights as a picture: 28x28 for the first fully connected layer, the
    maps' shape after a conv-pool layer, a filter as it is, else a strip."""
    layer = network.layers[layer_index]
    if weights.ndim > 1:
        return weights                                   # a filter, (channels, k, k)
    if layer_index == 0:
        side = int(round(np.sqrt(weights.size)))
        return weights.reshape(side, side) if side * side == weights.size else weights
    if len(layer.input_shape) == 3:
        return weights.reshape(layer.input_shape)
    return weights


def largest_products(arithmetic, count=LARGEST) -> list:
    """The ``count`` products w_j a_j of largest size, each with where its input is."""
    products = arithmetic["products"]
    flat = products.reshape(-1)
    order = np.argsort(-np.abs(flat), kind="stable")[:count]
    return [{"input": [int(i) for i in np.unravel_index(j, products.shape)] if products.ndim > 1 else int(j),
             "weight": numbers(arithmetic["weights"].reshape(-1)[j]),
             "activation": numbers(arithmetic["inputs"].reshape(-1)[j]),
             "product": numbers(flat[j])} for j in order]


# -- the pages' copies ---------------------------------------------------------------------

class PageCopy:
    """One page's copy of one model's network, and how many steps it has taken."""

    def __init__(self, model_index, network):
        self.model_index = model_index
        self.network = network
        self.steps = 0
        self.used = time.monotonic()
        self.lock = threading.Lock()            # one request at a time works in the copy
        self.nbytes = sum(layer.weights.nbytes + layer.biases.nbytes for layer in network.layers)


class PageCopies:
    """The copies of networks the pages have changed, by their page's token; bounded.

    A token is made here (never chosen by a client), so no page can reach another's
    copy.  Adding a copy first forgets those unused for ``max_idle`` seconds, then the
    least recently used until at most ``max_copies`` and ``max_bytes`` remain.
    """

    def __init__(self, max_copies=MAX_COPIES, max_idle=MAX_IDLE_SECONDS, max_bytes=MAX_COPY_BYTES):
        self.max_copies, self.max_idle, self.max_bytes = max_copies, max_idle, max_bytes
        self._copies = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._copies)

    def find(self, token, model_index):
        """The page's copy of model ``model_index``, or None (never made, or forgotten)."""
        with self._lock:
            self._forget_idle()
            found = self._copies.get(token) if token else None
            if found is None or found.model_index != model_index:
                return None
            found.used = time.monotonic()
            self._copies.move_to_end(token)
            return found

    def add(self, model_index, network):
        """Keep a new copy; returns ``(token, copy)``."""
        made = PageCopy(model_index, inspect.copy_network(network))
        if made.nbytes > self.max_bytes:
            raise Refusal(503, f"this network's copy would take {made.nbytes / 1e6:.0f} MB, more "
                               f"than the {self.max_bytes / 1e6:.0f} MB the server keeps for copies")
        with self._lock:
            self._forget_idle()
            while self._copies and (len(self._copies) >= self.max_copies or
                                    self._bytes() + made.nbytes > self.max_bytes):
                self._copies.popitem(last=False)
            token = secrets.token_urlsafe(16)
            self._copies[token] = made
        return token, made

    def forget(self, token) -> bool:
        with self._lock:
            return self._copies.pop(token, None) is not None

    def _bytes(self) -> int:
        return sum(kept.nbytes for kept in self._copies.values())

    def _forget_idle(self):
        now = time.monotonic()
        for token in [token for token, kept in self._copies.items() if now - kept.used > self.max_idle]:
            del self._copies[token]


# -- the query -------------------------------------------------------------------------

class Query:
    """A request's query string, each name at most once, read with checks that say what is wrong."""

    def __init__(self, text: str):
        try:
            fields = parse_qs(text or "", keep_blank_values=True, strict_parsing=False, max_num_fields=16)
        except ValueError:
            raise Refusal(400, "the query has too many fields") from None
        for name, values in fields.items():
            if len(values) > 1:
                raise Refusal(400, f"give {name[:20]!r} once, not {len(values)} times")
        self.fields = {name: values[0] for name, values in fields.items()}

    def integer(self, name, low, high, default=None):
        text = self.fields.get(name)
        if text is None or text == "":
            if default is None:
                raise Refusal(400, f"say {name}= (a whole number from {low} to {high})")
            return default() if callable(default) else default
        if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
            raise Refusal(400, f"{name} must be a whole number from {low} to {high}, got {text[:20]!r}")
        return int(text)

    def number(self, name, default, low, high):
        text = self.fields.get(name)
        if text is None or text == "":
            return default
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low < value <= high:
            raise Refusal(400, f"{name} must be a number above {low:g} and at most {high:g}, "
                               f"got {text[:20]!r}")
        return value

    def position(self, height, width):
        text = self.fields.get("position")
        if text is None or text == "":
            return None
        match = re.fullmatch(r"([0-9]{1,4}),([0-9]{1,4})", text)
        if match is None or not (int(match[1]) < height and int(match[2]) < width):
            raise Refusal(400, f"position must be ROW,COLUMN inside the {height}x{width} map, "
                               f"got {text[:20]!r}")
        return int(match[1]), int(match[2])

    def token(self):
        text = self.fields.get("page")
        if text is None or text == "":
            return None
        if not _TOKEN.fullmatch(text):
            raise Refusal(400, "page= is the token a step answered with")
        return text


MAX_ETA = 1000.0


# -- the routes ------------------------------------------------------------------------------

def answer_of(network, image) -> int:
    """The digit the network reads (the default label and digit)."""
    return int(np.argmax(inspect.activations(network, image)[-1].a))


def inside(network, image, query) -> dict:
    layers = inspect.activations(network, image)
    outputs = layers[-1].a
    return {"digit": int(np.argmax(outputs)), "image": np.round(image.astype(np.float64), 4).tolist(),
            "outputs": numbers(outputs), "layers": layers_json(network, layers)}


def neuron(network, image, query) -> dict:
    layer_index = query.integer("layer", 0, len(network.layers) - 1)
    layer = network.layers[layer_index]
    index = query.integer("neuron", 0, layer.output_shape[0] - 1)
    position = query.position(*layer.output_shape[1:]) if len(layer.output_shape) == 3 else None
    arithmetic = inspect.neuron_arithmetic(network, image, layer_index, index, position)
    answer = {"layer": layer_index, "neuron": index, "kind": inspect.kind_of(layer),
              "activation": layer.activation.name,
              "weights": numbers(weights_picture(network, layer_index, arithmetic["weights"])),
              "bias": numbers(arithmetic["bias"]), "z": numbers(arithmetic["z"]),
              "a": numbers(arithmetic["a"]), "sum": numbers(arithmetic["products"].sum()),
              "inputs": int(arithmetic["products"].size), "largest": largest_products(arithmetic)}
    for name in ("position", "window", "pooling"):
        if name in arithmetic:
            answer[name] = arithmetic[name]
    if "window_sums" in arithmetic:
        answer["window_sums"] = numbers(arithmetic["window_sums"])
        answer["pooled"] = numbers(arithmetic["pooled"])
    return answer


def backprop(network, image, query) -> dict:
    label = query.integer("label", 0, network.layers[-1].n_out - 1, lambda: answer_of(network, image))
    found = inspect.backprop(network, image, label)
    first = found.layers[0]
    chosen = query.integer("neuron", 0, network.layers[0].output_shape[0] - 1,
                           int(np.argmax(np.abs(first.delta).reshape(len(first.delta), -1).max(axis=1))))
    layers = [{"shape": list(g.delta.shape), "delta": numbers(g.delta), "nabla_b": numbers(g.nabla_b.reshape(-1)),
               "nabla_b_norm": numbers(np.linalg.norm(g.nabla_b)),
               "nabla_w_norm": numbers(np.linalg.norm(g.nabla_w)),
               "weights_norm": numbers(np.linalg.norm(np.asarray(layer.weights, np.float64))),
               "nabla_w_shape": list(g.nabla_w.shape)}
              for layer, g in zip(network.layers, found.layers)]
    return {"label": label, "cost": numbers(found.cost), "cost_name": network.cost.name,
            "outputs": numbers(found.outputs), "layers": layers, "neuron": chosen,
            "nabla_w_neuron": numbers(weights_picture(network, 0, first.nabla_w[chosen]))}


def saliency(network, image, query) -> dict:
    digit = query.integer("digit", 0, network.layers[-1].n_out - 1, lambda: answer_of(network, image))
    side = image.shape[0]
    return {"digit": digit, "patch": 4, "stride": 2,
            "occlusion": numbers(inspect.occlusion(network, image, digit, patch=4, stride=2)),
            "gradient": numbers(inspect.input_gradient(network, image, digit).reshape(side, side))}


READERS = {"/api/inside": inside, "/api/neuron": neuron, "/api/backprop": backprop, "/api/saliency": saliency}


class InsideView:
    """The routes of :data:`ROUTES` for the models a server holds, and the pages' copies."""

    def __init__(self, models, copies=None):
        self.models = models
        self.copies = copies if copies is not None else PageCopies()

    def answer(self, path, query_text, image) -> dict:
        """The JSON answer to ``path`` for the prepared ``image`` (None for reset); raises Refusal."""
        query = Query(query_text)
        model_index = query.integer("model", 0, len(self.models) - 1, 0)
        token = query.token()
        if path == "/api/reset":
            return {"page": token, "forgotten": bool(token) and self.copies.forget(token)}
        network = self.models[model_index].network
        if not hasattr(network, "forward_pass"):
            raise Refusal(400, f"{self.models[model_index].name} has no layers to look inside")
        kept = self.copies.find(token, model_index)
        if path == "/api/step":
            return self.step(query, model_index, network, kept, image)
        with kept.lock if kept else contextlib.nullcontext():
            answer = READERS[path](kept.network if kept else network, image, query)
        answer["model"] = self.models[model_index].name
        answer["copy"] = {"page": token, "steps": kept.steps} if kept else None
        return answer

    def step(self, query, model_index, network, kept, image) -> dict:
        label = query.integer("label", 0, network.layers[-1].n_out - 1)
        eta = query.number("eta", 0.5, 0.0, MAX_ETA)
        token = query.token()
        if kept is None:
            token, kept = self.copies.add(model_index, network)
        with kept.lock:
            before = inspect.activations(kept.network, image)[-1].a
            inspect.take_step(kept.network, image, label, eta)
            after = inspect.activations(kept.network, image)[-1].a
            kept.steps += 1
        y = inspect.desired_output(kept.network, label)
        cost = kept.network.cost
        return {"page": token, "steps": kept.steps, "label": label, "eta": eta,
                "model": self.models[model_index].name,
                "before": numbers(before), "after": numbers(after),
                "digit_before": int(np.argmax(before)), "digit_after": int(np.argmax(after)),
                "cost_before": numbers(cost.fn(before.reshape(-1, 1), y)),
                "cost_after": numbers(cost.fn(after.reshape(-1, 1), y))}

    def reader(self, path, query_text):
        """For the server: a function of ``(body, prepare)`` answering ``path``, which
        prepares the picture with ``prepare`` (the code of ``/api/classify``) if the route reads one."""
        def read(body, prepare):
            return self.answer(path, query_text, prepare(body) if path in PICTURE_ROUTES else None)
        return read
