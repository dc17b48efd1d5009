"""resnet_flows.invertibility (thm-invertible): fixed-point inversion of constructed ResNets and
the certified block-by-block inversion bound."""

import itertools

import numpy as np
import pytest

import resnet_flows as rf
from resnet_flows import bounds, fields
from resnet_flows.invertibility import invert_with_bound
from resnet_flows.kuhn import cpwl_lipschitz

K2 = (np.array([-1.0, -1.0]), np.array([1.0, 1.0]))


def random_points(box, n, seed):
    lower, upper = box
    return lower + (upper - lower) * np.random.default_rng(seed).random((n, lower.size))


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


def test_inverse_of_a_contractive_resnet():
    field = fields.switching_rotations(omega=0.5, drift=0.5)
    plan = rf.plan_flow_resnet(field, K2, 0.2)
    lam = field.lip_integral(plan.times[:-1], plan.times[1:])
    assert np.sqrt(2) * lam.max() < 1
    net = rf.build_certified_resnet(field, plan)
    x = random_points(K2, 40, 4)
    y = net.trajectory(x)[-1]
    assert np.max(np.abs(rf.invert(net, y, iterations=80) - x)) <= 1e-10
