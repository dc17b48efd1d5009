"""Sampled checks of the constants of a field (prop-field-constants) and of its reference flow.

Every check compares a computed quantity with a proved constant *plus* an explicit allowance for
floating-point round-off, never with a fitted or hard-coded number:

* ``delta(t, x) = ROUNDOFF_ULPS * u * (m(t) + L(t) |x|)`` (``u = 2^-53``) bounds the error of one
  evaluation of ``f(t, x)``: ``f`` is a few dozen floating-point operations on ``x`` (whose own
  rounding moves ``f`` by at most ``L u |x|``) with a result of size at most ``m``.
* ``sup``: ``|f(t, x)| <= m(t) + delta``.
* ``lip``: ``|f(t, x) - f(t, y)| <= L(t) |x - y| + 2 delta``.
* ``hess``: the second difference ``D_eps = f(x + eps u) - 2 f(x) + f(x - eps u)`` equals
  ``eps^2 int_{-1}^{1} (1 - |s|) D^2 f(x + s eps u)[u, u] ds`` (Taylor with integral remainder),
  and ``int (1 - |s|) ds = 1``, so ``|D_eps| <= H(t) eps^2 + 4 delta`` *exactly*, with no
  truncation term.
The recorded measure is the worst ratio (computed) / (bound + allowance), which must be ``<= 1``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import integrate

from .._validate import as_points, positive_float, positive_int
from ..flows import ATOL, RTOL
from .base import SpatialField, VectorField
from .catalogue import time_scaled

__all__ = [
    "ROUNDOFF_ULPS",
    "autonomous",
    "average_by_quadrature",
    "bound_integral_by_quadrature",
    "evaluation_error",
    "holder_ratio",
    "one_sided_excess",
    "one_sided_ratio",
    "sample_field_constants",
    "solver_tolerance",
]

ROUNDOFF_ULPS = 64
_U = 2.0**-53


def autonomous(g: SpatialField, horizon: float = 1.0) -> VectorField:
    """The time-independent field ``f(t, x) = g(x)`` on ``[0, horizon]`` (a ``time_scaled`` field
    with rate 1), so that spatial pieces share the checks and reference flows of
    :class:`VectorField` (prop-field-constants)."""
    if not isinstance(g, SpatialField):
        raise ValueError(f"g must be a SpatialField, got {type(g).__name__}")
    horizon = positive_float(horizon, "horizon")
    return time_scaled(g, lambda t: np.ones(np.shape(t)) if np.ndim(t) else 1.0,
                       lambda t: np.asarray(t, dtype=np.float64), horizon, name=g.name)


def evaluation_error(sup, lip, x_norm):
    """``ROUNDOFF_ULPS * u * (m + L |x|)``: the allowance for round-off in one evaluation of
    ``f(t, x)`` with ``|f| <= m`` and ``Lip f <= L`` (prop-field-constants)."""
    return ROUNDOFF_ULPS * _U * (np.asarray(sup) + np.asarray(lip) * np.asarray(x_norm))


def _finite_at(field: VectorField, t: float) -> bool:
    with np.errstate(all="ignore"):
        value = np.asarray(field.f(t, np.ones((1, field.dim))))
        bounds = [field.sup(t), field.lip(t)]
    return bool(np.all(np.isfinite(value)) and np.all(np.isfinite(bounds)))


def sample_field_constants(field, rng: np.random.Generator, *, times: int = 16, points: int = 512,
                           scales=(1e-3, 1e2), center=None, step: float = 1e-3,
                           pair_scales=(1e-3, 1.0)) -> dict:
    """Worst sampled ratios of ``|f|``, Lipschitz quotients and second differences to the proved
    ``m(t)``, ``L(t)``, ``H(t)`` plus round-off allowances (see the module docstring).

    ``field`` is a :class:`VectorField` or a :class:`SpatialField` (taken as autonomous). Times
    are uniform in ``[0, T]`` plus every breakpoint where ``f`` is finite; points are
    ``center + rho w`` with ``w`` uniform on the sphere and ``rho`` log-uniform in ``scales``
    (far points probe ``m``, near ones ``L`` and ``H``); pair distances and the step ``eps``
    of the second differences as given. Returns a dict with the ratios ``sup``, ``lip``,
    ``hess`` (``None`` without ``H``), the sample count and the worst samples.
    """
    if isinstance(field, SpatialField):
        field = autonomous(field)
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField or SpatialField, got {type(field).__name__}")
    times = positive_int(times, "times")
    points = positive_int(points, "points")
    step = positive_float(step, "step")
    lo, hi = (positive_float(s, "scales") for s in scales)
    plo, phi = (positive_float(s, "pair_scales") for s in pair_scales)
    if lo > hi or plo > phi:
        raise ValueError("scales and pair_scales must be (low, high) with low <= high")
    d = field.dim
    c = np.zeros(d) if center is None else as_points(center, d, "center")[0]
    candidates = np.concatenate([rng.uniform(0.0, field.horizon, times), field.breakpoints])
    t_all = [float(t) for t in candidates if _finite_at(field, float(t))]
    has_hess = field.hess_bound is not None

    def unit(n):
        w = rng.standard_normal((n, d))
        return w / np.linalg.norm(w, axis=1, keepdims=True)

    def log_uniform(a, b, n):
        return np.exp(rng.uniform(math.log(a), math.log(b), n))

    worst = {"sup": (0.0, None), "lip": (0.0, None), "hess": (0.0, None)}
    for t in t_all:
        m, lip = float(field.sup(t)), float(field.lip(t))
        x = c + log_uniform(lo, hi, points)[:, None] * unit(points)
        gap = log_uniform(plo, phi, points)
        y = x + gap[:, None] * unit(points)
        u = unit(points)
        fx, fy = field(t, x), field(t, y)
        far = np.maximum(np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)) + step
        delta = evaluation_error(m, lip, far)
        ratios = {
            "sup": np.linalg.norm(fx, axis=1) / (m + delta),
            "lip": np.linalg.norm(fx - fy, axis=1) / (lip * gap + 2.0 * delta),
        }
        if has_hess:
            second = field(t, x + step * u) - 2.0 * fx + field(t, x - step * u)
            ratios["hess"] = (np.linalg.norm(second, axis=1)
                              / (float(field.hess(t)) * step**2 + 4.0 * delta))
        for key, r in ratios.items():
            i = int(np.argmax(r))
            if r[i] > worst[key][0]:
                worst[key] = (float(r[i]), {"t": t, "x": x[i].tolist()})
    return {
        "sup": worst["sup"][0], "lip": worst["lip"][0],
        "hess": worst["hess"][0] if has_hess else None,
        "samples": len(t_all) * points,
        "worst": {k: v[1] for k, v in worst.items()},
    }


def holder_ratio(field: VectorField, rng: np.random.Generator, *, pairs: int = 2048,
                 scales=(1e-1, 1e2), center=None, anchor=None) -> float:
    """Worst ratio ``|f(t, x) - f(s, x)| / (C |t - s|^alpha + 2 delta)`` over sampled ``s, t, x``,
    for fields with attributes ``holder_exponent`` ``alpha`` and ``holder_constant`` ``C``
    (prop-field-constants). Half of the ``s`` are ``anchor`` (e.g. the kink), the rest uniform."""
    alpha = getattr(field, "holder_exponent", None)
    const = getattr(field, "holder_constant", None)
    if alpha is None or const is None:
        raise ValueError("field must carry holder_exponent and holder_constant")
    pairs = positive_int(pairs, "pairs")
    d, T = field.dim, field.horizon
    c = np.zeros(d) if center is None else as_points(center, d, "center")[0]
    s = rng.uniform(0.0, T, pairs)
    if anchor is not None:
        s[: pairs // 2] = float(anchor)
    t = np.clip(s + rng.choice([-1.0, 1.0], pairs) * np.exp(rng.uniform(-12, 0, pairs)) * T,
                0.0, T)
    w = rng.standard_normal((pairs, d))
    rho = np.exp(rng.uniform(math.log(scales[0]), math.log(scales[1]), pairs))
    x = c + rho[:, None] * w / np.linalg.norm(w, axis=1, keepdims=True)
    worst = 0.0
    for i in range(pairs):
        if t[i] == s[i]:
            continue
        diff = np.linalg.norm(field(t[i], x[i : i + 1]) - field(s[i], x[i : i + 1]))
        scale = max(float(field.sup(t[i])), float(field.sup(s[i])))
        lip = max(float(field.lip(t[i])), float(field.lip(s[i])))
        allowance = 2.0 * float(evaluation_error(scale, lip, np.linalg.norm(x[i])))
        worst = max(worst, float(diff / (const * abs(t[i] - s[i]) ** alpha + allowance)))
    return worst


def one_sided_excess(field: VectorField, rng: np.random.Generator, *, times: int = 16,
                     points: int = 512) -> dict:
    """Largest sampled excess of the one-sided quotient ``<u - v, f(t, u) - f(t, v)> / |u - v|^2``
    over the declared ``mu(t)`` plus the round-off allowance ``2 delta / |u - v|``
    (lem-one-sided): ``<= 0`` when ``mu`` holds on the sample. Points ``|u|`` log-uniform in
    ``[1e-3, 1e2]``, gaps in ``[1e-3, 1]``, times uniform. Returns ``{"excess", "t"}``."""
    if not isinstance(field, VectorField) or field.mu_bound is None:
        raise ValueError("field must be a VectorField with a mu_bound")
    times, points, d = positive_int(times, "times"), positive_int(points, "points"), field.dim
    worst = (-math.inf, None)
    for t in rng.uniform(0.0, field.horizon, times):
        u = rng.standard_normal((points, d)) * np.exp(rng.uniform(-7.0, 4.6, (points, 1)))
        gap = np.exp(rng.uniform(-7.0, 0.0, points))
        step = rng.standard_normal((points, d))
        v = u + gap[:, None] * step / np.linalg.norm(step, axis=1, keepdims=True)
        quotient = np.einsum("ij,ij->i", u - v, field(t, u) - field(t, v)) / gap**2
        far = np.maximum(np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1))
        slack = 2 * evaluation_error(field.sup(t), field.lip(t), far) / gap
        excess = float(np.max(quotient - float(field.mu_bound(t)) - slack))
        worst = max(worst, (excess, float(t)), key=lambda w: w[0])
    return {"excess": worst[0], "t": worst[1]}


def one_sided_ratio(field: VectorField, rng: np.random.Generator, *, times: int = 16,
                    points: int = 4096, center=None) -> dict:
    """Worst sampled ratio of the one-sided quotient ``<u - v, f(t, u) - f(t, v)> / |u - v|^2``
    to the declared ``mu(t)`` plus the round-off allowance ``2 delta / |u - v|``
    (lem-one-sided): ``<= 1`` when ``mu`` holds on the sample, near 1 when the sample comes
    close to attaining it, so a ``mu`` half as large fails. Points ``center + w``, ``|w|``
    log-uniform in ``[1e-2, 1e1]``, gaps in ``[1e-4, 1e-1]``; only where ``mu(t) > 0``.
    Returns ``{"ratio", "t", "x"}``."""
    if not isinstance(field, VectorField) or field.mu_bound is None:
        raise ValueError("field must be a VectorField with a mu_bound")
    times, points, d = positive_int(times, "times"), positive_int(points, "points"), field.dim
    c = np.zeros(d) if center is None else as_points(center, d, "center")[0]
    worst = (0.0, None, None)
    for t in rng.uniform(0.0, field.horizon, times):
        mu = float(field.mu_bound(t))
        if not mu > 0:
            continue
        w = rng.standard_normal((points, d))
        u = c + w / np.linalg.norm(w, axis=1, keepdims=True) * np.exp(
            rng.uniform(math.log(1e-2), math.log(1e1), (points, 1)))
        gap = np.exp(rng.uniform(math.log(1e-4), math.log(1e-1), points))
        step = rng.standard_normal((points, d))
        v = u + gap[:, None] * step / np.linalg.norm(step, axis=1, keepdims=True)
        quotient = np.einsum("ij,ij->i", u - v, field(t, u) - field(t, v)) / gap**2
        far = np.maximum(np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1))
        ratio = quotient / (mu + 2 * evaluation_error(field.sup(t), field.lip(t), far) / gap)
        i = int(np.argmax(ratio))
        if ratio[i] > worst[0]:
            worst = (float(ratio[i]), float(t), u[i].tolist())
    return {"ratio": worst[0], "t": worst[1], "x": worst[2]}


def _split(field: VectorField, a: float, b: float, kinks) -> list[tuple[float, float]]:
    """The pieces of ``[a, b]`` between breakpoints, split further at ``kinks``."""
    field._check_interval(a, b)
    k = np.asarray(kinks, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(k)):
        raise ValueError("kinks must be finite")
    out = []
    for lo, hi in field.pieces(float(a), float(b)):
        inner = np.unique(k[(k > lo) & (k < hi)])
        edges = np.concatenate([[lo], inner, [hi]])
        out += [(float(p), float(q)) for p, q in itertools.pairwise(edges)]
    return out


def average_by_quadrature(field: VectorField, a: float, b: float, x, kinks=()):
    """``int_a^b f(s, x) ds`` by ``scipy.integrate.quad_vec`` on each piece between breakpoints
    (and ``kinks``), ignoring any closed form; returns ``(value, error_estimate)``
    (prop-field-constants)."""
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    x = as_points(x, field.dim)
    value, error = np.zeros_like(x), 0.0
    for lo, hi in _split(field, a, b, kinks):
        v, e = integrate.quad_vec(lambda s: field.f(s, x), lo, hi, epsabs=1e-13, epsrel=1e-12,
                                  limit=2000)
        value, error = value + v, error + float(e)
    return value, error


def bound_integral_by_quadrature(field: VectorField, kind: str, a: float, b: float, kinks=()):
    """``int_a^b`` of ``m`` (``kind="sup"``), ``L`` (``"lip"``) or ``H`` (``"hess"``) by
    ``scipy.integrate.quad`` per piece, ignoring closed-form primitives; ``(value, error)``.

    Pass the kinks of the bound in ``kinks`` (e.g. the zeros of ``|sin|`` in ``m``): adaptive
    quadrature across an unannounced kink can miss by ``1e-6`` while reporting ``1e-14``."""
    bounds = {"sup": field.sup_bound, "lip": field.lip_bound, "hess": field.hess_bound}
    if kind not in bounds or bounds[kind] is None:
        raise ValueError(f"kind must be one of {sorted(k for k, v in bounds.items() if v)}, "
                         f"got {kind!r}")
    value, error = 0.0, 0.0
    for lo, hi in _split(field, a, b, kinks):
        v, e = integrate.quad(lambda s: float(bounds[kind](s)), lo, hi, limit=2000,
                              epsabs=1e-14, epsrel=1e-12)
        value, error = value + v, error + e
    return value, error


def solver_tolerance(field: VectorField, a: float, b: float, state_bound: float,
                     steps: int = 1000) -> float:
    """Heuristic tolerance for ``reference_flow(..., method="numerical")`` against an exact flow
    on ``[a, b]`` (thm-well-posed): ``exp(int_a^b L) * steps * (RTOL * R + ATOL)``.

    Not a proved bound: scipy controls the RMS over all components of an error *estimate*, so
    one component may exceed its share by up to ``sqrt(n)``, and ``steps`` is not checked.

    DOP853 keeps its estimate of every accepted step's local error below ``RTOL |y| + ATOL``
    (``|y| <= R``); a local error made at time ``s`` reaches ``b`` multiplied by at most
    ``exp(int_s^b L)`` (thm-well-posed, (i)); ``steps`` bounds the number of accepted steps.
    """
    r = positive_float(state_bound, "state_bound")
    steps = positive_int(steps, "steps")
    lo, hi = sorted((float(a), float(b)))
    return float(math.exp(field.lip_integral(lo, hi)) * steps * (RTOL * r + ATOL))
