"""resnet_flows.resnet: trajectories by network and by fast evaluator, the box check, Euler
blocks, the space-time interpolant and the input convention (numpy or tensor in and out)."""


import numpy as np
import pytest
import torch

import resnet_flows as rf
from resnet_flows import fields

K2 = (np.array([-1.0, -1.0]), np.array([1.0, 1.0]))


def random_points(box, n, seed):
    lower, upper = box
    return lower + (upper - lower) * np.random.default_rng(seed).random((n, lower.size))


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


def test_interpolate_is_piecewise_linear_between_states():
    field = fields.periodic_drift_rotation()
    plan = rf.plan_flow_resnet(field, K2, 0.3)
    net = rf.build_certified_resnet(field, plan)
    x = random_points(K2, 5, 5)
    states = net.trajectory(x)
    assert np.allclose(net.interpolate(plan.times, x), states, atol=1e-14)
    mid = 0.5 * (plan.times[3] + plan.times[4])
    assert np.allclose(net.interpolate([mid], x)[0], 0.5 * (states[3] + states[4]), atol=1e-14)


@pytest.fixture(scope="module")
def certified():
    field = fields.switching_rotations()
    plan = rf.plan_flow_resnet(field, K2, 0.3)
    return field, rf.build_certified_resnet(field, plan)


def _same_kind(numpy_out, tensor_out):
    assert isinstance(numpy_out, np.ndarray) and isinstance(tensor_out, torch.Tensor)
    np.testing.assert_allclose(tensor_out.detach().numpy(), numpy_out, rtol=0, atol=1e-12)


def test_every_resnet_method_gives_numpy_for_numpy_and_tensor_for_tensor(certified):
    _, net = certified
    x = random_points(K2, 20, 5)
    t = torch.as_tensor(x)
    _same_kind(net.trajectory(x), net.trajectory(t))
    _same_kind(net.trajectory(x, fast=False), net.trajectory(t, fast=True))
    _same_kind(net(x), net(t))
    # the defect this names: interpolate(t, tensor) used to raise TypeError
    _same_kind(net.interpolate([0.0, 0.31, 1.0], x), net.interpolate([0.0, 0.31, 1.0], t))
    states = net.trajectory(x)
    _same_kind(net.interpolate([0.5], x, trajectory=states),
               net.interpolate([0.5], t, trajectory=states))


def test_resnet_functions_follow_the_input_convention(certified):
    field, _ = certified
    x = random_points(K2, 10, 6)
    t = torch.as_tensor(x)
    times = np.linspace(0.0, 1.0, 5)
    _same_kind(rf.averaged_euler(field, times, x), rf.averaged_euler(field, times, t))
    _same_kind(rf.interpolate_states(times, rf.averaged_euler(field, times, x), [0.3]),
               rf.interpolate_states(times, rf.averaged_euler(field, times, t), [0.3]))
    contractive = rf.exact_averaged_euler_resnet(fields.switching_rotations(omega=0.5),
                                                 np.linspace(0, 1, 9))
    y = contractive.trajectory(x)[-1]
    _same_kind(rf.invert(contractive, y), rf.invert(contractive, torch.as_tensor(y)))
    block = contractive.blocks[0]
    _same_kind(rf.fixed_point_inverse(block, y, 5),
               rf.fixed_point_inverse(block, torch.as_tensor(y), 5))
    q = np.full(contractive.num_blocks, 0.5 / 8 * 1.01)
    z_np, b_np = rf.invert_with_bound(contractive, y, 30, q)
    z_t, b_t = rf.invert_with_bound(contractive, torch.as_tensor(y), 30, q)
    _same_kind(z_np, z_t)
    _same_kind(b_np, b_t)


def test_tensor_trajectory_is_differentiable():
    net = rf.euler_resnet(fields.random_neural_field(2, 4), np.linspace(0, 1, 5))
    x = torch.as_tensor(random_points(K2, 3, 7)).requires_grad_(True)
    net.interpolate([0.4, 1.0], x).sum().backward()
    assert x.grad is not None and torch.all(torch.isfinite(x.grad))


def test_kuhn_resnet_assembles_blocks_from_any_nodal_values():
    """kuhn_resnet with the averaged fields as nodal values is averaged_kuhn_resnet; any other
    callable gives blocks that interpolate its values; bad input is refused by name."""
    from resnet_flows.resnet import kuhn_resnet

    field = fields.periodic_drift_rotation()
    times, box = np.linspace(0, 1, 4), (-2 * np.ones(2), 2 * np.ones(2))
    ours = kuhn_resnet(field, times, box, 5, field.average)
    theirs = rf.averaged_kuhn_resnet(field, times, box, 5)
    x = np.random.default_rng(0).uniform(-1, 1, (30, 2))
    np.testing.assert_array_equal(ours.trajectory(x), theirs.trajectory(x))
    shifted = kuhn_resnet(field, times, box, 5, lambda a, b, z: np.full_like(z, b - a))
    np.testing.assert_allclose(shifted.trajectory(x)[-1] - x, 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="nodal_values"):
        kuhn_resnet(field, times, box, 5, "values")
    with pytest.raises(ValueError, match="field"):
        kuhn_resnet("field", times, box, 5, field.average)


def test_build_certified_resnet_refuses_a_missing_plan():
    field = fields.periodic_drift_rotation()
    with pytest.raises(ValueError, match="plan must be a Plan.*got NoneType"):
        rf.build_certified_resnet(field, None)
    with pytest.raises(ValueError, match="field must be a VectorField"):
        rf.build_certified_resnet(None, rf.plan_flow_resnet(field, K2, 0.5))


def test_tensor_of_the_wrong_shape_is_named(certified):
    _, net = certified
    for call in (net, net.trajectory, lambda x: net.interpolate([0.5], x)):
        with pytest.raises(ValueError, match=r"x must have shape \(n, 2\), got \(5, 3\)"):
            call(torch.zeros(5, 3, dtype=torch.float64))
        with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
            call(torch.zeros(2, dtype=torch.float64))


def test_non_finite_input_same_error_for_numpy_and_tensor(certified):
    _, net = certified
    x = np.array([[np.nan, 0.0]])
    for call in (net.trajectory, lambda y: net.interpolate([0.5], y)):
        for given in (x, torch.as_tensor(x)):
            with pytest.raises(ValueError, match="x contains non-finite values") as info:
                call(given)
            assert not isinstance(info.value, rf.StateOutsideBox)
    with pytest.raises(ValueError, match="x contains non-finite values"):
        net(torch.as_tensor([[0.0, np.inf]]))


def test_interpolation_times_checked(certified):
    _, net = certified
    x = np.zeros((1, 2))
    with pytest.raises(ValueError, match="t contains non-finite values"):
        net.interpolate([np.nan], x)
    with pytest.raises(ValueError, match=r"t must be a time or a 1-D array of times, got shape "
                                         r"\(1, 1\)"):
        net.interpolate([[0.5]], x)
    with pytest.raises(ValueError, match=r"t must lie in \[0\.0, 1\.0\]"):
        net.interpolate([1.5], x)
    with pytest.raises(ValueError, match="t must be a time or a 1-D array of times"):
        net.interpolate(["0.5"], x)
    assert net.interpolate(0.5, x).shape == (1, 1, 2)
