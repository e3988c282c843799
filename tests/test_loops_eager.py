"""Long eager loops run as one compiled loop (``lax/loops_eager.py``) and agree with the
step-by-step Python loop; trip counts are checked when the loop is made (issue 21, part 3)."""

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import lax
from funcgrad._src.lax import loops_eager


def _both(monkeypatch, fn):
    """``fn()`` run compiled (long loop) and stepping in Python (threshold raised)."""
    calls = []
    real = loops_eager.run
    monkeypatch.setattr(loops_eager, "run", lambda *a: calls.append(1) or real(*a))
    fast = fn()
    assert calls, "the long loop did not go through loops_eager.run"
    monkeypatch.setattr(loops_eager, "MIN_STEPS", 10**9)
    slow = fn()
    return fast, slow


@pytest.mark.parametrize("reverse", [False, True])
def test_long_eager_scan_matches_python_loop(monkeypatch, reverse):
    xs = np.linspace(-1, 1, 3000, dtype=np.float32).reshape(1000 * 3, 1)

    def run():
        c, ys = lax.scan(
            lambda c, x: (c * 0.9 + x, c * 2.0), np.zeros(1, np.float32), xs, reverse=reverse
        )
        return np.asarray(c), np.asarray(ys)

    (c1, y1), (c2, y2) = _both(monkeypatch, run)
    np.testing.assert_allclose(c1, c2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-6)


def test_long_eager_while_and_fori_match_python_loop(monkeypatch):
    def run():
        w = lax.while_loop(lambda s: s[0] < 5000, lambda s: (s[0] + 1, s[1] + 0.5), (0, 0.0))
        f = lax.fori_loop(3, 4000, lambda i, c: c + i, 0)
        return int(w[0]), float(w[1]), int(f)

    fast, slow = _both(monkeypatch, run)
    assert fast == slow == (5000, 2500.0, sum(range(3, 4000)))


def test_long_eager_loop_the_target_cannot_compile_steps_in_python():
    # float16 has no native kernels: the loop is refused and runs in Python, still right
    c, ys = lax.scan(lambda c, x: (c + x, c), np.float16(0), np.ones(2500, np.float16))
    assert float(c) == 2048.0  # float16 stops counting at 2048
    assert np.asarray(ys).dtype == np.float16


def test_fori_loop_with_concrete_bounds_builds_no_index_array():
    text = str(fg.make_jaxpr(lambda c: lax.fori_loop(0, 2**31 - 1, lambda i, c: c + 1.0, c))(0.0))
    assert "iota" not in text and "2147483647]" not in text


@pytest.mark.parametrize(
    "length,exc",
    [(2**63 - 1, OverflowError), (2**31, OverflowError), (-1, ValueError), (1.5, TypeError)],
)
def test_scan_length_is_checked_at_once(length, exc):
    with pytest.raises(exc):
        lax.scan(lambda c, x: (c, c), 0.0, None, length=length)


def test_fori_loop_bounds_and_max_steps_are_checked():
    with pytest.raises(OverflowError):
        lax.fori_loop(0, 2**40, lambda i, c: c, 0.0)
    with pytest.raises(ValueError):
        lax.while_loop(lambda c: c < 1.0, lambda c: c + 1.0, 0.0, max_steps=-1)
    with pytest.raises(TypeError):
        lax.while_loop(lambda c: c < 1.0, lambda c: c + 1.0, 0.0, max_steps=2.0)
