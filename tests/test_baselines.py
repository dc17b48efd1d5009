"""resnet_flows.baselines (chapter 9, thm-main-restated): data, trained models, training,
the solve_ivp baseline, timing."""

import numpy as np
import pytest
import torch

import resnet_flows as rf
from resnet_flows import baselines, fields

K = (-np.ones(2), np.ones(2))


def test_sample_trajectories_seeded_and_exact():
    field = fields.switching_rotations()
    times = np.linspace(0.0, 1.0, 5)
    x0, targets = baselines.sample_trajectories(field, 20, times, K, seed=3)
    again, _ = baselines.sample_trajectories(field, 20, times, K, seed=3)
    other, _ = baselines.sample_trajectories(field, 20, times, K, seed=4)
    assert x0.shape == (20, 2) and targets.shape == (5, 20, 2)
    assert np.array_equal(x0, again) and not np.array_equal(x0, other)
    assert np.all(np.abs(x0) <= 1.0)
    np.testing.assert_allclose(targets, rf.reference_flow(field, x0, times), atol=1e-12)
    np.testing.assert_array_equal(targets[0], x0)


def test_trainable_resnet_counts_and_interpolant():
    times = np.linspace(0.0, 1.0, 5)
    net = baselines.TrainableResNet(2, times, width=8, seed=1)
    total, nonzero = rf.count_parameters(net)
    assert total == 4 * (2 * 8 + 8 + 8 * 2 + 2)
    assert nonzero == total - 4 * 2  # the output biases start at zero
    x = torch.as_tensor(np.random.default_rng(0).uniform(-1, 1, (6, 2)))
    with torch.no_grad():
        traj = net.trajectory(x)
        at_nodes = net.states_at(x, times)
        mid = net.states_at(x, [0.125])
    torch.testing.assert_close(at_nodes, traj)
    torch.testing.assert_close(net(x), traj[-1])
    torch.testing.assert_close(mid[0], 0.5 * (traj[0] + traj[1]))
    with pytest.raises(ValueError, match="t must lie"):
        net.states_at(x, [1.5])
    same = baselines.TrainableResNet(2, times, width=8, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), same.parameters(), strict=True))


def test_neural_ode_constant_field_is_exact():
    node = baselines.NeuralODE(2, width=4, depth=1, step_size=0.25, time_frequencies=2, seed=0)
    v = torch.tensor([0.3, -0.2], dtype=torch.float64)
    with torch.no_grad():
        for p in node.net.parameters():
            p.zero_()
        node.net[-1].bias.copy_(v)
    x = torch.zeros(3, 2, dtype=torch.float64)
    with torch.no_grad():
        states = node.states_at(x, [0.0, 0.3, 1.0])
    torch.testing.assert_close(states[1], 0.3 * v.expand(3, 2))
    torch.testing.assert_close(node(x), v.expand(3, 2))
    assert rf.count_parameters(node)[0] == (2 + 1 + 4) * 4 + 4 + 4 * 2 + 2
    adaptive = baselines.NeuralODE(2, width=4, depth=1, method="dopri5", seed=0)
    assert adaptive.states_at(x, [0.0, 1.0]).shape == (2, 3, 2)


def test_training_reduces_loss_and_is_reproducible():
    field = fields.periodic_drift_rotation()
    times = np.linspace(0.0, 1.0, 5)
    x0, targets = baselines.sample_trajectories(field, 64, times, K, seed=0)
    runs = []
    for _ in range(2):
        net = baselines.TrainableResNet(2, times, width=8, seed=0)
        runs.append(baselines.train_trajectory_model(net, x0, targets, times, steps=60, lr=1e-2,
                                                    batch_size=32, seed=0, progress=False))
    first, second = runs
    assert first.final_loss < 0.2 * first.losses[0]
    np.testing.assert_array_equal(first.losses, second.losses)
    assert first.seconds > 0


def test_bad_inputs():
    field = fields.periodic_drift_rotation()
    times = np.linspace(0.0, 1.0, 3)
    with pytest.raises(ValueError, match="n must"):
        baselines.sample_trajectories(field, 0, times, K)
    with pytest.raises(ValueError, match="field must"):
        baselines.sample_trajectories("f", 3, times, K)
    with pytest.raises(ValueError, match="width"):
        baselines.TrainableResNet(2, times, width=0)
    with pytest.raises(ValueError, match="times must hold"):
        baselines.TrainableResNet(2, [0.0], width=3)
    with pytest.raises(ValueError, match="activation"):
        baselines.NeuralODE(2, activation="sigmoid")
    with pytest.raises(ValueError, match="method"):
        baselines.NeuralODE(2, method="rk45")
    with pytest.raises(ValueError, match="time_frequencies"):
        baselines.NeuralODE(2, time_frequencies=-1)
    net = baselines.TrainableResNet(2, times, width=3)
    x0 = np.zeros((4, 2))
    with pytest.raises(ValueError, match="targets must"):
        baselines.train_trajectory_model(net, x0, np.zeros((2, 4, 2)), times, steps=1)
    with pytest.raises(ValueError, match="steps"):
        baselines.train_trajectory_model(net, x0, np.zeros((3, 4, 2)), times, steps=0)
    with pytest.raises(ValueError, match="states_at"):
        baselines.train_trajectory_model(torch.nn.Linear(2, 2), x0, np.zeros((3, 4, 2)), times, 1)
    with pytest.raises(ValueError, match="repeat"):
        baselines.timed(lambda: None, repeat=0)


def test_timed_returns_result():
    seconds, out = baselines.timed(lambda: 41 + 1, repeat=2)
    assert out == 42 and seconds >= 0


def test_solve_ivp_flow_close_to_reference():
    field = fields.switching_rotations()  # jumps: the solver is restarted at the breakpoints
    x0 = np.random.default_rng(1).uniform(-1, 1, (30, 2))
    times = np.linspace(0.0, 1.0, 11)
    states, evaluations = baselines.solve_ivp_flow(field, x0, times, rtol=1e-9, atol=1e-11)
    assert states.shape == (11, 30, 2) and evaluations > 0
    np.testing.assert_allclose(states, rf.reference_flow(field, x0, times), atol=1e-7)
    loose, _ = baselines.solve_ivp_flow(field, x0, times)
    assert np.abs(loose - states).max() > 1e-7  # default tolerances really are loose
    with pytest.raises(ValueError, match="times must lie"):
        baselines.solve_ivp_flow(field, x0, [0.0, 2.0])


def test_clipped_training_runs_and_validates():
    field = fields.periodic_drift_rotation()
    times = np.linspace(0.0, 1.0, 3)
    x0, targets = baselines.sample_trajectories(field, 16, times, K, seed=0)
    net = baselines.TrainableResNet(2, times, width=4, seed=0)
    result = baselines.train_trajectory_model(net, x0, targets, times, steps=5, clip=0.5,
                                             progress=False)
    assert np.all(np.isfinite(result.losses))
    with pytest.raises(ValueError, match="clip"):
        baselines.train_trajectory_model(net, x0, targets, times, steps=1, clip=0.0)
