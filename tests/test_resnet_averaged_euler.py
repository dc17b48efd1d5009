"""resnet_flows.resnet and .blocks, chapters 4-5: averaged Euler states and perturbed blocks
(thm-averaged-euler, thm-stability)."""

import numpy as np
import pytest
import torch

import resnet_flows as rf
from resnet_flows import bounds, fields


def test_averaged_euler_matches_resnet_and_bound():
    field = fields.singular_rotation()
    times = rf.mesh_times(field, 16, "uniform")
    x = np.random.default_rng(0).uniform(-2, 2, (50, 2))
    states = rf.averaged_euler(field, times, x)
    assert states.shape == (17, 50, 2)
    net = rf.exact_averaged_euler_resnet(field, times)
    np.testing.assert_array_equal(net.trajectory(x), states)
    torch_states = net.trajectory(torch.as_tensor(x)).numpy()
    assert np.abs(torch_states - states).max() <= 1e-14
    lam = field.lip_integral(times[:-1], times[1:])
    m = field.sup_integral(times[:-1], times[1:])
    err = np.linalg.norm(states - rf.reference_flow(field, x, times), axis=-1).max(axis=1)
    assert np.all(err <= bounds.averaged_euler_errors(lam, m))


def test_averaged_euler_stays_within_int_m():
    field = fields.switching_rotations(switches=6)
    times = rf.mesh_times(field, 10, "uniform")
    x = np.random.default_rng(1).uniform(-1, 1, (40, 2))
    states = rf.averaged_euler(field, times, x)
    reach = np.concatenate([[0.0], np.cumsum(field.sup_integral(times[:-1], times[1:]))])
    assert np.all(np.linalg.norm(states - x, axis=-1).max(axis=1) <= reach + 1e-12)


def test_perturbed_block_distance_and_stability_bound():
    field = fields.singular_rotation()
    times = rf.mesh_times(field, 12, "graded")
    u, lip = rf.random_unit_field(2, seed=3, frequency=2.0)
    z = np.random.default_rng(2).uniform(-3, 3, (400, 2))
    assert np.all(np.linalg.norm(u(z), axis=1) <= 1.0)
    pairs = np.linalg.norm(u(z[1:]) - u(z[:-1]), axis=1) / np.linalg.norm(z[1:] - z[:-1], axis=1)
    assert pairs.max() <= lip
    delta = np.full(12, 1e-3)
    blocks = [rf.PerturbedBlock(rf.AveragedBlock(field, a, b), d, u)
              for a, b, d in zip(times[:-1], times[1:], delta)]
    for blk in blocks:
        diff = blk.fast(z) - blk.base.fast(z)
        assert np.linalg.norm(diff, axis=1).max() <= 1e-3 * (1 + 1e-12)
    x = z[:50] / 3
    states = rf.ReLUResNet(blocks, times).trajectory(x)
    exact = rf.averaged_euler(field, times, x)
    lam = field.lip_integral(times[:-1], times[1:])
    bound = bounds.perturbed_euler_errors(lam, delta)
    assert np.all(np.linalg.norm(states - exact, axis=-1).max(axis=1) <= bound + 1e-15)


def test_bad_inputs():
    field = fields.singular_rotation()
    with pytest.raises(ValueError, match="field"):
        rf.averaged_euler("nope", [0.0, 1.0], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="times"):
        rf.averaged_euler(field, [0.0, 2.0], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="x0"):
        rf.averaged_euler(field, [0.0, 1.0], np.zeros((1, 3)))
    with pytest.raises(ValueError, match="a < b"):
        rf.AveragedBlock(field, 0.5, 0.5)
    base = rf.AveragedBlock(field, 0.0, 0.5)
    with pytest.raises(ValueError, match="size"):
        rf.PerturbedBlock(base, -1.0, lambda z: 0 * z)
    with pytest.raises(ValueError, match="direction"):
        rf.PerturbedBlock(base, 0.1, 3.0)
    with pytest.raises(ValueError, match="direction"):
        rf.PerturbedBlock(base, 0.1, lambda z: 2 * np.ones_like(z)).fast(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="dim"):
        rf.random_unit_field(0)
