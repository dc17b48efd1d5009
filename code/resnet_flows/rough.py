"""Fields rough or singular in time: a Takagi-Landsberg time factor (thm-complexity, alpha < 1),
and a non-separable field with an interior singularity ``|t - t*|^{-beta}`` and no closed forms.

``T_a(t) = sum_{n=0}^{n_max} 2^{-n a} phi(2^n t)`` with ``phi(s) = dist(s, Z)`` is ``a``-Hoelder
with the sharp constant of :func:`takagi_holder_constant` (proved in the field appendix,
prop-takagi-holder), for every truncation ``n_max``. At dyadic times ``j 2^{-k}`` every term with
``n >= k`` vanishes while its average over a dyadic step is ``1/4``; the terms ``n < k`` are
linear on each step and their defects cancel over ``[0, 1]``. So point evaluation at the left
ends of dyadic steps misses ``sum_{n>=k} 2^{-n a} / 4 ~ h^a`` in all (a cumulative statement:
the defect of a single step may have either sign), and point-Euler for the drift ``T_a(t)``
errs by exactly that (lem-takagi-drift).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._validate import nonnegative_float, positive_float, positive_int
from .fields import VectorField, cutoff_rotation, saturated_field, time_scaled

__all__ = ["interior_singular_field", "power_singular_rotation", "takagi", "takagi_field", "takagi_holder_constant",
           "takagi_primitive"]


def _check_alpha(alpha) -> float:
    alpha = positive_float(alpha, "alpha")
    if alpha >= 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return alpha


def takagi(t, alpha: float, terms: int = 48):
    """``T_a(t) = sum_{n < terms} 2^{-n a} dist(2^n t, Z)``; ``0 <= T_a <= 1 / (2 (1 - 2^-a))``."""
    alpha = _check_alpha(alpha)
    t = np.asarray(t, dtype=np.float64)
    n = np.arange(positive_int(terms, "terms"))
    y = np.ldexp(t[..., None], n)  # 2^n t, exact in binary
    return np.sum(2.0 ** (-n * alpha) * np.abs(y - np.round(y)), axis=-1)[()]


def takagi_primitive(t, alpha: float, terms: int = 48):
    """``int_0^t T_a``: ``int_0^t phi(2^n s) ds = 2^{-n} Phi(2^n t)`` with
    ``Phi(y) = floor(y) / 4 + z^2 / 2`` (``z = y - floor(y) <= 1/2``), ``floor(y) / 4 + 1/4
    - (1 - z)^2 / 2`` (``z > 1/2``)."""
    alpha = _check_alpha(alpha)
    t = np.asarray(t, dtype=np.float64)
    n = np.arange(positive_int(terms, "terms"))
    y = np.ldexp(t[..., None], n)
    whole = np.floor(y)
    z = y - whole
    part = np.where(z <= 0.5, 0.5 * z * z, 0.25 - 0.5 * (1.0 - z) ** 2)
    return np.sum(2.0 ** (-n * (alpha + 1.0)) * (0.25 * whole + part), axis=-1)[()]


# Dyadic level of the evaluation of C_a: intervals of length 2^-20 and the maximum of T_a
# from its first 20 terms (0.16 s; the bound is within 0.05 % of sharp at a = 1/2, 2.4 % at 1/4).
HOLDER_LEVELS = 20


def _dyadic_tent(j, level):
    """``phi(j 2^level)`` for integers ``j``: exact in binary."""
    y = np.ldexp(j, level)
    return np.abs(y - np.round(y))


def takagi_holder_constant(alpha: float) -> float:
    """``C_a`` with ``|T_a(t) - T_a(s)| <= C_a |t - s|^a`` for every truncation
    (prop-takagi-holder), evaluated from above at dyadic level ``K = HOLDER_LEVELS``:

    ``C_a = max(M_a, sup_{1/2 < h <= 1} B(h) h^-a + h^{1-a} / (2^{1-a} - 1))`` with
    ``M_a = max T_a <= max T_{<K} / (1 - 2^{-aK})`` (``T_{<K}`` piecewise linear, its maximum
    at a point of ``2^-K Z``) and ``B(h) = min_k sum_{n<k} 2^{-na} phi(2^n h) + 2^{-ka} M_a``,
    bounded on each interval ``[h_1, h_2]`` of ``2^-K Z`` by ``min_{k<=K}`` of the larger end
    value of the linear ``B_k``, with ``h^-a <= h_1^-a``, ``h^{1-a} <= h_2^{1-a}``. The pairs
    ``(0, 2^-j 2/3)`` come within 0.05 % (``a = 1/2``) and 2.4 % (``a = 1/4``) of it. Never
    above the cruder ``2^{1-a} / (2^{1-a} - 1) + 1 / (2 (1 - 2^{-a}))`` (also proved there).
    """
    return _holder_constant(_check_alpha(alpha))


@functools.lru_cache(maxsize=32)
def _holder_constant(alpha: float) -> float:
    w, K = 2.0**-alpha, HOLDER_LEVELS
    crude = 2.0 ** (1 - alpha) / (2.0 ** (1 - alpha) - 1.0) + 0.5 / (1.0 - w)
    half = np.arange(2 ** (K - 1) + 1, dtype=np.float64)  # T(1 - t) = T(t): t in [0, 1/2]
    head = sum(w**n * _dyadic_tent(half, n - K) for n in range(K))
    top = float(head.max()) / (1.0 - w**K)  # >= M_a
    ends = np.arange(2 ** (K - 1), 2**K + 1, dtype=np.float64)  # h = ends 2^-K in [1/2, 1]
    partial, envelope = np.zeros_like(ends), np.full(ends.size - 1, top)
    for k in range(1, K + 1):
        partial += w ** (k - 1) * _dyadic_tent(ends, k - 1 - K)
        b_k = partial + w**k * top
        envelope = np.minimum(envelope, np.maximum(b_k[:-1], b_k[1:]))
    h1, h2 = np.ldexp(ends[:-1], -K), np.ldexp(ends[1:], -K)
    sharp = envelope * h1**-alpha + h2 ** (1 - alpha) / (2.0 ** (1 - alpha) - 1.0)
    # a relative 1e-12 covers the rounding of sums of at most K + 2 terms
    return min(crude, max(top, float(sharp.max())) * (1.0 + 1e-12))


def takagi_field(dim: int, alpha: float, strength: float = 1.0, horizon: float = 1.0,
                 terms: int = 48) -> VectorField:
    """``f(t, x) = (1 + strength T_a(t)) g(x)``: ``a``-Hoelder in time everywhere, with sup-norm
    Hoelder constant ``strength C_a sup|g|`` (prop-takagi-holder); exact flow by the time change.

    ``g`` is ``-tanh`` (d = 1) or the cut-off rotation (d = 2)."""
    dim = positive_int(dim, "dim")
    alpha = _check_alpha(alpha)
    c = nonnegative_float(strength, "strength")
    if dim == 1:
        g = saturated_field([[-1.0]])
    elif dim == 2:
        g = cutoff_rotation(1.0, 1.0)
    else:
        raise ValueError(f"dim must be 1 or 2, got {dim}")

    def rate(t):
        return 1.0 + c * takagi(t, alpha, terms)

    def primitive(t):
        return np.asarray(t, dtype=np.float64) + c * takagi_primitive(t, alpha, terms)

    field = time_scaled(g, rate, primitive, horizon,
                        name=f"Takagi field (d={dim}, alpha={alpha})")
    field.holder_exponent = alpha
    field.holder_constant = c * takagi_holder_constant(alpha) * g.sup
    return field


def interior_singular_field(tstar: float = 0.61, beta: float = 0.9, strength: float = 0.1,
                            wobble: float = 0.5, horizon: float = 1.0) -> VectorField:
    """``f(t, x) = c |t - t*|^{-beta} tanh(w(t) J x)`` in d = 2, ``w(t) = 1 + wobble sin(2 pi t)``,
    ``J`` the rotation by ``pi/2``, ``tanh`` componentwise: singular inside ``I``, not separable
    when ``wobble != 0``, and given as a user would give it: no primitive, average or flow.

    With ``a(t) = c |t - t*|^{-beta}``: ``m = a sqrt 2`` (``|tanh| < 1``), ``L = a |w|``
    (``tanh`` is 1-Lipschitz, ``|J| = 1``), ``H = a 4 / (3 sqrt 3) w^2``
    (``|D^2 g[u, u]|^2 = sum_i tanh''(.)^2 (w (Ju)_i)^4 <= (4 / (3 sqrt 3))^2 w^4 |u|^4``)."""
    tstar = float(tstar)
    c = positive_float(strength, "strength")
    wob = nonnegative_float(wobble, "wobble")
    if wob >= 1:
        raise ValueError(f"wobble must lie in [0, 1), got {wobble}")

    def rate(t):
        with np.errstate(divide="ignore"):
            return c * np.abs(np.asarray(t, dtype=np.float64) - tstar) ** (-beta)

    def speed(t):
        return 1.0 + wob * np.sin(2.0 * math.pi * np.asarray(t, dtype=np.float64))

    def f(t, x):
        w = speed(t)
        return rate(t) * np.tanh(w * np.stack([-x[:, 1], x[:, 0]], axis=1))

    hess = 4.0 / (3.0 * math.sqrt(3.0))
    return VectorField(f, 2, horizon, lambda t: rate(t) * math.sqrt(2.0),
                       lambda t: rate(t) * np.abs(speed(t)),
                       lambda t: rate(t) * hess * speed(t) ** 2,
                       singular_times=((tstar, beta),),
                       name=f"interior singular field |t - {tstar}|^-{beta}")


def power_singular_rotation(beta: float = 0.9, tstar: float = 0.0, strength: float = 0.02,
                            horizon: float = 1.0) -> VectorField:
    """``f(t, x) = c |t - t*|^{-beta} g(x)``, ``g`` the cut-off rotation (``omega = r = 1``), with
    the singular time declared; closed forms by the time change
    ``A(t) = c sgn(t - t*) |t - t*|^{1 - beta} / (1 - beta)`` (prop-field-constants)."""
    c = positive_float(strength, "strength")
    tstar = float(tstar)
    g = cutoff_rotation(1.0, 1.0)

    def rate(t):
        with np.errstate(divide="ignore"):
            return c * np.abs(np.asarray(t, dtype=np.float64) - tstar) ** (-beta)

    def primitive(t):
        s = np.asarray(t, dtype=np.float64) - tstar
        return c * np.sign(s) * np.abs(s) ** (1.0 - beta) / (1.0 - beta)

    return time_scaled(g, rate, primitive, horizon, singular_times=((tstar, beta),),
                       name=f"{c} |t - {tstar}|^-{beta} g")
