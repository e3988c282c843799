"""The implementation of ``funcgrad.scipy`` (``special.py``: ``funcgrad.scipy.special``)."""
