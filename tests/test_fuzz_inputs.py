"""Seeded fuzzing of issue 21's classes of crash and wrong result, each case in its own process.

A case (``tests/support/fuzz_cases.py``) draws its inputs from a seed and checks the result
against numpy or the JAX value; a segfault, a hang (timeout) or an exception fails that case
only. The processes run a few at a time (most of a case's time is importing funcgrad).
``FUNCGRAD_FUZZ_SEED`` changes the seeds (default 21); a failure prints the command to rerun.
"""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import fuzz_cases

SEED = int(os.environ.get("FUNCGRAD_FUZZ_SEED", "21"))
TIMEOUT_S = 60
PARALLEL = 4
RUNS = [(name, SEED * 1000 + i) for i, name in enumerate(fuzz_cases.CASES)]
RUNS += [(name, SEED * 1000 + 100 + i) for i, name in enumerate(["bad_dtype_jit", "trig_huge"])]
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def _command(name, seed):
    return [sys.executable, os.path.join(TESTS_DIR, "support", "fuzz_cases.py"), name, str(seed)]


def _run(case):
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([TESTS_DIR, os.environ.get("PYTHONPATH", "")])
    )
    t0 = time.monotonic()
    try:
        p = subprocess.run(
            _command(*case), capture_output=True, text=True, timeout=TIMEOUT_S, env=env
        )
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {TIMEOUT_S} s", time.monotonic() - t0
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


@pytest.fixture(scope="module")
def results():
    with ThreadPoolExecutor(PARALLEL) as pool:
        return dict(zip(RUNS, pool.map(_run, RUNS)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the killed-save case forks")
@pytest.mark.parametrize("case", RUNS, ids=[f"{n}-{s}" for n, s in RUNS])
def test_fuzz_case(results, case):
    rc, out, err, _ = results[case]
    rerun = " ".join(_command(*case))
    assert rc is not None, f"hang: {err}; rerun: {rerun}"
    assert rc >= 0, f"killed by signal {-rc} (a crash in native code?); rerun: {rerun}\n{err}"
    assert rc == 0 and out.strip().endswith("OK"), f"rerun: {rerun}\n{err[-3000:]}"


def test_every_class_has_a_case():
    assert {n for n, _ in RUNS} == set(fuzz_cases.CASES)
