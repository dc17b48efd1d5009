"""CPWLNetwork.forward in its box: the hats of each point's simplex vertices through the layers'
own weights (kuhn_local), equal to the whole network and to the interpolant; any change to the
hidden layers or the grid sends forward back to the whole network."""

import copy
import itertools

import numpy as np
import pytest
import torch

from resnet_flows import relu
from resnet_flows.kuhn_local import construction_maps, simplex_hats
from resnet_flows.relu import CPWLNetwork, KuhnGrid


def whole(net, x):
    """The whole network: every hat, through every layer (the path outside the box)."""
    return (net.output_weight @ net.grid.hats(x)).T + net.output_bias


def net_and_points(dim, cells=3, n=200, seed=0):
    rng = np.random.default_rng(seed + dim)
    lower = -rng.uniform(0.3, 1.5, dim)
    grid = KuhnGrid((lower, lower + rng.uniform(0.5, 2.5, dim)), cells)
    net = CPWLNetwork(grid, rng.normal(size=(grid.num_nodes, 2)))
    local = np.concatenate([
        rng.random((n, dim)),
        np.array(list(itertools.product([0.0, 1.0], repeat=dim))),  # cell corners
        np.full((1, dim), 0.5),  # all local coordinates tie: every simplex of the cell
        np.where(rng.random((n, dim)) < 0.5, rng.integers(0, 2, (n, dim)), rng.random((n, dim))),
    ])
    cell = rng.integers(0, cells, (local.shape[0], dim))
    x = grid.lower + (cell + local) * grid.widths
    x = np.concatenate([x, grid.nodes(), [grid.lower, grid.upper]])  # nodes, box corners
    face = grid.lower + (grid.upper - grid.lower) * rng.random((20, dim))
    face[:, 0] = grid.upper[0]  # on the box's boundary
    return net, np.clip(np.concatenate([x, face]), grid.lower, grid.upper)


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
def test_forward_in_the_box_equals_the_whole_network_and_the_interpolant(dim):
    net, x = net_and_points(dim)
    xt = torch.as_tensor(x)
    assert construction_maps(net.grid) is not None  # the simplex path runs
    with torch.no_grad():
        out = net(xt)
        all_hats = net.grid.hats(xt)
        vertices, hats = simplex_hats(net.grid, construction_maps(net.grid), xt)
    assert vertices.shape == hats.shape == (x.shape[0], dim + 1)
    scale = float(np.abs(net.values).max())
    assert torch.allclose(out, whole(net, xt), rtol=0, atol=1e-14 * scale)
    assert np.allclose(out.numpy(), net.fast(x), rtol=0, atol=1e-12 * scale)
    # the simplex's hats are the whole network's hats of those nodes, and they sum to 1: every
    # other (nonnegative) hat vanishes at the point
    assert torch.allclose(hats, all_hats.T.gather(1, vertices), rtol=0, atol=1e-14)
    assert torch.allclose(hats.sum(1), torch.ones(x.shape[0], dtype=torch.float64), atol=1e-13)


def test_chunks_of_the_simplex_path_agree(monkeypatch):
    net, x = net_and_points(2)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        one = net(xt)
        monkeypatch.setattr(relu, "_LOCAL_CHUNK", 7)
        assert torch.equal(net(xt), one)


def test_outside_the_box_and_empty_input_run_the_whole_network():
    net, x = net_and_points(2)
    outside = torch.as_tensor(x) * 1.5
    with torch.no_grad():
        assert torch.allclose(net(outside), whole(net, outside), rtol=0, atol=1e-14)
        assert net(torch.zeros((0, 2), dtype=torch.float64)).shape == (0, 2)


def _shift_first_bias(net):
    net.grid.hidden_layers[0].bias.sub_(0.01)  # widens every hat's support


def _one_level_weight(net):
    net.grid.hidden_layers[1].weight[5, 0] = 0.5  # one unit of one node


def _wider_hats(net):
    net.grid.hidden_layers[-1].bias.fill_(1.5)  # supports beyond the stars of the nodes


def _read_another_node(net):
    layer = net.grid.hidden_layers[-1]
    layer.index[4, 0] = layer.index[9, 0]  # node 4 reads a unit of node 9


def _nan_weight(net):
    net.grid.hidden_layers[2].weight[3, 1] = float("nan")  # the whole network is NaN


def _moved_grid(net):
    net.grid.lower += 0.05  # the cells located no longer match the layers


@pytest.mark.parametrize("change", [_shift_first_bias, _one_level_weight, _wider_hats,
                                    _read_another_node, _nan_weight])
def test_changed_hidden_layers_run_the_whole_network(change):
    """With any of these changes the hats are no longer the nodal basis, so the simplex path
    would compute another function than the weights define: forward runs the whole network, and
    the change shows in the output."""
    net, x = net_and_points(2, cells=4)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        before = net(xt)
        changed = copy.deepcopy(net)
        change(changed)
        assert construction_maps(changed.grid) is None
        after = changed(xt)
        assert torch.allclose(after, whole(changed, xt), rtol=0, atol=1e-13, equal_nan=True)
        assert not torch.allclose(after, before, rtol=0, atol=1e-6)
        assert torch.equal(net(xt), before)  # the original (not a copy's layers) is untouched


def test_a_moved_grid_runs_the_whole_network():
    """The layers, not ``grid.lower``, define the function: after ``grid.lower`` moves, forward
    still computes it, although simplices located with the moved grid would not."""
    net, x = net_and_points(2, cells=4)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        maps = construction_maps(net.grid)
        inside = xt[(xt > torch.as_tensor(net.grid.lower) + 0.05).all(1)]  # also in the moved box
        before = net(inside)
        _moved_grid(net)
        assert construction_maps(net.grid) is None
        assert torch.allclose(net(inside), before, rtol=0, atol=1e-14)
        vertices, hats = simplex_hats(net.grid, maps, inside)
        located = (net.output_weight.T[vertices] * hats[..., None]).sum(1)
        assert not torch.allclose(located, whole(net, inside), rtol=0, atol=1e-6)


class ShiftedGrid(KuhnGrid):
    """A subclass whose first layer (built and checked through ``first_layer``) widens every
    hat's support: its layers agree with its own ``first_layer``, not with the construction."""

    def first_layer(self):
        layer = super().first_layer()
        layer.bias.sub_(0.01)
        return layer


def test_a_grid_subclass_runs_the_whole_network():
    net, x = net_and_points(2, cells=4)
    shifted = CPWLNetwork(ShiftedGrid(net.grid.box, net.grid.cells), net.values)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        assert construction_maps(shifted.grid) is None
        out = shifted(xt)
        assert torch.allclose(out, whole(shifted, xt), rtol=0, atol=1e-13)
        assert not torch.allclose(out, net(xt), rtol=0, atol=1e-6)


def test_output_buffers_are_read_at_call_time_on_the_simplex_path():
    net, x = net_and_points(3)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        before = net(xt)
        net.output_weight.mul_(2.0)
        net.output_bias.add_(torch.tensor([1.0, -3.0], dtype=torch.float64))
        assert torch.allclose(net(xt), 2 * before + torch.tensor([1.0, -3.0],
                                                                 dtype=torch.float64), atol=1e-13)


def test_gradient_on_the_simplex_path_equals_the_whole_networks():
    net, _ = net_and_points(2)
    x = torch.as_tensor(net.grid.lower + (net.grid.upper - net.grid.lower)
                        * np.random.default_rng(3).random((50, 2)), dtype=torch.float64)
    x_local = x.clone().requires_grad_(True)
    net(x_local).sum().backward()
    x_whole = x.clone().requires_grad_(True)
    whole(net, x_whole).sum().backward()
    assert torch.allclose(x_local.grad, x_whole.grad, rtol=0, atol=1e-11)
