"""The implementation of ``funcgrad.random``: keys and threefry (``prng``), the basic samplers,
the gamma family, discrete, continuous and multivariate distributions. Written from lax
primitives and ``funcgrad._src.numpy`` only; ``funcgrad/random/__init__.py`` re-exports."""
