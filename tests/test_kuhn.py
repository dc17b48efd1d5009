"""resnet_flows.kuhn: Kuhn edges, cell points, the exact ridge sup error (chapter 3), simplex
Jacobians and the exact Lipschitz constant (chapter 8)."""

import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from resnet_flows import bounds, fields
from resnet_flows.kuhn import (
    cell_centres,
    cell_points,
    cpwl_lipschitz,
    kuhn_edges,
    kuhn_jacobians,
    ridge_sup_error,
)
from resnet_flows.relu import KuhnGrid, cpwl_network


@pytest.mark.parametrize("d", [1, 2, 3])
def test_kuhn_edges_are_the_simplex_edges(d):
    grid = KuhnGrid((-np.ones(d), np.ones(d)), 2)
    start, end = kuhn_edges(grid)
    expected = set()
    multi = grid.node_indices()
    flat = {tuple(m): i for i, m in enumerate(multi)}
    for cell in itertools.product(range(2), repeat=d):
        for perm in itertools.permutations(range(d)):
            verts = [np.array(cell)]
            for axis in perm:
                step = verts[-1].copy()
                step[axis] += 1
                verts.append(step)
            ids = [flat[tuple(v)] for v in verts]
            expected |= {(a, b) for a, b in itertools.combinations(ids, 2)}
    assert set(zip(start.tolist(), end.tolist(), strict=True)) == expected
    assert len(start) == len(expected)


def test_cell_points_and_centres():
    grid = KuhnGrid(([0.0, -1.0], [2.0, 1.0]), 4)
    centres = cell_centres(grid)
    assert centres.shape == (16, 2)
    corners = cell_points(grid, [[0.0, 0.0], [1.0, 1.0]])
    assert np.allclose(np.linalg.norm(corners[1::2] - corners[0::2], axis=1),
                       2 * grid.circumradius)
    assert np.allclose(np.linalg.norm(centres - corners[0::2], axis=1), grid.circumradius)
    with pytest.raises(ValueError, match="local"):
        cell_points(grid, [[1.5, 0.0]])
    with pytest.raises(ValueError, match="grid"):
        cell_centres("grid")


@pytest.mark.parametrize("d", [1, 2, 3])
def test_ridge_sup_error_is_exact_and_attained(d):
    rng = np.random.default_rng(d)
    box = (-np.ones(d), np.ones(d))
    grid = KuhnGrid(box, 5)
    nu = rng.normal(size=d)
    tau, off = 0.7, 0.1
    psi = lambda s: np.abs((s - off + tau / 2) % tau - tau / 2)
    kinks = off + tau / 2 * np.arange(-20, 21)
    exact = ridge_sup_error(grid, nu, psi, kinks)
    net = cpwl_network(lambda x: psi(x @ nu)[:, None], box, 5, grid=grid)
    x = rng.uniform(-1, 1, (20000, d))
    sampled = np.abs(net.fast(x)[:, 0] - psi(x @ nu)).max()
    assert sampled <= exact * (1 + 1e-12)
    assert sampled >= 0.8 * exact
    assert exact <= bounds.cpwl_lipschitz_error(np.linalg.norm(nu), grid.widths) * (1 + 1e-12)


def test_ridge_sup_error_rejects_bad_input():
    grid = KuhnGrid(([0.0], [1.0]), 3)
    with pytest.raises(ValueError, match="direction"):
        ridge_sup_error(grid, [1.0, 2.0], np.abs, [0.5])
    with pytest.raises(ValueError, match="kinks"):
        ridge_sup_error(grid, [1.0], np.abs, [0.5, 0.2])
    with pytest.raises(ValueError, match="profile"):
        ridge_sup_error(grid, [1.0], "abs", [0.5])






def test_kuhn_jacobians_of_a_linear_map_are_the_map():
    grid = KuhnGrid(([-1.0, 0.0], [1.0, 3.0]), 5)
    a = np.array([[1.0, -2.0], [0.5, 3.0], [0.0, 1.0]])
    jac = kuhn_jacobians(grid, grid.nodes() @ a.T)
    assert jac.shape == (25 * 2, 3, 2)
    assert np.abs(jac - a).max() < 1e-12
    assert cpwl_lipschitz(grid, grid.nodes() @ a.T) == pytest.approx(np.linalg.norm(a, 2))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_sqrt_d_is_attained_by_the_checkerboard(dim):
    # nodal values 0/1 by parity of the index sum: a 1-Lipschitz g(x) = min(1, dist(x, even))
    grid = KuhnGrid((np.zeros(dim), 4.0 * np.ones(dim)), 4)
    values = grid.node_indices().sum(axis=1) % 2
    lip = cpwl_lipschitz(grid, values.astype(float))
    assert lip == pytest.approx(bounds.kuhn_interpolant_lipschitz(1.0, dim))


def test_cpwl_lipschitz_dominates_sampled_ratios_and_sqrt_d_bound():
    rng = np.random.default_rng(1)
    grid = KuhnGrid((-np.ones(2), np.ones(2)), 6)
    g = fields.cutoff_rotation(2.0, 1.0)
    values = g(grid.nodes())
    lip = cpwl_lipschitz(grid, values)
    assert lip <= bounds.kuhn_interpolant_lipschitz(g.lip, 2) + 1e-12
    x, y = rng.uniform(-1, 1, (2, 4000, 2))
    ratio = (np.linalg.norm(grid.interpolate(values, x) - grid.interpolate(values, y), axis=1)
             / np.linalg.norm(x - y, axis=1))
    assert ratio.max() <= lip * (1 + 1e-12)
    assert ratio.max() >= 0.5 * lip


def test_jacobians_bad_input():
    grid = KuhnGrid((-np.ones(2), np.ones(2)), 3)
    with pytest.raises(ValueError, match="values"):
        kuhn_jacobians(grid, np.zeros(5))
    with pytest.raises(ValueError, match="grid"):
        kuhn_jacobians("grid", np.zeros(16))
