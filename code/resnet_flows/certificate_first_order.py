"""The first-order spatial term of the certificate (lem-first-order).

On a cube ``C`` (centre ``c``, half-diagonal ``rho``) at a sub-time ``s`` with interpolation
weight ``theta`` inside step ``k``, every Jacobian of ``X(s, .)`` on ``C`` lies in the interval
matrix ``M_theta +- D_theta`` (the weighted enclosures of ``x_k`` and ``x_{k+1}``), ``D Phi(s, .)``
is ``Lambda_2(s)``-Lipschitz with ``Lambda_2(s) = F(s)^2 int_{t_0}^s H`` (``F`` the flow factor,
``H`` the field's ``hess_bound``), and a central-difference matrix ``G`` of the reference flow is
within ``e_G`` of ``D Phi(s, c)``. Then for ``y`` in ``C``

    |E(s, y)| <= |E(s, c)| + rho (|| |M_theta - G| + D_theta ||_2 + e_G) + rho^2 Lambda_2(s) / 2.

``G`` is an estimate; its error ``e_G`` is bounded: a truncation part from ``Lambda_2`` and the
step (proved, rounded up) and a solver part ``sqrt(d) a / h`` from the trust ``a`` in each
reference state (an allowance, like the sampled errors themselves).
"""

from __future__ import annotations

import numpy as np

from .certificate_terms import flow_lipschitz, integral_of
from .rounding import UNIT, gamma, spectral_norm_upper, up

__all__ = [
    "central_differences",
    "difference_allowance",
    "difference_error",
    "difference_step",
    "first_order_term",
    "flow_curvature",
    "interpolate_enclosure",
    "stencil",
]
# the term itself, its curvature constant and the truncation part of G's error: each halved by
# the mutation gate (chapter 10 has an example where each is attained)
__bounds__ = ("flow_curvature", "difference_error", "first_order_term")
# sqrt(d) a / h: the solver's trust spread over the difference step, no claim sees it halved
__allowances__ = ("difference_allowance",)

MIN_STEP = 1e-6  # below this the solver's trust a / h would dominate any useful estimate


def flow_curvature(field, sub, mu):
    """``Lambda_2(s_j) = F(s_j)^2 int_{t_0}^{s_j} H >= Lip D_x Phi(s_j, .)`` at the sub-times, or
    ``None`` when the field declares no ``H`` or its integral is not finite.

    Variational equations: ``W = D Phi(., y) - D Phi(., z)`` solves ``W' = A W + B`` with the
    log-norm of ``A = D_x f`` at most ``min(L, mu)`` and ``|B| <= H |Phi(y) - Phi(z)| |D Phi|
    <= H F^2 |y - z|``; with ``F`` nondecreasing, ``|W(s)| <= F(s)^2 int H |y - z|``."""
    if field.hess_bound is None:
        return None
    sub = np.asarray(sub, dtype=np.float64)
    cumulative = field.cumulative("hess")
    with np.errstate(all="ignore"):
        ends = np.asarray(cumulative(sub), dtype=np.float64)
    if not np.all(np.isfinite(ends)):
        return None
    steps = integral_of(cumulative, sub[:-1], sub[1:], "hess_bound")
    total = up(np.concatenate([[0.0], np.cumsum(steps)]), sub.size)
    factor = flow_lipschitz(field, sub, mu)
    curv = up(factor * factor * total, 2)
    return curv if np.all(np.isfinite(curv)) else None


def difference_step(curv_max: float, rho, allowance: float):
    """The step ``delta`` per cube minimising ``Lambda_2 delta / 2 + a / delta``, i.e.
    ``sqrt(2 a / Lambda_2)``, clipped to ``[MIN_STEP, rho]`` (``rho`` when ``Lambda_2 = 0``)."""
    rho = np.asarray(rho, dtype=np.float64)
    with np.errstate(divide="ignore"):
        best = np.sqrt(2.0 * allowance / curv_max) if curv_max > 0 else np.inf
    return np.minimum(np.maximum(best, MIN_STEP), rho)


def stencil(centres, delta):
    """``(n, 2d, d)``: the points ``c + delta e_i`` (first ``d``) and ``c - delta e_i``."""
    d = centres.shape[1]
    offsets = np.asarray(delta, dtype=np.float64)[:, None, None] * np.eye(d)[None]
    return np.concatenate([centres[:, None] + offsets, centres[:, None] - offsets], axis=1)


def central_differences(points, flow):
    """``(G, h)``: ``G[..., :, i] = (Phi(p_i^+) - Phi(p_i^-)) / (p^+_{ii} - p^-_{ii})`` from the
    stencil ``points`` ``(n, 2d, d)`` and the reference states ``flow`` ``(S, n, 2d, d)``;
    ``h`` ``(n, d)`` the computed half spacings (the other coordinates agree exactly)."""
    d = points.shape[-1]
    idx = np.arange(d)
    width = points[:, idx, idx] - points[:, d + idx, idx]  # (n, d)
    diff = flow[:, :, :d, :] - flow[:, :, d:, :]  # (S, n, d columns, d)
    return np.swapaxes(diff / width[None, :, :, None], -1, -2), 0.5 * width


def difference_error(curv, centres, delta, half, g):
    """Proved part of ``||G - D Phi(s, c)||_F``, shape ``(S, n)``: per column
    ``Lambda_2 dbar^2 / (2 h)`` (Taylor at ``c`` with ``|p^+- - c| <= dbar``) plus the round-off
    of the quotient (``4 u |G_col|``); ``h`` is the half spacing rounded down."""
    dbar = up(np.asarray(delta)[:, None] * (1 + UNIT) + UNIT * np.abs(centres), 3)  # (n, d)
    h_lo = half * (1 - 2 * UNIT)
    trunc = curv[:, None, None] * (dbar * dbar / (2 * h_lo))[None]  # (S, n, d)
    rounding = 4 * UNIT * np.linalg.norm(g, axis=-2)  # column norms of G
    column = up(trunc + rounding, 4)
    return up(np.sqrt(np.einsum("snd,snd->sn", column, column)), column.shape[-1] + 1)


def difference_allowance(allowance: float, half, dim: int):
    """``sqrt(sum_i (a / h_i)^2)`` per cube ``(n,)``: two reference states, each trusted to
    ``a``, divided by the spacing ``2 h``."""
    h_lo = half * (1 - 2 * UNIT)
    return up(allowance * np.sqrt(np.sum(1.0 / (h_lo * h_lo), axis=-1)), dim + 2)


def interpolate_enclosure(mid0, rad0, mid1, rad1, theta):
    """``(M, D)`` with ``(1 - theta) [M_0 +- D_0] + theta [M_1 +- D_1] subset M +- D``, weights as
    computed (the same as the states'), round-off in ``M`` moved into ``D``; ``theta`` ``(S,)``,
    the enclosures ``(S, n, d, d)``."""
    w1 = np.asarray(theta, dtype=np.float64)[:, None, None, None]
    w0 = 1 - w1
    mid = w0 * mid0 + w1 * mid1
    scale = w0 * np.abs(mid0) + w1 * np.abs(mid1)
    return mid, up(w0 * rad0 + w1 * rad1 + gamma(3) * scale, 4)


def first_order_term(mid, rad, g, e_g, curv, rho):
    """``S = rho (|| |M - G| + D ||_2 + e_G) + rho^2 Lambda_2 / 2`` per sub-time and cube
    ``(S, n)`` (lem-first-order), the round-off of ``M - G`` in the radius."""
    diff = mid - g
    slack = up(np.abs(diff) + rad + UNIT * (np.abs(mid) + np.abs(g)), 3)
    norm = spectral_norm_upper(slack)
    rho = np.asarray(rho, dtype=np.float64)[None, :]
    return up(rho * (norm + e_g) + 0.5 * rho * rho * curv[:, None], 4)


def check_curvature(curv, centres, g, e_g, sub):
    """Falsify ``Lambda_2`` (so ``H``) at neighbouring centres: ``||G(c) - G(c')||_2 <=
    Lambda_2 |c - c'| + e_G(c) + e_G(c')``; ``ValueError`` naming ``hess_bound`` otherwise."""
    if centres.shape[0] < 2:
        return
    step = np.linalg.norm(centres[1:] - centres[:-1], axis=1)
    gap = np.linalg.norm(g[:, 1:] - g[:, :-1], ord=2, axis=(-2, -1))  # (S, n - 1)
    allowed = curv[:, None] * step[None] + e_g[:, 1:] + e_g[:, :-1]
    bad = gap > allowed * (1 + 1e-9) + 1e-12
    if np.any(bad):
        j = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError("hess_bound does not hold: the flow's Jacobian, estimated by central "
                         f"differences at neighbouring centres, changes faster at t={sub[j]:.6g} "
                         f"than F^2 int H = {curv[j]:.6g} allows")
