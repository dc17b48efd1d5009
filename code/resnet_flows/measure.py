"""Measured space-time errors of ResNets against the reference flow (thm-main), and an empirical
search for the smallest ResNet that reaches a given accuracy on a sample.

The quantity of thm-main is ``sup_{t in I, x in K} |X(t, x) - Phi(t, x)|`` with ``X`` the
space-time interpolant of the ResNet. It is measured here as a maximum over finitely many points
of ``K`` and a fine time grid, the flow coming from :func:`~resnet_flows.flows.reference_flow`:
a lower estimate of the supremum, which the certified bound must dominate.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from . import bounds
from ._validate import (
    as_box,
    as_points,
    as_times,
    field_steps_points,
    nonnegative_float,
    positive_float,
    positive_int,
)
from .fields import VectorField
from .flows import reference_flow
from .plan import mesh_times
from .relu import kuhn_network_size
from .resnet import ReLUResNet, StateOutsideBox, averaged_kuhn_resnet

__all__ = ["CHUNK_ELEMENTS", "AveragedEulerSlack", "EmpiricalChoice", "MeasuredSpaceTimeError",
           "averaged_euler_slack", "block_error_ratio", "empirical_smallest", "evaluation_times",
           "interpolation_ratio", "measured_space_time_error", "node_bound_ratio"]


# Numbers per chunk of the time-chunked evaluations (2 MB of float64): large sweeps keep only
# the errors, the states and the reference at full size, and the temporaries stay small.
CHUNK_ELEMENTS = 2**18


def _time_chunks(count: int, per_time: int):
    """Slices of ``range(count)`` holding about ``CHUNK_ELEMENTS / per_time`` times each."""
    step = max(1, CHUNK_ELEMENTS // max(per_time, 1))
    return [slice(start, min(start + step, count)) for start in range(0, count, step)]


def evaluation_times(times, base: int = 1024, per_block: int = 1) -> np.ndarray:
    """A fine time grid for measuring ``sup_t``: the union of ``base + 1`` uniform times on
    ``[times[0], times[-1]]``, the nodes ``times`` themselves and ``per_block`` equally spaced
    interior points of every step ``I_k`` (the error of ``X`` peaks inside the steps, thm-main)."""
    nodes = as_times(times, "times")
    if nodes.size < 2:
        raise ValueError("times must hold at least two nodes")
    base = positive_int(base, "base")
    per_block = positive_int(per_block, "per_block", minimum=0)
    parts = [np.linspace(nodes[0], nodes[-1], base + 1), nodes]
    fractions = np.arange(1, per_block + 1) / (per_block + 1)
    if per_block:
        steps = np.diff(nodes)
        parts.append((nodes[:-1, None] + fractions[None, :] * steps[:, None]).ravel())
    return np.unique(np.concatenate(parts))


@dataclass(frozen=True)
class MeasuredSpaceTimeError:
    """Pointwise errors ``|X(t_i, x_j) - Phi(t_i, x_j)|`` on a time grid and a point sample."""

    times: np.ndarray
    errors: np.ndarray = dataclass_field(repr=False)
    states: np.ndarray = dataclass_field(repr=False)
    reference: np.ndarray = dataclass_field(repr=False)

    @property
    def sup(self) -> float:
        """The measured ``sup_{t, x}`` (a maximum over the grid and the sample)."""
        return float(self.errors.max())

    @property
    def worst(self) -> tuple[float, int]:
        """``(t, j)``: the time and the index of the point where the maximum is attained."""
        i, j = np.unravel_index(int(np.argmax(self.errors)), self.errors.shape)
        return float(self.times[i]), int(j)

    @property
    def node_errors(self) -> np.ndarray:
        """``max_x |x_k - Phi(t_k, x)|`` at the nodes that belong to ``times``."""
        return self.errors.max(axis=1)


def measured_space_time_error(resnet: ReLUResNet, field: VectorField, points, times,
                              reference: np.ndarray | None = None, fast: bool | None = None
                              ) -> MeasuredSpaceTimeError:
    """Measure ``|X(t, x) - Phi(t, x)|`` for ``t`` in ``times`` and ``x`` in ``points`` (thm-main).

    ``X`` is the ResNet's space-time interpolant, evaluated from one trajectory (``fast``: the
    blocks' simplex-location evaluators, the default for numpy input); ``Phi`` is
    ``reference_flow(field, points, times)`` unless ``reference`` (same shape) is given. ``times``
    must start at ``0`` (the points are initial states) and increase strictly. The interpolant
    is formed a few times at once (about :data:`CHUNK_ELEMENTS` numbers), so memory beyond the
    states, the reference and the errors stays small.
    """
    if not isinstance(resnet, ReLUResNet):
        raise ValueError(f"resnet must be a ReLUResNet, got {type(resnet).__name__}")
    points = as_points(points, field.dim, "points")
    times = as_times(times, "times")
    if times[0] != resnet.times[0] or times[-1] > resnet.times[-1]:
        raise ValueError(f"times must start at {resnet.times[0]} and end by {resnet.times[-1]}")
    reference = _reference(field, points, times, reference)
    states = resnet.trajectory(points, fast=fast)
    errors = np.empty((times.size, points.shape[0]))
    for part in _time_chunks(times.size, points.size):
        interpolant = resnet.interpolate(times[part], points, trajectory=states)
        errors[part] = np.linalg.norm(interpolant - reference[part], axis=-1)
    return MeasuredSpaceTimeError(times, errors, states, reference)


@dataclass(frozen=True)
class EmpiricalChoice:
    """The cheapest ``(N, cells)`` found whose measured error on the sample is ``<= eps``.

    ``tried`` lists every evaluated ``(N, cells, measured)`` (``inf`` when a state left the box).
    """

    eps: float
    blocks: int
    cells: int
    measured: float
    nonzero_parameters: int
    tried: list = dataclass_field(repr=False)


def empirical_smallest(field: VectorField, box, eps: float, points, times,
                       blocks: Sequence[int], cells: Sequence[int], mesh: str = "uniform",
                       reference: np.ndarray | None = None) -> EmpiricalChoice | None:
    """Search a grid of block numbers ``N`` and cell numbers for the ResNet of thm-main's form
    (``R_k = I_n F_k`` on ``mesh_times(field, N, mesh)``) with the fewest nonzero parameters whose
    **measured** error on ``points`` x ``times`` is ``<= eps``. Not certified: a sample only.

    The blocks live on ``K`` grown by ``int_0^T m + eps``: a sample trajectory leaving it is more
    than ``eps`` from the flow (which stays within ``int m`` of ``K``, thm-well-posed (ii)), so
    such a candidate fails. For each ``N`` (ascending) the largest ``cells`` is tried first; if it
    passes, the smallest passing ``cells`` is found by bisection (the error decreases with the
    cells up to round-off, so bisection finds a passing value, not always the least). ``N`` whose
    cheapest grid cannot beat the best found is skipped. Returns ``None`` if nothing passes.
    """
    eps = positive_float(eps, "eps")
    lower, upper = as_box(box, "box", dim=field.dim)
    points = as_points(points, field.dim, "points")
    times = as_times(times, "times")
    if reference is None:
        reference = reference_flow(field, points, times)
    blocks = sorted({positive_int(n, "blocks") for n in blocks})
    cells = sorted({positive_int(n, "cells") for n in cells})
    if not blocks or not cells:
        raise ValueError("blocks and cells must be non-empty")
    grow = float(field.sup_integral(0.0, field.horizon)) + eps
    block_box = (lower - grow, upper + grow)
    size = {c: kuhn_network_size(field.dim, c, field.dim)[1] for c in cells}
    tried: list[tuple[int, int, float]] = []

    def measure(n_blocks, n_cells):
        grid_times = mesh_times(field, n_blocks, mesh)
        net = averaged_kuhn_resnet(field, grid_times, block_box, n_cells)
        try:
            value = measured_space_time_error(net, field, points, times, reference=reference).sup
        except StateOutsideBox:
            value = float("inf")
        tried.append((n_blocks, n_cells, value))
        return value

    best = None
    for n_blocks in blocks:
        if best is not None and n_blocks * size[cells[0]] >= best.nonzero_parameters:
            break
        measured = {len(cells) - 1: measure(n_blocks, cells[-1])}
        if measured[len(cells) - 1] > eps:
            continue

        def passes(i, n_blocks=n_blocks, measured=measured):
            if i not in measured:
                measured[i] = measure(n_blocks, cells[i])
            return measured[i] <= eps

        index = bisect.bisect_left(range(len(cells) - 1), True, key=passes)
        params = n_blocks * size[cells[index]]
        if best is None or params < best.nonzero_parameters:
            best = EmpiricalChoice(eps, n_blocks, cells[index], measured[index], params, tried)
    if best is None:
        return None
    return EmpiricalChoice(best.eps, best.blocks, best.cells, best.measured,
                           best.nonzero_parameters, tried)


def node_bound_ratio(result: MeasuredSpaceTimeError, nodes, node_bounds) -> float:
    """``max_k max_x |x_k - Phi(t_k, x)| / B_k`` over the nodes ``t_k``, ``k >= 1``, with ``B_k``
    the certified node bounds ``E_k + P_k`` of thm-main (a plan's ``node_bounds``). Every node
    must belong to ``result.times``."""
    nodes = as_times(nodes, "nodes")
    node_bounds = np.asarray(node_bounds, dtype=np.float64)
    if node_bounds.shape != nodes.shape:
        raise ValueError(f"node_bounds must have shape {nodes.shape}, got {node_bounds.shape}")
    index = _node_indices(result.times, nodes)
    measured = result.errors[index[1:]].max(axis=1)
    if np.any(node_bounds[1:] <= 0):
        raise ValueError("node_bounds must be > 0 after the first node")
    return float(np.max(measured / node_bounds[1:]))


def interpolation_ratio(result: MeasuredSpaceTimeError, nodes, field: VectorField,
                        away: float = 0.0) -> float:
    """The time-interpolation lemma of thm-main, checked pointwise: for ``t`` inside ``I_k``,
    ``theta = (t - t_k) / (t_{k+1} - t_k)`` and every sample point ``x``,

        |X(t, x) - Phi(t, x)| <= (1 - theta) e_k(x) + theta e_{k+1}(x)
                                 + (1 - theta) int_{t_k}^t m + theta int_t^{t_{k+1}} m,

    with ``e_k(x) = |x_k - Phi(t_k, x)|`` measured at the nodes. Returns the largest ratio of the
    left side to the right side over the times of ``result`` with ``away <= theta <= 1 - away``
    (at the nodes both sides coincide, and close to them the slack is of the order of the
    reference flow's own error). Every node must belong to ``result.times``.
    """
    away = nonnegative_float(away, "away")
    if away >= 0.5:
        raise ValueError(f"away must lie in [0, 0.5), got {away}")
    nodes = as_times(nodes, "nodes")
    index = _node_indices(result.times, nodes)
    node_err = result.errors[index]
    inside = np.ones(result.times.size, dtype=bool)
    inside[index] = False
    t = result.times[inside]
    k = np.clip(np.searchsorted(nodes, t, side="right") - 1, 0, nodes.size - 2)
    theta = (t - nodes[k]) / (nodes[k + 1] - nodes[k])
    keep = (theta >= away) & (theta <= 1 - away)
    if not np.any(keep):
        raise ValueError("no measured time lies inside a step at the distance away from its ends")
    rows = np.nonzero(inside)[0][keep]
    t, k, theta = t[keep], k[keep], theta[keep]
    worst = -np.inf
    for part in _time_chunks(rows.size, result.errors.shape[1]):
        tc, kc, th = t[part], k[part], theta[part]
        before = np.asarray(field.sup_integral(nodes[kc], tc), dtype=np.float64)
        after = np.asarray(field.sup_integral(tc, nodes[kc + 1]), dtype=np.float64)
        bound = ((1 - th)[:, None] * node_err[kc] + th[:, None] * node_err[kc + 1]
                 + ((1 - th) * before + th * after)[:, None])
        err = result.errors[rows[part]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(bound > 0, err / bound, np.where(err > 0, np.inf, 0.0))
        worst = max(worst, float(np.max(ratio)))
    return worst


@dataclass(frozen=True)
class AveragedEulerSlack:
    """The averaged Euler bound taken apart along solutions (see :func:`averaged_euler_slack`)."""

    local: float  # max_k max_x r_k(x) / (Lambda_k M_k), steps with Lambda_k M_k > 0 (else NaN)
    amplification: float  # max_{k, x} e_k(x) / sum_{j<k} r_j(x), where that sum is > 0
    error: float  # max_{k, x} e_k(x), e_k(x) = |y_k - Phi(t_k, x)|


def averaged_euler_slack(field: VectorField, times, points,
                         reference: np.ndarray | None = None) -> AveragedEulerSlack:
    """How much of the averaged Euler bound of thm-averaged-euler a run uses, and where.

    Along the reference solutions, the one-step defects
    ``r_k(x) = |Phi(t_{k+1}, x) - Phi(t_k, x) - F_k(Phi(t_k, x))|``, which the proof bounds by
    ``Lambda_k M_k`` (``local``: the worst ratio; steps with ``Lambda_k M_k = 0``, pure drifts,
    have no defect and no bound and are left out). Then the scheme ``y_0 = x``,
    ``y_{k+1} = y_k + F_k(y_k)`` with the exact averages (no network), its errors
    ``e_k(x) = |y_k - Phi(t_k, x)|`` (``error``: the largest), and their ratio to the plain sums
    ``sum_{j<k} r_j(x)`` of the defects made on the way (``amplification``: the Grönwall factor
    that actually happened, against the certified ``prod (1 + Lambda_i)``). ``reference`` is
    ``reference_flow(field, points, times)`` if already computed.
    """
    times, points = field_steps_points(field, times, points)
    reference = _reference(field, points, times, reference)
    a, b = times[:-1], times[1:]
    weight = field.lip_integral(a, b) * field.sup_integral(a, b)  # Lambda_k M_k
    defects = np.stack([np.linalg.norm(reference[k + 1] - reference[k]
                                       - field.average(a[k], b[k], reference[k]), axis=1)
                        for k in range(a.size)])  # (N, points)
    active = weight > 0
    local = float(np.max(defects.max(axis=1)[active] / weight[active])) if active.any() else np.nan
    y, amplification, error = points.copy(), 0.0, 0.0
    accumulated = np.zeros(points.shape[0])
    for k in range(a.size):
        y = y + field.average(a[k], b[k], y)
        accumulated += defects[k]
        e = np.linalg.norm(y - reference[k + 1], axis=1)
        error = max(error, float(e.max()))
        positive = accumulated > 0
        if positive.any():
            amplification = max(amplification, float(np.max(e[positive] / accumulated[positive])))
    return AveragedEulerSlack(local, amplification, error)


def block_error_ratio(resnet: ReLUResNet, field: VectorField, regularity: str, samples) -> float:
    """``max_k max_z |R_k(z) - F_k(z)| / delta_k`` over the blocks of a ResNet of thm-main's form
    (Kuhn interpolants ``R_k = I_n F_k`` of the averages on ``resnet.times``), ``z`` in
    ``samples`` (points of the block box), with ``delta_k`` the interpolation bound of
    thm-relu-approx for the block budget ``regularity``: ``Lambda_k |h| / 2`` (``"lipschitz"``)
    or ``|h|^2 / 8 int_{I_k} H`` (``"c2"``). Blocks with ``delta_k = 0`` (``F_k`` affine, the
    interpolant exact) are left out; NaN if none is left.
    """
    if not isinstance(resnet, ReLUResNet):
        raise ValueError(f"resnet must be a ReLUResNet, got {type(resnet).__name__}")
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    if regularity not in ("lipschitz", "c2"):
        raise ValueError(f"regularity must be 'lipschitz' or 'c2', got {regularity!r}")
    if not all(hasattr(block, "grid") and hasattr(block, "fast") for block in resnet.blocks):
        raise ValueError("resnet must consist of Kuhn-interpolant blocks (with a grid), as "
                         "build_certified_resnet and averaged_kuhn_resnet make")
    samples = as_points(samples, field.dim, "samples")
    for block in resnet.blocks:  # outside its grid the interpolation bound says nothing
        if np.any(samples < block.grid.lower) or np.any(samples > block.grid.upper):
            raise ValueError("samples must lie in the box of every block (the block box), "
                             f"[{block.grid.lower}, {block.grid.upper}]")
    a, b = resnet.times[:-1], resnet.times[1:]
    weights = field.hess_integral(a, b) if regularity == "c2" else field.lip_integral(a, b)
    worst = np.nan
    for k, block in enumerate(resnet.blocks):
        widths = block.grid.widths
        delta = (bounds.cpwl_c2_error(weights[k], widths) if regularity == "c2"
                 else bounds.cpwl_lipschitz_error(weights[k], widths))
        if delta > 0:
            error = np.linalg.norm(block.fast(samples) - field.average(a[k], b[k], samples),
                                   axis=1).max()
            worst = float(np.fmax(worst, error / delta))
    return worst


def _reference(field: VectorField, points: np.ndarray, times: np.ndarray, reference):
    """``reference_flow(field, points, times)``, or the given ``reference`` once its shape and
    finiteness are checked (float64)."""
    if reference is None:
        return reference_flow(field, points, times)
    reference = np.asarray(reference, dtype=np.float64)
    if reference.shape != (times.size, *points.shape):
        raise ValueError(f"reference must have shape {(times.size, *points.shape)}, "
                         f"got {reference.shape}")
    if not np.all(np.isfinite(reference)):  # a NaN would make every measured maximum NaN
        raise ValueError("reference contains non-finite values")
    return reference


def _node_indices(times, nodes):
    index = np.searchsorted(times, nodes)
    if np.any(index >= times.size) or not np.array_equal(times[np.minimum(index, times.size - 1)],
                                                         nodes):
        raise ValueError("every node must be one of the measured times")
    return index
