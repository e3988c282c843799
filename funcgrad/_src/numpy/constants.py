"""funcgrad.numpy's constants (numpy's values)."""

import numpy as np

pi = np.pi
e = np.e
inf = np.inf
nan = np.nan
euler_gamma = np.euler_gamma
newaxis = None
