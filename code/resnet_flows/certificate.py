"""A-posteriori certificates for given ReLU ResNets against the flow of a field (thm-certificate).

For a ResNet ``x_{k+1} = x_k + R_k(x_k)`` on ``t_0 < ... < t_N`` with space-time interpolant
``X`` and a compact box ``K``, :func:`certify_resnet` bounds ``sup_{t, x in K} |X(t, x) -
Phi(t, x)|``. Cover ``K`` by cubes ``C`` with centres ``c`` and half-diagonals ``rho``, and refine
the partition to sub-times ``s_j``. For ``x`` in ``C`` and ``t`` in ``[s_j, s_{j+1}]`` inside
``I_k``:

    |X(t, x) - Phi(t, x)| <= max(|E(s_j, c)|, |E(s_{j+1}, c)|) + iota_j
                             + rho (max(Lip_C x_k, Lip_C x_{k+1}) + exp(int_{t_0}^{t_{k+1}} mu+))

with ``E = X - Phi`` sampled by the reference solver at the centres, ``iota_j`` the
linear-interpolation error of the flow on ``[s_j, s_{j+1}]`` (``X`` is affine in ``t`` there, so
the interpolation error of ``E`` is that of ``Phi``), ``Lip_C x_k <= prod_{i<k} ell_i`` from the
weights (:mod:`~resnet_flows.lipschitz`, on balls that are propagated with the same constants)
and ``exp(int mu+)`` the Lipschitz constant of the flow (one-sided Lipschitz bound ``mu``, or
``L``). For fields that declare ``H`` the spatial term at each end of ``[s_j, s_{j+1}]`` is the
smaller of that zeroth-order term and the first-order term of lem-first-order
(:mod:`~resnet_flows.certificate_first_order`), ``rho (|| |M_theta - G| + D_theta ||_2 + e_G) +
rho^2 Lambda_2 / 2``, which compares the network's Jacobian enclosure with a central-difference
Jacobian ``G`` of the flow. Cubes whose bound exceeds the sampled maximum by more than ``rtol``
are split, the worst first, as far as ``max_points`` (cube centres; each costs ``2d + 1``
reference trajectories with the first-order term) allows.

What is proved and what is estimated: the Lipschitz factors, interval enclosures, ``iota_j`` and
the flow factor are rounded outwards (:mod:`~resnet_flows.rounding`, integrals from primitives or
cumulative tables, :mod:`~resnet_flows.certificate_terms`). Two things are numerical estimates,
covered by the stated ``allowance``: the reference solver's states ``Phi(s_j, c)`` (trusted to
``solver_allowance``) and the network's own round-off in ``forward`` (its states are compared
with the certificate's at every centre, to a relative ``1e-12``, which is added). A
``time_variation`` built by :func:`time_variation_of` without a primitive is a quadrature
estimate too. The central-difference Jacobian ``G`` is an estimate whose error is *bounded*:
its truncation part from ``H`` and the flow factor (proved, rounded up), its solver part
``sqrt(d) a / delta`` from the same trust ``a`` in the reference states. A declared ``H`` that
is too small is falsified, like ``m``, ``L`` and ``mu``, at the first centres.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from . import certificate_first_order as first
from ._validate import as_box, nonnegative_float, positive_float, positive_int, real_number
from .certificate_terms import (
    check_field_bounds,
    flow_lipschitz,
    interpolation_errors,
    sub_times,
    time_variation_of,
)
from .fields import VectorField
from .flows import reference_flow
from .read_network import relu_blocks
from .rounding import interval_matmul, spectral_norm_upper, up

__all__ = ["Certificate", "certify_resnet", "time_variation_of"]
# certify_resnet returns a Certificate (not a number); its bound is the sum of these parts
__bounds__ = ("_propagate[1]", "_propagate[3]", "_cube_bounds[0]", "_cube_bounds[1]",
              "_cube_bounds[4]")
# a 1e-12 relative tolerance (also the last entry of _cube_bounds): no claim could see it halved
# (the gate lists it, unmutated)
__allowances__ = ("_forward_allowance",)

FORWARD_RTOL = 1e-12  # numpy states vs the modules' forward, relative to 1 + |state|


@dataclass(frozen=True)
class Certificate:
    """The bound of thm-certificate and its parts; ``bound = inf`` with ``refused`` set when no
    certificate can be given (a state ball leaves the box on which a Kuhn block is valid).

    ``sampled_part``, ``spatial_part``, ``time_part`` are the three terms at the cube and step
    where the bound is attained, ``spatial_part`` the spatial term used there and
    ``spatial_order`` which one (0: ``rho (Lip X + Lip Phi)``, 1: lem-first-order's ``S``);
    ``allowance`` the reference solver's plus the forward
    round-off allowance; ``node_bounds[k] >= sup_x |x_k - Phi(t_k, x)|``,
    ``step_bounds[k] >= sup_{t in I_k, x} |X - Phi|``; ``block_lipschitz[k]`` the largest
    ``ell_k`` used; ``state_boxes[k]`` a box holding every state ``x_k(x)``, ``x`` in ``K``;
    ``sub_times`` the sub-times ``s_j``.
    """

    bound: float
    sampled_part: float
    spatial_part: float
    time_part: float
    allowance: float
    sampled_max: float
    times: np.ndarray = dataclass_field(repr=False)
    node_bounds: np.ndarray = dataclass_field(repr=False)
    step_bounds: np.ndarray = dataclass_field(repr=False)
    block_lipschitz: np.ndarray = dataclass_field(repr=False)
    flow_lipschitz: np.ndarray = dataclass_field(repr=False)
    state_boxes: np.ndarray = dataclass_field(repr=False)
    cubes: int = 0
    points: int = 0
    rounds: int = 0
    seconds: float = 0.0
    refused: str | None = None
    sub_times: np.ndarray = dataclass_field(repr=False, default=None)
    spatial_order: int = 0

    @property
    def certified(self) -> bool:
        return self.refused is None and math.isfinite(self.bound)


def _propagate(blocks, centres, rho):
    """``(states, lips, outside, ells, mids, rads)``: states at the nodes, ``lips[k] >= Lip_C
    x_k``, a mask of cubes whose balls leave a block's box, the blocks' ``ell_k`` on the balls and
    the enclosures ``M_k +- D_k`` ``(N + 1, n, d, d)`` (for the first-order term).

    The Jacobian of ``x_k`` on the cube is enclosed as ``M_k +- D_k`` (interval products keep the
    enclosure of the composition, whose norm is far below the product of the blocks' norms)."""
    n, d = centres.shape
    states, lips = [centres], [np.ones(n)]
    mid, rad = np.broadcast_to(np.eye(d), (n, d, d)), np.zeros((n, d, d))
    outside = np.zeros(n, dtype=bool)
    ells, mids, rads = [], [mid], [rad]
    for block in blocks:
        x, radius = states[-1], up(rho * lips[-1], 2)
        if block.box is not None:
            lo, hi = block.box
            outside |= np.any((x - radius[:, None] < lo) | (x + radius[:, None] > hi), axis=1)
        a, b = block.jacobian(x, radius)
        ells.append(up(spectral_norm_upper(a) + spectral_norm_upper(b), 2))
        mid, rad = interval_matmul(a, b, mid, rad)
        mids.append(mid)
        rads.append(rad)
        states.append(x + block(x))
        lips.append(up(spectral_norm_upper(mid) + spectral_norm_upper(rad), 2))
    return (np.stack(states), np.stack(lips), outside, np.stack(ells), np.stack(mids),
            np.stack(rads))


def _forward_allowance(states):
    """What the modules' forward may differ from the certificate's states by (relative
    ``FORWARD_RTOL``): an allowance added to the bound."""
    return FORWARD_RTOL * (1.0 + float(np.linalg.norm(states, axis=-1).max()))


def _compare_with_forward(states, forward_states, centres, blocks):
    """The numpy states must be those the modules' own ``forward`` computes at every centre."""
    own = forward_states(centres)
    gap = np.linalg.norm(states - own, axis=-1)
    bad = ~(gap <= FORWARD_RTOL * (1.0 + np.linalg.norm(own, axis=-1)))
    if np.any(bad):
        k = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(f"net: {blocks[k - 1].name}: its forward computes other states than its "
                         f"weights say (gap {float(gap[k].max()):.3g} at a centre); a module "
                         "that cannot be read cannot be certified")


def _check_declared(ctx, reference, centres, rho):
    """Falsify the field's declared bounds on the reference flow at the initial centres: the
    flow moves at most ``int m`` between sub-times, and neighbouring centres separate at most by
    the flow factor. ``ValueError`` naming the bound (the certificate would rest on it)."""
    sub, allowance = ctx["sub"], ctx["solver_allowance"]
    moved = np.linalg.norm(np.diff(reference, axis=0), axis=-1).max(axis=1)
    mass = ctx["mass"]
    bad = moved > mass * (1 + 1e-9) + 2 * allowance
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"sup_bound does not hold: the flow moves {moved[j]:.6g} on "
                         f"[{sub[j]:.6g}, {sub[j + 1]:.6g}], more than int m = {mass[j]:.6g}")
    if centres.shape[0] < 2:
        return
    step = np.linalg.norm(centres[1:] - centres[:-1], axis=1)
    near = step <= 2.5 * rho[:-1]
    if not near.any():
        return
    sep = np.linalg.norm(reference[:, 1:] - reference[:, :-1], axis=-1)[:, near]
    factor = ctx["flow_lip_at_sub"][:, None] * step[near][None, :]
    bad = sep > factor * (1 + 1e-9) + 2 * allowance
    if np.any(bad):
        j = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError("lip_bound / mu do not hold: two centres separate faster than "
                         f"exp(int min(L, mu+)) allows at t={sub[j]:.6g}")


def _reference(field, centres, sub, node_index):
    """The reference flow at the sub-times, restarted at every node from its own state there
    (the same flow by the semigroup property; a field whose exact flow integrates from
    ``t_0`` at every time would otherwise cost quadratically many solver steps)."""
    out = np.empty((sub.size, *centres.shape))
    out[0] = centres
    # an "exact" flow that integrates a spatial flow map numerically from its start time costs
    # one solve per sub-time; one DOP853 solve per step with dense output is several times
    # cheaper (the d = 3 saturated field: 103 s -> 22 s under load 4)
    method = "auto" if getattr(field, "exact_flow_is_closed_form", True) else "numerical"
    for lo, hi in itertools.pairwise(node_index):
        out[lo:hi + 1] = reference_flow(field, out[lo], sub[lo:hi + 1], method=method)
    return out


def _first_order(ctx, c, r, delta, mids, rads, points, flow):
    """``(S, n)``: the first-order term of lem-first-order at every sub-time and cube, from the
    enclosures and the reference flow at the stencil ``points`` (``inf`` without ``H``); checks
    the declared ``H`` at the first centres."""
    curv, k_of, theta = ctx["curv"], ctx["k_of"], ctx["theta"]
    g, half = first.central_differences(points, flow)
    e_g = first.difference_error(curv, c, delta, half, g)
    e_g = up(e_g + first.difference_allowance(ctx["solver_allowance"], half, c.shape[1])[None], 2)
    if ctx.get("check_curvature"):
        first.check_curvature(curv, c, g, e_g, ctx["sub"])
    out = np.empty(g.shape[:2])
    for k in range(ctx["node_index"].size - 1):
        j = np.flatnonzero(k_of == k)
        mid, rad = first.interpolate_enclosure(mids[k][None], rads[k][None], mids[k + 1][None],
                                               rads[k + 1][None], theta[j])
        out[j] = first.first_order_term(mid, rad, g[j], e_g[j], curv[j], r)
    return out


def _cube_bounds(ctx, centres, rho, first_round=False):
    """Per cube: step bounds ``(n, N)``, node bounds ``(n, N + 1)``, sampled max per step, the
    refusal mask, the spatial term used where each step bound is attained and its order (0:
    ``rho (Lip X + Lip Phi)``, 1: lem-first-order); and the forward allowance of these cubes."""
    blocks, node_index, sub = ctx["blocks"], ctx["node_index"], ctx["sub"]
    n_steps, n, d = node_index.size - 1, centres.shape[0], centres.shape[1]
    step_b, node_b = np.empty((n, n_steps)), np.empty((n, n_steps + 1))
    sampled, refused = np.empty((n, n_steps)), np.zeros(n, dtype=bool)
    spatial_used, order = np.empty((n, n_steps)), np.zeros((n, n_steps), dtype=np.int8)
    allowance = 0.0
    k_of, theta, iota, flow_lip = ctx["k_of"], ctx["theta"], ctx["iota"], ctx["flow_lip"]
    chunk = ctx["chunk"]
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        c, r = centres[part], rho[part]
        m = c.shape[0]
        states, lips, outside, _, mids, rads = _propagate(blocks, c, r)
        _compare_with_forward(states, ctx["forward_states"], c, blocks)
        allowance = max(allowance, _forward_allowance(states))
        if ctx["curv"] is None:
            reference = _reference(ctx["field"], c, sub, node_index)
            first_term = np.full((sub.size, m), np.inf)
        else:
            delta = first.difference_step(ctx["curv_max"], r, ctx["solver_allowance"])
            points = first.stencil(c, delta)
            both = _reference(ctx["field"], np.concatenate([c, points.reshape(-1, d)]), sub,
                              node_index)
            reference = both[:, :m]
            flow = both[:, m:].reshape(sub.size, m, 2 * d, d)
            if first_round:  # m, L and mu first: Lambda_2 rests on them
                _check_declared(ctx, reference, c, r)
            first_term = _first_order(ctx | {"check_curvature": first_round}, c, r, delta, mids,
                                      rads, points, flow)
        if first_round and ctx["curv"] is None:
            _check_declared(ctx, reference, c, r)
        interp = ((1 - theta)[:, None, None] * states[k_of]
                  + theta[:, None, None] * states[k_of + 1])
        err = np.linalg.norm(interp - reference, axis=-1)  # (S, m), S sub-times
        lip_x = np.maximum(lips[:-1], lips[1:])  # (N, m)
        zeroth = up(r[None, :] * (lip_x + flow_lip[1:, None]), 3)
        for k in range(n_steps):
            lo, hi = node_index[k], node_index[k + 1]
            # |E(s, y)| <= |E(s, c)| + min(first-order, zeroth-order term) at each end, so on
            # [s_j, s_{j+1}]: the larger end plus iota_j
            used = np.minimum(first_term[lo:hi + 1], zeroth[k][None])
            ends = err[lo:hi + 1] + used
            pair = np.maximum(ends[:-1], ends[1:]) + iota[lo:hi, None]
            best = np.argmax(pair, axis=0)
            at = best + (ends[best + 1, np.arange(m)] > ends[best, np.arange(m)])
            step_b[part, k] = up(pair[best, np.arange(m)], 3)
            spatial_used[part, k] = used[at, np.arange(m)]
            order[part, k] = first_term[lo + at, np.arange(m)] < zeroth[k]
            sampled[part, k] = err[lo:hi + 1].max(axis=0)
        node_zeroth = up(r[None, :] * (lips + flow_lip[:, None]), 3)
        node_b[part] = up(err[node_index] + np.minimum(first_term[node_index], node_zeroth), 2).T
        refused[part] = outside
    return step_b, node_b, sampled, refused, spatial_used, order, allowance


def _refine(ctx, centres, half, rtol, max_points, max_rounds):
    """Split the worst cubes first (refused ones before all), as many as ``max_points`` allows,
    until every cube is within ``rtol`` of the sampled maximum or ``max_rounds`` rounds ran."""
    d = centres.shape[1]
    corners = np.stack(np.meshgrid(*[[-1.0, 1.0]] * d, indexing="ij"), -1).reshape(-1, d)
    rho = lambda h: up(np.linalg.norm(h, axis=1), d)
    parts = [centres, half, *_cube_bounds(ctx, centres, rho(half), first_round=True)]
    allowance = parts.pop()
    points, rounds = centres.shape[0], 0
    iota_max = float(ctx["iota"].max())
    while rounds < max_rounds:
        c, h, step_b, _, sampled, refused, _, _ = parts
        goal = (1 + rtol) * float(sampled.max()) + iota_max
        score = np.where(refused, np.inf, step_b.max(axis=1))
        need = np.flatnonzero((score > goal) | refused)
        budget = (max_points - points) // corners.shape[0]
        if need.size == 0 or budget <= 0:
            break
        chosen = need[np.argsort(-score[need], kind="stable")[:budget]]
        keep = np.ones(c.shape[0], dtype=bool)
        keep[chosen] = False
        child_h = np.repeat(h[chosen] / 2, corners.shape[0], axis=0)
        child_c = (c[chosen][:, None, :] + corners[None] * (h[chosen] / 2)[:, None, :]).reshape(-1, d)
        new = _cube_bounds(ctx, child_c, rho(child_h))
        allowance = max(allowance, new[-1])
        parts = [np.concatenate([old[keep], fresh]) for old, fresh in
                 zip(parts, (child_c, child_h, *new[:-1]))]
        points += child_c.shape[0]
        rounds += 1
    return parts, points, rounds, allowance


def certify_resnet(net, field: VectorField, box, times=None, *, mu=None, time_variation=None,
                   cells: int = 16, time_points: int = 256, rtol: float = 0.25,
                   max_points: int = 200_000, max_rounds: int = 12,
                   solver_allowance: float = 1e-8, chunk: int = 4096,
                   first_order: bool = True) -> Certificate:
    """Certify ``sup_{t in [t_0, t_N], x in K} |X(t, x) - Phi(t, x)| <= bound`` (thm-certificate).

    ``net``: a ``ReLUResNet``, a ``TrainableResNet`` or a list of ``nn.Module`` blocks with
    ``times``, read strictly (:func:`~resnet_flows.read_network.relu_blocks`); ``box = K``.
    ``mu``: a one-sided Lipschitz bound ``mu(t) >= sup <u - v, f(t, u) - f(t, v)> / |u - v|^2``
    (number or callable; default the field's ``mu_bound``); the flow factor uses ``min(L, mu+)``.
    ``time_variation(a, b)``: a bound on ``int_a^b sup_x |f(s, x) - f((a+b)/2, x)| ds`` (see
    :func:`time_variation_of`); without it the time term is ``int m`` per sub-interval.
    Starts from ``cells`` cubes per axis and about ``time_points`` sub-times (equal ``int m``,
    so graded towards singular times); splits the worst cubes until each is within ``rtol`` of
    the sampled maximum, ``max_points`` centres (cubes, not reference trajectories) were used or
    ``max_rounds`` rounds ran. The
    field's bounds are checked at the sub-times and against the reference flow at the initial
    centres; a network whose forward differs from its weights is refused.
    ``first_order``: use the smaller of the zeroth-order spatial term and the first-order one of
    lem-first-order (which needs the field's ``hess_bound``; ``2d`` more reference trajectories
    per centre); ``False`` keeps the zeroth-order term alone (chapter 10's examples of it).
    """
    start_clock = time.perf_counter()
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    blocks, times, forward_states = relu_blocks(net, times)
    if blocks[0].dim != field.dim:
        raise ValueError(f"net acts on R^{blocks[0].dim}, the field on R^{field.dim}")
    lower, upper = as_box(box, "box", dim=field.dim)
    if times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must lie in [0, {field.horizon}], got [{times[0]}, {times[-1]}]")
    for k, block in enumerate(blocks):
        if block.box is not None and (np.any(lower < block.box[0]) or np.any(upper > block.box[1])):
            raise ValueError(f"box K = [{lower}, {upper}] is not contained in the box of block "
                             f"{k}, [{block.box[0]}, {block.box[1]}], where it is a Kuhn network")
    cells = positive_int(cells, "cells")
    time_points = positive_int(time_points, "time_points")
    rtol = positive_float(rtol, "rtol")
    max_points = positive_int(max_points, "max_points")
    max_rounds = positive_int(max_rounds, "max_rounds", minimum=0)
    solver_allowance = nonnegative_float(solver_allowance, "solver_allowance")
    chunk = positive_int(chunk, "chunk")
    if not isinstance(first_order, bool):
        raise ValueError(f"first_order must be True or False, got {first_order!r}")
    if time_variation is not None and not callable(time_variation):
        raise ValueError("time_variation must be callable V(a, b)")
    if mu is not None and not callable(mu):
        mu = real_number(mu, "mu")  # a negative mu (a contraction) is a valid declaration

    sub, node_index = sub_times(field, times, time_points)
    if mu is None:
        mu = field.mu_bound
    check_field_bounds(field, sub, mu)
    iota = interpolation_errors(field, sub, time_variation)
    flow_lip = flow_lipschitz(field, times, mu)
    n_steps = times.size - 1
    k_of = np.clip(np.searchsorted(times, sub, side="right") - 1, 0, n_steps - 1)
    theta = (sub - times[k_of]) / (times[k_of + 1] - times[k_of])
    mass = field.sup_integral(sub[:-1], sub[1:])
    ctx = {"blocks": blocks, "field": field, "sub": sub, "node_index": node_index, "k_of": k_of,
               "theta": theta, "iota": iota, "flow_lip": flow_lip, "chunk": chunk,
               "forward_states": forward_states, "solver_allowance": solver_allowance,
               "mass": np.asarray(mass, dtype=np.float64),
               "flow_lip_at_sub": flow_lip[np.minimum(k_of + (sub > times[k_of]), n_steps)]}
    ctx["curv"] = first.flow_curvature(field, sub, mu) if first_order else None
    ctx["curv_max"] = None if ctx["curv"] is None else float(ctx["curv"].max())

    d = field.dim
    width = (upper - lower) / cells
    grid = np.stack(np.meshgrid(*[np.arange(cells)] * d, indexing="ij"), -1).reshape(-1, d)
    centres = lower + (grid + 0.5) * width
    half = np.broadcast_to(width / 2, centres.shape).copy()
    parts, points, rounds, forward = _refine(ctx, centres, half, rtol, max_points, max_rounds)
    centres, half, step_b, node_b, sampled, refused_mask, spatial_used, order = parts

    rho = up(np.linalg.norm(half, axis=1), d)
    lip_max, box_lo, box_hi = np.zeros(n_steps), None, None
    for s in range(0, centres.shape[0], chunk):
        states, lips, _, ells, _, _ = _propagate(blocks, centres[s:s + chunk],
                                                  rho[s:s + chunk])
        radius = up(rho[s:s + chunk] * lips, 2)[..., None]
        lo, hi = (states - radius).min(axis=1), (states + radius).max(axis=1)
        box_lo = lo if box_lo is None else np.minimum(box_lo, lo)
        box_hi = hi if box_hi is None else np.maximum(box_hi, hi)
        lip_max = np.maximum(lip_max, ells.max(axis=1))
    allowance = float(up(solver_allowance + forward, 2))
    i, k = np.unravel_index(int(np.argmax(step_b)), step_b.shape)
    refused = None
    if refused_mask.any():
        refused = (f"{int(refused_mask.sum())} cubes of K have states whose balls leave the box "
                   "of a Kuhn block (the network is the interpolant only inside it)")
    bound = math.inf if refused else float(up(step_b[i, k] + allowance, 2))
    spatial = float(spatial_used[i, k])
    return Certificate(
        bound=bound, sampled_part=float(sampled[i, k]), spatial_part=spatial,
        time_part=float(max(step_b[i, k] - sampled[i, k] - spatial, 0.0)), allowance=allowance,
        sampled_max=float(sampled.max()), times=times,
        node_bounds=up(node_b.max(axis=0) + allowance, 2),
        step_bounds=up(step_b.max(axis=0) + allowance, 2), block_lipschitz=lip_max,
        flow_lipschitz=flow_lip, state_boxes=np.stack([box_lo, box_hi], axis=1),
        spatial_order=int(order[i, k]), cubes=centres.shape[0], points=points, rounds=rounds,
        seconds=time.perf_counter() - start_clock, refused=refused, sub_times=sub)

