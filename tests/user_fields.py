"""Fields a user would write with the field API, singular inside [0, 1] and not in the catalogue:
the planners' tests and `make bench` (benchmarks/bench.py) time and check them.

``f_i(t, x) = a(t) sin(x_{i+1} + (i + 1) t)`` (indices mod d), ``a(t) = c |t - t*|^{-beta}``:
not separable, no primitive, average or flow given. Its Jacobian is a permutation times a
diagonal of cosines (norm <= 1) and ``D^2 f_i[u, u] = -a sin(.) u_{i+1}^2``, so ``m = a sqrt(d)``,
``L = a``, ``H = a``.
"""

import math

import numpy as np

import resnet_flows as rf


def user_singular_field(dim: int, tstar: float, beta: float, strength: float = 0.2):
    def rate(t):
        with np.errstate(divide="ignore"):
            return strength * np.abs(np.asarray(t, dtype=np.float64) - tstar) ** (-beta)

    shift = np.arange(1, dim + 1)

    def f(t, x):
        return rate(t) * np.sin(np.roll(x, -1, axis=1) + shift * t)

    return rf.VectorField(f, dim, 1.0, lambda t: rate(t) * math.sqrt(dim), rate, rate,
                          singular_times={tstar: beta},
                          name=f"user field d={dim}, |t - {tstar}|^-{beta}")


def user_field_2d():
    """d = 2, ``0.2 |t - 0.61|^-0.8``: the issue's d = 2 case (planned at eps = 0.25)."""
    return user_singular_field(2, 0.61, 0.8)


def user_field_3d():
    """d = 3, ``0.2 |t - 0.29|^-0.7``: the issue's d = 3 case (planned at eps = 0.3)."""
    return user_singular_field(3, 0.29, 0.7)
