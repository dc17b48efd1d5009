"""Exact analysis of Kuhn interpolants: the triangulation's edges, sample points laid out cell by
cell, the exact sup error of ridge functions, the Jacobian on every simplex and the exact
Lipschitz constant (thm-relu-approx, thm-invertible). The networks are in
:mod:`~resnet_flows.relu`.
"""

from __future__ import annotations

import itertools

import numpy as np

from .relu import KuhnGrid

__all__ = ["cell_centres", "cell_points", "cpwl_lipschitz", "kuhn_edges", "kuhn_jacobians",
           "ridge_sup_error"]


def kuhn_edges(grid: KuhnGrid) -> tuple[np.ndarray, np.ndarray]:
    """All edges of the Kuhn triangulation of ``grid`` as flat node ids ``(start, end)``.

    The edges of the Kuhn simplices of a cell with corner ``b`` join ``b + h * k`` to
    ``b + h * (k + 1_S)`` for ``k`` in ``{0, 1}^d`` and nonempty ``S``: the edge ``v_i -> v_j``
    of ``S_pi`` adds the unit vectors ``pi(i+1), ..., pi(j)``, and every nonempty ``S`` arises
    that way (list ``S`` first in ``pi``) (thm-relu-approx). So the edge set is
    ``{(z, z + h * 1_S) : z a node, S nonempty, z + h * 1_S a node}``.
    """
    if not isinstance(grid, KuhnGrid):
        raise ValueError(f"grid must be a KuhnGrid, got {type(grid).__name__}")
    multi = grid.node_indices()
    flat = multi @ grid.strides
    starts, ends = [], []
    for subset in itertools.product((0, 1), repeat=grid.dim):
        step = np.asarray(subset)
        if not step.any():
            continue
        keep = np.all(multi + step <= grid.cells, axis=1)
        starts.append(flat[keep])
        ends.append(flat[keep] + step @ grid.strides)
    return np.concatenate(starts), np.concatenate(ends)


def cell_points(grid: KuhnGrid, local) -> np.ndarray:
    """The points ``b + h * u`` for every cell corner ``b`` and every row ``u`` of ``local``.

    ``local`` has shape ``(m, dim)`` with entries in ``[0, 1]`` (local cell coordinates); the
    result has shape ``(cells^d * m, dim)``, cell by cell. The same local pattern in every cell
    makes sampled sup errors comparable across grids (thm-relu-approx).
    """
    if not isinstance(grid, KuhnGrid):
        raise ValueError(f"grid must be a KuhnGrid, got {type(grid).__name__}")
    local = np.asarray(local, dtype=np.float64)
    if local.ndim == 1 and local.size == grid.dim:
        local = local[None, :]
    if local.ndim != 2 or local.shape[1] != grid.dim or not np.all((local >= 0) & (local <= 1)):
        raise ValueError(f"local must have shape (m, {grid.dim}) with entries in [0, 1]")
    axes = [np.arange(grid.cells)] * grid.dim
    multi = np.stack([m.reshape(-1) for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    return (grid.lower + (multi[:, None, :] + local[None, :, :]) * grid.widths).reshape(-1,
                                                                                      grid.dim)


def cell_centres(grid: KuhnGrid) -> np.ndarray:
    """Centres ``b + h / 2`` of all ``cells^d`` cells, shape ``(cells^d, dim)``.

    Every corner of a cell is at distance ``|h| / 2`` from its centre, and the centre lies in
    all ``d!`` Kuhn simplices of its cell (thm-relu-approx): the errors of ``|x - c|`` and
    ``|x|^2`` attain the theorem's bounds there.
    """
    if not isinstance(grid, KuhnGrid):
        raise ValueError(f"grid must be a KuhnGrid, got {type(grid).__name__}")
    return cell_points(grid, np.full((1, grid.dim), 0.5))


def ridge_sup_error(grid: KuhnGrid, direction, profile, kinks) -> float:
    """Exact ``sup_box |g - I_n g|`` for the ridge ``g(x) = profile(direction . x)``.

    ``profile`` must be continuous and affine between consecutive ``kinks`` (a sorted 1-D
    array that contains every kink in the range of ``direction . x`` on the box; others are
    ignored). On a Kuhn simplex the hyperplanes ``direction . x = k`` cut out pieces on which
    ``g - I_n g`` is affine; at a vertex of a piece at most one of the parallel hyperplanes is
    active, so ``d - 1`` facets of the simplex are, and the vertex lies on a simplex edge. The
    error vanishes at nodes, so the sup is the maximum over the crossings ``p = (1 - t) v + t w``
    of kink hyperplanes with Kuhn edges ``[v, w]``, where ``I_n g(p) = (1 - t) g(v) + t g(w)``
    (thm-relu-approx). ``profile`` maps arrays to arrays (scalar output).
    """
    if not isinstance(grid, KuhnGrid):
        raise ValueError(f"grid must be a KuhnGrid, got {type(grid).__name__}")
    direction = np.asarray(direction, dtype=np.float64).reshape(-1)
    if direction.size != grid.dim or not np.all(np.isfinite(direction)):
        raise ValueError(f"direction must be {grid.dim} finite numbers, got {direction}")
    if not callable(profile):
        raise ValueError("profile must be a callable on arrays")
    kinks = np.asarray(kinks, dtype=np.float64)
    if kinks.ndim != 1 or not np.all(np.isfinite(kinks)) or np.any(np.diff(kinks) <= 0):
        raise ValueError("kinks must be a strictly increasing 1-D array of finite numbers")
    s = grid.nodes() @ direction
    values = np.asarray(profile(s), dtype=np.float64)
    if values.shape != s.shape:
        raise ValueError(f"profile must map shape {s.shape} to {s.shape}, got {values.shape}")
    start, end = kuhn_edges(grid)
    sv, sw, gv, gw = s[start], s[end], values[start], values[end]
    first = np.searchsorted(kinks, np.minimum(sv, sw), side="right")
    stop = np.searchsorted(kinks, np.maximum(sv, sw), side="left")
    best = 0.0
    for offset in range(int(np.max(stop - first, initial=0))):
        hit = first + offset < stop
        k = kinks[first[hit] + offset]
        t = (k - sv[hit]) / (sw[hit] - sv[hit])
        err = np.abs((1 - t) * gv[hit] + t * gw[hit] - np.asarray(profile(k), dtype=np.float64))
        best = max(best, float(err.max(initial=0.0)))
    return best


def kuhn_jacobians(grid: KuhnGrid, values) -> np.ndarray:
    """The Jacobians of the Kuhn interpolant of nodal ``values`` on every simplex.

    On the simplex ``S_pi`` of the cell with corner node ``b`` the vertices are ``v_0 = b`` and
    ``v_i = v_{i-1} + h_{pi(i)} e_{pi(i)}``; the interpolant is affine there and its Jacobian
    ``J`` has the columns ``J e_{pi(i)} = (g(v_i) - g(v_{i-1})) / h_{pi(i)}`` (thm-invertible).
    ``values`` has shape ``(num_nodes,)`` or ``(num_nodes, p)`` in the order of
    ``grid.nodes()``. Returns shape ``(cells^d * d!, p, d)``: cell by cell (C order), and within
    a cell the permutations in ``itertools.permutations`` order.
    """
    if not isinstance(grid, KuhnGrid):
        raise ValueError(f"grid must be a KuhnGrid, got {type(grid).__name__}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != grid.num_nodes:
        raise ValueError(f"values must have shape ({grid.num_nodes}, p), got {values.shape}")
    d = grid.dim
    axes = [np.arange(grid.cells)] * d
    corners = np.stack([m.reshape(-1) for m in np.meshgrid(*axes, indexing="ij")], 1) @ grid.strides
    perms = list(itertools.permutations(range(d)))
    out = np.empty((corners.size, len(perms), values.shape[1], d))
    for j, perm in enumerate(perms):
        current = corners
        for axis in perm:
            following = current + grid.strides[axis]
            out[:, j, :, axis] = (values[following] - values[current]) / grid.widths[axis]
            current = following
    return out.reshape(-1, values.shape[1], d)


def cpwl_lipschitz(grid: KuhnGrid, values) -> float:
    """The exact Lipschitz constant on the grid's box of the Kuhn interpolant of ``values``:
    ``max`` over simplices of the spectral norm of its Jacobian (:func:`kuhn_jacobians`).

    The interpolant is continuous and affine on each simplex, and the box is convex: a segment
    crosses finitely many simplices, so the constant is at most the largest ``||J||_2``; it is
    attained inside a simplex of that Jacobian (thm-invertible).
    """
    jac = kuhn_jacobians(grid, values)
    return float(np.linalg.norm(jac, ord=2, axis=(1, 2)).max())
