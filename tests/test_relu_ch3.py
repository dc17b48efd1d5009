"""Chapter 3 additions: Kuhn edges, cell points, the exact ridge sup error, cells for accuracy."""

import itertools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from resnet_flows import bounds
from resnet_flows.plotting import draw_kuhn_triangulation
from resnet_flows.kuhn import cell_centres, cell_points, kuhn_edges, ridge_sup_error
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


def test_cells_for_accuracy():
    rho, d, lip, hess, eps = 1.5, 3, 2.0, 5.0, 1e-2
    widths = np.full(d, 2 * rho)
    n = bounds.cpwl_cells_for_accuracy(eps, widths, lip=lip)
    assert n == math.ceil(rho * math.sqrt(d) * lip / eps) or n == math.ceil(
        rho * math.sqrt(d) * lip / eps) + 1
    assert bounds.cpwl_lipschitz_error(lip, widths / n) <= eps
    assert bounds.cpwl_lipschitz_error(lip, widths / (n - 1)) > eps
    m = bounds.cpwl_cells_for_accuracy(eps, widths, hess=hess)
    assert bounds.cpwl_c2_error(hess, widths / m) <= eps < bounds.cpwl_c2_error(hess,
                                                                                widths / (m - 1))
    with pytest.raises(ValueError, match="exactly one"):
        bounds.cpwl_cells_for_accuracy(eps, widths)
    with pytest.raises(ValueError, match="eps"):
        bounds.cpwl_cells_for_accuracy(0.0, widths, lip=1.0)


def test_draw_kuhn_triangulation():
    fig, ax = plt.subplots()
    draw_kuhn_triangulation(ax, KuhnGrid(([0, 0], [1, 1]), 3))
    assert len(ax.collections) == 1
    assert len(ax.collections[0].get_segments()) == 4 + 4 + 9
    with pytest.raises(ValueError, match="two-dimensional"):
        draw_kuhn_triangulation(ax, KuhnGrid(([0], [1]), 3))
    plt.close(fig)
