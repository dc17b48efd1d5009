"""resnet_flows.blocks: the block protocol, which blocks are ReLU networks, numpy evaluators."""

import numpy as np
import pytest
import torch
from torch import nn

import resnet_flows as rf
from resnet_flows import fields
from resnet_flows.blocks import neural_euler_block, numpy_evaluator
from resnet_flows.invertibility import ContractiveBlock

K2 = (np.array([-1.0, -1.0]), np.array([1.0, 1.0]))


def test_which_blocks_are_relu_networks():
    field = fields.switching_rotations()
    kuhn = rf.cpwl_network(lambda z: np.sin(z), K2, 3)
    exact = [rf.FieldBlock(field, 0.1, 0.1), rf.AveragedBlock(field, 0.0, 0.1)]
    exact.append(rf.PerturbedBlock(exact[1], 0.1, lambda z: np.zeros_like(z)))
    neural = neural_euler_block(fields.random_neural_field(2, 4), 0.0, 0.1)
    assert rf.is_relu_network(kuhn) and isinstance(kuhn, rf.FastBlock)
    assert rf.is_relu_network(neural) and not isinstance(neural, rf.FastBlock)
    assert rf.is_relu_network(ContractiveBlock(2, width=4))
    for block in exact:
        assert isinstance(block, rf.FastBlock) and not rf.is_relu_network(block)
        assert block.dim == 2 and block.parameter_counts() == (0, 0)
    assert not rf.is_relu_network(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))


def test_resnet_reports_whether_it_is_a_relu_network():
    field = fields.switching_rotations()
    plan = rf.plan_flow_resnet(field, K2, 0.3)
    assert rf.build_certified_resnet(field, plan).relu_network
    assert rf.euler_resnet(fields.random_neural_field(2, 4), np.linspace(0, 1, 4)).relu_network
    assert not rf.euler_resnet(field, np.linspace(0, 1, 4)).relu_network
    assert not rf.exact_averaged_euler_resnet(field, np.linspace(0, 1, 4)).relu_network


def test_numpy_evaluator_uses_fast_or_the_tensor_map():
    kuhn = rf.cpwl_network(lambda z: np.cos(z), K2, 4)
    assert numpy_evaluator(kuhn) == kuhn.fast
    layer = nn.Linear(2, 2, dtype=torch.float64)
    x = np.random.default_rng(0).uniform(-1, 1, (5, 2))
    out = numpy_evaluator(layer)(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, x @ layer.weight.detach().numpy().T
                               + layer.bias.detach().numpy(), rtol=1e-14, atol=1e-14)


def test_exact_blocks_map_tensors_to_tensors_with_the_fast_values():
    block = rf.AveragedBlock(fields.switching_rotations(), 0.0, 0.3)
    x = np.random.default_rng(1).uniform(-1, 1, (6, 2))
    out = block(torch.as_tensor(x))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), block.fast(x))


def test_bad_blocks_are_refused():
    with pytest.raises(ValueError, match="FastBlock"):
        rf.PerturbedBlock(nn.Linear(2, 2), 0.1, lambda z: z)
    with pytest.raises(ValueError, match="block 0"):
        rf.ReLUResNet([lambda x: x], [0.0, 1.0])
    with pytest.raises(ValueError, match="size"):
        rf.PerturbedBlock(rf.AveragedBlock(fields.switching_rotations(), 0, 1), -1.0,
                          lambda z: z)
