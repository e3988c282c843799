"""The implementation of ``funcgrad.numpy`` and ``funcgrad.numpy.linalg``, one module per
concept (creation, math, reductions, shape, ...). Everything is written from ``funcgrad.lax``
functions: no rules live here. ``funcgrad/numpy/__init__.py`` re-exports the public names."""
