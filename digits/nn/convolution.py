"""How a :class:`~digits.nn.layers.ConvPool` layer computes: memory layouts, im2col, pooling.

The layer takes and gives feature maps shaped ``(channels, m, height, width)``, but
keeps them in memory as ``(channels, height, width, m)``: the m examples innermost, so
that one row of a map holds the same pixels of every image side by side (that is also
the order of the columns a fully connected layer above reads, and of the network's
input).

* Forward: the input of every output position and offset (i, j) is copied into one
  matrix (``ws.cols``, "im2col": a row per (channel, i, j), a column per (y, x,
  example)), in runs of a whole output row of every example at once, so that the
  convolution's sum becomes a single matrix product (:func:`im2col`).
* The convolution's output ``z_conv`` is kept the other way round, a row per position
  and a column per filter, ``(y, x, m, filters)``: the two rows of a pooling block are
  then two long contiguous stretches, and the two columns of a pair two stretches of
  m * filters numbers, so that pooling and its backward pass are a few calls over long
  runs (:func:`pool`, :func:`unpool`).  Max-pooling notes which of each block's four
  won (:func:`note_winners`), so that the backward pass is one multiplication.
* Backward (BP2): w^T δ is written into ``ws.error_cols`` with its positions in rows as
  wide as the input and zeros around them (:func:`error_rows`), so that the (i, j) term
  of every input pixel lies the same distance away and adding them all back
  ("col2im", :func:`col2im`) is one sum over a strided view.

Each function takes the layer (for its shapes and weights) and its workspace ``ws``
(:func:`workspace`), whose arrays it writes.
"""

from __future__ import annotations

import numpy as np

from digits.nn.workspace import Workspace


class ConvPoolPasses:
    """The forward and backward passes of :class:`~digits.nn.layers.ConvPool`, through the
    functions below (a layer's class: ``ConvPool(ConvPoolPasses, Layer)``)."""

    def forward(self, a, ws, rng=None):
        """Convolution, pooling, a = σ(pooled + b); ``a`` is columns or (channels, m, h, w)."""
        im2col(self, self._input(a, ws), ws)
        filters = self.weights.reshape(self.filters, -1)                 # (f, c*k*k)
        np.matmul(ws.cols.T, filters.T, out=ws.z_conv.reshape(-1, self.filters))   # (y*x*m, f)
        pooled = pool(self, ws)
        np.add(pooled.transpose(3, 0, 1, 2), self.biases.reshape(-1, 1, 1, 1), out=ws.z)   # (f, y, x, m)
        self.activation.fn(ws.z, out=ws.a)
        return examples_second(ws.a)

    def make_workspace(self, m, training, dtype):
        return workspace(self, m, training, dtype)

    def _input(self, a, ws):
        """The input as (channels, height, width, m), copied into ``ws.x`` only if it is not already."""
        if a.ndim == 2:                       # the network's columns: (c * h * w, m)
            np.copyto(ws.x.reshape(a.shape), a)   # (c*h*w, m)
            return ws.x
        maps = examples_inside(a)
        if maps.flags.c_contiguous:           # from a layer below that keeps the same order
            return maps
        np.copyto(ws.x, maps)
        return ws.x

    def delta(self, error, ws):
        """δ = error ⊙ σ'(z) (BP2's second half), for an error shaped (channels, m, h, w)."""
        return examples_second(super().delta(examples_inside(error), ws))

    def backward(self, delta, ws, propagate):
        """BP3, BP4 and (if ``propagate``) the error for the layer below, shaped like its input.

        δ = ∂C/∂z is sent back through the pooling to the positions that produced each
        pooled value (for max-pooling, the largest of the four; ties go to the first),
        giving δ_conv; then

            ∂C/∂b[f] = Σ δ[f, ...]                                           (BP3)
            ∂C/∂w[f, c, i, j] = Σ_{y,x} δ_conv[f, y, x] a_in[c, y + i, x + j]   (BP4)
            error[c, y + i, x + j] += Σ_f w[f, c, i, j] δ_conv[f, y, x]        (BP2's w^T δ)
        """
        delta = examples_inside(delta)                             # (f, y, x, m)
        np.add.reduce(delta.reshape(self.filters, -1), axis=1, out=ws.nabla_b)   # BP3
        delta_conv = unpool(self, delta, ws).reshape(-1, self.filters)  # (y*x*m, f)
        # BP4, computed transposed, (c*k*k, f): the matrix library is faster that way round.
        np.matmul(ws.cols, delta_conv, out=ws.nabla_w_t)
        np.copyto(ws.nabla_w.reshape(self.filters, -1), ws.nabla_w_t.T)   # (f, c*k*k)
        if not propagate:
            return None
        filters = self.weights.reshape(self.filters, -1)                 # (f, c*k*k)
        by_rows = delta_conv.reshape(self.conv_shape[0], -1, self.filters).transpose(0, 2, 1)  # (y, f, x*m)
        np.matmul(filters.T, by_rows, out=error_rows(self, ws))            # BP2: w^T δ, a product per row y
        return examples_second(col2im(self, ws))


def workspace(layer, m, training, dtype):
    """The arrays of ``layer``'s passes for mini-batches of ``m`` (``training``: the backward
    pass's too), in the memory orders described above."""
    c, height, width = layer.input_shape
    k, f = layer.filter_size, layer.filters
    conv_h, conv_w = layer.conv_shape
    pool_h, pool_w = layer.output_shape[1:]
    ws = Workspace(m)
    ws.training = training
    # Maps as (channels, height, width, m); the convolution's output as (y, x, m, filters).
    ws.x = np.empty((c, height, width, m), dtype)
    ws.cols = np.empty((c * k * k, conv_h * conv_w * m), dtype)
    ws.z_conv = np.empty((conv_h, conv_w, m, f), dtype)
    ws.rows = np.empty((pool_h, conv_w, m, f), dtype)          # after pooling pairs of rows
    ws.pooled = np.empty((pool_h, pool_w, m, f), dtype)
    ws.z = np.empty((f, pool_h, pool_w, m), dtype)
    ws.a = np.empty((f, pool_h, pool_w, m), dtype)
    if layer.pooling == "l2":
        ws.squares = np.empty((conv_h, conv_w, m, f), dtype)
    if training:
        if layer.pooling == "max":                              # see note_winners
            ws.top_won = np.empty((pool_h, conv_w, m, f), bool)
            ws.column_won = np.empty((pool_h, conv_w, m, f), bool)
            ws.winner = np.empty((conv_h, conv_w, m, f), bool)
        ws.derivative = np.empty((f, pool_h, pool_w, m), dtype)
        ws.delta = np.empty((f, pool_h, pool_w, m), dtype)
        ws.delta_pooled = np.empty((pool_h, pool_w, m, f), dtype)
        ws.delta_conv = np.empty((conv_h, conv_w, m, f), dtype)
        ws.nabla_w = np.empty(layer.weight_shape(), dtype)
        ws.nabla_w_t = np.empty((c * k * k, f), dtype)         # BP4 as the product gives it
        ws.nabla_b = np.empty(layer.bias_shape(), dtype)
        # w^T δ, each row of positions padded to the input's width, with zeros
        # before and after (see col2im); the padding is never written.  The zeros
        # after one line of error_cols are those before the next (and, after the
        # last, the end of error_buffer).
        row = width * m
        ws.pad = (k - 1) * (row + m)
        line = ws.pad + conv_h * row
        ws.error_buffer = np.zeros(c * k * k * line + (k - 1) * row, dtype)
        ws.error_cols = ws.error_buffer[:c * k * k * line].reshape(c * k * k, line)   # (c*k*k, line)
        ws.error = np.empty((c, height, width, m), dtype)
    return ws


def examples_inside(maps):
    """``(channels, m, height, width)`` maps as ``(channels, height, width, m)`` (a view)."""
    return maps.transpose(0, 2, 3, 1)


def examples_second(maps):
    """``(channels, height, width, m)`` maps as ``(channels, m, height, width)`` (a view)."""
    return maps.transpose(0, 3, 1, 2)


def im2col(layer, image, ws):
    """ws.cols[c, i, j, y, x, :] = image[c, y + i, x + j, :]: one copy of every window."""
    k = layer.filter_size
    c, conv_h, conv_w, m = layer.input_shape[0], *layer.conv_shape, ws.m
    channel, row, column, example = image.strides
    windows = strided(image, (c, k, k, conv_h, conv_w, m),
                       (channel, row, column, row, column, example))
    np.copyto(ws.cols.reshape(windows.shape), windows)   # (c, k, k, y, x, m)


def pool(layer, ws):
    """2x2 pooling of z_conv into ``ws.pooled``, (y, x, m, filters): pairs of rows, then of columns."""
    pool_h, pool_w = layer.output_shape[1:]
    conv_w = layer.conv_shape[1]
    row_pairs = ws.z_conv.reshape(pool_h, 2, conv_w, -1)            # (y, top/bottom, x, m*f)
    top, bottom = row_pairs[:, 0], row_pairs[:, 1]
    rows = ws.rows.reshape(pool_h, conv_w, -1)   # (y, x_conv, m*f)
    column_pairs = ws.rows.reshape(pool_h, pool_w, 2, -1)           # (y, x, left/right, m*f)
    left, right = column_pairs[:, :, 0], column_pairs[:, :, 1]
    pooled = ws.pooled.reshape(pool_h, pool_w, -1)   # (y, x, m*f)
    if layer.pooling == "max":
        np.maximum(top, bottom, out=rows)
        np.maximum(left, right, out=pooled)
        if ws.training:
            note_winners(layer, top, bottom, left, right, ws)
        return ws.pooled
    squares = np.square(ws.z_conv, out=ws.squares).reshape(row_pairs.shape)   # (y, top/bottom, x, m*f)
    np.add(squares[:, 0], squares[:, 1], out=rows)
    np.add(left, right, out=pooled)
    return np.sqrt(ws.pooled, out=ws.pooled)


def note_winners(layer, top, bottom, left, right, ws):
    """``ws.winner``: True at the one position of each 2x2 block that max-pooling took.

    Of each pair of rows the larger won, then of the two columns left; ties go to the
    first (the top, then the left), so that exactly one of the four wins.
    """
    pool_h, pool_w = layer.output_shape[1:]
    top_won = np.greater_equal(top, bottom, out=ws.top_won.reshape(top.shape))   # (y, x_conv, m*f)
    column_won = ws.column_won.reshape(pool_h, pool_w, 2, -1)   # (y, x, left/right, m*f)
    np.greater_equal(left, right, out=column_won[:, :, 0])
    np.logical_not(column_won[:, :, 0], out=column_won[:, :, 1])
    column_won = column_won.reshape(top_won.shape)   # (y, x_conv, m*f)
    winner = ws.winner.reshape(pool_h, 2, *top_won.shape[1:])   # (y, top/bottom, x_conv, m*f)
    np.logical_and(column_won, top_won, out=winner[:, 0])
    np.greater(column_won, top_won, out=winner[:, 1])          # its column won, its top did not


def unpool(layer, delta, ws):
    """δ_conv: δ sent back through the pooling to the positions it came from."""
    pool_h, pool_w = layer.output_shape[1:]
    np.copyto(ws.delta_pooled, delta.transpose(1, 2, 3, 0))          # (y, x, m, f)
    each = ws.delta_pooled.reshape(pool_h, 1, pool_w, 1, -1)         # δ for each of the block's four
    blocks = ws.delta_conv.reshape(pool_h, 2, pool_w, 2, -1)         # (y, top/bottom, x, left/right, m*f)
    if layer.pooling == "max":
        # The position that won gets all of δ, the other three none.
        np.multiply(each, ws.winner.reshape(blocks.shape), out=blocks)   # (y, 2, x, 2, m*f)
    else:
        # p = sqrt(Σ z²), so ∂p/∂z = z / p for each of the four (0 where p is 0).
        pooled = ws.pooled.reshape(each.shape)   # (y, 1, x, 1, m*f)
        np.divide(each, pooled, out=each, where=pooled > 0)
        each[pooled <= 0] = 0.0
        np.multiply(each, ws.z_conv.reshape(blocks.shape), out=blocks)   # (y, 2, x, 2, m*f)
    return ws.delta_conv


def error_rows(layer, ws):
    """Where w^T δ goes in ``ws.error_cols``: (y, c*k*k, x*m), each row y a matrix of its own."""
    conv_h, conv_w = layer.conv_shape
    row = layer.input_shape[2] * ws.m
    rows = ws.error_cols[:, ws.pad:ws.pad + conv_h * row].reshape(-1, conv_h, row)   # (c*k*k, y, w*m)
    return rows[:, :, :conv_w * ws.m].transpose(1, 0, 2)   # (y, c*k*k, x*m)


def col2im(layer, ws):
    """The error for the input, (c, h, w, m): each entry of error_cols added back where it was copied from.

    error[c, y, x] = Σ_i Σ_j error_cols[c, i, j, y - i, x - j], taken as 0 outside the
    positions.  Since error_cols keeps its positions in rows as wide as the input,
    with zeros between them and around, the term for (i, j) is always i * width + j
    pixels back, so a strided view puts all of them side by side for one sum.
    """
    c, height, width = layer.input_shape
    k, m = layer.filter_size, ws.m
    row = width * m
    line, step = ws.error_cols.strides
    terms = strided(ws.error_buffer, (c, k, k, height * row),
                     (k * k * line, k * line - row * step, line - m * step, step), offset=ws.pad * step)
    np.add.reduce(terms, axis=(1, 2), out=ws.error.reshape(c, -1))   # (c, h*w*m)
    return ws.error


def strided(array, shape, strides, offset=0):
    """A read-only view of the memory of the contiguous ``array``, with the given shape and
    strides (in bytes) from ``offset`` bytes in.

    What ``numpy.lib.stride_tricks.as_strided`` makes, without its few microseconds of
    checks per call (it is called twice per mini-batch; ``sliding_window_view`` would
    take four times as long).  numpy still refuses a view that would reach outside
    ``array``.
    """
    view = np.ndarray(shape, array.dtype, array, offset, strides)
    view.flags.writeable = False
    return view
