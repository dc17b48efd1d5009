"""The base classes of right-hand sides: :class:`VectorField` ``f(t, x)`` with proved bounds
``m(t) >= sup_x |f(t, x)|``, ``L(t) >= Lip f(t, .)`` and optionally ``H(t)`` (bounds on ``D^2 f``),
breakpoints, closed-form averages, primitives and exact flows; and :class:`SpatialField`, an
autonomous map ``g`` with its constants and flow (thm-well-posed).
"""

from __future__ import annotations

import itertools
import reprlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import integrate

from .. import singular
from .._validate import as_points, nonnegative_float, positive_float, positive_int, real_number

__all__ = ["SpatialField", "VectorField"]

class _CheckedBound:
    """A callable bound ``t -> m(t)`` (or ``L``, ``H``, ``mu``) whose values are checked: NaN,
    and for ``m``, ``L``, ``H`` a negative value, is refused naming the bound, where it would
    otherwise surface as a bad integral far from its cause."""

    def __init__(self, fn, name: str, signed: bool):
        self.fn, self.name, self.signed = fn, name, signed

    def __call__(self, t):
        out = self.fn(t)
        try:
            values = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must return real numbers, got {out!r}") from None
        bad = np.isnan(values) if self.signed else np.isnan(values) | (values < 0)
        if np.any(bad):
            times = np.asarray(t, dtype=np.float64)
            where = times[bad].flat[0] if times.shape == values.shape else reprlib.repr(t)
            accepts = "real numbers" if self.signed else "numbers >= 0 (a proved bound)"
            raise ValueError(f"{self.name} must return {accepts}, got {values[bad].flat[0]} "
                             f"at t={where}")
        return out


def _as_bound(value, name: str):
    """A bound given as a number (constant in time) or a callable of ``t``; vectorised in ``t``."""
    if value is None or isinstance(value, _CheckedBound):
        return value
    if callable(value):
        return _CheckedBound(value, name, signed=name == "mu_bound")
    constant = nonnegative_float(value, name)
    return lambda t: np.full(np.shape(t), constant) if np.ndim(t) else constant


class _Bound:
    """The attributes ``sup_bound``, ``lip_bound``, ``hess_bound``, ``mu_bound``: a number or a
    callable, also when set after construction, is stored as a checked callable (or ``None``)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        return self if obj is None else obj.__dict__.get(self.name)

    def __set__(self, obj, value):
        obj.__dict__[self.name] = _as_bound(value, self.name)


class VectorField:
    """A right-hand side ``f(t, x)`` on ``I = [0, horizon]`` with proved bounds.

    ``f`` maps ``t`` (float) and ``x`` of shape ``(n, dim)`` to ``(n, dim)``. ``sup_bound``,
    ``lip_bound``, ``hess_bound`` are ``m(t)``, ``L(t)``, ``H(t)`` (numbers or callables of ``t``).
    Optional keyword arguments: ``average(a, b, x)`` in closed form; ``sup_primitive`` etc.,
    antiderivatives of the bounds; ``exact_flow(s, t, x)``, the state at ``t`` of the solution
    through ``x`` at ``s``; ``singular_times``, pairs ``(t*, beta)`` (or ``{t*: beta}``),
    ``0 < beta < 1``, where ``f`` and its bounds are ``O(|t - t*|^{-beta})``: they become
    breakpoints, and integrals without a primitive, averages without a closed form and the
    numerical flow use the change of variables of :mod:`resnet_flows.singular` there.
    """

    sup_bound = _Bound()
    lip_bound = _Bound()
    hess_bound = _Bound()
    mu_bound = _Bound()
    # False where exact_flow integrates numerically itself (a costly call per time asked for)
    exact_flow_is_closed_form = True

    def __init__(self, f, dim, horizon, sup_bound, lip_bound, hess_bound=None, breakpoints=(),
                 *, name: str = "field", average=None, exact_flow=None, sup_primitive=None,
                 lip_primitive=None, hess_primitive=None, mu_bound=None, mu_primitive=None,
                 singular_times=()):
        if not callable(f):
            raise ValueError(f"f must be callable f(t, x), got {type(f).__name__}")
        self.f = f
        self.dim = positive_int(dim, "dim")
        self.horizon = positive_float(horizon, "horizon")
        self.sup_bound, self.lip_bound, self.hess_bound = sup_bound, lip_bound, hess_bound
        # one-sided Lipschitz bound mu(t) >= <u - v, f(t, u) - f(t, v)> / |u - v|^2, if known
        self.mu_bound = mu_bound
        if self.sup_bound is None or self.lip_bound is None:
            raise ValueError("sup_bound and lip_bound are required")
        bp = np.unique(np.asarray(breakpoints, dtype=np.float64).reshape(-1))
        if bp.size and (not np.all(np.isfinite(bp)) or bp[0] < 0 or bp[-1] > self.horizon):
            raise ValueError(f"breakpoints must lie in [0, {self.horizon}], got {breakpoints!r}")
        self.singular_times, self.singular_exponents = singular.parse_singular_times(
            singular_times, self.horizon)
        self.breakpoints = np.union1d(bp, self.singular_times)
        self._tables = {}  # cumulative integrals of m, L, H: built once, reused by every mesh
        self.name = name
        self._average = average
        self._exact_flow = exact_flow
        self._primitives = {"sup": sup_primitive, "lip": lip_primitive, "hess": hess_primitive,
                            "mu": mu_primitive}
        self._check_declared_bounds()

    def _check_declared_bounds(self, samples: int = 257):
        """The callable bounds ``m``, ``L``, ``H`` at ``samples`` times (singular times left
        out): a negative or NaN value is refused naming the bound (a declared bound that is
        negative somewhere is no bound), as is a primitive that decreases there."""
        t = np.linspace(0.0, self.horizon, samples)
        t = t[~np.isin(t, self.singular_times)]
        for kind in ("sup", "lip", "hess"):
            bound = getattr(self, f"{kind}_bound")
            if bound is None:
                continue
            with np.errstate(all="ignore"):
                singular._evaluate(bound, t)  # a _CheckedBound raises, naming the bound
            primitive = self._primitives[kind]
            if primitive is not None:
                with np.errstate(all="ignore"):
                    values = singular._evaluate(primitive, t)
                slack = 1e-12 * (1.0 + np.abs(values[:-1]) + np.abs(values[1:]))
                drop = np.diff(values) < -slack
                if np.any(drop):
                    raise ValueError(f"{kind}_primitive decreases after t={t[:-1][drop][0]}: it is "
                                     f"not the primitive of a bound {kind}_bound >= 0")

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
        t = real_number(t, name)
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
        primitive = self.cumulative(kind)
        return np.asarray(primitive(b) - primitive(a), dtype=np.float64)[()]

    def cumulative(self, kind: str, table: bool = False):
        """``t -> int_0^t`` of the bound ``kind`` (``"sup"``, ``"lip"``, ``"hess"``, ``"mu"``): the
        closed-form primitive (unless ``table``), else a :class:`~resnet_flows.singular.CumulativeTable`
        built once per field (it can be inverted, also next to singular times)."""
        bound = {"sup": self.sup_bound, "lip": self.lip_bound, "hess": self.hess_bound,
                 "mu": self.mu_bound}[kind]
        if self._primitives[kind] is not None and not table:
            return self._primitives[kind]
        if kind not in self._tables:
            self._tables[kind] = singular.CumulativeTable(self, bound, f"{kind}_bound")
        return self._tables[kind]

    def sup_integral(self, a, b):
        """``int_a^b m``; vectorised over arrays ``a``, ``b``."""
        return self._integral("sup", self.sup_bound, a, b)

    def lip_integral(self, a, b):
        """``int_a^b L``; vectorised over arrays ``a``, ``b``."""
        return self._integral("lip", self.lip_bound, a, b)

    def mu_integral(self, a, b):
        """``int_a^b mu`` of the one-sided Lipschitz bound (lem-one-sided); vectorised."""
        if self.mu_bound is None:
            raise ValueError(f"{self.name} declares no one-sided Lipschitz bound mu_bound")
        return self._integral("mu", self.mu_bound, a, b)

    def hess_integral(self, a, b):
        """``int_a^b H``; vectorised over arrays ``a``, ``b``."""
        if self.hess_bound is None:
            raise ValueError(f"{self.name} has no hess_bound (it is not known to be C^2 in space)")
        return self._integral("hess", self.hess_bound, a, b)

    # -- averages -----------------------------------------------------------------------------
    def average(self, a: float, b: float, x) -> np.ndarray:
        """``F(a, b, x) = int_a^b f(s, x) ds`` for points ``x`` of shape ``(n, dim)``.

        Closed form where the field supplies it, else adaptive quadrature per smooth piece, in
        the variable ``u`` of :mod:`resnet_flows.singular` (bounded integrand at singular times).
        """
        a, b = float(a), float(b)
        self._check_interval(a, b)
        x = as_points(x, self.dim)
        if self._average is not None:
            out = np.asarray(self._average(a, b, x), dtype=np.float64)
        else:
            out = singular.segment_average(self, a, b, x)
        if out.shape != x.shape or not np.all(np.isfinite(out)):
            raise ValueError(f"average of {self.name} over [{a}, {b}] is not finite")
        return out

    def with_hessian_factor(self, factor: float) -> VectorField:
        """The same field with the declared ``H`` multiplied by ``factor >= 1``: a weaker bound,
        still valid, e.g. a former constant, to measure what a sharper one saves (thm-main).

        Everything else is kept: ``f``, ``m``, ``L``, ``mu`` and their primitives, closed-form
        averages and flow, breakpoints and singular times. A ``factor`` below 1 would declare a
        bound that is not proved and is refused, as is a field without ``H``.
        """
        factor = positive_float(factor, "factor")
        if factor < 1:
            raise ValueError(f"factor must be >= 1 (a smaller H is not a proved bound), got {factor}")
        if self.hess_bound is None:
            raise ValueError(f"{self.name} has no hess_bound to scale")
        hess, hess_total = self.hess_bound, self.cumulative("hess")
        mu = self.mu_bound
        return VectorField(
            self.f, self.dim, self.horizon, self.sup_bound, self.lip_bound,
            lambda t: factor * hess(t), self.breakpoints, name=f"{self.name}, H x {factor:.4g}",
            average=self._average, exact_flow=self._exact_flow,
            sup_primitive=self.cumulative("sup"), lip_primitive=self.cumulative("lip"),
            hess_primitive=lambda t: factor * hess_total(t), mu_bound=mu,
            mu_primitive=None if mu is None else self.cumulative("mu"),
            singular_times=list(zip(self.singular_times, self.singular_exponents)))


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
    mu: float | None = None  # one-sided Lipschitz constant sup <u - v, g(u) - g(v)> / |u - v|^2

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
