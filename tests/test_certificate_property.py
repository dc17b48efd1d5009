"""Property (thm-certificate): for random small ReLU ResNets the certificate lies above the
largest error a gradient-ascent search finds through the network's own forward (torch
autograd), on fields whose flows have closed forms in torch. The fields declare H, so the
first-order term of lem-first-order competes with the zeroth-order one (near-identity blocks,
small ``scale``, make it win); on one partition it is never worse."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from resnet_flows import certify_resnet, fields
from resnet_flows.resnet import interpolate_states


def _field_and_flow(d):
    """A time-scaled field (rate 1) on R^d with its flow written in torch."""
    if d == 1:
        g = fields.saturated_field([[-1.0]])
        flow = lambda t, x: torch.asinh(torch.sinh(x) * np.exp(-t))
    elif d == 2:
        g = fields.cutoff_rotation(1.5, 1.0)

        def flow(t, x):
            angle = 1.5 * t / torch.sqrt(1 + (x * x).sum(dim=1))
            c, s = torch.cos(angle), torch.sin(angle)
            return torch.stack([c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]], dim=1)
    else:
        v = np.array([0.3, -0.2, 0.1])
        g = fields.constant_drift(v)
        flow = lambda t, x: x + t * torch.as_tensor(v)
    field = fields.time_scaled(g, lambda t: np.ones_like(t), lambda t: np.asarray(t), 1.0)
    return field, flow


def _ascent_sup(blocks, times, flow, d, seed):
    """max over 33 times (nodes included) of a 30-step Adam ascent of |X(t, x) - Phi(t, x)|
    over x in K = [-1, 1]^d from 48 random starts."""
    grid = np.union1d(np.linspace(0, 1, 33), times)
    gen = torch.Generator().manual_seed(seed)
    x = (2 * torch.rand(48, d, generator=gen, dtype=torch.float64) - 1).requires_grad_()
    opt = torch.optim.Adam([x], lr=0.05)
    best = 0.0
    for _ in range(30):
        z = x.clamp(-1, 1)
        states = [z]
        for block in blocks:
            states.append(states[-1] + block(states[-1]))
        inter = interpolate_states(times, torch.stack(states), grid)
        err = torch.stack([(inter[i] - flow(float(t), z)).norm(dim=1) for i, t in
                           enumerate(grid)])
        best = max(best, float(err.detach().max()))
        opt.zero_grad()
        (-err.max(dim=0).values.sum()).backward()
        opt.step()
    return best


@settings(max_examples=8, deadline=None, derandomize=True)
@given(d=st.integers(1, 3), n_blocks=st.integers(1, 4), seed=st.integers(0, 10_000),
       width=st.integers(2, 10), scale=st.floats(0.001, 1.0))
def test_certificate_dominates_gradient_ascent(d, n_blocks, seed, width, scale):
    torch.manual_seed(seed)
    blocks = []
    for _ in range(n_blocks):
        block = nn.Sequential(nn.Linear(d, width, dtype=torch.float64), nn.ReLU(),
                              nn.Linear(width, d, dtype=torch.float64))
        with torch.no_grad():
            block[2].weight.mul_(scale)
            block[2].bias.mul_(scale)
        blocks.append(block)
    times = np.linspace(0.0, 1.0, n_blocks + 1)
    field, flow = _field_and_flow(d)
    cert = certify_resnet(blocks, field, (-np.ones(d), np.ones(d)), times, cells=4,
                          time_points=32, max_points=400 * d, rtol=1.0)
    found = _ascent_sup(blocks, times, flow, d, seed)
    assert cert.certified and found <= cert.bound
    one = {"cells": 3, "time_points": 16, "max_rounds": 0}
    plain = certify_resnet(blocks, field, (-np.ones(d), np.ones(d)), times, first_order=False, **one)
    with_first = certify_resnet(blocks, field, (-np.ones(d), np.ones(d)), times, **one)
    assert found <= with_first.bound <= plain.bound
