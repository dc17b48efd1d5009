"""ResNets, certified plans, and the discrete bounds they rest on."""

import itertools

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


def test_network_and_fast_trajectories_agree():
    field = fields.switching_rotations()
    plan = rf.plan_flow_resnet(field, K2, 0.3)
    net = rf.build_certified_resnet(field, plan)
    x = random_points(K2, 50, 2)
    fast = net.trajectory(x)
    slow = net.trajectory(x, fast=False)
    tensor = net.trajectory(torch.as_tensor(x)).numpy()
    assert np.max(np.abs(fast - slow)) <= 1e-12
    assert np.max(np.abs(fast - tensor)) <= 1e-12
    assert np.max(np.abs(net(torch.as_tensor(x)).numpy() - fast[-1])) <= 1e-12
    # the plan counts every nodal value and first-layer bias as nonzero: an upper bound
    assert net.parameter_counts()[0] == plan.parameters[0]
    assert 0.9 * plan.parameters[1] <= net.parameter_counts()[1] <= plan.parameters[1]


def test_graded_mesh_equidistributes_the_sup_integral():
    field = fields.singular_rotation()
    times = rf.mesh_times(field, 16, "graded")
    assert np.allclose(times, (np.arange(17) / 16) ** 2, atol=1e-12)
    masses = field.sup_integral(times[:-1], times[1:])
    assert np.allclose(masses, masses[0])


def test_states_leaving_the_box_are_refused():
    field = fields.switching_rotations()
    plan = rf.plan_flow_resnet(field, K2, 0.3)
    net = rf.build_certified_resnet(field, plan)
    far = plan.block_box[1][None, :] + 0.5
    with pytest.raises(rf.StateOutsideBox):
        net.trajectory(far)
    small = rf.ReLUResNet(net.blocks, net.times, box=(np.array([-0.1, -0.1]), np.array([0.1, 0.1])))
    with pytest.raises(rf.StateOutsideBox, match="after block"):
        small.trajectory(np.zeros((1, 2)) + 0.09)


def test_euler_resnet_of_a_neural_field_has_exact_relu_blocks():
    field = fields.random_neural_field(2, 6, seed=3)
    times = np.linspace(0, 1, 9)
    net = rf.euler_resnet(field, times)
    x = random_points(K2, 20, 3)
    states = net.trajectory(x)
    expected = [x]
    for t, h in zip(times[:-1], np.diff(times), strict=True):
        expected.append(expected[-1] + h * field(t, expected[-1]))
    assert np.max(np.abs(states - np.stack(expected))) <= 1e-13


def test_point_euler_cannot_start_at_a_singularity():
    with pytest.raises(ValueError, match="non-finite"):
        rf.euler_resnet(fields.singular_rotation(), np.linspace(0, 1, 5))


def test_inverse_of_a_contractive_resnet():
    field = fields.switching_rotations(omega=0.5, drift=0.5)
    plan = rf.plan_flow_resnet(field, K2, 0.2)
    lam = field.lip_integral(plan.times[:-1], plan.times[1:])
    assert np.sqrt(2) * lam.max() < 1
    net = rf.build_certified_resnet(field, plan)
    x = random_points(K2, 40, 4)
    y = net.trajectory(x)[-1]
    assert np.max(np.abs(rf.invert(net, y, iterations=80) - x)) <= 1e-10


def test_interpolate_is_piecewise_linear_between_states():
    field = fields.periodic_drift_rotation()
    plan = rf.plan_flow_resnet(field, K2, 0.3)
    net = rf.build_certified_resnet(field, plan)
    x = random_points(K2, 5, 5)
    states = net.trajectory(x)
    assert np.allclose(net.interpolate(plan.times, x), states, atol=1e-14)
    mid = 0.5 * (plan.times[3] + plan.times[4])
    assert np.allclose(net.interpolate([mid], x)[0], 0.5 * (states[3] + states[4]), atol=1e-14)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), blocks=st.integers(2, 40))
def test_averaged_and_perturbed_euler_bounds_hold_on_random_fields(seed, blocks):
    rng = np.random.default_rng(seed)
    omega = rng.uniform(0.2, 3.0)
    field = fields.switching(
        [fields.cutoff_rotation(omega, rng.uniform(0.5, 2), rng.uniform(-1, 1, 2)),
         fields.constant_drift(rng.uniform(-1, 1, 2))],
        [rng.uniform(0.2, 0.8)], 1.0)
    times = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0, 1, blocks - 1)]))
    x = rng.uniform(-1, 1, (50, 2))
    exact = rf.reference_flow(field, x, times)
    y = [x]
    deltas = rng.uniform(0, 0.01, blocks)
    z = [x]
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction)
    for k, (a, b) in enumerate(itertools.pairwise(times)):
        y.append(y[-1] + field.average(a, b, y[-1]))
        z.append(z[-1] + field.average(a, b, z[-1]) + deltas[k] * np.tanh(z[-1][:, :1]) * direction)
    lam = field.lip_integral(times[:-1], times[1:])
    m = field.sup_integral(times[:-1], times[1:])
    euler = np.linalg.norm(np.stack(y) - exact, axis=-1).max(axis=1)
    assert np.all(euler <= bounds.averaged_euler_errors(lam, m) + 1e-11)
    assert np.all(bounds.averaged_euler_errors(lam, m)
                  <= bounds.averaged_euler_error_exp(lam, m) * (1 + 1e-12))
    perturbed = np.linalg.norm(np.stack(z) - np.stack(y), axis=-1).max(axis=1)
    assert np.all(perturbed <= bounds.perturbed_euler_errors(lam, deltas) + 1e-13)


def test_discrete_gronwall_matches_its_recursion():
    rng = np.random.default_rng(0)
    lam, r = rng.random(30), rng.random(30)
    e = [0.0]
    for k in range(30):
        e.append((1 + lam[k]) * e[-1] + r[k])
    assert np.allclose(bounds.discrete_gronwall(lam, r), e, rtol=1e-13)


def test_neural_euler_bound_limit_at_zero_lipschitz():
    assert bounds.neural_euler_error(2.0, 0.0, 1.0, 0.1) == pytest.approx(0.1)
    assert bounds.neural_euler_error(2.0, 1e-9, 1.0, 0.1) == pytest.approx(0.1, rel=1e-6)


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
