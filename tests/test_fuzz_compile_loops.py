"""Fuzz: compilation from several threads, and loops' trip counts (issue 21, parts 1 and 3).

Seeded cases, each in its own process under a timeout and an address-space limit
(``RLIMIT_AS`` set in the child), so a segfault, a hang or a runaway allocation fails its case
instead of killing or stalling pytest. Classes covered:

- threads making the first calls of jitted functions (same and different signatures): no
  crash, results equal to numpy's;
- trip counts checked at once: ``scan(length=...)`` too large / negative / not an integer,
  ``fori_loop`` bounds that do not fit the index dtype, ``while_loop(max_steps=...)``;
- no index array as long as the trip count: a compiled ``fori_loop(0, 2**31 - 1)`` has a
  small workspace (it used to need 8 GiB);
- long eager loops (``fori_loop``, ``scan``, ``while_loop``; 8*10^5..1.5*10^6 steps) finish
  within ``EAGER_TIMEOUT_S`` (stepping in Python they took 15 to 30 s) with the right result.
"""

import os
import random
import subprocess
import sys
import textwrap

import pytest

SEED = 2126
TIMEOUT_S = 20
EAGER_TIMEOUT_S = 10  # a long eager loop, import and compile included (it used to take 15-30 s)
MEMORY_LIMIT = 3 << 30  # bytes of address space per case (LLVM, numpy and threads included)

PRELUDE = textwrap.dedent(
    """
    import resource, threading, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import numpy as np
    import funcgrad as fg
    from funcgrad import lax

    def raises(exc, fn):
        try:
            fn()
        except exc as e:
            return str(e)
        raise AssertionError(f"no {{exc.__name__}} from {{fn}}")
    """
)

CASES = {
    "threads": """
        specs = [lambda v: v * {a} + 1.0, lambda v: fg.numpy.sum(fg.numpy.exp(v)) * v,
                 lambda v: lax.fori_loop(0, 3, lambda i, c: c * {a} + i, v)]
        refs = [lambda x: x * {a} + 1, lambda x: np.sum(np.exp(x)) * x,
                lambda x: ((x * {a}) * {a} + 1) * {a} + 2]
        ref = refs[{k}]
        xs = [np.linspace(-1, 1, {n} + (0 if {same} else i), dtype=np.float32) for i in range(8)]
        def work(f, i, out, errors, barrier):
            try:
                barrier.wait()
                for _ in range(3):
                    out[i] = np.asarray(f(xs[i]))
            except Exception as e:
                errors.append(repr(e))
        for rep in range(3):  # fresh jitted functions: first calls again
            f, out, errors, barrier = fg.jit(specs[{k}]), [None] * 8, [], threading.Barrier(8)
            ts = [threading.Thread(target=work, args=(f, i, out, errors, barrier))
                  for i in range(8)]
            [t.start() for t in ts]; [t.join() for t in ts]
            assert not errors, errors
            for i in range(8):
                np.testing.assert_allclose(out[i], ref(xs[i]), rtol=1e-5, atol=1e-6)
        """,
    "scan_length": """
        for length, exc in [({big}, OverflowError), (-{small}, ValueError), (2.5, TypeError)]:
            raises(exc, lambda: lax.scan(lambda c, x: (c + 1.0, c), 0.0, None, length=length))
            raises(exc, lambda: fg.jit(lambda c: lax.scan(
                lambda c, x: (c + 1.0, c), c, None, length=length))(0.0))
        """,
    "fori_bounds": """
        raises(OverflowError, lambda: lax.fori_loop(0, {big}, lambda i, c: c + 1.0, 0.0))
        raises(OverflowError, lambda: fg.jit(
            lambda c: lax.fori_loop(-{big}, 0, lambda i, c: c + 1.0, c))(0.0))
        raises(ValueError, lambda: lax.while_loop(lambda c: c < 1.0, lambda c: c + 1.0, 0.0,
                                                  max_steps=-{small}))
        f = lambda x: lax.while_loop(lambda c: c < x, lambda c: c * 2.0, 1.0, max_steps={big})
        raises(OverflowError, lambda: fg.grad(f)(3.0))  # its reverse mode is a scan
        """,
    "fori_no_index_array": """
        f = lambda c: lax.fori_loop({lo}, 2**31 - 1, lambda i, c: c + i.astype(np.float32), c)
        exe = fg.jit(f).lower(np.float32(0)).compile()._exe
        assert exe.memory_report()["peak"] < 1 << 20, exe.memory_report()
        """,
    "eager_fori": """
        n = {n}
        r = lax.fori_loop(0, n, lambda i, c: (c[0] * 0.5 + 1.0, c[1] + i), (0.0, 0))
        wrapped = int(np.int64(n * (n - 1) // 2).astype(np.int32))  # int32 sums wrap
        assert abs(float(r[0]) - 2.0) < 1e-5 and int(r[1]) == wrapped, r
        """,
    "eager_scan": """
        n = {n}
        xs = np.ones(n, np.float32)
        c, ys = lax.scan(lambda c, x: (c + x, c), np.float32(0), xs, reverse={same})
        assert float(c) == n
        expect = np.arange(n, dtype=np.float32)
        np.testing.assert_array_equal(np.asarray(ys), expect[::-1] if {same} else expect)
        """,
    "eager_while": """
        n = {n}
        i, c = lax.while_loop(lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] * 0.5 + 1.0),
                              (0, np.float32(0)))
        assert int(i) == n and abs(float(c) - 2.0) < 1e-5
        """,
}


def _cases():
    rng = random.Random(SEED)
    out = []
    for kind, reps in [("threads", 4), ("scan_length", 1), ("fori_bounds", 1)]:
        out += [(kind, rng) for _ in range(reps)]
    out += [(k, rng) for k in ("fori_no_index_array", "eager_fori", "eager_scan", "eager_while")]
    params = []
    for i, (kind, r) in enumerate(out):
        vals = dict(
            a=round(r.uniform(0.5, 3.0), 3),
            k=r.randrange(3),
            n=r.randrange(5, 1000) if kind == "threads" else r.randrange(8 * 10**5, 15 * 10**5),
            same=r.random() < 0.5,
            big=r.choice([2**31, 2**40, 2**63 - 1, 2**64]),
            small=r.randrange(1, 100),
            lo=r.randrange(0, 1000),
        )
        params.append(pytest.param(kind, vals, id=f"{i}-{kind}"))
    return params


@pytest.mark.parametrize("kind,vals", _cases())
def test_fuzz_case(kind, vals):
    body = textwrap.dedent(CASES[kind]).format(**vals)
    src = PRELUDE.format(limit=MEMORY_LIMIT) + body + "\nprint('ok')\n"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    limit = EAGER_TIMEOUT_S if kind.startswith("eager") else TIMEOUT_S
    try:
        proc = subprocess.run(
            [sys.executable, "-c", src], capture_output=True, text=True, timeout=limit, env=env
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{kind} {vals}: no result within {limit} s (a hang)")
    assert proc.returncode == 0, f"{kind} {vals}: rc {proc.returncode}\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip().endswith("ok")
