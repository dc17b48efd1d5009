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


def _by_node(tensor: torch.Tensor, nodes: int):
    """A later layer's tensor in its unit layout ``(sign, node, slot, ...)``: a max level has
    two signs (``KuhnGrid._max_level``), the hat layer one unit per node (one sign, one slot);
    ``None`` for another number of units. A view, no copy."""
    units = tensor.shape[0]
    signs = 1 if units == nodes else 2
    if units % (signs * nodes):
        return None
    return tensor.view(signs, nodes, units // (signs * nodes), *tensor.shape[1:])


@lru_cache(maxsize=8)
def _reference(dim: int):
    """The constructed pattern of one node of a ``dim``-dimensional grid, per later layer, in the
    layout of :func:`_by_node` with one node: weights and biases of its rows, and the positions
    among the node's own previous units (the 2 d first-layer units ``(sign, axis)``, then the
    previous layer's rows ``(sign, slot)``) that each term reads; padding terms (weight 0) read
    unit 0. From the one-cell grid's node 0."""
    from .relu import KuhnGrid

    grid = KuhnGrid((np.zeros(dim), np.ones(dim)), 1)
    first = grid.hidden_layers[0]
    sign, rest = np.divmod(np.arange(first.units), dim * 2)
    own = np.full(first.units, -1)
    own[rest % 2 == 0] = (sign * dim + rest // 2)[rest % 2 == 0]  # node 0: coordinate 0
    patterns = []
    for layer in grid.hidden_layers[1:]:
        weight = _by_node(layer.weight, grid.num_nodes)[:, :1].clone()
        index = _by_node(layer.index, grid.num_nodes)[:, :1].numpy()
        pad = (weight == 0).numpy()
        positions = np.where(pad, 0, own[index])
        assert np.all(positions >= 0), "the construction reads another node's units"
        bias = _by_node(layer.bias, grid.num_nodes)[:, :1].clone()
        patterns.append((weight, torch.as_tensor(positions), torch.as_tensor(pad), bias))
        rows = _by_node(torch.arange(layer.units), grid.num_nodes)[:, 0].reshape(-1).numpy()
        own = np.full(layer.units, -1)
        own[rows] = np.arange(rows.size)
    return tuple(patterns)


def _same(tensor: torch.Tensor | None, expected: torch.Tensor, nodes: int | None = None) -> bool:
    """Equal dtype, shape and entries; with ``nodes``, ``expected`` holds one node on axis 1
    and stands for all of them."""
    if tensor is None or tensor.dtype != expected.dtype:
        return False
    shape = list(expected.shape)
    if nodes is not None:
        shape[1] = nodes
    return list(tensor.shape) == shape and bool((tensor == expected).all())


def construction_maps(grid):
    """``[(M, b), ...]``: each later hidden layer of ``grid`` as ``h -> relu(h @ M + b)`` on one
    node's units of the previous layer (the first: its ``2 d`` first-layer units in the order
    ``(sign, axis)``), with ``M`` and ``b`` read from the layer now; ``None`` when the hidden
    layers or the grid's geometry are not the construction's, or ``grid`` is not exactly a
    ``KuhnGrid`` (then only the whole network computes the function its weights define)."""
    from .relu import KuhnGrid

    if type(grid) is not KuhnGrid:  # a subclass may build other layers and another first_layer
        return None
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
    # unit id of a node's own previous unit at position pos: base[pos] + that node's term
    positions = torch.arange(2 * d)
    base = positions // d * d * n1 + positions % d * n1
    node_term = torch.as_tensor(grid.node_indices()).T[positions % d]  # (2 d, nodes)
    maps = []
    for layer, (p_weight, p_positions, p_pad, p_bias) in zip(layers[1:], patterns):
        weight, bias = _by_node(layer.weight, nodes), _by_node(layer.bias, nodes)
        if not (_same(weight, p_weight, nodes) and _same(bias, p_bias, nodes)):
            return None
        # expected (sign, slot, term, node) reads, against the index in that order
        expected = torch.where(p_pad[:, 0, ..., None], 0,
                               base[p_positions[:, 0]][..., None] + node_term[p_positions[:, 0]])
        index = _by_node(layer.index, nodes)
        if not _same(None if index is None else index.permute(0, 2, 3, 1), expected):
            return None
        signs, _, slots, terms = weight.shape
        real = ~p_pad[:, 0]
        rows = torch.arange(signs * slots).view(signs, slots, 1).expand(signs, slots, terms)
        matrix = weight.new_zeros(base.numel(), signs * slots)
        matrix.index_put_((p_positions[:, 0][real], rows[real]), weight[:, 0][real],
                          accumulate=True)
        maps.append((matrix, bias[:, 0].reshape(-1).clone()))
        positions = torch.arange(signs * slots)
        base = positions // slots * nodes * slots + positions % slots
        node_term = (torch.arange(nodes) * slots).expand(positions.numel(), nodes)
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
