"""Round-off allowances for the certificate's floating-point bounds (thm-certificate).

Every bound the certificate calls proved is computed in float64 and then pushed outwards by an
allowance from the standard model ``fl(a op b) = (a op b)(1 + delta)``, ``|delta| <= u = 2^-53``:
a sum or dot product of ``n`` terms errs by at most ``gamma_n sum |terms|`` with
``gamma_n = n u / (1 - n u)`` in any summation order, with or without fused multiply-adds
(Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Lemma 3.1 and (3.5)).
``_ETA`` absorbs underflow. Interval matrices are midpoint-radius pairs ``M +- D`` (entrywise).
"""

from __future__ import annotations

import numpy as np

__all__ = ["gamma", "interval_matmul", "spectral_norm_upper", "up"]
# gamma_n is a few ulps: no claim could see it halved (the gate lists it, unmutated)
__allowances__ = ("gamma",)
__bounds__ = ("interval_matmul[1]", "spectral_norm_upper", "up", "_frobenius_upper",
              "_spectral_2x2_upper", "_spectral_3x3_upper")

UNIT = 2.0**-53
_ETA = 2.0**-1000  # far above the subnormal range, far below any bound that matters


def gamma(n: int) -> float:
    """``gamma_n = n u / (1 - n u)``, rounded up."""
    nu = n * UNIT
    return float(np.nextafter(nu / (1.0 - nu) * (1.0 + 4 * UNIT), np.inf))


def up(x, terms: int = 1):
    """``x`` (computed from ``terms`` nonnegative terms by sums, products and square roots)
    pushed up past its exact value: ``x (1 + gamma_{2 terms + 2}) + eta``, then one float up."""
    x = np.asarray(x, dtype=np.float64)
    return np.nextafter(x * (1.0 + gamma(2 * terms + 2)) + _ETA, np.inf)


def interval_matmul(a_mid, a_rad, b_mid, b_rad):
    """``(C, E)`` with ``[a_mid +- a_rad] [b_mid +- b_rad] subset C +- E`` entrywise, round-off
    included: ``C = fl(a_mid b_mid)``; ``E`` adds ``gamma_n |a_mid| |b_mid|`` (the error of
    ``C``) to the exact radius ``|a_mid| b_rad + a_rad (|b_mid| + b_rad)``, rounded up. ``a_rad``
    or ``b_rad`` may be ``0`` (a point matrix)."""
    n = np.shape(a_mid)[-1]
    mid = np.matmul(a_mid, b_mid)
    abs_a, abs_b = np.abs(a_mid), np.abs(b_mid)
    rad = gamma(n) * np.matmul(abs_a, abs_b)
    if np.any(b_rad):
        rad = rad + np.matmul(abs_a, b_rad)
    if np.any(a_rad):
        rad = rad + np.matmul(a_rad, abs_b + b_rad)
    return mid, up(rad, 3 * n + 3)


def _frobenius_upper(m):
    return up(np.sqrt(np.einsum("...ij,...ij->...", m, m)), m.shape[-1] * m.shape[-2] + 1)


def _spectral_2x2_upper(m):
    """``||m||_2 = (|z_1| + |z_2|) / 2`` with ``z_1 = (a + d, c - b)``, ``z_2 = (a - d, c + b)``:
    sums and hypot only (no cancelling discriminant), each correctly rounded to an ulp."""
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    value = 0.5 * (np.hypot(a + d, c - b) + np.hypot(a - d, c + b))
    return up(value, 8)


def _spectral_3x3_upper(m):
    """``s = sigma (1 + margin)`` from the SVD, accepted only where ``s^2 I - m^T m`` is proved
    positive definite (leading minors in interval arithmetic); the smallest margin that proves
    it per matrix, the Frobenius norm where none does."""
    sigma = np.linalg.norm(m, ord=2, axis=(-2, -1))
    gram_mid, gram_rad = interval_matmul(np.swapaxes(m, -1, -2), 0.0, m, 0.0)
    best = _frobenius_upper(m)
    for margin in (1e-12, 1e-9, 1e-6, 1e-3):
        s = np.nextafter(sigma * (1 + margin), np.inf)
        bm = -gram_mid.copy()
        idx = np.arange(3)
        bm[..., idx, idx] += s[..., None] ** 2
        br = up(gram_rad + UNIT * s[..., None, None] ** 2, 2)  # s^2 rounded too
        lo = _minors_lower(bm, br)
        proved = np.all(lo > 0, axis=0)
        best = np.where(proved, np.minimum(best, s), best)
    return best


def _minors_lower(bm, br):
    """Lower ends of the three leading principal minors of ``bm +- br`` (interval arithmetic,
    round-off allowed for by ``up``)."""
    def mul(x, rx, y, ry):  # product of intervals x +- rx, y +- ry
        return x * y, up(np.abs(x) * ry + rx * np.abs(y) + rx * ry + UNIT * np.abs(x * y), 4)

    def add(x, rx, y, ry):
        return x + y, up(rx + ry + UNIT * np.abs(x + y), 3)

    g = lambda i, j: (bm[..., i, j], br[..., i, j])
    m1 = g(0, 0)
    p, rp = mul(*g(0, 0), *g(1, 1))
    q, rq = mul(*g(0, 1), *g(1, 0))
    m2 = add(p, rp, -q, rq)

    def cof(i, j, k, l_):  # g(i, j) g(k, l) - g(i, l) g(k, j)
        x, rx = mul(*g(i, j), *g(k, l_))
        y, ry = mul(*g(i, l_), *g(k, j))
        return add(x, rx, -y, ry)

    c0, c1, c2 = cof(1, 1, 2, 2), cof(1, 0, 2, 2), cof(1, 0, 2, 1)
    t0, t1, t2 = mul(*g(0, 0), *c0), mul(*g(0, 1), *c1), mul(*g(0, 2), *c2)
    s01 = add(t0[0], t0[1], -t1[0], t1[1])
    m3 = add(*s01, *t2)
    return np.stack([v - r for v, r in (m1, m2, m3)])


def spectral_norm_upper(m) -> np.ndarray:
    """A proved upper bound on ``||m_i||_2`` for a stack ``(..., p, q)``: closed form for 2x2,
    an SVD value certified by positive definiteness for 3x3, ``min(Frobenius, sqrt(||m||_1
    ||m||_inf))`` (both rounded up) otherwise."""
    m = np.asarray(m, dtype=np.float64)
    if m.shape[-2:] == (2, 2):
        return _spectral_2x2_upper(m)
    if m.shape[-2:] == (3, 3):
        return _spectral_3x3_upper(m)
    if m.shape[-1] == 1 or m.shape[-2] == 1:
        return _frobenius_upper(m)  # a vector: exact up to round-off
    one = up(np.abs(m).sum(axis=-2).max(axis=-1), m.shape[-2])
    inf = up(np.abs(m).sum(axis=-1).max(axis=-1), m.shape[-1])
    return np.minimum(_frobenius_upper(m), up(np.sqrt(one * inf), 2))
