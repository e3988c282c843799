"""``fg.debug.breakpoint()``: an interactive prompt on the host with the runtime values.

At the call (eager or while tracing) the caller's stack frames are captured (frames inside
funcgrad itself are left out); their array and tracer locals travel through one
``debug_callback``, so the prompt opens when the values exist: at once eagerly, when the
compiled program runs under ``jit``, once per example under ``vmap``. The prompt is a small
``cmd.Cmd`` with JAX's ``jdb`` commands: ``p``/``pp`` expr, an expression alone, ``u(p)``,
``d(own)``, ``l(ist)``, ``w(here)``/``bt``, ``c(ontinue)``, ``q(uit)``.
"""

from __future__ import annotations

import cmd
import inspect
import linecache
import os
import pprint
import sys
import threading
import traceback

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src.array import Array, array_from_user
from funcgrad._src.core import Tracer
from funcgrad._src.debug import debug_callback

_LOCK = threading.Lock()
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _dynamic(v) -> bool:
    return isinstance(v, (Array, Tracer))


class _Frame:
    """One captured frame: file, line, globals, and its locals split into static values and
    pytrees whose array leaves are filled in at run time."""

    def __init__(self, info):
        self.filename, self.lineno = info.filename, info.lineno
        self.globals = info.frame.f_globals
        self.static, self.trees = {}, {}
        for name, value in info.frame.f_locals.items():
            try:
                leaves, tree = tu.tree_flatten(value)
            except Exception:  # noqa: BLE001 (not a pytree funcgrad can flatten: keep as is)
                leaves, tree = [value], None
            if tree is not None and any(_dynamic(x) for x in leaves):
                self.trees[name] = (tree, leaves)
            else:
                self.static[name] = value

    def dynamic_leaves(self) -> list:
        return [x for _, (_, leaves) in sorted(self.trees.items()) for x in leaves if _dynamic(x)]

    def locals_with(self, values) -> dict:
        env, it = dict(self.static), iter(values)
        for name, (tree, leaves) in sorted(self.trees.items()):
            env[name] = tu.tree_unflatten(tree, [next(it) if _dynamic(x) else x for x in leaves])
        return env


class Debugger(cmd.Cmd):
    """The ``(jdb)`` prompt over the captured frames (index 0: the breakpoint's own frame).

    Args:
      frames: a list of ``(filename, lineno, globals, locals)``.
      stdin: a text stream to read commands from (default: the terminal).
      stdout: a text stream to write to (default: ``sys.stdout``).
    """

    prompt = "(jdb) "

    def __init__(self, frames, stdin=None, stdout=None):
        super().__init__(stdin=stdin, stdout=stdout)
        self.use_rawinput = stdin is None
        self.frames, self.index = frames, 0
        self.intro = "Entering jdb:"

    def _eval(self, expr):
        _, _, glb, loc = self.frames[self.index]
        return eval(expr, dict(glb), dict(loc))  # noqa: S307 (an interactive debugger)

    def _show(self, expr, fmt):
        try:
            print(fmt(self._eval(expr)), file=self.stdout)
        except Exception:  # noqa: BLE001 (reported at the prompt, as pdb does)
            msg = traceback.format_exception_only(*sys.exc_info()[:2])[-1].strip()
            print("***", msg, file=self.stdout)

    def default(self, line):
        self._show(line, repr)

    def do_p(self, arg):
        """p expression: print the value of an expression."""
        self._show(arg, repr)

    def do_pp(self, arg):
        """pp expression: pretty-print the value of an expression."""
        self._show(arg, pprint.pformat)

    def _context(self, n=2):
        fname, line, _, _ = self.frames[self.index]
        out = [f"> {fname}({line})"]
        for i in range(max(1, line - n), line + n + 1):
            text = linecache.getline(fname, i).rstrip("\n")
            out.append(("->  " if i == line else "    ") + text)
        print("\n".join(out), file=self.stdout)

    def do_up(self, arg):
        """u(p): move one frame up (towards the caller)."""
        if self.index == len(self.frames) - 1:
            print("At topmost frame.", file=self.stdout)
        else:
            self.index += 1
        self._context()

    def do_down(self, arg):
        """d(own): move one frame down."""
        if self.index == 0:
            print("At bottommost frame.", file=self.stdout)
        else:
            self.index -= 1
        self._context()

    def do_list(self, arg):
        """l(ist): show the source around the current line."""
        self._context(5)

    def do_where(self, arg):
        """w(here): print the captured stack, the innermost frame last."""
        lines = ["Traceback:"]
        for fname, line, _, _ in self.frames[::-1]:
            lines += [
                f'  File "{fname}", line {line}',
                "    " + linecache.getline(fname, line).strip(),
            ]
        print("\n".join(lines), file=self.stdout)

    def do_continue(self, arg):
        """c(ontinue): leave the prompt and continue the program."""
        return True

    def do_quit(self, arg):
        """q(uit): exit the program."""
        sys.exit(0)

    do_u, do_d, do_l, do_w, do_bt = do_up, do_down, do_list, do_where, do_where
    do_c = do_cont = do_continue
    do_q = do_exit = do_EOF = do_quit


def _capture(filter_frames, num_frames):
    infos = inspect.stack()[2:]
    if filter_frames:
        infos = [i for i in infos if not os.path.abspath(i.filename).startswith(_PKG + os.sep)]
    if num_frames is not None:
        infos = infos[:num_frames]
    return [_Frame(i) for i in infos]


def breakpoint(
    *, backend=None, filter_frames=True, num_frames=None, ordered=False, token=None, **kwargs
):
    """Stop at this point of the program with a ``(jdb)`` prompt (``jax.debug.breakpoint``).

    The prompt shows the values of the caller's locals at run time: eagerly at once,
    under ``jit`` when the compiled program runs, under ``vmap`` once per example. Type
    ``p x`` (or just ``x``) to print a value, ``c`` to continue, ``q`` to exit.

    Args:
      backend: accepted for JAX compatibility (funcgrad has one, text-based, debugger).
      filter_frames: leave funcgrad's own frames out of the captured stack.
      num_frames: how many frames (from the breakpoint up) to capture; default: all.
      ordered: accepted for JAX compatibility (funcgrad runs effects in program order).
      token: a pytree of arrays returned unchanged (JAX's alternative to ``ordered``).
      **kwargs: passed to the debugger: ``stdin`` and ``stdout`` text streams.

    Returns:
      ``token`` (None when not given).

    Raises:
      ValueError: if both ``ordered`` and ``token`` are given.
    """
    del backend
    if token is not None and ordered:
        raise ValueError("`ordered` and `token` are mutually exclusive arguments.")
    frames = _capture(filter_frames, num_frames)
    counts = [len(f.dynamic_leaves()) for f in frames]

    def run(*values):
        values = [array_from_user(np.asarray(v)) for v in values]
        views, off = [], 0
        for f, n in zip(frames, counts):
            views.append((f.filename, f.lineno, f.globals, f.locals_with(values[off : off + n])))
            off += n
        with _LOCK:
            Debugger(views, **kwargs).cmdloop()

    debug_callback(run, *[x for f in frames for x in f.dynamic_leaves()])
    return token
