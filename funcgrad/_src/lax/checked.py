"""The elementwise functions as ``funcgrad.lax`` exports them: with JAX's dtype checks.

Every public function of ``elementwise.py`` and ``transcendental.py``, the elementwise ones
wrapped by :func:`funcgrad._src.lax.strict.strict_namespace` (no promotion, JAX's errors);
funcgrad's own code imports the unchecked originals from those modules.
"""

from __future__ import annotations

from funcgrad._src.lax import elementwise, transcendental
from funcgrad._src.lax.strict import strict_namespace


def _public(module) -> dict:
    return {
        k: v
        for k, v in vars(module).items()
        if not k.startswith("_")
        and callable(v)
        and getattr(v, "__module__", "").startswith("funcgrad._src.lax.")
    }


_ORIGINALS = {**_public(elementwise), **_public(transcendental)}
globals().update({**_ORIGINALS, **strict_namespace(_ORIGINALS)})
