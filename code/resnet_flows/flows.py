"""Reference flows: exact where the field knows its flow, else DOP853 restarted at breakpoints
(:func:`solve_restarted`, the one restarted-solver loop of the package).

The flow ``Phi(t, x)`` solves ``x(t) = x + int_0^t f(s, x(s)) ds`` (thm-well-posed). Numerically
each smooth piece between breakpoints is integrated on its own; the field is only evaluated
strictly inside a piece (a jump's value at the switching instant is never seen), and at an end
where ``f`` is singular an initial piece of length ``tau`` with ``int m <= SKIP_MASS`` is
skipped, which moves the state by at most ``SKIP_MASS`` (thm-well-posed, (ii)).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import integrate

from . import singular
from ._validate import as_points

__all__ = ["ATOL", "RTOL", "SKIP_MASS", "reference_flow", "solve_ivp_piece", "solve_restarted"]

RTOL = 1e-11
ATOL = 1e-12
SKIP_MASS = 1e-13


def _check_times(times, horizon):
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise ValueError(f"times must be a non-empty finite 1-D array, got shape {np.shape(times)}")
    steps = np.diff(t)
    if t.size > 1 and not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("times must be strictly increasing (or strictly decreasing, for the "
                         "backward flow)")
    if horizon is not None and (t.min() < 0 or t.max() > horizon):
        raise ValueError(f"times must lie in [0, {horizon}], got [{t.min()}, {t.max()}]")
    return t


def _singular(field, t, x) -> bool:
    with np.errstate(all="ignore"):
        try:
            value = np.asarray(field.f(t, x) if hasattr(field, "f") else field(t, x))
        except (ZeroDivisionError, FloatingPointError, ValueError):
            return True
    return not np.all(np.isfinite(value))


def _skip_length(field, end, inward):
    """Largest ``tau = span * 2^-j`` with ``int m`` over the skipped piece ``<= SKIP_MASS``."""
    tau = abs(inward)
    for _ in range(200):
        lo, hi = sorted((end, end + np.sign(inward) * tau))
        if float(field.sup_integral(lo, hi)) <= SKIP_MASS:
            return tau
        tau *= 0.5
    raise ValueError(f"cannot skip the singularity of {field!r} at t={end}")


def _integrate_piece(field, a, b, y, t_eval, n, dim):
    """Integrate from ``a`` to ``b`` (either direction) inside one smooth piece.

    Near a singular end ``e`` the solver runs in ``s = sqrt(|t - e|)``: ``dx/ds = 2 s f`` is
    bounded for singularities up to ``|t - e|^{-1/2}``, where steps in ``t`` would not be.
    """
    x = y.reshape(n, dim)
    singular_a, singular_b = _singular(field, a, x), _singular(field, b, x)
    if singular_a and singular_b:
        mid = 0.5 * (a + b)
        first = (t_eval - mid) * (b - a) <= 0
        states_a, y, count_a = _integrate_piece(field, a, mid, y, t_eval[first], n, dim)
        states_b, y, count_b = _integrate_piece(field, mid, b, y, t_eval[~first], n, dim)
        return np.concatenate([states_a, states_b]), y, count_a + count_b
    call = field.f if hasattr(field, "f") else field
    lo, hi = sorted((a, b))
    margin = 1e-13 * max(1.0, abs(lo), abs(hi))
    inner_lo, inner_hi = (lo + margin, hi - margin) if hi - lo > 4 * margin else (lo, hi)

    def f_inside(t, flat):
        return np.asarray(call(min(max(t, inner_lo), inner_hi), flat.reshape(n, dim))).reshape(-1)

    if singular_a or singular_b:
        end, other = (a, b) if singular_a else (b, a)
        toward = np.sign(other - end)
        skip = _skip_length(field, end, other - end)

        def time_of(s):
            return end + toward * s * s

        def rhs(s, flat):
            t = time_of(s)
            return 2.0 * s * toward * np.asarray(call(t, flat.reshape(n, dim))).reshape(-1)

        s_a, s_b = (np.sqrt(skip), np.sqrt(abs(b - a))) if singular_a else (np.sqrt(abs(b - a)), np.sqrt(skip))
        grid = np.clip(np.sqrt(np.abs(t_eval - end)), min(s_a, s_b), max(s_a, s_b))
        span = (s_a, s_b)
    else:
        rhs = f_inside
        grid = t_eval
        span = (a, b)
    return solve_ivp_piece(rhs)(span[0], span[1], y, grid)


def reference_flow(field, x0, times, method: str = "auto") -> np.ndarray:
    """States ``Phi`` at ``times`` of the solutions starting from the rows of ``x0`` at ``times[0]``.

    Returns ``(len(times), n, dim)``. ``method``: ``"exact"`` (the field's closed form),
    ``"numerical"`` (DOP853, ``rtol = 1e-11``, ``atol = 1e-12``, restarted at every breakpoint),
    or ``"auto"`` (exact where available). Decreasing ``times`` give the backward flow. A field
    with declared ``singular_times`` is solved in the variable ``u`` of
    :mod:`resnet_flows.singular` (``s = |t - t*|^{1 - beta}``) instead, with no skipped piece.
    """
    if method not in ("auto", "exact", "numerical"):
        raise ValueError(f"method must be 'auto', 'exact' or 'numerical', got {method!r}")
    dim = field.dim
    x0 = as_points(x0, dim, "x0")
    times = _check_times(times, getattr(field, "horizon", None))
    exact = getattr(field, "has_exact_flow", False)
    if method == "exact" and not exact:
        raise ValueError(f"{field!r} has no exact flow (method='exact')")
    if exact and method != "numerical":
        out = np.empty((times.size, *x0.shape))  # filled in place: no list of copies to stack
        for i, t in enumerate(times):
            out[i] = field.exact_flow(times[0], t, x0)
        return out

    if getattr(field, "singular_times", np.empty(0)).size:
        return singular.time_changed_flow(field, x0, times, RTOL, ATOL)
    n = x0.shape[0]
    if times.size == 1:
        return x0[None].copy()

    def piece(a, b, y, t_eval):
        return _integrate_piece(field, a, b, y, t_eval, n, dim)

    breaks = np.asarray(getattr(field, "breakpoints", ()), dtype=np.float64)
    out, _ = solve_restarted(piece, x0.reshape(-1), times, breaks)
    return out.reshape(times.size, n, dim)


def solve_ivp_piece(rhs, method: str = "DOP853", rtol: float = RTOL, atol: float = ATOL):
    """A piece solver for :func:`solve_restarted`: ``scipy.integrate.solve_ivp`` of
    ``y' = rhs(t, y)`` on one piece ``[a, b]``, values at ``t_eval`` from its dense output."""

    def piece(a, b, y, t_eval):
        full = t_eval if t_eval.size and t_eval[-1] == b else np.append(t_eval, b)
        sol = integrate.solve_ivp(rhs, (a, b), y, method=method, rtol=rtol, atol=atol,
                                  t_eval=full)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed on [{a}, {b}]: {sol.message}")
        return sol.y[:, :t_eval.size].T, sol.y[:, -1].copy(), sol.nfev

    return piece


def solve_restarted(piece, y0, times, breakpoints=()) -> tuple[np.ndarray, int]:
    """States at ``times`` of an ODE integrated piece by piece, restarted at every breakpoint
    strictly between ``times[0]`` and ``times[-1]`` (a jump or singularity of the right-hand
    side is never stepped over). ``times`` increase or decrease strictly from ``times[0]``, the
    time of ``y0`` (a flat array).

    ``piece(a, b, y, t_eval)`` integrates from ``a`` to ``b`` starting at ``y`` and returns the
    states at ``t_eval`` (shape ``(len(t_eval), y.size)``), the state at ``b`` and its number of
    right-hand-side evaluations (:func:`solve_ivp_piece` makes one). Returns
    ``(states, evaluations)`` with ``states`` of shape ``(len(times), y0.size)``.
    """
    times = np.asarray(times, dtype=np.float64)
    y = np.asarray(y0, dtype=np.float64).reshape(-1).copy()
    out = np.empty((times.size, y.size))
    out[0] = y
    breaks = np.asarray(breakpoints, dtype=np.float64).reshape(-1)
    lo, hi = sorted((times[0], times[-1]))
    forward = times[-1] > times[0]
    inner = breaks[(breaks > lo) & (breaks < hi)]
    stops = np.unique(np.concatenate([[times[0], times[-1]], inner]))
    if not forward:
        stops = stops[::-1]
    evaluations = 0
    for a, b in itertools.pairwise(stops):
        in_piece = ((times > a) & (times <= b)) if forward else ((times < a) & (times >= b))
        idx = np.nonzero(in_piece)[0]
        states, y, count = piece(a, b, y, times[idx])
        out[idx] = states
        evaluations += count
    return out, evaluations
