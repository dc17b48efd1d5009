"""The catalogue of example fields with proved constants (prop-field-constants; the proofs are
in the book's field appendix): spatial pieces (cut-off rotation, drift, saturated field), their
time changes and switchings, and the fields the chapters use.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import nonnegative_float, positive_float, positive_int
from .base import SpatialField, VectorField

__all__ = [
    "constant_drift",
    "cutoff_rotation",
    "holder_field",
    "periodic_drift_rotation",
    "saturated_field",
    "saturated_field_3d",
    "singular_rotation",
    "switching",
    "switching_rotations",
    "time_scaled",
]


def _rotation(angle: np.ndarray, v: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], axis=1)


def cutoff_rotation(omega: float = 1.0, radius: float = 1.0, center=(0.0, 0.0)) -> SpatialField:
    """``g(x) = omega J (x - c) / sqrt(1 + |x - c|^2 / r^2)`` in d = 2.

    ``sup |g| <= omega r``, ``Lip g = |omega|``, ``H = 48 |omega| / (25 sqrt(5) r)`` (sharp,
    attained at ``|x - c| = r / 2`` with ``u`` parallel to ``x - c``; lem-cutoff-rotation),
    one-sided Lipschitz constant ``mu = |omega| / 3^{3/2}`` (lem-one-sided); the flow rotates
    about ``c`` with angular speed ``omega psi(|x - c|)`` on circles (closed form).
    """
    omega = float(omega)
    radius = positive_float(radius, "radius")
    c = np.asarray(center, dtype=np.float64)
    if c.shape != (2,):
        raise ValueError(f"center must be a point of R^2, got {center!r}")

    def psi(v):
        return 1.0 / np.sqrt(1.0 + np.sum(v * v, axis=1) / radius**2)

    def g(x):
        v = x - c
        return omega * psi(v)[:, None] * np.stack([-v[:, 1], v[:, 0]], axis=1)

    def flow(tau, x):
        v = x - c
        return c + _rotation(omega * psi(v) * tau, v)

    return SpatialField(g, 2, abs(omega) * radius, abs(omega),
                        48.0 * abs(omega) / (25.0 * math.sqrt(5.0) * radius), flow,
                        f"cutoff rotation (omega={omega}, r={radius}, c={tuple(c)})",
                        abs(omega) / 3.0**1.5)


def constant_drift(velocity) -> SpatialField:
    """``g(x) = v``: ``sup |g| = |v|``, ``Lip g = 0``, ``H = 0``; flow ``x + tau v``."""
    v = np.asarray(velocity, dtype=np.float64).reshape(-1)
    return SpatialField(lambda x: np.broadcast_to(v, x.shape).copy(), v.size,
                        float(np.linalg.norm(v)), 0.0, 0.0, lambda tau, x: x + tau * v,
                        f"constant drift {tuple(v)}", 0.0)


def saturated_field(matrix) -> SpatialField:
    """``g(x) = A tanh(x)`` (componentwise tanh).

    ``sup |g| <= ||A|| sqrt(d)``, ``Lip g <= ||A||``, ``H <= ||A|| 4 / (3 sqrt 3)``; in d = 1 with
    ``A = -a`` the flow is ``sinh x(tau) = sinh(x) exp(-a tau)``.
    """
    a = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"matrix must be square, got shape {a.shape}")
    d = a.shape[0]
    norm = float(np.linalg.norm(a, 2))
    flow = None
    if d == 1 and a[0, 0] < 0:
        rate = -a[0, 0]
        flow = lambda tau, x: np.arcsinh(np.sinh(x) * np.exp(-rate * tau))
    return SpatialField(lambda x: np.tanh(x) @ a.T, d, norm * math.sqrt(d), norm,
                        norm * 4.0 / (3.0 * math.sqrt(3.0)), flow, f"saturated field (d={d})")


def time_scaled(g: SpatialField, rate, rate_primitive, horizon: float, breakpoints=(),
                name: str | None = None, singular_times=()) -> VectorField:
    """``f(t, x) = a(t) g(x)`` with ``a >= 0`` integrable and ``A`` its primitive.

    Bounds ``m = a sup|g|``, ``L = a Lip g``, ``H = a H_g``; averages ``(A(b) - A(a)) g`` and the
    exact flow ``Phi(s, t, x) = Psi_g(A(t) - A(s), x)`` by the time change ``tau = A(t)``.
    """
    if not callable(rate) or not callable(rate_primitive):
        raise ValueError("rate and rate_primitive must be callables of t")
    given_rate = rate

    def rate(t):  # every evaluation is checked: a(t) < 0 would make m, L, H and mu wrong
        out = given_rate(t)
        values = np.asarray(out, dtype=np.float64)
        bad = np.isnan(values) | (values < 0)
        if np.any(bad):
            times = np.broadcast_to(np.asarray(t, dtype=np.float64), values.shape)
            raise ValueError(f"rate must be >= 0 (a(t) scales the bounds of g), got "
                             f"{values[bad].flat[0]} at t={times[bad].flat[0]}")
        return out

    def scaled(c):
        return (lambda t: c * rate(t)), (lambda t: c * rate_primitive(t))

    sup, sup_p = scaled(g.sup)
    lip, lip_p = scaled(g.lip)
    hess, hess_p = scaled(g.hess) if g.hess is not None else (None, None)
    mu, mu_p = scaled(g.mu) if g.mu is not None else (None, None)
    field = VectorField(
        lambda t, x: rate(t) * g(x), g.dim, horizon, sup, lip, hess, breakpoints,
        name=name or f"a(t) * {g.name}",
        average=lambda a, b, x: (rate_primitive(b) - rate_primitive(a)) * g(x),
        exact_flow=lambda s, t, x: g.flow_map(rate_primitive(t) - rate_primitive(s), x),
        sup_primitive=sup_p, lip_primitive=lip_p, hess_primitive=hess_p, mu_bound=mu,
        mu_primitive=mu_p, singular_times=singular_times,
    )
    field.exact_flow_is_closed_form = g.flow is not None  # else g's flow map runs DOP853
    return field


def switching(pieces, switch_times, horizon: float, name: str = "switching field") -> VectorField:
    """``f(t, x) = g_j(x)`` for ``t`` in ``[s_j, s_{j+1})``: jumps in time, exact flow by composition.

    ``switch_times`` are ``s_1 < ... < s_{J-1}`` inside ``(0, horizon)``, one fewer than pieces.
    """
    pieces = list(pieces)
    s = np.asarray(switch_times, dtype=np.float64)
    if len(pieces) != s.size + 1:
        raise ValueError(f"switching needs len(pieces) == len(switch_times) + 1, got "
                         f"{len(pieces)} and {s.size}")
    if s.size and (np.any(np.diff(s) <= 0) or s[0] <= 0 or s[-1] >= horizon):
        raise ValueError(f"switch_times must increase strictly inside (0, {horizon})")
    dims = {p.dim for p in pieces}
    if len(dims) != 1:
        raise ValueError(f"all pieces must have one dimension, got {dims}")
    edges = np.concatenate([[0.0], s, [float(horizon)]])
    sups = np.array([p.sup for p in pieces])
    lips = np.array([p.lip for p in pieces])
    hess = None if any(p.hess is None for p in pieces) else np.array([p.hess for p in pieces])
    mus = None if any(p.mu is None for p in pieces) else np.array([p.mu for p in pieces])

    def which(t):
        return np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(pieces) - 1)

    def piecewise(values):
        cumulative = np.concatenate([[0.0], np.cumsum(values * np.diff(edges))])
        bound = lambda t: values[which(t)]

        def primitive(t):
            j = which(t)
            return cumulative[j] + values[j] * (t - edges[j])

        return bound, primitive

    def overlap(a, b):
        return np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0.0, None)

    def average(a, b, x):
        return sum(w * p(x) for w, p in zip(overlap(a, b), pieces) if w > 0) + np.zeros_like(x)

    def flow(t0, t1, x):
        lo, hi = sorted((t0, t1))
        sign = 1.0 if t1 >= t0 else -1.0
        order = range(len(pieces)) if sign > 0 else reversed(range(len(pieces)))
        y = x.copy()
        for j in order:
            span = overlap(lo, hi)[j]
            if span > 0:
                y = pieces[j].flow_map(sign * span, y)
        return y

    sup, sup_p = piecewise(sups)
    lip, lip_p = piecewise(lips)
    hess_fn, hess_p = piecewise(hess) if hess is not None else (None, None)
    return VectorField(
        lambda t, x: pieces[int(which(t))](x), pieces[0].dim, horizon, sup, lip, hess_fn, s,
        name=name, average=average, exact_flow=flow, sup_primitive=sup_p, lip_primitive=lip_p,
        hess_primitive=hess_p, **({} if mus is None else dict(zip(("mu_bound", "mu_primitive"),
                                                                  piecewise(mus)))),
    )


# -- the catalogue ------------------------------------------------------------------------------
def singular_rotation(strength: float = 0.5, omega: float = 1.0, radius: float = 1.0,
                      horizon: float = 1.0) -> VectorField:
    """``f(t, x) = c t^{-1/2} g(x)``, ``g`` the cut-off rotation: ``m, L ~ t^{-1/2}`` unbounded.

    ``f(0, .)`` is undefined; ``int_0^t c s^{-1/2} ds = 2 c sqrt(t)`` gives the exact flow.
    """
    c = positive_float(strength, "strength")
    g = cutoff_rotation(omega, radius)

    def rate(t):
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return (c / np.sqrt(t))[()]

    return time_scaled(g, rate, lambda t: 2.0 * c * np.sqrt(t), horizon, breakpoints=(0.0,),
                       name=f"singular rotation {c} t^(-1/2) g", singular_times=((0.0, 0.5),))


def switching_rotations(switches: int = 7, omega: float = 2.0, radius: float = 1.0,
                        drift: float = 1.0, horizon: float = 1.0) -> VectorField:
    """Piece ``j`` on ``[j, j+1] T / (switches + 1)``: a drift ``(0, +-drift)`` when ``j = 2 mod 3``,
    else a rotation about ``(+-0.5, 0)``; the sign alternates with ``j``."""
    switches = positive_int(switches, "switches")
    pieces = []
    for j in range(switches + 1):
        side = 1.0 if j % 2 == 0 else -1.0
        if j % 3 == 2:
            pieces.append(constant_drift((0.0, side * drift)))
        else:
            pieces.append(cutoff_rotation(side * omega, radius, (0.5 * side, 0.0)))
    times = horizon * np.arange(1, switches + 1) / (switches + 1)
    return switching(pieces, times, horizon, name=f"switching rotations ({switches} switches)")


def periodic_drift_rotation(omega: float = 1.0, radius: float = 1.0, amplitude: float = 1.0,
                            period: float = 0.5, horizon: float = 1.0) -> VectorField:
    """``f(t, x) = g(x) + amplitude sin(2 pi t / period) e_1``, smooth and periodic in time.

    ``m = omega r + amplitude |sin|``, ``L = omega``, ``H = H_g``; no closed-form flow.
    """
    g = cutoff_rotation(omega, radius)
    amp = nonnegative_float(amplitude, "amplitude")
    per = positive_float(period, "period")
    k = 2.0 * math.pi / per
    e1 = np.array([1.0, 0.0])

    def sup(t):
        return g.sup + amp * np.abs(np.sin(k * np.asarray(t)))

    def sup_primitive(t):
        # int_0^t |sin(k s)| ds: each half period contributes 2 / k
        phase = k * np.asarray(t, dtype=np.float64)
        halves = np.floor(phase / math.pi)
        return g.sup * np.asarray(t) + amp * (2.0 * halves + 1.0 - np.cos(phase - halves * math.pi)) / k

    def average(a, b, x):
        return (b - a) * g(x) + amp * (np.cos(k * a) - np.cos(k * b)) / k * e1

    return VectorField(
        lambda t, x: g(x) + amp * math.sin(k * t) * e1, 2, horizon, sup, g.lip, g.hess,
        name="periodic drift + rotation", average=average, sup_primitive=sup_primitive,
        mu_bound=g.mu, mu_primitive=lambda t: g.mu * np.asarray(t),
        lip_primitive=lambda t: g.lip * np.asarray(t), hess_primitive=lambda t: g.hess * np.asarray(t),
    )


def saturated_field_3d(horizon: float = 1.0, seed: int = 0) -> VectorField:
    """``f(t, x) = (1 + cos(2 pi t) / 2) A tanh(x)`` in d = 3 with ``A`` skew plus damping."""
    rng = np.random.default_rng(seed)
    b = rng.standard_normal((3, 3))
    a = 0.8 * (b - b.T) / np.linalg.norm(b - b.T, 2) - 0.3 * np.eye(3)
    g = saturated_field(a)
    rate = lambda t: 1.0 + 0.5 * np.cos(2 * np.pi * np.asarray(t))
    primitive = lambda t: np.asarray(t) + 0.25 * np.sin(2 * np.pi * np.asarray(t)) / np.pi
    return time_scaled(g, rate, primitive, horizon, name="saturated field (d=3)")


def holder_field(dim: int, alpha: float, kink: float = 0.5, strength: float = 1.0,
                 horizon: float = 1.0) -> VectorField:
    """``f(t, x) = (1 + strength |t - kink|^alpha) g(x)``: alpha-Hoelder in time, constant
    ``strength * sup|g|`` in the sup norm, not better at ``t = kink``.

    ``g`` is ``-tanh`` (d = 1), the cut-off rotation (d = 2), the saturated field (d >= 3).
    """
    dim = positive_int(dim, "dim")
    alpha = positive_float(alpha, "alpha")
    if alpha > 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    beta = nonnegative_float(strength, "strength")
    if dim == 1:
        g = saturated_field([[-1.0]])
    elif dim == 2:
        g = cutoff_rotation(1.0, 1.0)
    else:
        q, _ = np.linalg.qr(np.random.default_rng(dim).standard_normal((dim, dim)))
        skew = (q - q.T) / max(np.linalg.norm(q - q.T, 2), 1e-12)
        g = saturated_field(0.8 * skew - 0.3 * np.eye(dim))

    def rate(t):
        return 1.0 + beta * np.abs(np.asarray(t, dtype=np.float64) - kink) ** alpha

    def primitive(t):
        t = np.asarray(t, dtype=np.float64)
        e = alpha + 1.0
        signed = np.sign(t - kink) * np.abs(t - kink) ** e + kink**e
        return t + beta * signed / e

    field = time_scaled(g, rate, primitive, horizon, breakpoints=(kink,),
                        name=f"Hoelder field (d={dim}, alpha={alpha})")
    field.holder_exponent = alpha
    field.holder_constant = beta * g.sup
    return field
