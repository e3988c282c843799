"""JAX's ``checkpoint_policies`` (the offload-free ones): functions
``policy(prim, *avals, **params) -> bool`` saying whether ``checkpoint`` may save the
outputs of an equation instead of recomputing them in the backward pass."""

from __future__ import annotations

from dataclasses import dataclass


def everything_saveable(prim, *avals, **params) -> bool:
    """Save every intermediate (no recomputation).

    Args:
      prim: the equation's primitive.
      *avals: its input types.
      **params: its parameters.

    Returns:
      True.
    """
    return True


def nothing_saveable(prim, *avals, **params) -> bool:
    """Save nothing: recompute every intermediate (``checkpoint``'s default).

    Args:
      prim: the equation's primitive.
      *avals: its input types.
      **params: its parameters.

    Returns:
      False.
    """
    return False


@dataclass(frozen=True)
class DotsSaveable:
    """Save the outputs of matrix products (``dot_general``), optionally only those without
    batch dimensions (JAX's ``dots_saveable`` / ``dots_with_no_batch_dims_saveable``).

    Args:
      only_if_no_batch_dims: save only products with no batch dimensions.
    """

    only_if_no_batch_dims: bool = False

    def __call__(self, prim, *avals, **params) -> bool:
        if prim.name != "dot_general":
            return False
        if not self.only_if_no_batch_dims:
            return True
        (_, _), (lhs_b, rhs_b) = params["dimension_numbers"]
        return not lhs_b and not rhs_b


dots_saveable = checkpoint_dots = DotsSaveable(False)
dots_with_no_batch_dims_saveable = checkpoint_dots_with_no_batch_dims = DotsSaveable(True)


@dataclass(frozen=True)
class SaveOnlyTheseNames:
    """Save only the values named (``checkpoint_name``) with one of these names.

    Args:
      saveable_names: the names.
    """

    saveable_names: frozenset

    def __call__(self, prim, *avals, **params) -> bool:
        return prim.name == "name" and params["name"] in self.saveable_names


@dataclass(frozen=True)
class SaveAnyNamesButThese:
    """Save every named (``checkpoint_name``) value except those with these names.

    Args:
      names_not_to_save: the names.
    """

    names_not_to_save: frozenset

    def __call__(self, prim, *avals, **params) -> bool:
        return prim.name == "name" and params["name"] not in self.names_not_to_save


def save_only_these_names(*names: str) -> SaveOnlyTheseNames:
    """A policy saving only the values named with one of ``names``.

    Args:
      *names: the names given to ``checkpoint_name``.

    Returns:
      The policy.
    """
    return SaveOnlyTheseNames(frozenset(names))


def save_any_names_but_these(*names: str) -> SaveAnyNamesButThese:
    """A policy saving every named value except those named with one of ``names``.

    Args:
      *names: the names given to ``checkpoint_name``.

    Returns:
      The policy.
    """
    return SaveAnyNamesButThese(frozenset(names))


@dataclass(frozen=True)
class SaveFromBothPolicies:
    """Save what either of two policies saves.

    Args:
      left: a policy.
      right: a policy.
    """

    left: object
    right: object

    def __call__(self, prim, *avals, **params) -> bool:
        return bool(self.left(prim, *avals, **params) or self.right(prim, *avals, **params))


def save_from_both_policies(left, right) -> SaveFromBothPolicies:
    """A policy saving what ``left`` or ``right`` saves.

    Args:
      left: a policy.
      right: a policy.

    Returns:
      The policy.
    """
    return SaveFromBothPolicies(left, right)
