"""``funcgrad.scipy``: the parts of scipy funcgrad provides (``funcgrad.scipy.special``)."""

from funcgrad.scipy import special

__all__ = ["special"]
