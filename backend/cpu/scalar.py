"""Moved: the scalar rule table is ``funcgrad.backend.scalar``, shared with the CUDA backend."""

from funcgrad.backend.scalar import *  # noqa: F401,F403
