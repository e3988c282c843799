"""The per-signature fast call of a CPU executable (``Executable.fast_entry``).

``runner(...)`` writes out, for one exact arity, the few lines a call needs (like
``collections.namedtuple``, the source is generated: no loops, no zips, no unpacking per call):
make each input contiguous, take the outputs (from the output pools when they are big), hold
the workspace lock when there is a workspace, call the native object entry ``run_obj`` with the
numpy array objects themselves and hand the outputs to the front end's ``finish``. The runner
returns None to send the call down the general path (the workspace is busy in another thread).
"""

from __future__ import annotations

import numpy as np


def _input_lines(ins) -> list:
    lines = []
    for v in ins:
        lines += [f"    if not {v}.flags.c_contiguous:", f"        {v} = contiguous({v})"]
    return lines


def _call_lines(call: str, locked: bool) -> list:
    if not locked:
        return [f"    {call}"]
    return [
        "    if not lock.acquire(blocking=False):",
        "        return None",
        "    try:",
        f"        {call}",
        "    finally:",
        "        lock.release()",
    ]


def runner(n_in: int, consts, fn, specs, wsp, lock, alloc, finish, keep=None):
    """``run(values)``: ``values`` the numpy arguments (compiled shapes and dtypes, the caller
    guarantees it); ``fn`` the object entry, ``specs`` the outputs' (shape, dtype), ``wsp`` the
    workspace address or None, ``alloc`` each output's pool or None. ``keep``: what owns the
    memory behind ``fn`` and ``wsp`` (the executable, the workspace), held by ``run`` so
    that neither can be freed while it may still be called."""
    ins = [f"v{i}" for i in range(n_in)]
    outs = [f"o{i}" for i in range(len(specs))]
    env = {"fn": fn, "lock": lock, "wsp": wsp, "empty": np.empty, "finish": finish, "keep": keep}
    env["contiguous"] = np.ascontiguousarray
    env.update({f"c{i}": c for i, c in enumerate(consts)})
    env.update({f"s{i}": s for i, (s, _) in enumerate(specs)})
    env.update({f"d{i}": d for i, (_, d) in enumerate(specs)})
    env.update({f"a{i}": a for i, a in enumerate(alloc)})
    lines = ["def run(values):"]
    lines += [f"    {', '.join(ins)}{',' if n_in == 1 else ''} = values"] if n_in else []
    lines += _input_lines(ins)
    near = "v0.ctypes.data" if n_in else "0"
    lines += [
        f"    {o} = a{i}({near})" if alloc[i] is not None else f"    {o} = empty(s{i}, d{i})"
        for i, o in enumerate(outs)
    ]
    call = f"fn({', '.join([f'c{i}' for i in range(len(consts))] + ins + outs + ['wsp'])})"
    lines += _call_lines(call, wsp is not None)
    lines.append(f"    return finish({', '.join(outs)})")
    exec("\n".join(lines), env)  # noqa: S102 (our own generated source, no user input)
    return env["run"]
