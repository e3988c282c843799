"""The implementation of ``funcgrad.numpy`` and ``funcgrad.numpy.linalg``, one module per
concept (creation, math, reductions, shape, ...). Everything is written from ``funcgrad.lax``
functions: no rules live here. ``funcgrad/numpy/__init__.py`` re-exports the public names.

Importing this package installs the array operators and methods (``x + y``, ``x.sum()``) into
``Array`` and ``Tracer`` (``array_methods.py``): they are numpy functions, and ``array.py`` sits
below this layer.
"""

from funcgrad._src.numpy import array_methods as _array_methods  # noqa: F401  (installs them)
