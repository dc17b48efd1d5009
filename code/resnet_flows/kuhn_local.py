"""A Kuhn hat network evaluated at points of its box through the hats of their simplex only.

At a point ``x`` of a Kuhn simplex every hat but those of the simplex's ``d + 1`` vertices
vanishes (the support of ``phi_z`` is the star of ``z``; thm-relu-approx), so ``sum_z g(z)
phi_z(x)`` needs ``d + 1`` hats, not ``num_nodes``. That holds for the constructed hidden
layers, not for changed ones: :func:`construction_maps` compares the layers, at call time, with
the construction (first layer recomputed from the grid, every later layer the same small pattern
for every node) and returns, read from the layers now, each later layer as a matrix on one
node's units of the previous layer; any difference gives ``None`` and the caller runs the
whole network. :func:`simplex_hats` then applies the layers' own weights to each point's
vertices, and the result equals the whole network's to round-off.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

__all__ = ["construction_maps", "simplex_hats"]


def _node_rows(tensor: torch.Tensor, nodes: int):
    """A later layer's tensor by node: units are laid out (sign, node, slot) in a max level
    (``KuhnGrid._max_level``) and one per node in the hat layer. Returns ``(nodes, r, ...)``."""
    if tensor.shape[0] == nodes:
        return tensor.reshape(nodes, 1, *tensor.shape[1:])
    if tensor.shape[0] % (2 * nodes):
        return None
    slots = tensor.shape[0] // (2 * nodes)
    tail = tensor.shape[1:]
    return tensor.reshape(2, nodes, slots, *tail).transpose(0, 1).reshape(nodes, 2 * slots, *tail)


@lru_cache(maxsize=8)
def _reference(dim: int):
    """The constructed pattern of one node of a ``dim``-dimensional grid, per later layer:
    weights and biases of its rows, and the positions among the node's own previous units (the
    2 d first-layer units ``(sign, axis)``, then the previous layer's rows) that each term
    reads; padding terms (weight 0) read unit 0. From the one-cell grid's node 0."""
    from .relu import KuhnGrid

    grid = KuhnGrid((np.zeros(dim), np.ones(dim)), 1)
    first = grid.hidden_layers[0]
    n1 = 2
    sign, rest = np.divmod(np.arange(first.units), dim * n1)
    own = np.full(first.units, -1)
    own[rest % n1 == 0] = (sign * dim + rest // n1)[rest % n1 == 0]  # node 0: coordinate 0
    patterns = []
    for layer in grid.hidden_layers[1:]:
        weight = _node_rows(layer.weight, grid.num_nodes)[0].clone()
        index = _node_rows(layer.index, grid.num_nodes)[0].numpy()
        bias = _node_rows(layer.bias, grid.num_nodes)[0].clone()
        pad = (weight == 0).numpy()
        positions = np.where(pad, 0, own[index])
        assert np.all(positions >= 0), "the construction reads another node's units"
        patterns.append((weight, torch.as_tensor(positions), torch.as_tensor(pad), bias))
        rows = _node_rows(torch.arange(layer.units), grid.num_nodes)[0].numpy()
        own = np.full(layer.units, -1)
        own[rows] = np.arange(rows.size)
    return tuple(patterns)


def _same(tensor: torch.Tensor, expected: torch.Tensor) -> bool:
    return (tensor.dtype == expected.dtype and tensor.shape == expected.shape
            and bool(torch.equal(tensor, expected)))


def construction_maps(grid):
    """``[(M, b), ...]``: each later hidden layer of ``grid`` as ``h -> relu(h @ M + b)`` on one
    node's units of the previous layer (the first: its ``2 d`` first-layer units in the order
    ``(sign, axis)``), with ``M`` and ``b`` read from the layer now; ``None`` when the hidden
    layers or the grid's geometry are not the construction's (then only the whole network
    computes the function its weights define)."""
    layers = grid.hidden_layers
    d, n1 = grid.dim, grid.cells + 1
    nodes = n1**d
    patterns = _reference(d)
    if len(layers) != len(patterns) + 1 or grid.num_nodes != nodes:
        return None
    if not np.array_equal(grid.strides, n1 ** np.arange(d - 1, -1, -1)):
        return None
    fresh = grid.first_layer()  # from the grid's box and cells now: tiny
    first = layers[0]
    if not (_same(first.index, fresh.index) and _same(first.weight, fresh.weight)
            and _same(first.bias, fresh.bias)):
        return None
    multi = torch.as_tensor(grid.node_indices())
    offsets = torch.arange(2)[:, None] * d * n1 + torch.arange(d)[None, :] * n1  # (sign, axis)
    own = (multi[:, None, :] + offsets).view(nodes, 2 * d)  # first-layer unit ids of each node
    maps = []
    for layer, (p_weight, p_positions, p_pad, p_bias) in zip(layers[1:], patterns):
        weight = _node_rows(layer.weight, nodes)
        index = _node_rows(layer.index, nodes)
        bias = _node_rows(layer.bias, nodes)
        if weight is None or index is None or bias is None or weight.shape[1:] != p_weight.shape:
            return None
        expected_index = torch.where(p_pad, 0, own[:, p_positions])
        if not (_same(weight, p_weight.expand_as(weight)) and _same(index, expected_index)
                and _same(bias, p_bias.expand_as(bias))):
            return None
        rows, terms = p_weight.shape
        real = ~p_pad
        matrix = weight.new_zeros(own.shape[1], rows)
        columns = torch.arange(rows)[:, None].expand(rows, terms)
        matrix.index_put_((p_positions[real], columns[real]), weight[0][real], accumulate=True)
        maps.append((matrix, bias[0].clone()))
        own = _node_rows(torch.arange(layer.units), nodes)
    return maps


def simplex_hats(grid, maps, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(vertices, hats)``, each ``(n, d + 1)``: the flat node ids of the Kuhn simplex holding
    each point of ``x`` (inside the box; :meth:`KuhnGrid.locate`'s choice) and the network's
    hats of those nodes, through the first layer's units of each vertex and ``maps``
    (:func:`construction_maps`). Every other hat vanishes at the point."""
    n, d = x.shape
    cells = grid.cells
    n1 = cells + 1
    strides = torch.as_tensor(n1 ** np.arange(d - 1, -1, -1))
    scaled = (x - torch.as_tensor(grid.lower)) / torch.as_tensor(grid.widths)
    cell = torch.clamp(torch.floor(scaled), 0, cells - 1)
    order = torch.argsort(cell - scaled, dim=1, stable=True)  # descending local coordinate
    cell = cell.to(torch.int64)
    base = cell @ strides
    vertices = torch.cat([base[:, None], base[:, None] + strides[order].cumsum(1)], 1)
    # vertex k of the simplex adds a unit step along order[:k]: its coordinate index per axis
    steps = torch.nn.functional.one_hot(order, d).cumsum(1)  # (n, d, d)
    multi = torch.cat([cell[:, None, :], cell[:, None, :] + steps], 1)  # (n, d + 1, d)
    first = grid.hidden_layers[0]
    # first-layer units of each vertex, (sign, axis) = sign d n1 + axis n1 + its coordinate
    units = torch.empty(n, d + 1, 2, d, dtype=torch.int64)
    torch.add(multi, torch.arange(d) * n1, out=units[:, :, 0])
    torch.add(units[:, :, 0], d * n1, out=units[:, :, 1])
    units = units.view(-1)
    # the first layer's units of the vertices: relu(w_u x_{axis(u)} + b_u), axis(u) = its index
    h = first.weight.view(-1).index_select(0, units).view(n, d + 1, 2, d)
    h.mul_(x[:, None, None, :]).add_(first.bias.index_select(0, units).view(n, d + 1, 2, d))
    h = torch.relu_(h).view(n * (d + 1), 2 * d)
    for matrix, bias in maps:
        h = torch.relu_(torch.addmm(bias, h, matrix))
    return vertices, h.view(n, d + 1)
