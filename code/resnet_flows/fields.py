"""Right-hand sides ``f in L^1(I; C_b^{0,1}(R^d; R^d))`` with their proved bounds, and a catalogue.

A :class:`VectorField` carries ``m(t) >= sup_x |f(t, x)|``, ``L(t) >= Lip f(t, .)`` and optionally
``H(t) >= sup_x sup_{|u|=1} |D^2 f(t, x)[u, u]|``, the times where ``f`` jumps or is singular,
and where known: closed-form averages ``F(a, b, z) = int_a^b f(s, z) ds``, primitives of the
bounds and an exact flow. The catalogue's constants are proved in the book's field appendix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import integrate

from ._validate import as_points, nonnegative_float, positive_float, positive_int

__all__ = [
    "NeuralODEField",
    "SpatialField",
    "VectorField",
    "constant_drift",
    "cutoff_rotation",
    "holder_field",
    "periodic_drift_rotation",
    "random_neural_field",
    "saturated_field",
    "saturated_field_3d",
    "singular_rotation",
    "switching",
    "switching_rotations",
    "time_scaled",
]

# Kinks of |t - t*|^alpha and jumps make quadrature lose accuracy: integrals are split there.
_QUAD_OPTIONS = {"limit": 500, "epsabs": 1e-14, "epsrel": 1e-12}


def _as_bound(value, name: str):
    """A bound given as a number (constant in time) or a callable of ``t``; vectorised in ``t``."""
    if value is None:
        return None
    if callable(value):
        return value
    constant = nonnegative_float(value, name)
    return lambda t: np.full(np.shape(t), constant) if np.ndim(t) else constant


class VectorField:
    """A right-hand side ``f(t, x)`` on ``I = [0, horizon]`` with proved bounds.

    ``f`` maps ``t`` (float) and ``x`` of shape ``(n, dim)`` to ``(n, dim)``. ``sup_bound``,
    ``lip_bound``, ``hess_bound`` are ``m(t)``, ``L(t)``, ``H(t)`` (numbers or callables of ``t``).
    Optional keyword arguments: ``average(a, b, x)`` in closed form; ``sup_primitive`` etc.,
    antiderivatives of the bounds; ``exact_flow(s, t, x)``, the state at ``t`` of the solution
    through ``x`` at ``s``.
    """

    def __init__(self, f, dim, horizon, sup_bound, lip_bound, hess_bound=None, breakpoints=(),
                 *, name: str = "field", average=None, exact_flow=None, sup_primitive=None,
                 lip_primitive=None, hess_primitive=None):
        if not callable(f):
            raise ValueError(f"f must be callable f(t, x), got {type(f).__name__}")
        self.f = f
        self.dim = positive_int(dim, "dim")
        self.horizon = positive_float(horizon, "horizon")
        self.sup_bound = _as_bound(sup_bound, "sup_bound")
        self.lip_bound = _as_bound(lip_bound, "lip_bound")
        self.hess_bound = _as_bound(hess_bound, "hess_bound")
        if self.sup_bound is None or self.lip_bound is None:
            raise ValueError("sup_bound and lip_bound are required")
        bp = np.unique(np.asarray(breakpoints, dtype=np.float64).reshape(-1))
        if bp.size and (not np.all(np.isfinite(bp)) or bp[0] < 0 or bp[-1] > self.horizon):
            raise ValueError(f"breakpoints must lie in [0, {self.horizon}], got {breakpoints!r}")
        self.breakpoints = bp
        self.name = name
        self._average = average
        self._exact_flow = exact_flow
        self._primitives = {"sup": sup_primitive, "lip": lip_primitive, "hess": hess_primitive}

    def __repr__(self) -> str:
        return f"VectorField({self.name!r}, dim={self.dim}, horizon={self.horizon})"

    # -- evaluation ---------------------------------------------------------------------------
    def __call__(self, t, x) -> np.ndarray:
        t = self._check_time(t, "t")
        x = as_points(x, self.dim)
        with np.errstate(divide="ignore", invalid="ignore"):  # reported below as non-finite
            out = np.asarray(self.f(t, x), dtype=np.float64)
        if out.shape != x.shape:
            raise ValueError(f"f({t}, x) returned shape {out.shape}, expected {x.shape}")
        if not np.all(np.isfinite(out)):
            raise ValueError(f"f returned non-finite values at t={t}")
        return out

    def _check_time(self, t, name):
        try:
            t = float(t)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a real number, got {t!r}") from None
        if not (0.0 <= t <= self.horizon):
            raise ValueError(f"{name} must lie in [0, {self.horizon}], got {t}")
        return t

    def _check_interval(self, a, b):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise ValueError("interval ends a, b must be finite")
        if np.any(a < 0) or np.any(b > self.horizon) or np.any(a > b):
            raise ValueError(f"intervals must satisfy 0 <= a <= b <= {self.horizon}")
        return np.broadcast_arrays(a, b)

    @property
    def has_exact_flow(self) -> bool:
        return self._exact_flow is not None

    def exact_flow(self, s: float, t: float, x) -> np.ndarray:
        if self._exact_flow is None:
            raise ValueError(f"{self.name} has no exact flow; use reference_flow")
        s = self._check_time(s, "s")
        t = self._check_time(t, "t")
        return np.asarray(self._exact_flow(s, t, as_points(x, self.dim)), dtype=np.float64)

    def pieces(self, a: float, b: float) -> list[tuple[float, float]]:
        """``[a, b]`` split at the breakpoints inside it."""
        inner = self.breakpoints[(self.breakpoints > a) & (self.breakpoints < b)]
        edges = np.concatenate([[a], inner, [b]])
        return [(float(lo), float(hi)) for lo, hi in itertools.pairwise(edges) if hi > lo]

    # -- bounds and their integrals -----------------------------------------------------------
    def sup(self, t):
        return self.sup_bound(t)

    def lip(self, t):
        return self.lip_bound(t)

    def hess(self, t):
        if self.hess_bound is None:
            raise ValueError(f"{self.name} has no hess_bound (it is not known to be C^2 in space)")
        return self.hess_bound(t)

    def _integral(self, kind: str, bound, a, b):
        a, b = self._check_interval(a, b)
        primitive = self._primitives[kind]
        if primitive is not None:
            return np.asarray(primitive(b) - primitive(a), dtype=np.float64)[()]
        out = np.empty(a.shape)
        for idx in np.ndindex(a.shape):
            out[idx] = sum(integrate.quad(bound, lo, hi, **_QUAD_OPTIONS)[0]
                           for lo, hi in self.pieces(float(a[idx]), float(b[idx])))
        return out[()]

    def sup_integral(self, a, b):
        """``int_a^b m``; vectorised over arrays ``a``, ``b``."""
        return self._integral("sup", self.sup_bound, a, b)

    def lip_integral(self, a, b):
        """``int_a^b L``; vectorised over arrays ``a``, ``b``."""
        return self._integral("lip", self.lip_bound, a, b)

    def hess_integral(self, a, b):
        """``int_a^b H``; vectorised over arrays ``a``, ``b``."""
        if self.hess_bound is None:
            raise ValueError(f"{self.name} has no hess_bound (it is not known to be C^2 in space)")
        return self._integral("hess", self.hess_bound, a, b)

    # -- averages -----------------------------------------------------------------------------
    def average(self, a: float, b: float, x) -> np.ndarray:
        """``F(a, b, x) = int_a^b f(s, x) ds`` for points ``x`` of shape ``(n, dim)``.

        Closed form where the field supplies it, else adaptive quadrature per smooth piece.
        """
        a, b = float(a), float(b)
        self._check_interval(a, b)
        x = as_points(x, self.dim)
        if self._average is not None:
            out = np.asarray(self._average(a, b, x), dtype=np.float64)
        else:
            out = np.zeros_like(x)
            for lo, hi in self.pieces(a, b):
                val, _ = integrate.quad_vec(lambda s: self.f(s, x), lo, hi, epsabs=1e-13,
                                            epsrel=1e-12, limit=500)
                out += val
        if out.shape != x.shape or not np.all(np.isfinite(out)):
            raise ValueError(f"average of {self.name} over [{a}, {b}] is not finite")
        return out


@dataclass(frozen=True)
class SpatialField:
    """An autonomous bounded Lipschitz map ``g : R^d -> R^d`` with proved constants.

    ``flow(tau, x)``, where known in closed form, is the time-``tau`` map of ``x' = g(x)``.
    """

    g: Callable[[np.ndarray], np.ndarray]
    dim: int
    sup: float
    lip: float
    hess: float | None
    flow: Callable[[float, np.ndarray], np.ndarray] | None = None
    name: str = "g"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.g(x)

    def flow_map(self, tau: float, x: np.ndarray) -> np.ndarray:
        """Time-``tau`` map (``tau`` may be negative): closed form or DOP853 at tight tolerance."""
        if self.flow is not None:
            return self.flow(tau, x)
        if tau == 0:
            return x.copy()
        n = x.shape[0]
        sol = integrate.solve_ivp(lambda _, y: self.g(y.reshape(n, self.dim)).reshape(-1),
                                  (0.0, tau), x.reshape(-1), method="DOP853", rtol=1e-12,
                                  atol=1e-13)
        if not sol.success:
            raise RuntimeError(f"flow of {self.name} failed: {sol.message}")
        return sol.y[:, -1].reshape(n, self.dim)


def _rotation(angle: np.ndarray, v: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], axis=1)


def cutoff_rotation(omega: float = 1.0, radius: float = 1.0, center=(0.0, 0.0)) -> SpatialField:
    """``g(x) = omega J (x - c) / sqrt(1 + |x - c|^2 / r^2)`` in d = 2.

    ``sup |g| <= omega r``, ``Lip g = |omega|``, ``H <= 8 |omega| / (3 sqrt(3) r)``; the flow
    rotates about ``c`` with angular speed ``omega psi(|x - c|)`` on circles (closed form).
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
                        8.0 * abs(omega) / (3.0 * math.sqrt(3.0) * radius), flow,
                        f"cutoff rotation (omega={omega}, r={radius}, c={tuple(c)})")


def constant_drift(velocity) -> SpatialField:
    """``g(x) = v``: ``sup |g| = |v|``, ``Lip g = 0``, ``H = 0``; flow ``x + tau v``."""
    v = np.asarray(velocity, dtype=np.float64).reshape(-1)
    return SpatialField(lambda x: np.broadcast_to(v, x.shape).copy(), v.size,
                        float(np.linalg.norm(v)), 0.0, 0.0, lambda tau, x: x + tau * v,
                        f"constant drift {tuple(v)}")


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
                name: str | None = None) -> VectorField:
    """``f(t, x) = a(t) g(x)`` with ``a >= 0`` integrable and ``A`` its primitive.

    Bounds ``m = a sup|g|``, ``L = a Lip g``, ``H = a H_g``; averages ``(A(b) - A(a)) g`` and the
    exact flow ``Phi(s, t, x) = Psi_g(A(t) - A(s), x)`` by the time change ``tau = A(t)``.
    """
    def scaled(c):
        return (lambda t: c * rate(t)), (lambda t: c * rate_primitive(t))

    sup, sup_p = scaled(g.sup)
    lip, lip_p = scaled(g.lip)
    hess, hess_p = scaled(g.hess) if g.hess is not None else (None, None)
    return VectorField(
        lambda t, x: rate(t) * g(x), g.dim, horizon, sup, lip, hess, breakpoints,
        name=name or f"a(t) * {g.name}",
        average=lambda a, b, x: (rate_primitive(b) - rate_primitive(a)) * g(x),
        exact_flow=lambda s, t, x: g.flow_map(rate_primitive(t) - rate_primitive(s), x),
        sup_primitive=sup_p, lip_primitive=lip_p, hess_primitive=hess_p,
    )


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
        hess_primitive=hess_p,
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
                       name=f"singular rotation {c} t^(-1/2) g")


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


class NeuralODEField:
    """``g(t, x) = A(t) relu(W(t) x + b(t))`` with ``A, W, b`` affine in ``t`` on ``[0, horizon]``.

    Not bounded on ``R^d``, so not a :class:`VectorField`; its Euler blocks ``h g(t_k, .)`` are
    exact one-hidden-layer ReLU networks (prop-resnet-euler).
    """

    def __init__(self, a0, a1, w0, w1, b0, b1, horizon: float = 1.0):
        self.a0, self.a1, self.w0, self.w1 = (np.asarray(m, dtype=np.float64) for m in (a0, a1, w0, w1))
        self.b0, self.b1 = np.asarray(b0, dtype=np.float64), np.asarray(b1, dtype=np.float64)
        self.horizon = positive_float(horizon, "horizon")
        self.dim = self.w0.shape[1]
        self.width = self.w0.shape[0]
        if self.a0.shape != (self.dim, self.width) or self.a1.shape != self.a0.shape:
            raise ValueError(f"a0, a1 must have shape ({self.dim}, {self.width})")
        if self.w1.shape != self.w0.shape or self.b0.shape != (self.width,) or self.b1.shape != self.b0.shape:
            raise ValueError("w1 must match w0 and b0, b1 must have shape (width,)")

    def weights(self, t: float):
        return self.a0 + t * self.a1, self.w0 + t * self.w1, self.b0 + t * self.b1

    def __call__(self, t: float, x) -> np.ndarray:
        a, w, b = self.weights(float(t))
        x = as_points(x, self.dim)
        return np.maximum(x @ w.T + b, 0.0) @ a.T

    def constants(self) -> dict[str, float]:
        """Bounds over ``t in [0, T]`` from the triangle inequality (no sampling):

        ``L >= ||A(t)|| ||W(t)||`` (the Lipschitz constant in x), ``beta >= ||A(t)|| |b(t)|``,
        and the time-derivative pieces ``||A_1||``, ``||W_1||``, ``|b_1|``.
        """
        n2 = lambda m: float(np.linalg.norm(m, 2))
        T = self.horizon
        a_max = n2(self.a0) + T * n2(self.a1)
        w_max = n2(self.w0) + T * n2(self.w1)
        b_max = float(np.linalg.norm(self.b0)) + T * float(np.linalg.norm(self.b1))
        return {"A": a_max, "W": w_max, "b": b_max, "A1": n2(self.a1), "W1": n2(self.w1),
                "b1": float(np.linalg.norm(self.b1)), "L": a_max * w_max, "beta": a_max * b_max}


def random_neural_field(dim: int = 2, width: int = 8, seed: int = 0, scale: float = 1.0,
                        horizon: float = 1.0) -> NeuralODEField:
    """A random small neural ODE field, weights ``N(0, scale^2 / fan_in)``, reproducible by seed."""
    dim = positive_int(dim, "dim")
    width = positive_int(width, "width")
    rng = np.random.default_rng(seed)
    s = positive_float(scale, "scale")
    draw = lambda *shape: rng.standard_normal(shape) * s / math.sqrt(shape[-1])
    return NeuralODEField(draw(dim, width), draw(dim, width), draw(width, dim), draw(width, dim),
                          0.5 * s * rng.standard_normal(width), 0.5 * s * rng.standard_normal(width),
                          horizon)

