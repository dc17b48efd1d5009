"""Integrable singularities in time, ``|t - t*|^{-beta}`` with ``beta < 1`` (thm-well-posed).

A field declares singular times ``t*`` with exponents ``beta``: near ``t*`` the field and its
bounds are ``g(t) = |t - t*|^{-beta} r(t)`` with ``r`` bounded. Each smooth piece of ``[0, T]``
is cut into segments with at most one singular end ``e`` (the other end ``o``) and mapped to
``u in [0, 1]`` by ``t = e + (o - e) u^p``, ``p = 1 / (1 - beta)``, i.e. ``u = s / |o - e|^{1-beta}``
with ``s = |t - e|^{1 - beta}``. Then ``dt = (o - e) p u^{p-1} du`` and

    int g dt = p |o - e|^{1 - beta} int r(t(u)) du,     dx/du = sign(o - e) p |o - e|^{1-beta} r,

bounded integrands for Gauss quadrature and DOP853. ``r(t) = g(t) |t - e|^beta`` is evaluated at
the floating-point time ``t'`` nearest to ``t(u)`` with ``|t' - e|`` computed exactly: within
``|t - e| < ulp(e)`` the mass ``ulp^{1-beta} / (1 - beta)`` is not small for ``beta`` near 1,
and is recovered from ``r`` instead of from samples of ``g`` that floating point cannot take.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre
from scipy import integrate

__all__ = [
    "CumulativeTable",
    "Segment",
    "parse_singular_times",
    "segment_average",
    "segments",
    "time_changed_flow",
]

_GAUSS = {n: legendre.leggauss(n) for n in (10, 20)}
# Values at the 20 Gauss nodes -> Legendre coefficients of their interpolant (discrete transform).
_TO_LEGENDRE = ((np.arange(20)[:, None] + 0.5) * legendre.legvander(_GAUSS[20][0], 19).T
                * _GAUSS[20][1][None, :])
_CHUNK = 1 << 16


def parse_singular_times(singular_times, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """``(times, exponents)`` from a mapping ``{t*: beta}`` or pairs ``(t*, beta)``, sorted.

    ``ValueError`` for ``t*`` outside ``[0, horizon]``, repeated ``t*``, or ``beta`` outside
    ``(0, 1)`` (``beta >= 1`` is not integrable)."""
    items = list(singular_times.items()) if isinstance(singular_times, dict) else list(singular_times)
    try:
        pairs = np.array([(float(t), float(b)) for t, b in items], dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise ValueError("singular_times must be pairs (t*, beta) or a mapping {t*: beta}, got "
                         f"{singular_times!r}") from None
    times, betas = pairs[:, 0], pairs[:, 1]
    if not np.all(np.isfinite(pairs)):
        raise ValueError(f"singular_times must be finite, got {singular_times!r}")
    if np.any(times < 0) or np.any(times > horizon):
        raise ValueError(f"singular_times must lie in [0, {horizon}], got {times.tolist()}")
    if np.any(betas >= 1):
        raise ValueError(f"singular_times exponents beta must be < 1 (|t - t*|^-beta is not "
                         f"integrable for beta >= 1), got {betas.tolist()}")
    if np.any(betas <= 0):
        raise ValueError(f"singular_times exponents beta must lie in (0, 1), got {betas.tolist()}")
    order = np.argsort(times)
    times, betas = times[order], betas[order]
    if np.any(np.diff(times) == 0):
        raise ValueError(f"singular_times repeats a time: {times.tolist()}")
    return times, betas


@dataclass(frozen=True)
class Segment:
    """``t = e + (o - e) u^p`` on ``u in [0, 1]`` inside the smooth piece ``[piece_lo, piece_hi]``."""

    e: float
    o: float
    beta: float
    piece_lo: float
    piece_hi: float

    @property
    def p(self) -> float:
        return 1.0 / (1.0 - self.beta)

    @property
    def lo(self) -> float:
        return min(self.e, self.o)

    @property
    def hi(self) -> float:
        return max(self.e, self.o)

    @property
    def sign(self) -> float:
        return 1.0 if self.o > self.e else -1.0

    def u_of(self, t):
        ratio = np.abs(np.asarray(t, dtype=np.float64) - self.e) / abs(self.o - self.e)
        return np.clip(ratio, 0.0, 1.0) ** (1.0 - self.beta)

    def time_and_weight(self, u):
        """``t'`` (a representable time strictly inside the piece) and ``w`` with
        ``int g dt = int g(t') w du`` (``w = p |o - e|^{1-beta} |t' - e|^beta``)."""
        u = np.asarray(u, dtype=np.float64)
        lo, hi = self.piece_lo, self.piece_hi
        # Never at a piece end: a jump's value or the singularity itself would be sampled there.
        margin = 1e-13 * max(1.0, abs(lo), abs(hi))
        if hi - lo > 4 * margin:
            inner = (lo + margin, hi - margin)
        elif np.nextafter(lo, hi) <= np.nextafter(hi, lo):
            inner = (np.nextafter(lo, hi), np.nextafter(hi, lo))
        else:  # no float strictly inside (a piece one float long): the end away from e
            inner = (self.o, self.o)
        t = np.clip(self.e + (self.o - self.e) * u**self.p, *inner)
        if self.beta == 0.0:
            return t, np.full(np.shape(t), abs(self.o - self.e))
        scale = self.p * abs(self.o - self.e) ** (1.0 - self.beta)
        return t, scale * np.abs(t - self.e) ** self.beta


def segments(field) -> list[Segment]:
    """The segments of ``[0, T]``: one per smooth piece, two (split at the middle) when both ends
    of a piece are singular; ``beta = 0`` (``p = 1``) away from singular times."""
    exps = dict(zip(field.singular_times.tolist(), field.singular_exponents.tolist()))
    edges = np.unique(np.concatenate([[0.0, field.horizon], field.breakpoints]))
    out = []
    for lo, hi in itertools.pairwise(edges.tolist()):
        b_lo, b_hi = exps.get(lo), exps.get(hi)
        if b_lo is not None and b_hi is not None:
            mid = 0.5 * (lo + hi)
            out += [Segment(lo, mid, b_lo, lo, hi), Segment(hi, mid, b_hi, lo, hi)]
        elif b_hi is not None:
            out.append(Segment(hi, lo, b_hi, lo, hi))
        else:
            out.append(Segment(lo, hi, b_lo or 0.0, lo, hi))
    return out


def _evaluate(bound, t: np.ndarray) -> np.ndarray:
    """``bound`` at the times ``t``; one vectorised call, else one call per time."""
    try:
        values = np.asarray(bound(t), dtype=np.float64)
        if values.shape != t.shape:
            values = np.broadcast_to(values, t.shape).astype(np.float64)
    except (TypeError, ValueError):
        values = np.array([float(bound(float(s))) for s in t.ravel()]).reshape(t.shape)
    return values


class CumulativeTable:
    """``P(t) = int_0^t g`` for a nonnegative bound ``g`` (``m``, ``L`` or ``H``), built once.

    In each segment's ``u`` the integrand ``g(t') w`` is bounded; panels in ``u`` are bisected
    until 10- and 20-point Gauss-Legendre agree to ``1e-15`` of the total, and ``P`` is tabulated
    at the panel edges (singular times are edges, so ``P`` is exact there up to that tolerance).
    Inside a panel the integrand is its degree-19 Legendre interpolant at the 20 Gauss nodes
    (the rule that resolved the panel; its integral over the panel is that rule's value), and
    ``P`` adds the interpolant's antiderivative: evaluating or inverting ``P`` at any times
    samples the bound no more, so every mesh of every size reads the same table.
    """

    def __init__(self, field, bound, name: str = "bound"):
        self.name = name
        self.bound = bound
        self.segments = segments(field)
        self.starts = np.array([s.lo for s in self.segments])
        self.edges, self.cums, self.density, self.antiderivative, totals = [], [], [], [], []
        for seg in self.segments:
            edges, masses, values = self._panels(seg)
            self.edges.append(edges)
            self.cums.append(np.concatenate([[0.0], np.cumsum(masses)]))
            # Legendre coefficients in the panel variable x in [-1, 1] (u = mid + half x):
            # c_n = (2n + 1) / 2 sum_i w_i g_i P_n(x_i), exact for the interpolant at the nodes.
            density = _TO_LEGENDRE @ values.T
            half = 0.5 * np.diff(edges)
            self.density.append(density)
            self.antiderivative.append(legendre.legint(density, lbnd=-1, axis=0) * half)
            totals.append(self.cums[-1][-1])
        self.offsets = np.concatenate([[0.0], np.cumsum(totals)])
        self.meshes = {}  # equal-mass nodes by number of blocks (see mesh.mesh_times)

    def _integrand(self, seg, u):
        t, w = seg.time_and_weight(u)
        with np.errstate(all="ignore"):
            values = _evaluate(self.bound, t) * w
        if not np.all(np.isfinite(values)):
            bad = float(t[~np.isfinite(values)].flat[0])
            raise ValueError(f"{self.name} is not finite near t={bad}: declare the singular time "
                             "(and its exponent) in singular_times")
        return values

    def _gauss(self, seg, a, b, n):
        """``(masses, values)``: the ``n``-point rule on the panels ``[a, b]`` and the
        integrand at its nodes, shape ``(panels, n)``."""
        nodes, weights = _GAUSS[n]
        half = 0.5 * (b - a)
        u = (0.5 * (a + b))[:, None] + half[:, None] * nodes[None, :]
        values = self._integrand(seg, u)
        return half * (values @ weights), values

    def _panels(self, seg):
        lo = np.linspace(0.0, 1.0, 9)[:-1]
        hi = lo + 0.125
        done_lo, done_hi, done_mass, done_values = [], [], [], []
        scale = None
        for level in range(60):
            fine, values = self._gauss(seg, lo, hi, 20)
            coarse, _ = self._gauss(seg, lo, hi, 10)
            if scale is None:
                scale = float(np.sum(np.abs(fine)))
            good = np.abs(fine - coarse) <= 1e-15 * scale + 1e-300 * (hi - lo)
            if level == 59 and not good.all():
                raise ValueError(f"{self.name} cannot be integrated near t="
                                 f"{float(seg.time_and_weight(lo[~good][0])[0])}: declare its "
                                 "singular times (and exponents) in singular_times")
            done_lo.append(lo[good]), done_hi.append(hi[good]), done_mass.append(fine[good])
            done_values.append(values[good])
            if good.all():
                break
            mid = 0.5 * (lo[~good] + hi[~good])
            lo, hi = np.concatenate([lo[~good], mid]), np.concatenate([mid, hi[~good]])
        lo, hi, mass, values = (np.concatenate(v) for v in
                                (done_lo, done_hi, done_mass, done_values))
        order = np.argsort(lo)
        widths = (hi - lo)[order]
        for end, width in (("e", widths[0]), ("o", widths[-1])):
            # Undeclared |t - end|^-b: panels shrink towards the end until the clipped integrand
            # looks constant, and the mass next to the end is silently lost.
            if width < 1e-9 and not (end == "e" and seg.beta > 0):
                at = seg.e if end == "e" else seg.o
                raise ValueError(f"{self.name} looks singular at t={at}: declare it in "
                                 "singular_times with its exponent")
        return np.concatenate([lo[order], [1.0]]), mass[order], values[order]

    def _series(self, k, coefficients, u, j):
        """The Legendre series ``coefficients[k][:, j]`` at ``u`` in panels ``j``: panel by
        panel when the points crowd few panels (meshes: one Clenshaw pass per panel), else with
        the coefficients gathered per point, in chunks (21 floats per point)."""
        edges, coefficients = self.edges[k], coefficients[k]
        out = np.empty(u.shape)
        if u.size < 2 or bool(np.all(j[1:] >= j[:-1])):
            order = None
        elif bool(np.all(j[1:] <= j[:-1])):  # a mesh read backwards from a singular end
            order = np.arange(u.size - 1, -1, -1)
        else:
            order = np.argsort(j, kind="stable")
        js, us = (j, u) if order is None else (j[order], u[order])
        starts = np.concatenate([[0], np.flatnonzero(js[1:] != js[:-1]) + 1, [u.size]])
        if 16 * (starts.size - 1) <= u.size:
            values = np.empty(u.shape)
            for a, b in itertools.pairwise(starts.tolist()):
                lo, hi = edges[js[a]], edges[js[a] + 1]
                x = np.clip((2.0 * us[a:b] - lo - hi) / (hi - lo), -1.0, 1.0)
                values[a:b] = legendre.legval(x, coefficients[:, js[a]])
            if order is None:
                return values
            out[order] = values
            return out
        for start in range(0, u.size, _CHUNK):
            part = slice(start, start + _CHUNK)
            lo, hi = edges[j[part]], edges[j[part] + 1]
            x = np.clip((2.0 * u[part] - lo - hi) / (hi - lo), -1.0, 1.0)
            out[part] = legendre.legval(x, coefficients[:, j[part]], tensor=False)
        return out

    def _panel_of(self, k, u):
        edges = self.edges[k]
        return np.clip(np.searchsorted(edges, u, side="right") - 1, 0, edges.size - 2)

    def __call__(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        flat = t.ravel()
        out = np.empty(flat.shape)
        which = np.clip(np.searchsorted(self.starts, flat, side="right") - 1, 0,
                        len(self.segments) - 1)
        for k in np.flatnonzero(np.bincount(which, minlength=len(self.segments))):
            seg, mask = self.segments[k], which == k
            u = seg.u_of(flat[mask])
            j = self._panel_of(k, u)
            cums = self.cums[k]
            from_e = cums[j] + self._series(k, self.antiderivative, u, j)
            total = cums[-1]
            out[mask] = self.offsets[k] + (from_e if seg.sign > 0 else total - from_e)
        return out.reshape(t.shape)[()]

    def inverse(self, values) -> np.ndarray:
        """Times ``t`` with ``P(t) = values`` (``0 <= values <= P(T)``), for graded meshes:
        the panel from the table, then safeguarded Newton in ``u`` on the panel's series
        (``dP/du`` is the interpolated integrand)."""
        values = np.asarray(values, dtype=np.float64)
        flat = values.ravel()
        out = np.empty(flat.shape)
        which = np.clip(np.searchsorted(self.offsets, flat, side="right") - 1, 0,
                        len(self.segments) - 1)
        for k in np.unique(which):
            seg, mask = self.segments[k], which == k
            edges, cums = self.edges[k], self.cums[k]
            local = np.clip(flat[mask] - self.offsets[k], 0.0, cums[-1])
            from_e = local if seg.sign > 0 else cums[-1] - local
            j = np.clip(np.searchsorted(cums, from_e, side="right") - 1, 0, edges.size - 2)
            lo, hi = edges[j].copy(), edges[j + 1].copy()
            rise = cums[j + 1] - cums[j]
            with np.errstate(divide="ignore", invalid="ignore"):
                u = np.where(rise > 0, lo + (hi - lo) * (from_e - cums[j]) / rise, 0.5 * (lo + hi))
            u = np.clip(u, lo, hi)
            resolution = 8 * np.finfo(np.float64).eps * cums[-1]  # the table's own round-off
            for _ in range(60):
                excess = cums[j] + self._series(k, self.antiderivative, u, j) - from_e
                if np.all(np.abs(excess) <= resolution):
                    break
                lo, hi = np.where(excess < 0, u, lo), np.where(excess < 0, hi, u)
                slope = self._series(k, self.density, u, j)
                with np.errstate(divide="ignore", invalid="ignore"):
                    newton = u - excess / slope
                inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
                u_next = np.where(inside, newton, 0.5 * (lo + hi))
                if np.all(np.abs(u_next - u) <= 1e-15):
                    u = u_next
                    break
                u = u_next
            t, _ = seg.time_and_weight(u)
            exact = seg.e + (seg.o - seg.e) * u**seg.p  # not clipped: the node itself
            out[mask] = np.where(np.abs(exact - t) < 1e-12, exact, t)
        return out.reshape(values.shape)[()]


def segment_average(field, a: float, b: float, x: np.ndarray) -> np.ndarray:
    """``int_a^b f(s, x) ds`` by adaptive quadrature in each segment's ``u`` (bounded there)."""
    out = np.zeros_like(x)
    for seg in segments(field):
        lo, hi = max(a, seg.lo), min(b, seg.hi)
        if hi <= lo:
            continue
        u_lo, u_hi = sorted((float(seg.u_of(lo)), float(seg.u_of(hi))))

        def integrand(u, seg=seg):
            t, w = seg.time_and_weight(u)
            return field.f(float(t), x) * float(w)

        val, _ = integrate.quad_vec(integrand, u_lo, u_hi, epsabs=1e-13, epsrel=1e-12, limit=500)
        out += val
    return out


def time_changed_flow(field, x0: np.ndarray, times: np.ndarray, rtol: float,
                      atol: float) -> np.ndarray:
    """States at ``times`` (monotone) of ``x' = f(t, x)`` from ``x0`` at ``times[0]``, solved
    segment by segment in ``u`` (``dx/du = sign(o - e) f(t', x) w``; DOP853, restarted at every
    segment end). Shape ``(len(times), n, dim)``."""
    n, dim = x0.shape
    out = np.empty((times.size, n, dim))
    out[0] = x0
    forward = times[-1] >= times[0]
    start, stop = sorted((float(times[0]), float(times[-1])))
    segs = [s for s in segments(field) if s.hi > start and s.lo < stop]
    if not forward:
        segs = segs[::-1]
    y = x0.reshape(-1).copy()
    for seg in segs:
        a, b = (max(seg.lo, start), min(seg.hi, stop))
        if not forward:
            a, b = b, a
        in_seg = ((times > a) & (times <= b)) if forward else ((times < a) & (times >= b))
        idx = np.nonzero(in_seg)[0]
        u_a, u_b = float(seg.u_of(a)), float(seg.u_of(b))
        if u_a == u_b:
            out[idx] = y.reshape(n, dim)
            continue

        def rhs(u, flat, seg=seg):
            t, w = seg.time_and_weight(u)
            return seg.sign * float(w) * np.asarray(field.f(float(t), flat.reshape(n, dim))).reshape(-1)

        grid = seg.u_of(times[idx])
        full = grid if grid.size and grid[-1] == u_b else np.concatenate([grid, [u_b]])
        sol = integrate.solve_ivp(rhs, (u_a, u_b), y, method="DOP853", rtol=rtol, atol=atol,
                                  t_eval=full)
        if not sol.success:
            raise RuntimeError(f"time-changed flow failed on [{a}, {b}]: {sol.message}")
        out[idx] = sol.y[:, :idx.size].T.reshape(idx.size, n, dim)
        y = sol.y[:, -1].copy()
    return out

