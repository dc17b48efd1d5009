"""Package support of thm-invertible: simplex Jacobians, exact CPWL Lipschitz constants,
inverse bounds and the certified block-by-block inversion."""

import itertools

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import bounds, fields
from resnet_flows.invertibility import invert_with_bound
from resnet_flows.kuhn import cpwl_lipschitz, kuhn_jacobians
from resnet_flows.relu import KuhnGrid


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


def test_resnet_bounds():
    q = np.array([0.1, 0.2, 0.5])
    assert bounds.resnet_lipschitz(q) == pytest.approx(1.1 * 1.2 * 1.5)
    assert bounds.inverse_resnet_lipschitz(q) == pytest.approx(1 / (0.9 * 0.8 * 0.5))
    lo, hi = bounds.jacobian_determinant_bounds(q, 2)
    assert lo == pytest.approx((0.9 * 0.8 * 0.5) ** 2) and hi == pytest.approx((1.1 * 1.2 * 1.5) ** 2)
    eta = np.array([1.0, 1.0, 1.0])
    assert bounds.blockwise_inversion_error(q, eta) == pytest.approx(1 + 1 / 0.9 + 1 / 0.72)
    per_point = bounds.blockwise_inversion_error(q, np.ones((3, 4)))
    assert per_point.shape == (4,)
    for bad in ([1.0], [-0.1], [[0.1]], []):
        with pytest.raises(ValueError, match="q"):
            bounds.inverse_resnet_lipschitz(bad)
    with pytest.raises(ValueError, match="block_errors"):
        bounds.blockwise_inversion_error(q, np.ones(2))
    with pytest.raises(ValueError, match="dim"):
        bounds.jacobian_determinant_bounds(q, 0)


def test_invert_with_bound_on_a_constructed_resnet():
    field = fields.switching_rotations()
    plan = rf.plan_flow_resnet(field, (-np.ones(2), np.ones(2)), 0.2)
    net = rf.build_certified_resnet(field, plan)
    lam = np.asarray(field.lip_integral(plan.times[:-1], plan.times[1:]))
    q = bounds.kuhn_interpolant_lipschitz(1.0, 2) * lam
    x = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    y = net.trajectory(x)[-1]
    for j in (1, 2, 4, 30):
        z, bound = invert_with_bound(net, y, j, q)
        assert np.array_equal(z, rf.invert(net, y, j))
        assert np.all(np.linalg.norm(z - x, axis=1) <= bound)
    assert bound.max() < 1e-9
    with pytest.raises(ValueError, match="q"):
        invert_with_bound(net, y, 3, q[:-1])
    with pytest.raises(ValueError, match="iterations"):
        invert_with_bound(net, y, 0, q)


def test_block_lipschitz_of_constructed_blocks_is_at_most_sqrt_d_lambda():
    field = fields.periodic_drift_rotation(omega=3.0, radius=2.0)
    times = np.linspace(0.0, 1.0, 11)
    net = rf.build_point_resnet(field, times, (-2 * np.ones(2), 2 * np.ones(2)), 8)
    for block, (a, b) in zip(net.blocks, itertools.pairwise(times), strict=True):
        lip = cpwl_lipschitz(block.grid, block.values)
        assert lip <= bounds.kuhn_interpolant_lipschitz((b - a) * 3.0, 2) * (1 + 1e-12)
