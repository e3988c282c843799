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


def _params(key, n_gates, input_size, hidden_size, use_bias, dtype):
    """PyTorch's init: every weight and bias ``U(+-1/sqrt(hidden_size))``."""
    lim = 1.0 / math.sqrt(hidden_size)
    k1, k2, k3 = fr.split(key, 3)
    u = lambda k, shape: fr.uniform(k, shape, dtype, -lim, lim)
    g = n_gates * hidden_size
    bias = u(k3, (g,)) if use_bias else None
    return u(k1, (g, input_size)), u(k2, (g, hidden_size)), bias


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

    _n_gates = 1

    def __init__(
        self, input_size: int, hidden_size: int, use_bias: bool = True, *, key, dtype=np.float32
    ):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih, self.weight_hh, self.bias = _params(
            key, self._n_gates, input_size, hidden_size, use_bias, dtype
        )

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
      key: the PRNG key the parameters are drawn with (keyword-only, required); every weight
        and bias is ``U(+-1/sqrt(hidden_size))`` (PyTorch's init).
      dtype: the parameters' dtype (keyword-only).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> cell = fg.nn.RNNCell(3, 5, key=fg.random.key(0))
    >>> cell(fnp.ones(3), cell.init_state()).shape
    (5,)
    """

    def __call__(self, x, h, *, key=None):
        _check(self, x)
        return fnp.tanh(_gates(self, x, h))


class GRUCell(_Cell):
    """GRU cell (PyTorch's equations, gates ordered r, z, n); ``cell(x, h, *, key=None) -> h'``.

    One bias vector, added to the input projections (PyTorch's ``b_ih``; its ``b_hh`` is
    absent, so ``b_hn`` inside ``r * (W_hn h + b_hn)`` is 0). ``x`` is one time step
    ``(input_size,)`` (else ``ValueError``), ``h`` is ``(hidden_size,)``.

    Args:
      input_size: the size of one input vector.
      hidden_size: the size of the hidden state.
      use_bias: whether to add a bias.
      key: the PRNG key the parameters are drawn with (keyword-only, required); every weight
        and bias is ``U(+-1/sqrt(hidden_size))`` (PyTorch's init).
      dtype: the parameters' dtype (keyword-only).
    """

    _n_gates = 3

    def __call__(self, x, h, *, key=None):
        _check(self, x)
        n = self.hidden_size
        gi = self.weight_ih @ x
        gh = self.weight_hh @ h
        if self.bias is not None:
            gi = gi + self.bias  # one bias (PyTorch has b_ih and b_hh; this is b_ih + b_hn=0)
        r = _sigmoid(gi[:n] + gh[:n])
        z = _sigmoid(gi[n : 2 * n] + gh[n : 2 * n])
        cand = fnp.tanh(gi[2 * n :] + r * gh[2 * n :])
        return (1 - z) * cand + z * h


class LSTMCell(_Cell):
    """LSTM cell (gates ordered i, f, g, o as PyTorch); state is the pair ``(h, c)``.

    ``cell(x, (h, c), *, key=None) -> (h', c')`` with ``x`` one time step ``(input_size,)``
    (else ``ValueError``).

    Args:
      input_size: the size of one input vector.
      hidden_size: the size of the hidden state.
      use_bias: whether to add a bias.
      key: the PRNG key the parameters are drawn with (keyword-only, required); every weight
        and bias is ``U(+-1/sqrt(hidden_size))`` (PyTorch's init).
      dtype: the parameters' dtype (keyword-only).

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

    def __call__(self, x, state, *, key=None):
        _check(self, x)
        h, c = state
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
