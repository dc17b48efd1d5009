"""Issue 17, "certified means certified": every way the audit found to get a certificate below
the error measured through the network's own forward is closed (the certificate is sound, or
the call is refused naming the thing)."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

import resnet_flows as rf
from resnet_flows import certify_resnet, fields
from resnet_flows.resnet import interpolate_states

K = (-np.ones(2), np.ones(2))
OPTIONS = {"cells": 6, "max_points": 1500, "time_points": 64, "rtol": 0.5}


@pytest.fixture(scope="module")
def rotation():
    return fields.time_scaled(fields.cutoff_rotation(1.0), lambda t: np.ones_like(t),
                              lambda t: np.asarray(t, dtype=np.float64), 1.0, name="rotation")


@pytest.fixture(scope="module")
def kuhn_net(rotation):
    return rf.averaged_kuhn_resnet(rotation, np.linspace(0, 1, 5), (-3 * np.ones(2), 3 * np.ones(2)), 6)


def forward_sup(blocks, times, field, n=400, seed=0):
    """sup |X - Phi| measured through the modules' own forward (torch), random x in K."""
    x = np.vstack([np.random.default_rng(seed).uniform(-1, 1, (n, 2)), [[1, 1], [-1, 1]]])
    grid = np.union1d(np.linspace(0, field.horizon, 65), times)
    states = [torch.as_tensor(x)]
    with torch.no_grad():
        for block in blocks:
            states.append(states[-1] + block(states[-1]))
    interp = interpolate_states(times, torch.stack(states).numpy(), grid)
    return float(np.linalg.norm(interp - rf.reference_flow(field, x, grid), axis=-1).max())


def test_changed_output_bias_is_certified_from_the_buffer(rotation, kuhn_net):
    net = copy.deepcopy(kuhn_net)
    with torch.no_grad():
        net.blocks[1].output_bias.add_(torch.tensor([0.2, -0.1], dtype=torch.float64))
    measured = forward_sup(list(net.blocks), net.times, rotation)
    cert = certify_resnet(net, rotation, K, **OPTIONS)
    plain = certify_resnet(kuhn_net, rotation, K, **OPTIONS)
    assert measured <= cert.bound and cert.bound > plain.bound + 0.1
    # the numpy fast path (interpolate) computes what forward computes
    x = np.random.default_rng(1).uniform(-1, 1, (50, 2))
    assert np.allclose(net.trajectory(x)[-1], net(torch.as_tensor(x)).numpy(), atol=1e-12)


def test_deepcopy_with_scaled_output_weights_is_certified(rotation, kuhn_net):
    net = copy.deepcopy(kuhn_net)
    with torch.no_grad():
        for block in net.blocks:
            block.output_weight.mul_(1.5)
    x = np.random.default_rng(2).uniform(-1, 1, (50, 2))
    assert np.allclose(net.trajectory(x)[-1], net(torch.as_tensor(x)).numpy(), atol=1e-12)
    measured = forward_sup(list(net.blocks), net.times, rotation)
    cert = certify_resnet(net, rotation, K, **OPTIONS)
    assert measured <= cert.bound
    assert cert.bound > certify_resnet(kuhn_net, rotation, K, **OPTIONS).bound + 0.1


def _mlp(seed, d=2, width=8):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, width, dtype=torch.float64), nn.ReLU(),
                         nn.Linear(width, d, dtype=torch.float64))


class DoubledLinear(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


@pytest.mark.parametrize("attack, match", [
    ("subclass", "block 0 contains DoubledLinear"),
    ("hook", r"block 0, layer 0 \(Linear\) has a forward hook"),
    ("pre_hook", r"block 0, layer 2 \(Linear\) has a forward hook"),
    ("block_hook", r"block 0 \(Sequential\) has a forward hook"),
    ("instance_forward", "forward replaced on the instance"),
    ("global_hook", "global forward hooks"),
    ("float32", "dtype torch.float32"),
    ("nan", r"block 0, layer 2 has non-finite"),
])
def test_modules_that_cannot_be_read_are_refused(rotation, attack, match):
    block = _mlp(0)
    handle = None
    if attack == "subclass":
        sub = DoubledLinear(2, 8, dtype=torch.float64)
        sub.load_state_dict(block[0].state_dict())
        block[0] = sub
    elif attack == "hook":
        block[0].register_forward_hook(lambda m, i, o: 2 * o)
    elif attack == "pre_hook":
        block[2].register_forward_pre_hook(lambda m, i: (2 * i[0],))
    elif attack == "block_hook":
        block.register_forward_hook(lambda m, i, o: 2 * o)
    elif attack == "instance_forward":
        block[2].forward = lambda x: 2 * nn.functional.linear(x, block[2].weight, block[2].bias)
    elif attack == "global_hook":
        handle = nn.modules.module.register_module_forward_hook(lambda m, i, o: o)
    elif attack == "float32":
        block[0] = nn.Linear(2, 8)
    elif attack == "nan":
        with torch.no_grad():
            block[2].weight[0, 0] = float("nan")
    try:
        with pytest.raises(ValueError, match=match):
            certify_resnet([block], rotation, K, [0.0, 1.0], cells=2)
    finally:
        if handle is not None:
            handle.remove()


def test_kuhn_network_with_changed_hidden_layers_or_nan_is_refused(rotation, kuhn_net):
    net = copy.deepcopy(kuhn_net)
    with torch.no_grad():
        net.blocks[0].grid.hidden_layers[0].bias.add_(0.01)
    with pytest.raises(ValueError, match=r"block 0 \(CPWLNetwork\) has hidden layers"):
        certify_resnet(net, rotation, K, cells=2)
    net = copy.deepcopy(kuhn_net)
    with torch.no_grad():
        net.blocks[2].output_weight[0, 3] = float("nan")
    with pytest.raises(ValueError, match="block 2 has non-finite output_weight"):
        certify_resnet(net, rotation, K, cells=2)


def test_forward_differing_from_the_weights_is_named():
    """The comparison with forward at every centre: a forward that differs is refused naming the
    block (fixture: a forward_states that shifts block 1's output)."""
    from resnet_flows.certificate import _compare_with_forward, _propagate
    from resnet_flows.read_network import relu_blocks

    blocks, _, forward = relu_blocks([_mlp(0), _mlp(1)], [0.0, 0.5, 1.0])
    c = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    states = _propagate(blocks, c, np.full(20, 0.01))[0]
    _compare_with_forward(states, forward, c, blocks)  # the true forward passes

    def shifted(x):
        out = forward(x)
        out[2:] += 1e-9
        return out

    with pytest.raises(ValueError, match="net: block 1: its forward computes other states"):
        _compare_with_forward(states, shifted, c, blocks)


def test_negative_rates_and_bounds_are_refused(rotation):
    g = fields.cutoff_rotation(1.0)
    with pytest.raises(ValueError, match="rate must be >= 0"):
        fields.time_scaled(g, lambda t: np.cos(6 * np.asarray(t)), lambda t: np.sin(6 * t) / 6,
                           1.0)
    block = _mlp(0)
    late = fields.time_scaled(g, lambda t: np.ones_like(t), lambda t: np.asarray(t), 1.0)
    late.lip_bound = lambda t: 1.0 - 2.0 * np.asarray(t)  # negative on (1/2, 1]
    with pytest.raises(ValueError, match="lip_bound must"):
        certify_resnet([block], late, K, [0.0, 1.0], cells=2)
    late = fields.time_scaled(g, lambda t: np.ones_like(t), lambda t: np.asarray(t), 1.0)
    late.mu_bound = lambda t: np.full(np.shape(t), np.inf)
    with pytest.raises(ValueError, match="mu must be finite"):
        certify_resnet([block], late, K, [0.0, 1.0], cells=2)
    with pytest.raises(ValueError, match="time_variation must be finite and >= 0"):
        certify_resnet([block], rotation, K, [0.0, 1.0], cells=2,
                       time_variation=lambda a, b: -1.0)


def test_a_wrong_mu_is_caught_by_the_flow(rotation):
    """A one-sided bound that is too small (mu = -5 for a field that stretches distances): the
    certificate checks it against the reference flow at its centres and names it."""
    g = fields.saturated_field([[1.0, 0.0], [0.0, 1.0]])  # expands: mu = L = 1
    field = fields.time_scaled(g, lambda t: np.ones_like(t), lambda t: np.asarray(t), 1.0)
    with pytest.raises(ValueError, match="lip_bound / mu do not hold"):
        certify_resnet([_mlp(0)], field, K, [0.0, 1.0], cells=4, mu=-5.0)


def test_refinement_spends_its_budget(rotation):
    model = rf.TrainableResNet(2, np.linspace(0, 1, 5), 8, seed=1)
    # the zeroth-order term shrinks only like rho, so rtol = 0.01 cannot be met within 700
    # centres (the first-order one meets it after a few rounds)
    cert = certify_resnet(model, rotation, K, cells=4, max_points=700, rtol=0.01, time_points=32,
                          first_order=False)
    assert 700 - 4 < cert.points <= 700  # partial rounds: less than one split short


def test_sub_times_are_graded_towards_a_singular_time():
    field = fields.singular_rotation()
    cert = certify_resnet([_mlp(0)], field, K, [0.0, 1.0], cells=2, time_points=64,
                          max_rounds=0)
    first = cert.sub_times[1]
    assert first < 1e-3  # equal int m: t_1 = (1/64)^2 for m ~ t^-1/2
    masses = field.sup_integral(cert.sub_times[:-1], cert.sub_times[1:])
    assert masses.max() <= 1.01 * masses.min()


def test_certify_resnet_is_exported():
    assert {"certify_resnet", "Certificate"} <= set(rf.__all__)
    assert rf.certify_resnet is certify_resnet
