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
``L``). Cubes whose bound exceeds the sampled maximum by more than ``rtol`` are split. The one
allowance: the reference solver's states are trusted to ``solver_allowance``.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
from scipy import integrate

from ._validate import as_box, nonnegative_float, positive_float, positive_int
from .fields import VectorField
from .flows import reference_flow
from .lipschitz import relu_blocks, spectral_norms

__all__ = ["Certificate", "certify_resnet", "time_variation_of"]
__bounds__ = ("_flow_lipschitz", "_interpolation_errors", "_propagate[1]", "_propagate[3]")


@dataclass(frozen=True)
class Certificate:
    """The bound of thm-certificate and its parts; ``bound = inf`` with ``refused`` set when no
    certificate can be given (a state ball leaves the box on which a Kuhn block is valid).

    ``sampled_part``, ``spatial_part``, ``time_part`` are the three terms at the cube and step
    where the bound is attained; ``node_bounds[k] >= sup_x |x_k - Phi(t_k, x)|``,
    ``step_bounds[k] >= sup_{t in I_k, x} |X - Phi|``; ``block_lipschitz[k]`` the largest
    ``ell_k`` used; ``state_boxes[k]`` a box holding every state ``x_k(x)``, ``x`` in ``K``.
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

    @property
    def certified(self) -> bool:
        return self.refused is None and math.isfinite(self.bound)


def time_variation_of(profile, scale: float):
    """``V(a, b) = scale int_a^b |p(s) - p((a + b) / 2)| ds`` for fields
    ``f(s, x) = p(s) G(x) + q(x)`` (or ``p(s) e + q(x)``) with ``sup |G| <= scale``: then
    ``int_a^b sup_x |f(s, x) - f(u, x)| ds <= V(a, b)`` at the midpoint ``u`` (thm-certificate)."""
    scale = nonnegative_float(scale, "scale")

    def variation(a, b):
        u = 0.5 * (a + b)
        pu = float(profile(u))
        value = integrate.quad(lambda s: abs(float(profile(s)) - pu), a, u, limit=200)[0]
        value += integrate.quad(lambda s: abs(float(profile(s)) - pu), u, b, limit=200)[0]
        return scale * value * (1 + 1e-9)

    return variation


def _integral_of(fn, field, a, b):
    return sum(integrate.quad(fn, lo, hi, limit=200)[0] for lo, hi in field.pieces(a, b))


def _flow_lipschitz(field, times, mu):
    """``exp(int_{t_0}^{t_k} mu+)`` at the nodes: the flow is that Lipschitz (Gronwall on
    ``d/dt |y - z|^2 <= 2 mu |y - z|^2``); with ``mu`` absent, ``L`` in place of ``mu``."""
    if mu is None:
        mu = getattr(field, "mu_bound", None)
    if mu is None:
        steps = np.asarray(field.lip_integral(times[:-1], times[1:]), dtype=np.float64)
    elif callable(mu):
        steps = np.array([_integral_of(lambda t: max(float(mu(t)), 0.0), field, a, b)
                          for a, b in itertools.pairwise(times)])
    else:
        steps = max(float(mu), 0.0) * np.diff(times)
    return np.exp(np.concatenate([[0.0], np.cumsum(steps)]) * (1 + 1e-12))


def _interpolation_errors(field, sub, variation):
    """``iota_j >= sup_t |Phi(t) - lin_j(t)|`` on ``[s_j, s_{j+1}]`` (lin: the chord): always
    ``<= int m``; with a time variation ``V``, ``<= V(a, b) + L(u) ((u - a) int_a^u m +
    (b - u) int_u^b m)``, ``u`` the midpoint (thm-certificate)."""
    a, b = sub[:-1], sub[1:]
    mass = np.asarray(field.sup_integral(a, b), dtype=np.float64)
    if variation is None:
        return mass
    u = 0.5 * (a + b)
    left = np.asarray(field.sup_integral(a, u), dtype=np.float64)
    right = np.asarray(field.sup_integral(u, b), dtype=np.float64)
    lip = np.broadcast_to(np.asarray(field.lip(u), dtype=np.float64), u.shape)
    var = np.array([variation(float(lo), float(hi)) for lo, hi in zip(a, b)])
    return np.minimum(mass, var + lip * ((u - a) * left + (b - u) * right))


def _propagate(blocks, centres, rho):
    """States at the nodes, ``Lip_C x_k`` and a mask of cubes whose balls leave a block's box.

    The Jacobian of ``x_k`` on the cube is enclosed as ``M_k +- D_k`` plus a spectral-norm ball
    of radius ``e_k`` (for blocks that give only a norm): interval products keep the enclosure
    of the composition, whose norm is far below the product of the blocks' norms."""
    n, d = centres.shape
    states, lips = [centres], [np.ones(n)]
    mid, rad, extra = np.broadcast_to(np.eye(d), (n, d, d)), np.zeros((n, d, d)), np.zeros(n)
    outside = np.zeros(n, dtype=bool)
    ells = []
    for block in blocks:
        x, radius = states[-1], rho * lips[-1]
        if block.box is not None:
            lo, hi = block.box
            outside |= np.any((x - radius[:, None] < lo) | (x + radius[:, None] > hi), axis=1)
        if hasattr(block, "jacobian"):
            a, b = block.jacobian(x, radius)
            ells.append(spectral_norms(a) + spectral_norms(b))
            extra = (spectral_norms(a) + spectral_norms(b)) * extra
            mid, rad = a @ mid, np.abs(a) @ rad + b @ (np.abs(mid) + rad)
        else:
            ells.append(block.lipschitz(x, radius))
            extra = ells[-1] * (spectral_norms(mid) + spectral_norms(rad) + extra)
            mid, rad = np.zeros_like(mid), np.zeros_like(rad)
        states.append(x + block(x))
        lips.append(spectral_norms(mid) + spectral_norms(rad) + extra)
    return np.stack(states), np.stack(lips), outside, np.stack(ells)


def _cube_bounds(blocks, times, sub, node_index, field, centres, rho, flow_lip, iota_step,
                 chunk):
    """Per cube: step bounds ``(n, N)``, node bounds ``(n, N + 1)``, sampled max per step and
    the refusal mask."""
    n_steps = times.size - 1
    step_b = np.empty((centres.shape[0], n_steps))
    node_b = np.empty((centres.shape[0], n_steps + 1))
    sampled = np.empty_like(step_b)
    refused = np.zeros(centres.shape[0], dtype=bool)
    k_of = np.clip(np.searchsorted(times, sub, side="right") - 1, 0, n_steps - 1)
    theta = (sub - times[k_of]) / (times[k_of + 1] - times[k_of])
    for start in range(0, centres.shape[0], chunk):
        part = slice(start, start + chunk)
        c, r = centres[part], rho[part]
        states, lips, outside, _ = _propagate(blocks, c, r)
        reference = reference_flow(field, c, sub)
        interp = ((1 - theta)[:, None, None] * states[k_of]
                  + theta[:, None, None] * states[k_of + 1])
        err = np.linalg.norm(interp - reference, axis=-1)  # (S, n)
        # every step I_k holds the sub-times node_index[k] .. node_index[k + 1]
        per_step = np.stack([err[node_index[k]:node_index[k + 1] + 1].max(axis=0)
                             for k in range(n_steps)], axis=1)
        lip_x = np.maximum(lips[:-1], lips[1:]).T
        spatial = r[:, None] * (lip_x + flow_lip[None, 1:])
        sampled[part] = per_step
        step_b[part] = per_step + spatial + iota_step[None, :]
        node_b[part] = err[node_index].T + r[:, None] * (lips.T + flow_lip[None, :])
        refused[part] = outside
    return step_b, node_b, sampled, refused


def certify_resnet(net, field: VectorField, box, times=None, *, mu=None, time_variation=None,
                   cells: int = 16, time_points: int = 256, rtol: float = 0.25,
                   max_points: int = 200_000, max_rounds: int = 12,
                   solver_allowance: float = 1e-8, chunk: int = 4096) -> Certificate:
    """Certify ``sup_{t in [t_0, t_N], x in K} |X(t, x) - Phi(t, x)| <= bound`` (thm-certificate).

    ``net``: a ``ReLUResNet``, a ``TrainableResNet`` or a list of ``nn.Module`` blocks with
    ``times``; ``box = K``. ``mu``: a one-sided Lipschitz bound ``mu(t) >= sup <u - v, f(t, u) -
    f(t, v)> / |u - v|^2`` (number or callable; default the field's ``mu_bound``, else ``L``).
    ``time_variation(a, b)``: a bound on ``int_a^b sup_x |f(s, x) - f((a+b)/2, x)| ds`` (see
    :func:`time_variation_of`); without it the time term is ``int m`` per sub-interval.
    Starts from ``cells`` cubes per axis and about ``time_points`` sub-times; splits cubes until
    each is within ``rtol`` of the sampled maximum or ``max_points`` centres were used.
    """
    start_clock = time.perf_counter()
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    blocks, times = relu_blocks(net, times)
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
    allowance = nonnegative_float(solver_allowance, "solver_allowance")
    chunk = positive_int(chunk, "chunk")
    if time_variation is not None and not callable(time_variation):
        raise ValueError("time_variation must be callable V(a, b)")

    n_steps = times.size - 1
    per_step = max(1, math.ceil(time_points / n_steps))
    fractions = np.arange(per_step) / per_step
    sub = np.concatenate([(times[:-1, None] + fractions * np.diff(times)[:, None]).ravel(),
                          times[-1:]])
    node_index = np.arange(n_steps + 1) * per_step
    iota = _interpolation_errors(field, sub, time_variation)
    iota_step = iota.reshape(n_steps, per_step).max(axis=1)
    flow_lip = _flow_lipschitz(field, times, mu)

    d = field.dim
    width = (upper - lower) / cells
    grid = np.stack(np.meshgrid(*[np.arange(cells)] * d, indexing="ij"), -1).reshape(-1, d)
    centres = lower + (grid + 0.5) * width
    half = np.broadcast_to(width / 2, centres.shape).copy()
    corners = np.stack(np.meshgrid(*[[-1.0, 1.0]] * d, indexing="ij"), -1).reshape(-1, d)
    evaluate = lambda c, h: _cube_bounds(blocks, times, sub, node_index, field, c,
                                         np.linalg.norm(h, axis=1), flow_lip, iota_step, chunk)
    leaves = [(centres, half, *evaluate(centres, half))]
    points, rounds = centres.shape[0], 0
    while True:
        sampled_max = max(float(leaf[4].max()) for leaf in leaves)
        goal = (1 + rtol) * sampled_max + float(iota_step.max())
        split = [(leaf[2].max(axis=1) > goal) | leaf[5] for leaf in leaves]
        todo = sum(int(s.sum()) for s in split)
        if todo == 0 or rounds >= max_rounds or points + todo * 2**d > max_points:
            break
        kept, new_c, new_h = [], [], []
        for leaf, s in zip(leaves, split):
            if np.any(~s):
                kept.append(tuple(part[~s] for part in leaf))
            if np.any(s):
                h = leaf[1][s] / 2
                new_c.append((leaf[0][s][:, None, :] + corners[None] * h[:, None, :]).reshape(-1, d))
                new_h.append(np.repeat(h, corners.shape[0], axis=0))
        c, h = np.concatenate(new_c), np.concatenate(new_h)
        leaves = kept + [(c, h, *evaluate(c, h))]
        points += c.shape[0]
        rounds += 1

    centres = np.concatenate([leaf[0] for leaf in leaves])
    half = np.concatenate([leaf[1] for leaf in leaves])
    step_b = np.concatenate([leaf[2] for leaf in leaves])
    node_b = np.concatenate([leaf[3] for leaf in leaves])
    sampled = np.concatenate([leaf[4] for leaf in leaves])
    refused_mask = np.concatenate([leaf[5] for leaf in leaves])
    rho = np.linalg.norm(half, axis=1)
    lip_max, box_lo, box_hi = np.zeros(n_steps), None, None
    for s in range(0, centres.shape[0], chunk):
        states, lips, _, ells = _propagate(blocks, centres[s:s + chunk], rho[s:s + chunk])
        radius = (rho[s:s + chunk] * lips)[..., None]
        lo, hi = (states - radius).min(axis=1), (states + radius).max(axis=1)
        box_lo = lo if box_lo is None else np.minimum(box_lo, lo)
        box_hi = hi if box_hi is None else np.maximum(box_hi, hi)
        lip_max = np.maximum(lip_max, ells.max(axis=1))
    i, k = np.unravel_index(int(np.argmax(step_b)), step_b.shape)
    refused = None
    if refused_mask.any():
        refused = (f"{int(refused_mask.sum())} cubes of K have states whose balls leave the box "
                   "of a Kuhn block (the network is the interpolant only inside it)")
    bound = math.inf if refused else float(step_b[i, k]) + allowance
    return Certificate(
        bound=bound, sampled_part=float(sampled[i, k]), spatial_part=float(step_b[i, k]
                                                                          - sampled[i, k]
                                                                          - iota_step[k]),
        time_part=float(iota_step[k]), allowance=allowance, sampled_max=float(sampled.max()),
        times=times, node_bounds=node_b.max(axis=0) + allowance,
        step_bounds=step_b.max(axis=0) + allowance, block_lipschitz=lip_max,
        flow_lipschitz=flow_lip, state_boxes=np.stack([box_lo, box_hi], axis=1),
        cubes=centres.shape[0], points=points, rounds=rounds,
        seconds=time.perf_counter() - start_clock, refused=refused)
