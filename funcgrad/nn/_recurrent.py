"""Recurrent cells (one time step of one example) and ``RNN``, which scans a cell over time."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad import random as fr
from funcgrad.nn._module import Module, static_field

__all__ = ["RNN", "GRUCell", "LSTMCell", "RNNCell"]


def _uniform(key, shape, dtype, hidden_size):
    """Equinox's (and PyTorch's) init of a cell: ``U(+-sqrt(1/hidden_size))``."""
    lim = math.sqrt(1 / hidden_size)
    return fr.uniform(key, shape, np.float32 if dtype is None else dtype, -lim, lim)


def _params(keys, n_gates, input_size, hidden_size, use_bias, dtype):
    g = n_gates * hidden_size
    u = lambda k, shape: _uniform(k, shape, dtype, hidden_size)
    bias = u(keys[2], (g,)) if use_bias else None
    return u(keys[0], (g, input_size)), u(keys[1], (g, hidden_size)), bias


def _gates(cell, x, h):
    y = cell.weight_ih @ x + cell.weight_hh @ h
    return y if cell.bias is None else y + cell.bias


def _sigmoid(x):
    return 0.5 * (fnp.tanh(0.5 * x) + 1.0)


def _check(cell, x):
    if tuple(fnp.shape(x)) != (cell.input_size,):
        raise ValueError(
            f"{type(cell).__name__} takes one time step of one example, shape "
            f"({cell.input_size},), got {tuple(fnp.shape(x))}; scan over time "
            f"with fg.nn.RNN(cell) and batch with fg.vmap."
        )


class _Cell(Module):
    weight_ih: Any
    weight_hh: Any
    bias: Any
    input_size: int = static_field()
    hidden_size: int = static_field()
    use_bias: bool = static_field()

    _n_gates = 1
    _n_keys = 3

    def __init__(
        self, input_size: int, hidden_size: int, use_bias: bool = True, dtype=None, *, key
    ):
        self.input_size, self.hidden_size, self.use_bias = input_size, hidden_size, use_bias
        keys = fr.split(key, self._n_keys)
        self.weight_ih, self.weight_hh, self.bias = _params(
            keys, self._n_gates, input_size, hidden_size, use_bias, dtype
        )
        self._init_extra(keys, dtype)

    def _init_extra(self, keys, dtype):
        pass

    def init_state(self, dtype=np.float32):
        """The zero hidden state.

        Args:
          dtype: the state's dtype.

        Returns:
          Zeros of shape ``(hidden_size,)``.
        """
        return fnp.zeros((self.hidden_size,), dtype)


class RNNCell(_Cell):
    """Elman cell: ``h' = tanh(W_ih x + W_hh h + b)``; ``cell(x, h, *, key=None) -> h'``.

    ``x`` is one time step ``(input_size,)`` (else ``ValueError``), ``h`` is
    ``(hidden_size,)``.

    Args:
      input_size: the size of one input vector.
      hidden_size: the size of the hidden state.
      use_bias: whether to add a bias.
      dtype: the parameters' dtype (default float32).
      key: the PRNG key (keyword-only, required): ``split(key, 3)`` draws ``weight_ih``,
        ``weight_hh`` and ``bias``, each ``U(+-sqrt(1/hidden_size))`` (Equinox's init).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> cell = fg.nn.RNNCell(3, 5, key=fg.random.key(0))
    >>> cell(fnp.ones(3), cell.init_state()).shape
    (5,)
    """

    def __call__(self, x, h, *, key=None):
        _check(self, x)
        return fnp.tanh(_gates(self, x, h))


class GRUCell(_Cell):
    """GRU cell with Equinox's equations and parameters; ``cell(x, h, *, key=None) -> h'``.

    Gates ordered r, z, n. Two biases as Equinox: ``bias`` (``3 * hidden``, added to the
    input projections) and ``bias_n`` (``hidden``, inside ``r * (W_hn h + bias_n)``, like
    PyTorch's ``b_hn``): ``h' = n + z * (h - n)``. ``x`` is one time step ``(input_size,)``
    (else ``ValueError``), ``h`` is ``(hidden_size,)``.

    Args:
      input_size: the size of one input vector.
      hidden_size: the size of the hidden state.
      use_bias: whether to add the biases.
      dtype: the parameters' dtype (default float32).
      key: the PRNG key (keyword-only, required): ``split(key, 4)`` draws ``weight_ih``,
        ``weight_hh``, ``bias``, ``bias_n``, each ``U(+-sqrt(1/hidden_size))`` (Equinox).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> cell = fg.nn.GRUCell(3, 5, key=fg.random.key(0))
    >>> cell(fnp.ones(3), cell.init_state()).shape
    (5,)
    """

    bias_n: Any = None

    _n_gates = 3
    _n_keys = 4

    def _init_extra(self, keys, dtype):
        self.bias_n = _uniform(keys[3], (self.hidden_size,), dtype, self.hidden_size)
        if not self.use_bias:
            self.bias_n = None

    def __call__(self, input, hidden, *, key=None):
        x, h = input, hidden
        _check(self, x)
        n = self.hidden_size
        gi = self.weight_ih @ x
        if self.bias is not None:
            gi = gi + self.bias
        gh = self.weight_hh @ h
        bias_n = 0.0 if self.bias_n is None else self.bias_n
        r = _sigmoid(gi[:n] + gh[:n])
        z = _sigmoid(gi[n : 2 * n] + gh[n : 2 * n])
        new = fnp.tanh(gi[2 * n :] + r * (gh[2 * n :] + bias_n))
        return new + z * (h - new)


class LSTMCell(_Cell):
    """LSTM cell (gates ordered i, f, g, o as PyTorch); state is the pair ``(h, c)``.

    ``cell(x, (h, c), *, key=None) -> (h', c')`` with ``x`` one time step ``(input_size,)``
    (else ``ValueError``).

    Args:
      input_size: the size of one input vector.
      hidden_size: the size of the hidden state.
      use_bias: whether to add a bias.
      dtype: the parameters' dtype (default float32).
      key: the PRNG key (keyword-only, required): ``split(key, 3)`` draws ``weight_ih``,
        ``weight_hh`` and ``bias``, each ``U(+-sqrt(1/hidden_size))`` (Equinox's init).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> cell = fg.nn.LSTMCell(3, 4, key=fg.random.key(0))
    >>> h, c = cell(fnp.ones(3), cell.init_state())
    >>> h.shape, c.shape
    ((4,), (4,))
    """

    _n_gates = 4

    def init_state(self, dtype=np.float32):
        """The zero state ``(h, c)``.

        Args:
          dtype: the state's dtype.

        Returns:
          A pair of zero arrays of shape ``(hidden_size,)``.
        """
        z = fnp.zeros((self.hidden_size,), dtype)
        return z, z

    def __call__(self, input, hidden, *, key=None):
        x, (h, c) = input, hidden
        _check(self, x)
        n = self.hidden_size
        y = _gates(self, x, h)
        i, f = _sigmoid(y[:n]), _sigmoid(y[n : 2 * n])
        g, o = fnp.tanh(y[2 * n : 3 * n]), _sigmoid(y[3 * n :])
        c = f * c + i * g
        return o * fnp.tanh(c), c


class RNN(Module):
    """Runs a cell over a sequence ``(T, input_size)`` with ``fg.lax.scan``.

    Called as ``rnn(xs, state=None, *, key=None)`` (``state`` defaults to the cell's
    ``init_state()``; a non-2-d ``xs`` raises ``ValueError``); returns ``(outputs,
    final_state)``, the outputs being the hidden vectors ``(T, hidden_size)`` (for an LSTM,
    ``h``).

    Args:
      cell: the cell (``RNNCell``, ``GRUCell``, ``LSTMCell`` or any module with
        ``cell(x, state)`` and ``init_state()``).
      reverse: run from the last time step to the first (outputs stay in time order).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> rnn = fg.nn.RNN(fg.nn.GRUCell(3, 4, key=fg.random.key(0)))
    >>> ys, h = rnn(fnp.ones((7, 3)))
    >>> ys.shape, h.shape
    ((7, 4), (4,))
    """

    cell: Any
    reverse: bool = static_field(default=False)

    def __call__(self, xs, state=None, *, key=None):
        if fnp.ndim(xs) != 2:
            raise ValueError(
                f"RNN takes one sequence (T, features), got shape "
                f"{tuple(fnp.shape(xs))}; for a batch use fg.vmap(rnn)(xs)."
            )
        state = self.cell.init_state() if state is None else state

        def step(s, x):
            s = self.cell(x, s)
            return s, (s[0] if isinstance(s, tuple) else s)

        final, ys = lax.scan(step, state, xs, reverse=self.reverse)
        return ys, final
