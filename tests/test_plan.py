"""resnet_flows.plan: certified plans meet eps, the graded mesh, the shared planner core
(least_passing, least_margin, EpsilonShare), bad input."""


import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import resnet_flows as rf
from resnet_flows import bounds, fields

K2 = (np.array([-1.0, -1.0]), np.array([1.0, 1.0]))


def random_points(box, n, seed):
    lower, upper = box
    return lower + (upper - lower) * np.random.default_rng(seed).random((n, lower.size))


@pytest.mark.parametrize("make,mesh", [
    (fields.singular_rotation, "graded"),
    (fields.switching_rotations, "uniform"),
    (fields.periodic_drift_rotation, "uniform"),
])
def test_plan_meets_eps_on_random_points_and_times(make, mesh):
    field = make()
    plan = rf.plan_flow_resnet(field, K2, 0.2, mesh=mesh)
    assert plan.bound <= 0.2
    net = rf.build_certified_resnet(field, plan)
    x = random_points(K2, 300, 0)
    t = np.linspace(0, field.horizon, 101)
    err = np.linalg.norm(net.interpolate(t, x) - rf.reference_flow(field, x, t), axis=-1)
    assert err.max() <= plan.bound
    nodes = np.linalg.norm(net.trajectory(x) - rf.reference_flow(field, x, plan.times), axis=-1)
    assert np.all(nodes.max(axis=1) <= plan.node_bounds + 1e-12)


def test_plan_in_three_dimensions():
    field = fields.saturated_field_3d()
    box = (-np.ones(3), np.ones(3))
    plan = rf.plan_flow_resnet(field, box, 0.3)
    net = rf.build_certified_resnet(field, plan)
    x = random_points(box, 100, 1)
    err = np.linalg.norm(net.trajectory(x) - rf.reference_flow(field, x, plan.times), axis=-1)
    assert err.max() <= plan.bound <= 0.3




def test_graded_mesh_equidistributes_the_sup_integral():
    field = fields.singular_rotation()
    times = rf.mesh_times(field, 16, "graded")
    assert np.allclose(times, (np.arange(17) / 16) ** 2, atol=1e-12)
    masses = field.sup_integral(times[:-1], times[1:])
    assert np.allclose(masses, masses[0])


















@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: rf.plan_flow_resnet(fields.switching_rotations(), K2, 0.0), "eps"),
        (lambda: rf.plan_flow_resnet(fields.switching_rotations(), K2, -1.0), "eps"),
        (lambda: rf.plan_flow_resnet(fields.switching_rotations(), (K2[1], K2[0]), 0.1), "box"),
        (lambda: rf.plan_flow_resnet(fields.switching_rotations(), (np.zeros(3), np.ones(3)), 0.1),
         "box"),
        (lambda: rf.plan_flow_resnet(fields.switching_rotations(), K2, 0.1, mesh="cubic"), "mesh"),
        (lambda: rf.certify(fields.switching_rotations(), K2, [0.0, 0.5], 3), "times"),
        (lambda: rf.certify(fields.switching_rotations(), K2, [0.0, 0.7, 0.5, 1.0], 3), "times"),
        (lambda: rf.certify(fields.switching_rotations(), K2, [0.0, 1.0], 0), "cells"),
        (lambda: rf.mesh_times(fields.switching_rotations(), 0), "blocks"),
        (lambda: rf.ReLUResNet([], [0.0, 1.0]), "times"),
        (lambda: rf.build_point_resnet(fields.switching_rotations(), [0.0, 1.0], K2, 0), "cells"),
        (lambda: bounds.averaged_euler_errors([0.1, -0.2], [0.1, 0.1]), "lip_integrals"),
        (lambda: bounds.discrete_gronwall([0.1], [0.1, 0.2]), "local_errors"),
        (lambda: bounds.inverse_lipschitz(1.0), "q"),
        (lambda: bounds.cpwl_lipschitz_error(-1.0, [0.1]), "lip"),
        (lambda: rf.fixed_point_inverse(torch.nn.Identity(), np.zeros((1, 2)), -1), "iterations"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_plan_for_another_field_is_refused():
    plan = rf.plan_flow_resnet(fields.switching_rotations(), K2, 0.3)
    with pytest.raises(ValueError, match="plan"):
        rf.build_certified_resnet(fields.switching_rotations(), plan)


def test_epsilon_shares_are_named_and_validated():
    assert [s.blocks for s in rf.DEFAULT_SHARES] == pytest.approx(np.linspace(0.05, 0.95, 19))
    share = rf.EpsilonShare(0.25)
    assert share.partition == 0.75
    for bad in (0.0, 1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="share"):
            rf.EpsilonShare(bad)
    with pytest.raises(ValueError, match="share"):
        rf.plan_flow_resnet(fields.switching_rotations(), K2, 0.3, share="half")


def test_share_fixes_the_split_on_both_planners():
    field = fields.switching_rotations()
    for share in (0.3, rf.EpsilonShare(0.7)):
        plan = rf.plan_flow_resnet(field, K2, 0.3, share=share)
        blocks = share.blocks if isinstance(share, rf.EpsilonShare) else share
        assert plan.block_part <= blocks * 0.3
        assert plan.euler_part + plan.interpolation_part <= (1 - blocks) * 0.3
    default = rf.plan_flow_resnet(field, K2, 0.3)
    each = [rf.plan_flow_resnet(field, K2, 0.3, share=s) for s in rf.DEFAULT_SHARES]
    assert default.parameters[1] == min(p.parameters[1] for p in each)
    assert rf.plan_flow_resnet(field, K2, 0.3, share=rf.DEFAULT_SHARES).parameters == \
        default.parameters
    holder = fields.holder_field(1, 0.5)
    point = rf.plan_point_resnet(holder, ([-1.0], [1.0]), 0.2, share=rf.EpsilonShare(0.4))
    assert point.block_part <= 0.4 * 0.2


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 40))
def test_least_passing_is_the_least_passing_integer(threshold, start):
    from resnet_flows.plan import least_passing

    calls = []

    def passes(n):
        calls.append(n)
        return n >= threshold

    assert least_passing(passes, start) == max(threshold, start)
    assert len(calls) <= 2 * (threshold.bit_length() + 1)
    capped = least_passing(lambda n: n >= threshold, start, limit=start)
    assert capped == (start if start >= threshold else None)
    coarse = least_passing(lambda n: n >= threshold, start, refine=False)
    ratio = coarse // start
    assert coarse % start == 0 and ratio & (ratio - 1) == 0  # start * 2^j
    assert coarse >= threshold and (coarse == start or coarse // 2 < threshold)


def test_least_margin_finds_the_fixed_point_or_gives_up():
    from resnet_flows.plan import MARGIN_ITERATIONS, least_margin

    m = least_margin(lambda x: 1.0 + 0.5 * x, 0.0, 1e6)
    assert 2.0 <= m <= 2.0 * (1 + 1e-5)  # the least fixed point of m = 1 + m / 2, from below
    assert math.isinf(least_margin(lambda x: 1.0 + 2.0 * x, 0.0, 1e6))  # no fixed point
    # a fixed point exists (m = 1e7) but the iteration is too slow: documented give-up
    slow = lambda x: 1.0 + (1 - 1e-7) * x
    assert math.isinf(least_margin(slow, 0.0, 1e9, iterations=MARGIN_ITERATIONS))


def test_regularity_is_checked_once_for_every_planner():
    smooth_less = fields.switching(
        [fields.constant_drift((1.0, 0.0))], [], 1.0)  # hess given: c2 allowed
    assert rf.certify(smooth_less, K2, [0.0, 1.0], 2).regularity == "c2"
    for call in (lambda r: rf.certify(smooth_less, K2, [0.0, 1.0], 2, r),
                 lambda r: rf.plan_flow_resnet(smooth_less, K2, 0.3, regularity=r)):
        with pytest.raises(ValueError, match="regularity"):
            call("smooth")
