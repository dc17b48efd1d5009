"""The time terms of the certificate (thm-certificate): sub-times, the chord term ``iota_j``,
the flow's Lipschitz factor and the checks of the field's declared bounds on the sub-grid.

Integrals of the bounds come from the field's primitives or its cumulative tables
(:class:`~resnet_flows.singular.CumulativeTable`), never from ad-hoc quadrature, with a
round-off allowance for the difference of two primitive values. Sub-times have equal mass
``int m`` inside each step (so they are graded towards declared singular times, where ``m``
blows up), and the steps share ``time_points`` in proportion to their mass.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import integrate

from . import singular
from ._validate import nonnegative_float
from .rounding import up

__all__ = [
    "TimeVariation",
    "check_field_bounds",
    "flow_lipschitz",
    "integral_of",
    "interpolation_errors",
    "sub_times",
    "time_variation_of",
]
__bounds__ = ("TimeVariation.__call__", "flow_lipschitz", "integral_of", "interpolation_errors",
              "_monotone_abs_integral")

# relative allowance for P(b) - P(a): a closed-form primitive or a table is accurate to a few
# ulps of its value (tables: Gauss rules agreeing to 1e-15 of the total, see CumulativeTable)
_PRIMITIVE_REL = 1e-13


def integral_of(cumulative, a, b, name: str):
    """``int_a^b g`` from ``t -> int_0^t g`` (``g >= 0``), rounded up by the allowance for the
    two primitive values; a decreasing primitive means ``g < 0`` somewhere: ``ValueError``."""
    pa = np.asarray(cumulative(np.asarray(a, dtype=np.float64)), dtype=np.float64)
    pb = np.asarray(cumulative(np.asarray(b, dtype=np.float64)), dtype=np.float64)
    diff = pb - pa
    slack = _PRIMITIVE_REL * (np.abs(pa) + np.abs(pb)) + 1e-300
    if not np.all(np.isfinite(diff)):
        raise ValueError(f"{name}: its integral is not finite on a sub-interval")
    bad = diff < -slack
    if np.any(bad):
        where = np.broadcast_to(np.asarray(a, dtype=np.float64), diff.shape)[bad].flat[0]
        raise ValueError(f"{name} must be >= 0 (a proved bound): its integral decreases on a "
                         f"sub-interval starting at t={where}")
    return up(np.maximum(diff, 0.0) + slack, 2)


def sub_times(field, times, time_points: int):
    """``(sub, node_index)``: about ``time_points`` sub-times containing every node (node ``k`` is
    ``sub[node_index[k]]``), ``int m`` equal within each step and the steps' shares in proportion
    to their ``int m`` (one sub-interval at least)."""
    times = np.asarray(times, dtype=np.float64)
    n_steps = times.size - 1
    cumulative = field.cumulative("sup")
    masses = integral_of(cumulative, times[:-1], times[1:], "sup_bound")
    total = float(masses.sum())
    if total > 0 and math.isfinite(total):
        counts = np.maximum(1, np.round(max(time_points, n_steps) * masses / total)).astype(int)
    else:
        counts = np.full(n_steps, max(1, math.ceil(time_points / n_steps)))
    lo = np.repeat(times[:-1], counts - 1)
    hi = np.repeat(times[1:], counts - 1)
    frac = np.concatenate([np.arange(1, c) / c for c in counts])
    base = np.asarray(cumulative(lo), dtype=np.float64)
    target = base + frac * (np.asarray(cumulative(hi), dtype=np.float64) - base)
    a, b = lo.copy(), hi.copy()
    for _ in range(80):  # bisection on the nondecreasing primitive
        mid = 0.5 * (a + b)
        below = np.asarray(cumulative(mid), dtype=np.float64) < target
        a, b = np.where(below, mid, a), np.where(below, b, mid)
    inner = 0.5 * (a + b)
    flat = np.where(np.asarray(cumulative(hi)) > base, inner, lo + frac * (hi - lo))
    node_index = np.concatenate([[0], np.cumsum(counts)])
    sub = np.empty(node_index[-1] + 1)
    sub[node_index] = times
    inside = np.setdiff1d(np.arange(sub.size), node_index)
    sub[inside] = flat
    sub = np.maximum.accumulate(sub)
    if np.any(np.diff(sub) <= 0):  # equal masses that floating point cannot separate: uniform
        fractions = [np.arange(c) / c for c in counts]
        sub = np.concatenate([t + f * (s - t) for t, s, f in zip(times[:-1], times[1:],
                                                                   fractions)] + [times[-1:]])
    return sub, node_index


def _regular_times(field, sub):
    """The sub-times where the bounds have values (the declared singular times excluded)."""
    return sub[~np.isin(sub, field.singular_times)]


def check_field_bounds(field, sub, mu) -> None:
    """The declared ``m``, ``L``, ``H`` and a callable ``mu`` at the sub-times: finite, and
    ``m, L, H >= 0``; ``ValueError`` naming the bound otherwise."""
    t = _regular_times(field, sub)
    checks = [("sup_bound", field.sup_bound, True), ("lip_bound", field.lip_bound, True)]
    if field.hess_bound is not None:
        checks.append(("hess_bound", field.hess_bound, True))
    if callable(mu):
        checks.append(("mu", mu, False))
    for name, bound, signed_ok in checks:
        values = singular._evaluate(bound, t)
        bad = ~np.isfinite(values) | ((values < 0) if signed_ok else False)
        if np.any(bad):
            raise ValueError(f"{name} must be finite{' and >= 0' if signed_ok else ''} at the "
                             f"certificate's sub-times, got {values[bad][0]} at t={t[bad][0]}")


def _mu_plus_cumulative(field, mu):
    """``t -> int_0^t max(mu, 0)`` as a cumulative table of the field's segments."""
    return singular.CumulativeTable(field, lambda t: np.maximum(np.asarray(mu(t), float), 0.0),
                                    "mu")


def flow_lipschitz(field, times, mu):
    """``exp(int_{t_0}^{t_k} min(L, mu+))`` per step at the nodes: the flow is that Lipschitz
    (Gronwall on ``d/dt |y - z|^2 <= 2 mu |y - z|^2``, and on ``|f(y) - f(z)| <= L |y - z|``).
    ``mu`` a number or a callable; ``None``: the field's ``mu_bound`` (if any)."""
    times = np.asarray(times, dtype=np.float64)
    steps = integral_of(field.cumulative("lip"), times[:-1], times[1:], "lip_bound")
    if mu is None:
        mu = field.mu_bound
    if callable(mu):
        plus = integral_of(_mu_plus_cumulative(field, mu), times[:-1], times[1:], "mu")
        steps = np.minimum(steps, plus)
    elif mu is not None:
        rate = float(mu)
        if not math.isfinite(rate):
            raise ValueError(f"mu must be finite, got {mu}")
        steps = np.minimum(steps, up(max(rate, 0.0) * np.diff(times), 2))
    exponent = up(np.concatenate([[0.0], np.cumsum(steps)]), times.size)
    return up(np.exp(exponent), 4)  # exp is correctly rounded to within an ulp or two


def interpolation_errors(field, sub, variation):
    """``iota_j >= sup_t |Phi(t) - lin_j(t)|`` on ``[s_j, s_{j+1}]`` (lin: the chord): always
    ``<= int m``; with a time variation ``V``, ``<= V(a, b) + L(u) ((u - a) int_a^u m +
    (b - u) int_u^b m)``, ``u`` the midpoint (thm-certificate)."""
    a, b = sub[:-1], sub[1:]
    cumulative = field.cumulative("sup")
    mass = integral_of(cumulative, a, b, "sup_bound")
    if variation is None:
        return mass
    u = 0.5 * (a + b)
    left = integral_of(cumulative, a, u, "sup_bound")
    right = integral_of(cumulative, u, b, "sup_bound")
    lip = np.broadcast_to(np.asarray(field.lip(u), dtype=np.float64), u.shape)
    var = np.array([float(variation(float(lo), float(hi))) for lo, hi in zip(a, b)])
    bad = ~np.isfinite(var) | (var < 0) | ~np.isfinite(lip)
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"time_variation must be finite and >= 0: V({a[j]}, {b[j]}) = {var[j]}"
                         f" (and L at the midpoint {lip[j]})")
    chord = up(var + lip * ((u - a) * left + (b - u) * right), 6)
    return np.minimum(mass, chord)


def _monotone_abs_integral(profile, primitive, lo, hi, c):
    """``int_lo^hi |p - c|`` for ``p`` monotone on ``[lo, hi]`` with primitive ``P``: exact
    where ``p - c`` keeps its sign; otherwise the root is bracketed by bisection and the
    bracket's width times the larger ``|p - c|`` at its ends is added."""
    def part(x, y):
        return abs(primitive(y) - primitive(x) - c * (y - x))

    q_lo, q_hi = float(profile(lo)) - c, float(profile(hi)) - c
    if q_lo * q_hi >= 0 or not (math.isfinite(q_lo) and math.isfinite(q_hi)):
        value = part(lo, hi)
        scale = abs(primitive(lo)) + abs(primitive(hi)) + abs(c) * (hi - lo)
    else:
        x0, x1 = lo, hi
        for _ in range(80):
            mid = 0.5 * (x0 + x1)
            if mid in (x0, x1):
                break
            if (float(profile(mid)) - c) * q_lo > 0:
                x0 = mid
            else:
                x1 = mid
        bracket = (x1 - x0) * max(abs(float(profile(x0)) - c), abs(float(profile(x1)) - c))
        value = part(lo, x0) + part(x1, hi) + bracket
        scale = 2 * (abs(primitive(lo)) + abs(primitive(hi))) + abs(c) * (hi - lo)
    return value + _PRIMITIVE_REL * scale


class TimeVariation:
    """``V(a, b) >= scale int_a^b |p(s) - p(u)| ds``, ``u = (a + b) / 2`` (see
    :func:`time_variation_of`); ``proved`` says whether it is computed from a primitive."""

    def __init__(self, profile, scale, primitive, turns):
        self.profile, self.scale, self.primitive, self.turns = profile, scale, primitive, turns
        self.proved = primitive is not None

    def __call__(self, a, b):
        profile, primitive, turns = self.profile, self.primitive, self.turns
        u = 0.5 * (a + b)
        pu = float(profile(u))
        if primitive is None:
            total = 0.0
            for lo, hi in ((a, u), (u, b)):
                value, err = integrate.quad(lambda s: abs(float(profile(s)) - pu), lo, hi,
                                            limit=200)
                total += value + err
            return self.scale * total * (1 + 1e-9)
        edges = np.unique(np.concatenate([[a, u, b], turns[(turns > a) & (turns < b)]]))
        total = sum(_monotone_abs_integral(profile, primitive, float(lo), float(hi), pu)
                    for lo, hi in itertools.pairwise(edges))
        return float(up(self.scale * total, 4))


def time_variation_of(profile, scale: float, primitive=None, turning_points=()) -> TimeVariation:
    """``V(a, b) >= scale int_a^b |p(s) - p(u)| ds``, ``u = (a + b) / 2``, for fields
    ``f(s, x) = p(s) G(x) + q(x)`` (or ``p(s) e + q(x)``) with ``sup |G| <= scale``: then
    ``int_a^b sup_x |f(s, x) - f(u, x)| ds <= V(a, b)`` (thm-certificate).

    With ``primitive`` (``P' = p``) and ``turning_points`` (every time where ``p`` changes
    monotonicity, e.g. the extrema of a sine) the integral is computed from ``P`` on the monotone
    pieces: a proved bound up to round-off. Without them it is adaptive quadrature plus its
    own error estimate: a numerical estimate, not a proof."""
    scale = nonnegative_float(scale, "scale")
    turns = np.sort(np.asarray(turning_points, dtype=np.float64).reshape(-1))
    if primitive is not None and not callable(primitive):
        raise ValueError("primitive must be callable P(t) with P' = profile")
    if not callable(profile):
        raise ValueError("profile must be callable p(t)")
    return TimeVariation(profile, scale, primitive, turns)
