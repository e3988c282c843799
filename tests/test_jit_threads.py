"""Threads making the first calls of jitted functions at the same time (issue 21, part 1).

The script runs in a subprocess: a segfault (an executable freed under a fast path that still
calls into it) fails the test instead of killing pytest."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import threading
    import numpy as np
    import funcgrad as fg

    THREADS, REPS = 8, 50

    def check(fn, xs, expect):
        res, errors = [None] * THREADS, []
        barrier = threading.Barrier(THREADS)

        def work(i):
            try:
                barrier.wait()
                for _ in range(3):  # first call, then the fast path
                    res[i] = np.asarray(fn(xs[i]))
            except Exception as e:  # reported below
                errors.append(repr(e))

        ts = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, errors
        for i in range(THREADS):
            np.testing.assert_allclose(res[i], expect(xs[i]), rtol=1e-5)
            if xs[i] is xs[0]:  # one signature, one executable: bit-identical results
                np.testing.assert_array_equal(res[i], res[0])

    for rep in range(REPS):
        same = [np.arange(5, dtype=np.float32)] * THREADS
        diff = [np.arange(3 + i, dtype=np.float32) for i in range(THREADS)]
        check(fg.jit(lambda v: v * 2.0 + 1.0), same, lambda x: x * 2 + 1)
        check(fg.jit(lambda v: v * 2.0 + 1.0), diff, lambda x: x * 2 + 1)
        # a program with a workspace (two reductions) and one with a native loop
        f = fg.jit(lambda v: fg.numpy.sum(fg.numpy.exp(v)) * fg.numpy.max(v) + v)
        check(f, diff, lambda x: np.sum(np.exp(x)) * np.max(x) + x)
        g = fg.jit(lambda v: fg.lax.fori_loop(0, 4, lambda i, c: c * 2.0 + i, v))
        check(g, same if rep % 2 else diff, lambda x: ((x * 2 * 2 + 1) * 2 + 2) * 2 + 3)
    print("ok")
    """
)


def test_threads_first_calls_no_crash_equal_results():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
    assert proc.stdout.strip().endswith("ok")
