"""PyTorch-style ``state_dict`` names for pytrees: ``to_state_dict`` and ``from_state_dict``.

A leaf's name is its key path joined with dots, as PyTorch names parameters: attribute
``.weight`` -> ``weight``, sequence index ``[0]`` -> ``0``, dict key ``['fc1']`` -> ``fc1``.
So ``model.layers[0].weight`` is ``"layers.0.weight"``. funcgrad's ``nn.Linear`` weight is
``(out_features, in_features)`` and ``nn.Conv2d``'s is ``(out, in, kh, kw)`` (OIHW), exactly
PyTorch's layouts: parameters move across without transposing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from funcgrad.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    SequenceKey,
    tree_flatten_with_path,
    tree_unflatten,
)

__all__ = ["from_state_dict", "to_state_dict"]


def _key_name(k) -> str:
    if isinstance(k, GetAttrKey):
        return k.name
    if isinstance(k, SequenceKey):
        return str(k.idx)
    if isinstance(k, DictKey):
        return str(k.key)
    if isinstance(k, FlattenedIndexKey):
        return str(k.key)
    return str(k)


def leaf_name(path) -> str:
    """The dotted name of a key path: ``.layers[0].weight`` -> ``"layers.0.weight"``."""
    return ".".join(_key_name(k) for k in path)


def named_leaves(tree) -> list[tuple[str, object]]:
    """``(dotted name, leaf)`` in flatten order; two leaves with one name are an error."""
    out = [(leaf_name(p), leaf) for p, leaf in tree_flatten_with_path(tree)[0]]
    seen: dict[str, int] = {}
    for name, _ in out:
        seen[name] = seen.get(name, 0) + 1
    clashes = sorted(n for n, c in seen.items() if c > 1)
    if clashes:
        raise ValueError(f"several leaves have the same dotted name: {clashes}")
    return out


def to_state_dict(tree) -> dict:
    """A flat ``{dotted name: leaf}`` dict of a pytree, named as PyTorch names parameters.

    The leaves are returned as they are (funcgrad Arrays: ``np.asarray`` or
    ``torch.from_dlpack`` take them).

    Args:
      tree: a pytree (a model, a dict of parameters...).

    Returns:
      A dict from dotted key paths (``"layers.0.weight"``) to leaves, in flatten order.

    Raises:
      ValueError: if two leaves have the same dotted name (e.g. keys ``"a.b"`` and
        ``a`` -> ``b``).

    >>> import funcgrad as fg
    >>> mlp = fg.nn.MLP(4, 2, width_size=3, depth=1, key=fg.random.key(0))
    >>> {k: v.shape for k, v in fg.to_state_dict(mlp).items()}  # doctest: +NORMALIZE_WHITESPACE
    {'layers.0.weight': (3, 4), 'layers.0.bias': (3,),
     'layers.1.weight': (2, 3), 'layers.1.bias': (2,)}
    """
    return dict(named_leaves(tree))


def _renamer(rename) -> Callable[[str], str]:
    """``rename``: None, a callable, or a mapping of name prefixes (funcgrad -> file)."""
    if rename is None:
        return lambda name: name
    if callable(rename):
        return rename
    prefixes = sorted(rename, key=len, reverse=True)

    def apply(name: str) -> str:
        for p in prefixes:
            if name == p or name.startswith(p + "."):
                rest = name[len(p) :]
                return rename[p] + rest if rename[p] else rest.lstrip(".")
        return name

    return apply


def _as_array(value):
    """A funcgrad Array holding a copy of ``value`` (the source may change later: a torch
    model keeps training in place), or the Python value itself."""
    from funcgrad._src.array import array_from_user
    from funcgrad._src.dlpack import from_dlpack

    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.ndarray) or not hasattr(value, "__dlpack__"):
        return array_from_user(np.asarray(value), np.asarray(value).dtype)
    return from_dlpack(value, copy=True)  # torch tensors (CPU), funcgrad Arrays, ...


def _dtype_of(x):
    """The dtype funcgrad would give ``x`` (float64 is float32 without x64), or its type."""
    from funcgrad._src import dtypes

    return dtypes.canonicalize(x.dtype) if hasattr(x, "dtype") else type(x)


def _check(name: str, template, value) -> None:
    """Same shape and dtype as the template leaf, or a ValueError naming the leaf."""
    t_shape, t_dtype = tuple(np.shape(template)), _dtype_of(template)
    v_shape, v_dtype = tuple(np.shape(value)), _dtype_of(value)
    if t_shape == v_shape and str(t_dtype) == str(v_dtype):
        return
    hint = ""
    if len(t_shape) == 2 and v_shape == t_shape[::-1]:
        hint = " (transposed? funcgrad's Linear weight is (out, in), as PyTorch's)"
    raise ValueError(
        f"from_state_dict: {name!r} has shape {v_shape} dtype {v_dtype}, the template "
        f"needs shape {t_shape} dtype {t_dtype}{hint}"
    )


def from_state_dict(
    state_dict: Mapping, like, *, rename: Mapping | Callable | None = None, strict: bool = True
):
    """Load a PyTorch-style ``state_dict`` into a pytree shaped like ``like``, by name.

    Each array leaf of ``like`` (e.g. a freshly initialised model) takes the entry named
    ``rename(name)``, where ``name`` is its dotted key path (``layers.0.weight``). ``rename``
    is a callable or a dict of name prefixes, e.g. ``{"layers.0": "fc1", "layers.1": "fc2"}``
    for a PyTorch model with ``self.fc1``/``self.fc2``, or ``{"layers": ""}`` for an
    ``nn.Sequential`` against ``torch.nn.Sequential`` (``layers.0.weight`` -> ``0.weight``).

    Values may be numpy arrays, funcgrad Arrays or CPU torch tensors (copied, through DLPack
    for tensors); each must have the template leaf's shape and dtype after funcgrad's dtype
    rules (float64 is float32 without x64), else a ValueError names the leaf. ``nn.Linear``
    and ``nn.Conv*`` weights have PyTorch's layouts, so nothing is transposed. With
    ``strict=True`` (the default), entries of ``state_dict`` that no leaf uses are an error
    (PyTorch's ``load_state_dict(strict=True)``); ``strict=False`` ignores them (e.g.
    BatchNorm's ``num_batches_tracked``).

    Args:
      state_dict: a mapping from names to arrays (numpy, funcgrad, CPU torch tensors) or
        Python values.
      like: the template pytree; its structure and leaf shapes/dtypes are kept.
      rename: None, a callable from funcgrad's dotted names to ``state_dict`` keys, or a
        dict of name prefixes.
      strict: reject entries of ``state_dict`` that no leaf uses.

    Returns:
      A pytree with ``like``'s structure whose leaves are copies of the entries (funcgrad
      Arrays; Python values as they are).

    Raises:
      ValueError: if an entry is missing, unused (with ``strict``), or of another shape or
        dtype than its template leaf.

    >>> import numpy as np, funcgrad as fg
    >>> lin = fg.nn.Linear(3, 2, key=fg.random.key(0))
    >>> sd = {"fc.weight": np.ones((2, 3), np.float32), "fc.bias": np.zeros(2, np.float32)}
    >>> fg.from_state_dict(sd, lin, rename=lambda n: "fc." + n)(np.ones(3, np.float32))
    Array([3., 3.], dtype=float32)
    """
    rename_fn = _renamer(rename)
    like_paths, treedef = tree_flatten_with_path(like)
    names = [rename_fn(leaf_name(p)) for p, _ in like_paths]
    missing = [n for n in names if n not in state_dict]
    unused = [k for k in state_dict if k not in set(names)] if strict else []
    if missing or unused:
        raise ValueError(
            f"from_state_dict: missing from the state_dict: {missing or 'nothing'}; "
            f"in the state_dict but not the template: {unused or 'nothing'}"
            + (" (strict=False ignores those)" if unused else "")
        )
    out = []
    for (_, template), name in zip(like_paths, names):
        value = _as_array(state_dict[name])
        _check(name, template, value)
        out.append(value)
    return tree_unflatten(treedef, out)
