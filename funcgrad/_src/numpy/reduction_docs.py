"""Docstring templates for the reductions made by factories or sharing one signature in
``funcgrad._src.numpy.reductions`` (sum/prod/max/min, all/any, cumsum/cumprod,
cumulative_*, var/std and their nan forms, the arg-extrema, nanmax/nanmin).

``doc_for(name)`` gives the Google-style docstring of one of them; ``templated`` sets it on a
function. Templates keep one line per ``Args:`` entry where they can; ``wrap_doc`` reflows the
filled-in text to the line length (never inside a ``literal``).
"""

from __future__ import annotations

import re
import textwrap

_ENTRY = re.compile(r"^\s*[\w*]+: ")


def _logical_lines(doc):
    """Join continuation lines: of an ``Args:``-style entry (2 more spaces) or of a paragraph.

    Doctest blocks (from a ``>>>`` line to the next blank line) are kept verbatim.
    """
    out = []  # [indent, text, is_entry, verbatim]
    verbatim = False
    for line in doc.splitlines():
        ind, text = len(line) - len(line.lstrip()), line.strip()
        verbatim = bool(text) and (verbatim or text.startswith(">>>"))
        prev = out[-1] if out and out[-1][1] and not out[-1][3] else None
        entry = bool(_ENTRY.match(line))
        if verbatim:
            out.append([0, line, False, True])
        elif text and prev and prev[2] and ind == prev[0] + 2:
            prev[1] += " " + text  # an entry's continuation line
        elif text and prev and not (prev[2] or entry or prev[1].endswith(":")) and ind == prev[0]:
            prev[1] += " " + text  # a paragraph's next line
        else:
            out.append([ind, text, entry, False])
    return out


def wrap_doc(doc, width=96):
    """Reflow a filled-in template; ``literal`` spans and doctests are never split."""
    lines = []
    for ind, text, entry, verbatim in _logical_lines(doc):
        if verbatim:
            lines.append(text)
            continue
        text = re.sub(r"``[^`]*``", lambda m: m.group(0).replace(" ", "\0"), text)
        pad = " " * ind
        wrapped = textwrap.wrap(
            text,
            width,
            initial_indent=pad,
            subsequent_indent=pad + ("  " if entry else ""),
            break_on_hyphens=False,
            break_long_words=False,
        )
        lines += [w.replace("\0", " ") for w in wrapped] or [""]
    return "\n".join(lines) + "\n"


_AXES = "axis: None (every axis), an int or a tuple of ints (static; negative counts from the end)."
_OUT = "out: ignored (arrays are immutable; use the return value)."
_REDUCED = "``a``'s shape without the reduced axes (size 1 with ``keepdims``)"
_PROMOTED = (
    "bools and integers narrower than the default int accumulate in the default int "
    "(unsigned ones in the unsigned default)"
)

REDUCTION = f"""{{summary}}

Follows ``numpy.{{name}}`` and ``jax.numpy.{{name}}``{{alias}}.

Args:
  a: array_like input.
  {_AXES}
  dtype: dtype to cast ``a`` to before reducing. Default: {{dtype_default}}.
  {_OUT}
  keepdims: keep the reduced axes as size-1 dimensions.
  initial: {{initial}}
  where: optional boolean mask, broadcast against ``a``; entries where it is False {{where}}.

Returns:
  The reduction of ``a`` over ``axis``: {_REDUCED}; dtype ``dtype`` if given, else
  {{dtype_result}}.

Raises:
  ValueError: if an axis is out of bounds or repeated{{raises}}.
"""

BOOL = f"""Whether {{what}} element of ``a`` over ``axis`` is true (nonzero).

Follows ``numpy.{{name}}`` and ``jax.numpy.{{name}}``.

Args:
  a: array_like input of any dtype (nonzero counts as true).
  {_AXES}
  {_OUT}
  keepdims: keep the reduced axes as size-1 dimensions.
  where: optional boolean mask, broadcast against ``a``; entries where it is False count as
    {{ident}}.

Returns:
  A bool array: {_REDUCED}; {{ident}} for an empty reduction.

Raises:
  ValueError: if an axis is out of bounds or repeated.
"""

CUM = f"""Cumulative {{op}} of the elements of ``a`` along ``axis``.

Follows ``numpy.{{name}}`` and ``jax.numpy.{{name}}``.

Args:
  a: array_like input.
  axis: int axis to accumulate along (static); None flattens ``a`` first.
  dtype: dtype to cast ``a`` to first. Default: ``a``'s dtype, except that bool becomes the
    default int (as in JAX, small integer dtypes are kept).
  {_OUT}

Returns:
  An array of ``a``'s shape (1-d of size ``a.size`` when ``axis`` is None).

Raises:
  ValueError: if ``axis`` is out of bounds.
"""

CUMULATIVE = f"""Cumulative {{op}} of ``x`` along ``axis`` (the array-API form of ``cum{{kind}}``).

Follows ``numpy.{{name}}`` and ``jax.numpy.{{name}}``.

Args:
  x: array_like input, at least 1-d.
  axis: int axis to accumulate along (static); may be None only for 1-d ``x``.
  dtype: dtype to cast ``x`` to first. Default: as :func:`sum`: {_PROMOTED}.
  include_initial: prepend the identity ({{ident}}) along ``axis``, which grows by one.

Returns:
  An array of ``x``'s shape (``axis`` one longer with ``include_initial``).

Raises:
  ValueError: if ``x`` is 0-d, if ``axis`` is None for an input of rank > 1, or if ``axis``
    is out of bounds.
"""

VAR = f"""{{summary}}

Follows ``numpy.{{name}}`` and ``jax.numpy.{{name}}``.

Args:
  a: array_like input{{nan}}; complex input gives a real result.
  {_AXES}
  dtype: dtype to compute in. Default: ``a``'s dtype promoted to inexact.
  {_OUT}
  ddof: delta degrees of freedom: the divisor is {{divisor}}.
  keepdims: keep the reduced axes as size-1 dimensions.
  where: optional boolean mask, broadcast against ``a``: only entries where it is True count.
  correction: the array-API name of ``ddof``; overrides ``ddof`` when given.

Returns:
  The {{what}}, inexact (real for complex ``a``): {_REDUCED}.

Raises:
  ValueError: if an axis is out of bounds or repeated.
"""

ARG = f"""Index of the {{which}} element of ``a`` along ``axis``{{note}}.

Follows {{follows}}.

Args:
  a: array_like input.
  axis: int axis (static); None searches the flattened array.
  {_OUT}
  keepdims: keep the reduced axis as a size-1 dimension.

Returns:
  Indices in the default int dtype: ``a``'s shape without ``axis`` (a scalar when ``axis`` is
  None; size-1 axes with ``keepdims``).

Raises:
  ValueError: if ``axis`` is out of bounds or the searched axis is empty.
"""

NANEXT = f"""{{what}} of ``a`` over ``axis``, ignoring NaNs.

Follows ``numpy.{{name}}`` and ``jax.numpy.{{name}}``; integer and bool input is reduced as
by :func:`{{plain}}`.

Args:
  a: array_like input.
  {_AXES}
  {_OUT}
  keepdims: keep the reduced axes as size-1 dimensions.
  initial: optional scalar; the result is ``{{op}}(reduction, initial)`` (then an all-NaN slice
    gives ``initial``). Needed to reduce a size-0 axis or to use ``where``.
  where: optional boolean mask, broadcast against ``a``; entries where it is False are replaced
    by ``initial``.

Returns:
  The {{what_lower}} of the non-NaN entries, ``a``'s dtype: {_REDUCED}. Without ``initial``
  an all-NaN slice gives NaN (no warning).

Raises:
  ValueError: if an axis is out of bounds or repeated, if a reduced axis is empty and
    ``initial`` is None, or if ``where`` is given without ``initial``.
"""


def _sum_prod(name):
    initial = "added to" if name == "sum" else "multiplied into"
    return REDUCTION, dict(
        summary=f"{'Sum' if name == 'sum' else 'Product'} of the elements of ``a`` over ``axis``.",
        alias="",
        dtype_default=_PROMOTED + ", as in JAX",
        initial=f"optional scalar {initial} the result.",
        where=f"count as {0 if name == 'sum' else 1}",
        dtype_result="the promoted accumulation dtype",
        raises="",
    )


def _extremum(name):
    op = "maximum" if name == "max" else "minimum"
    return REDUCTION, dict(
        summary=f"{op.capitalize()} of the elements of ``a`` over ``axis`` (NaN propagates).",
        alias=f" (also exported as ``a{name}``)",
        dtype_default="``a``'s dtype",
        initial=f"optional scalar; the result is ``{op}(reduction, initial)``. Needed to "
        "reduce a size-0 axis or to use ``where``.",
        where="are replaced by ``initial``",
        dtype_result="``a``'s dtype",
        raises="; if a reduced axis has size 0 and ``initial`` is None; if ``where`` is given "
        "without ``initial``",
    )


def _var(name):
    nan, std = name.startswith("nan"), name.endswith("std")
    what = "standard deviation" if std else "variance"
    summary = f"{what.capitalize()} of ``a`` over ``axis``" + (", ignoring NaNs" if nan else "")
    summary += f": ``sqrt({name[:-3]}var(a, ...))``." if std else ": mean of ``|a - mean(a)|**2``."
    if nan:
        divisor = (
            "``max(N - ddof, 0)`` with ``N`` the number of non-NaN (and ``where``-selected) "
            "entries; a zero divisor gives inf/NaN"
        )
    else:
        divisor = (
            "``N - ddof`` with ``N`` the number of entries reduced (selected by ``where``); "
            "without ``where``, ``N - ddof <= 0`` gives NaN"
        )
    return VAR, dict(
        summary=summary, nan="; NaN entries are left out" if nan else "", divisor=divisor, what=what
    )


def _arg(name):
    which = "largest" if name.endswith("max") else "smallest"
    if name.startswith("nan"):
        return ARG, dict(
            which=which + " non-NaN",
            note="; -1 where a slice is all NaN",
            follows=f"``jax.numpy.{name}``: numpy raises ``ValueError`` for an all-NaN slice, "
            "funcgrad gives -1 as JAX does",
        )
    return ARG, dict(
        which=which,
        note="",
        follows=f"``numpy.{name}`` and ``jax.numpy.{name}``: the first one on ties; a NaN "
        f"counts as {which}",
    )


_KINDS = {"sum": ("sum", 0), "prod": ("product", 1), "max": ("maximum", ""), "min": ("minimum", "")}


def _fields(name):
    if name in ("sum", "prod"):
        return _sum_prod(name)
    if name in ("max", "min"):
        return _extremum(name)
    if name in ("all", "any"):
        return BOOL, dict(what="every" if name == "all" else "any", ident=name == "all")
    if name.startswith("cumulative_"):
        op, ident = _KINDS[name[len("cumulative_") :]]
        return CUMULATIVE, dict(op=op, ident=ident, kind=name[len("cumulative_") :])
    if name.startswith("cum"):
        return CUM, dict(op=_KINDS[name[3:]][0])
    if name in ("var", "std", "nanvar", "nanstd"):
        return _var(name)
    if name in ("argmax", "argmin", "nanargmax", "nanargmin"):
        return _arg(name)
    what = "Maximum" if name == "nanmax" else "Minimum"
    return NANEXT, dict(what=what, what_lower=what.lower(), plain=name[3:], op=what.lower())


def doc_for(name):
    """The docstring of the reduction ``name`` (a key of the templates above)."""
    template, fields = _fields(name)
    return wrap_doc(template.format(name=name, **fields))


def templated(f):
    """Decorator: give ``f`` the templated docstring of its ``__name__``."""
    f.__doc__ = doc_for(f.__name__)
    return f
