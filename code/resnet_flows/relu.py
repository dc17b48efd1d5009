"""Exact ReLU networks for continuous piecewise-linear interpolation on the Kuhn triangulation.

The box ``[lower, upper]`` is cut into ``cells`` cells per axis (widths ``h_i``) and each cell
into the ``d!`` Kuhn simplices ``{u_{pi(1)} >= ... >= u_{pi(d)}}`` of its local coordinates
``u``. The nodal hat of node ``z`` is, with ``y = (x - z) / h``,

    phi_z(x) = relu(1 - max(0, y_1, ..., y_d) + min(0, y_1, ..., y_d))        (thm-relu-approx)

and ``max(0, y_i) = relu(y_i)``, ``-min(0, y_i) = relu(-y_i)``, ``max(a, b) = a + relu(b - a)``
(``a >= 0``). The network is ``sum_z g(z) phi_z``: one layer of ``relu(+-(x_i - c_j)/h_i)``
shared by all nodes, ``ceil(log2 d)`` layers of pairwise maxima, the hat layer, a linear output.
Hidden weights are stored row-sparse (ELLPACK: fixed number of terms per unit) and applied by
gathering rows; the dense equivalent is counted for the parameter report.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

from ._validate import as_box, as_points, inside_box, positive_int
from .kuhn_local import construction_maps, simplex_hats

__all__ = [
    "CPWLNetwork",
    "KuhnGrid",
    "count_parameters",
    "cpwl_network",
    "kuhn_network_size",
]

# Points per forward chunk: activations of the widest layer should stay near the L2/L3 cache
# (measured: d = 2, 64 cells, 1e5 points: 2.4 s at 32 points per chunk, 17 s at 1024).
_ACTIVATION_BUDGET = 500_000
# Points per forward chunk inside the box (a few (d + 1) 2 d activation tables per point).
_LOCAL_CHUNK = 65_536


@dataclass(frozen=True)
class SparseReLULayer:
    """``relu(W h + b)`` with ``W`` stored as ``index``/``weight`` of shape ``(units, terms)``."""

    index: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    inputs: int

    @property
    def units(self) -> int:
        return int(self.index.shape[0])

    def apply(self, h: torch.Tensor) -> torch.Tensor:
        """Apply to activations stored as columns, ``h`` of shape ``(inputs, batch)``."""
        acc = self.bias[:, None].expand(-1, h.shape[1]).clone()
        for k in range(self.index.shape[1]):
            acc.addcmul_(h.index_select(0, self.index[:, k]), self.weight[:, k, None])
        return torch.relu_(acc)

    def dense(self) -> tuple[torch.Tensor, torch.Tensor]:
        matrix = torch.zeros(self.units, self.inputs, dtype=torch.float64)
        rows = torch.arange(self.units)[:, None].expand_as(self.index)
        matrix.index_put_((rows.reshape(-1), self.index.reshape(-1)), self.weight.reshape(-1),
                          accumulate=True)
        return matrix, self.bias.clone()

    def counts(self) -> tuple[int, int]:
        total = self.units * self.inputs + self.units
        nonzero = int(torch.count_nonzero(self.weight)) + int(torch.count_nonzero(self.bias))
        return total, nonzero


def _max_tree_term_counts(dim: int) -> list[list[int]]:
    """Number of terms of each running value before each pairwise-max level (per node, per sign)."""
    levels = [[1] * dim]
    while len(levels[-1]) > 1:
        current = levels[-1]
        nxt = [2] * (len(current) // 2) + ([1] if len(current) % 2 else [])
        levels.append(nxt)
    return levels


def kuhn_network_size(dim: int, cells: int, outputs: int) -> tuple[int, int]:
    """``(total, nonzero)`` parameters of the Kuhn hat network, without building it.

    ``nonzero`` assumes every first-layer bias and every nodal value is nonzero, so it is an
    upper bound that is attained for a generic box and generic values.
    """
    dim = positive_int(dim, "dim")
    cells = positive_int(cells, "cells")
    outputs = positive_int(outputs, "outputs")
    nodes = (cells + 1) ** dim
    first = 2 * dim * (cells + 1)
    total = first * dim + first
    nonzero = 2 * first
    previous_units = first
    levels = _max_tree_term_counts(dim)
    for current in levels[:-1]:
        pairs, odd = divmod(len(current), 2)
        units_per_sign = 2 * pairs + odd
        weights_per_sign = sum(2 * current[2 * i] + current[2 * i + 1] for i in range(pairs))
        weights_per_sign += current[-1] if odd else 0
        units = 2 * nodes * units_per_sign
        total += units * previous_units + units
        nonzero += 2 * nodes * weights_per_sign
        previous_units = units
    hat_terms = 2 * levels[-1][0]
    total += nodes * previous_units + nodes
    nonzero += nodes * (hat_terms + 1)
    total += outputs * nodes + outputs
    nonzero += outputs * nodes
    return total, nonzero


class KuhnGrid:
    """Uniform grid with ``cells`` cells per axis on a box, its Kuhn triangulation and hat network.

    The hidden layers depend only on the grid, so all blocks built on one grid share them.
    """

    def __init__(self, box, cells: int):
        self.lower, self.upper = as_box(box, "box")
        self.cells = positive_int(cells, "cells")
        self.dim = self.lower.size
        self.widths = (self.upper - self.lower) / self.cells
        self.num_nodes = (self.cells + 1) ** self.dim
        self.strides = (self.cells + 1) ** np.arange(self.dim - 1, -1, -1)

    @property
    def box(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lower, self.upper

    @property
    def circumradius(self) -> float:
        """Radius of the ball through a cell's corners, ``|h| / 2``; it holds every simplex."""
        return 0.5 * float(np.linalg.norm(self.widths))

    def coordinates(self, axis: int) -> np.ndarray:
        return self.lower[axis] + self.widths[axis] * np.arange(self.cells + 1)

    def node_indices(self) -> np.ndarray:
        """Multi-indices of all nodes, shape ``(num_nodes, dim)``, in C order."""
        grids = np.meshgrid(*[np.arange(self.cells + 1)] * self.dim, indexing="ij")
        return np.stack([g.reshape(-1) for g in grids], axis=1)

    def nodes(self) -> np.ndarray:
        """Node coordinates, shape ``(num_nodes, dim)``, in the order of the network's hats."""
        return self.lower + self.node_indices() * self.widths

    def contains(self, x: np.ndarray) -> np.ndarray:
        return inside_box(x, self.lower, self.upper)

    def locate(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (flat node ids) and barycentric weights of the Kuhn simplex holding each point.

        Returns two arrays of shape ``(n, dim + 1)``. Raises if a point lies outside the box.
        """
        x = as_points(x, self.dim)
        if not np.all(self.contains(x)):
            raise ValueError("x has points outside the grid's box; the interpolant is defined "
                             f"on [{self.lower}, {self.upper}] only")
        scaled = (x - self.lower) / self.widths
        cell = np.clip(np.floor(scaled), 0, self.cells - 1).astype(np.int64)
        local = np.clip(scaled - cell, 0.0, 1.0)
        order = np.argsort(-local, axis=1, kind="stable")
        ordered = np.take_along_axis(local, order, axis=1)
        weights = np.empty((x.shape[0], self.dim + 1))
        weights[:, 0] = 1.0 - ordered[:, 0]
        weights[:, 1:-1] = ordered[:, :-1] - ordered[:, 1:]
        weights[:, -1] = ordered[:, -1]
        steps = np.cumsum(self.strides[order], axis=1)
        base = cell @ self.strides
        vertices = np.concatenate([base[:, None], base[:, None] + steps], axis=1)
        return vertices, weights

    def interpolate(self, values: np.ndarray, x) -> np.ndarray:
        """The piecewise-linear interpolant of nodal ``values`` at ``x`` by simplex location."""
        vertices, weights = self.locate(x)
        return np.einsum("nk,nkp->np", weights, values[vertices])

    def first_layer(self) -> SparseReLULayer:
        """The layer of ``relu(+-(x_i - c_j) / h_i)`` for every axis ``i`` and grid coordinate
        ``c_j``, from the box and cells now (shared by all nodes; units ``(sign, axis, j)``)."""
        d, n1 = self.dim, self.cells + 1
        axis = np.repeat(np.arange(d), n1)
        centres = np.concatenate([self.coordinates(i) for i in range(d)])
        inv_h = 1.0 / self.widths[axis]
        return SparseReLULayer(
            index=torch.as_tensor(np.concatenate([axis, axis])[:, None]),
            weight=torch.as_tensor(np.concatenate([inv_h, -inv_h])[:, None]),
            bias=torch.as_tensor(np.concatenate([-centres * inv_h, centres * inv_h])),
            inputs=d,
        )

    @cached_property
    def hidden_layers(self) -> tuple[SparseReLULayer, ...]:
        d, n1 = self.dim, self.cells + 1
        first = self.first_layer()
        layers = [first]
        multi = self.node_indices()
        # Running values per node and sign: terms (unit ids) with coefficient +1 each; a padding
        # term points at unit 0 with coefficient 0. Shape (2, nodes, values, terms).
        plus = multi + np.arange(d) * n1
        terms = np.stack([plus, plus + d * n1])[..., None]
        coefs = np.ones_like(terms, dtype=np.float64)
        previous_units = first.units
        while terms.shape[2] > 1:
            layer, terms, coefs = self._max_level(terms, coefs, previous_units)
            layers.append(layer)
            previous_units = layer.units
        # hat = relu(1 - max_plus - max_minus)
        hat_index = np.concatenate([terms[0, :, 0], terms[1, :, 0]], axis=1)
        hat_weight = -np.concatenate([coefs[0, :, 0], coefs[1, :, 0]], axis=1)
        layers.append(SparseReLULayer(
            index=torch.as_tensor(hat_index),
            weight=torch.as_tensor(hat_weight),
            bias=torch.ones(self.num_nodes, dtype=torch.float64),
            inputs=previous_units,
        ))
        return tuple(layers)

    def _max_level(self, terms, coefs, previous_units):
        """One ReLU layer of pairwise maxima ``max(a, b) = relu(a) + relu(b - a)`` (``a >= 0``)."""
        signs, nodes, count, width = terms.shape
        pairs, odd = divmod(count, 2)
        a_t, a_c = terms[:, :, 0:2 * pairs:2], coefs[:, :, 0:2 * pairs:2]
        b_t, b_c = terms[:, :, 1:2 * pairs:2], coefs[:, :, 1:2 * pairs:2]
        row_width = 2 * width
        pad = np.zeros_like(a_t)
        first_t = np.concatenate([a_t, pad], axis=-1)
        first_c = np.concatenate([a_c, np.zeros_like(a_c)], axis=-1)
        second_t = np.concatenate([b_t, a_t], axis=-1)
        second_c = np.concatenate([b_c, -a_c], axis=-1)
        rows_t = [first_t, second_t]
        rows_c = [first_c, second_c]
        if odd:
            rows_t.append(np.concatenate([terms[:, :, -1:], np.zeros_like(terms[:, :, -1:])], -1))
            rows_c.append(np.concatenate([coefs[:, :, -1:], np.zeros_like(coefs[:, :, -1:])], -1))
        # unit layout: (sign, node, slot) with slots [a-units of pairs, (b-a)-units, odd carry]
        index = np.concatenate(rows_t, axis=2)
        weight = np.concatenate(rows_c, axis=2)
        slots = index.shape[2]
        unit_id = np.arange(signs * nodes * slots).reshape(signs, nodes, slots)
        new_terms = [np.stack([unit_id[:, :, :pairs], unit_id[:, :, pairs:2 * pairs]], axis=-1)]
        new_coefs = [np.ones((signs, nodes, pairs, 2))]
        if odd:
            carry = unit_id[:, :, -1:, None]
            new_terms.append(np.concatenate([carry, np.zeros_like(carry)], axis=-1))
            new_coefs.append(np.concatenate([np.ones(carry.shape), np.zeros(carry.shape)], -1))
        layer = SparseReLULayer(
            index=torch.as_tensor(index.reshape(-1, row_width)),
            weight=torch.as_tensor(weight.reshape(-1, row_width)),
            bias=torch.zeros(signs * nodes * slots, dtype=torch.float64),
            inputs=previous_units,
        )
        return layer, np.concatenate(new_terms, axis=2), np.concatenate(new_coefs, axis=2)

    def hats(self, x: torch.Tensor) -> torch.Tensor:
        """All nodal hats at ``x`` (``(batch, dim)`` tensor), as columns: ``(num_nodes, batch)``."""
        h = x.T.contiguous()
        for layer in self.hidden_layers:
            h = layer.apply(h)
        return h


def tensor_is_finite(x: torch.Tensor) -> bool:
    """Whether every entry is finite; true inside ``torch.func`` transforms (``vmap``,
    ``jacrev``), whose tensors carry no values to inspect."""
    try:
        return bool(torch.isfinite(x).all())
    except RuntimeError:
        return True


class CPWLNetwork(nn.Module):
    """ReLU network realising ``x -> sum_z values[z] phi_z(x)`` on a :class:`KuhnGrid`.

    On the grid's box it equals the Kuhn interpolant of the nodal values exactly (thm-relu-approx);
    :meth:`fast` evaluates the same function by locating the simplex. A ReLU network, and a
    :class:`~resnet_flows.blocks.FastBlock`.
    """

    relu_network = True

    def __init__(self, grid: KuhnGrid, values):
        super().__init__()
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[0] != grid.num_nodes:
            raise ValueError(f"values must have shape ({grid.num_nodes}, p), got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise ValueError("values contains non-finite nodal values")
        self.grid = grid
        values = np.ascontiguousarray(values)
        # the buffers are the one source of truth: ``values`` and ``fast`` read them at call time,
        # so a changed bias, a deepcopy or a scaled copy of the weights cannot drift from forward
        self.register_buffer("output_weight", torch.from_numpy(values).T)
        self.register_buffer("output_bias", torch.zeros(values.shape[1], dtype=torch.float64))

    @property
    def values(self) -> np.ndarray:
        """The nodal values ``(num_nodes, p)``: a view of the buffer ``output_weight`` (its
        transpose), read at call time."""
        return self.output_weight.detach().cpu().numpy().astype(np.float64, copy=False).T

    @property
    def bias(self) -> np.ndarray:
        """The buffer ``output_bias`` as numpy, read at call time (added to every output)."""
        return self.output_bias.detach().cpu().numpy().astype(np.float64, copy=False)

    @property
    def dim(self) -> int:
        return self.grid.dim

    @property
    def outputs(self) -> int:
        return self.values.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        if not tensor_is_finite(x):  # as fast() says for numpy input
            raise ValueError("x contains non-finite values")
        x = x.to(torch.float64)
        try:
            inside = torch.as_tensor(self.grid.contains(x.detach().cpu().numpy()))
        except RuntimeError:  # inside torch.func transforms (vmap): the whole network
            inside = None
        maps = None
        if inside is not None and bool(inside.all()) and x.shape[0] > 0:
            maps = construction_maps(self.grid)  # None: hidden layers changed since built
        if maps is not None:
            # in the box only the hats of a point's simplex vertices are nonzero: the same
            # layers' weights, applied to those d + 1 of the num_nodes hats
            pieces = []
            for start in range(0, x.shape[0], _LOCAL_CHUNK):
                vertices, hats = simplex_hats(self.grid, maps, x[start:start + _LOCAL_CHUNK])
                weight = self.output_weight.T.index_select(0, vertices.view(-1))
                weight = weight.view(*vertices.shape, -1)  # (n, d + 1, p)
                pieces.append(torch.baddbmm(self.output_bias, hats[:, None, :], weight)[:, 0])
            return torch.cat(pieces)
        widest = max(layer.units for layer in self.grid.hidden_layers)
        chunk = int(np.clip(_ACTIVATION_BUDGET // widest, 32, 4096))
        pieces = []
        for start in range(0, x.shape[0], chunk):
            hats = self.grid.hats(x[start:start + chunk])
            pieces.append((self.output_weight @ hats).T + self.output_bias)
        if not pieces:
            return x.new_zeros((0, self.outputs))
        return torch.cat(pieces)

    def fast(self, x) -> np.ndarray:
        """The same function by simplex location (numpy), for large evaluations; the weights and
        the bias are read from the buffers now, as ``forward`` reads them."""
        return self.grid.interpolate(self.values, x) + self.bias

    def dense_layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The weights as dense ``(W, b)`` pairs: for checks on small networks only."""
        layers = [layer.dense() for layer in self.grid.hidden_layers]
        layers.append((self.output_weight.clone(), self.output_bias.clone()))
        return layers

    def parameter_counts(self) -> tuple[int, int]:
        total = nonzero = 0
        for layer in self.grid.hidden_layers:
            t, z = layer.counts()
            total += t
            nonzero += z
        total += self.output_weight.numel() + self.output_bias.numel()
        nonzero += int(np.count_nonzero(self.values)) + int(torch.count_nonzero(self.output_bias))
        return total, nonzero

    @property
    def depth(self) -> int:
        """Number of hidden ReLU layers: ``ceil(log2 d) + 2``."""
        return len(self.grid.hidden_layers)


def cpwl_network(g, box, cells: int, grid: KuhnGrid | None = None) -> CPWLNetwork:
    """The exact ReLU network of the Kuhn interpolant ``I_n g`` of ``g : box -> R^p``.

    ``g`` is a callable on points ``(n, d) -> (n, p)`` or an array of nodal values in the order
    of ``KuhnGrid(box, cells).nodes()``. Pass ``grid`` to share hidden layers between networks.
    """
    if grid is None:
        grid = KuhnGrid(box, cells)
    elif cells != grid.cells:
        raise ValueError(f"cells={cells} does not match the given grid's {grid.cells}")
    if callable(g):
        nodes = grid.nodes()
        values = np.asarray(g(nodes), dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.shape[0] != nodes.shape[0]:
            raise ValueError(f"g must map (n, {grid.dim}) points to (n, p), got {values.shape}")
    else:
        values = g
    return CPWLNetwork(grid, values)


def count_parameters(module) -> tuple[int, int]:
    """``(total, nonzero)``: all entries of all weights and biases, and the nonzero ones.

    Uses ``module.parameter_counts()`` where defined (sparse constructions report the dense
    network they realise), otherwise counts ``module.parameters()``.
    """
    if hasattr(module, "parameter_counts"):
        return module.parameter_counts()
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    total = nonzero = 0
    for p in module.parameters():
        total += p.numel()
        nonzero += int(torch.count_nonzero(p.detach()))
    return total, nonzero
