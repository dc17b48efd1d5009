"""ResNets ``x_{k+1} = x_k + R_k(x_k)`` on a time partition and their constructions.

``X(t, x) = x_k + (t - t_k) / (t_{k+1} - t_k) (x_{k+1} - x_k)`` on ``I_k`` is the space-time
interpolant compared with the flow in thm-main. Input convention of every method and function
here: numpy in gives numpy out, a torch tensor in gives a tensor out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._validate import as_box, as_points, as_times, inside_box, positive_int, real_array
from .blocks import (
    AveragedBlock,
    Block,
    FastBlock,
    FieldBlock,
    is_relu_network,
    neural_euler_block,
)
from .fields import NeuralODEField, VectorField
from .limits import DEFAULT_MAX_MEMORY, check_build_memory
from .plan import Plan
from .plan_point import PointPlan
from .relu import CPWLNetwork, KuhnGrid, count_parameters, tensor_is_finite

__all__ = [
    "ReLUResNet",
    "StateOutsideBox",
    "averaged_euler",
    "averaged_kuhn_resnet",
    "build_certified_resnet",
    "build_point_resnet",
    "euler_resnet",
    "exact_averaged_euler_resnet",
    "interpolate_states",
    "kuhn_resnet",
]


class StateOutsideBox(ValueError):
    """A ResNet state left the box on which its blocks approximate the field."""


def to_numpy(x) -> tuple[np.ndarray, bool]:
    """``(x as a float64 numpy array, whether x was a torch tensor)``."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().astype(np.float64, copy=False), True
    return np.asarray(x, dtype=np.float64), False


def like_input(out, was_tensor: bool):
    """``out`` as a tensor when the input was one (float64), else as numpy."""
    if was_tensor:
        return torch.as_tensor(out) if not isinstance(out, torch.Tensor) else out
    return out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else out


def interpolate_states(times, states, t):
    """``X(t) = (1 - theta) x_k + theta x_{k+1}``, ``theta = (t - t_k) / (t_{k+1} - t_k)``, for
    ``t`` in ``I_k``: the space-time interpolant (thm-main) of node states ``states`` (shape
    ``(N + 1, n, d)``, numpy or torch, differentiable for torch) at the times ``t``; shape
    ``(len(t), n, d)``, of the kind of ``states``."""
    times = np.asarray(times, dtype=np.float64)
    t = np.atleast_1d(real_array(t, "t", "a time or a 1-D array of times"))
    if t.ndim != 1:
        raise ValueError(f"t must be a time or a 1-D array of times, got shape {np.shape(t)}")
    if not np.all(np.isfinite(t)):
        raise ValueError("t contains non-finite values")
    if np.any(t < times[0]) or np.any(t > times[-1]):
        raise ValueError(f"t must lie in [{times[0]}, {times[-1]}]")
    k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, times.size - 2)
    theta = (t - times[k]) / (times[k + 1] - times[k])
    if isinstance(states, torch.Tensor):
        theta = torch.as_tensor(theta, dtype=states.dtype)[:, None, None]
        index = torch.as_tensor(k)
        return (1 - theta) * states[index] + theta * states[index + 1]
    return (1 - theta)[:, None, None] * states[k] + theta[:, None, None] * states[k + 1]


class ReLUResNet(nn.Module):
    """``N`` residual blocks (:class:`~resnet_flows.blocks.Block`) on the partition ``times``
    (``N + 1`` increasing times).

    The container accepts any block: it is a ReLU network exactly when :attr:`relu_network` is
    true (every block is one, e.g. :func:`build_certified_resnet`); with :class:`FieldBlock` or
    :class:`AveragedBlock` blocks it is the exact Euler or averaged Euler scheme, which is not.
    With ``box`` given, every state must stay inside it (the blocks approximate the field only
    there; outside, the hat network silently returns zero): leaving raises :class:`StateOutsideBox`.
    Numpy in gives numpy out, a tensor in gives a tensor out, in every method.
    """

    def __init__(self, blocks: Sequence[Block], times, box=None):
        super().__init__()
        for k, block in enumerate(blocks):
            if not isinstance(block, nn.Module) or not isinstance(block, Block):
                raise ValueError(f"block {k} must be a torch module R(x), got "
                                 f"{type(block).__name__}")
        self.blocks = nn.ModuleList(blocks)
        self.times = as_times(times, "times")
        if self.times.size != len(self.blocks) + 1:
            raise ValueError(f"times must have len(blocks) + 1 = {len(self.blocks) + 1} entries, "
                             f"got {self.times.size}")
        self.box = None if box is None else as_box(box, "box")

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def relu_network(self) -> bool:
        """True when every block is a ReLU network, so that the whole ResNet is one."""
        return all(is_relu_network(block) for block in self.blocks)

    @property
    def has_fast(self) -> bool:
        """True when every block is a :class:`~resnet_flows.blocks.FastBlock`."""
        return all(isinstance(block, FastBlock) for block in self.blocks)

    @property
    def dim(self) -> int | None:
        """The dimension ``d`` of the states (``None`` when no block declares it)."""
        if self.box is not None:
            return self.box[0].size
        first = self.blocks[0] if self.num_blocks else None
        if getattr(first, "dim", None) is not None:
            return first.dim
        linear = [m for m in first.modules() if isinstance(m, nn.Linear)] if first else []
        return linear[0].in_features if linear else None

    def _check_input(self, x):
        """Tensors and arrays get the same checks and messages: shape ``(n, d)``, finite."""
        if self.dim is None:
            return
        if not isinstance(x, torch.Tensor):
            as_points(x, self.dim)
        elif x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        elif not tensor_is_finite(x):
            raise ValueError("x contains non-finite values")

    def _check_state(self, x: np.ndarray, k: int):
        if self.box is not None and not np.all(inside_box(x, *self.box)):
            where = "the initial points" if k == 0 else f"the state after block {k}"
            raise StateOutsideBox(f"{where} left the block box [{self.box[0]}, {self.box[1]}]")

    def _check_tensor(self, x: torch.Tensor, k: int):
        if self.box is not None:
            self._check_state(x.detach().cpu().numpy(), k)

    def forward(self, x):
        """The end state ``x_N`` (the flow-map approximation ``x -> x_N``)."""
        if not isinstance(x, torch.Tensor):
            return self.trajectory(x)[-1]
        self._check_input(x)
        for k, block in enumerate(self.blocks):
            self._check_tensor(x, k)
            x = x + block(x)
        self._check_tensor(x, self.num_blocks)
        return x

    def trajectory(self, x, fast: bool | None = None):
        """States ``(x_0, ..., x_N)``, shape ``(N + 1, n, d)``.

        ``fast`` (default: for numpy input whenever every block is a ``FastBlock``) uses the
        blocks' numpy evaluators, which compute the same functions as the networks; otherwise the
        blocks' tensor maps run (differentiably, for tensor input).
        """
        was_tensor = isinstance(x, torch.Tensor)
        self._check_input(x)
        fast = self.has_fast and not was_tensor if fast is None else fast
        if fast and not self.has_fast:
            raise ValueError("fast=True needs blocks with a fast evaluator")
        if was_tensor and not fast:
            states = [x]
            for k, block in enumerate(self.blocks):
                self._check_tensor(states[-1], k)
                states.append(states[-1] + block(states[-1]))
            self._check_tensor(states[-1], self.num_blocks)
            return torch.stack(states)
        x, _ = to_numpy(x)
        first = self.blocks[0] if self.num_blocks else None
        if isinstance(first, FastBlock):
            x = as_points(x, first.dim)
        states = np.empty((self.num_blocks + 1, *x.shape))  # filled in place, no stacking copy
        states[0] = x
        with torch.no_grad():
            for k, block in enumerate(self.blocks):
                self._check_state(states[k], k)
                if fast:
                    step = block.fast(states[k])
                else:
                    step = block(torch.as_tensor(states[k])).numpy()
                np.add(states[k], step, out=states[k + 1])
        self._check_state(states[-1], self.num_blocks)
        return like_input(states, was_tensor)

    def interpolate(self, t, x, fast: bool | None = None, trajectory=None):
        """The space-time interpolant ``X(t, x)`` at times ``t``: shape ``(len(t), n, d)``.

        ``trajectory`` (the states of ``x``, if already computed) saves recomputing them."""
        was_tensor = isinstance(x, torch.Tensor)
        states = self.trajectory(x, fast=fast) if trajectory is None else trajectory
        return like_input(interpolate_states(self.times, states, t), was_tensor)

    def parameter_counts(self) -> tuple[int, int]:
        """Summed over blocks: blocks that share hidden layers each count them, as a ResNet has."""
        total = nonzero = 0
        for block in self.blocks:
            t, z = count_parameters(block)
            total += t
            nonzero += z
        return total, nonzero


def euler_resnet(field, times) -> ReLUResNet:
    """Point-evaluation Euler blocks ``R_k = h_k f(t_k, .)`` (prop-resnet-euler).

    For a :class:`NeuralODEField` each block is an exact one-hidden-layer ReLU network; for a
    :class:`VectorField` a :class:`FieldBlock` (raises if ``f(t_k, .)`` is not finite, as at a
    singular ``t_0``).
    """
    times = as_times(times, "times")
    steps = np.diff(times)
    if isinstance(field, NeuralODEField):
        blocks = [neural_euler_block(field, t, h) for t, h in zip(times[:-1], steps)]
    elif isinstance(field, VectorField):
        if times[0] < 0 or times[-1] > field.horizon:
            raise ValueError(f"times must lie in [0, {field.horizon}]")
        blocks = [FieldBlock(field, t, h) for t, h in zip(times[:-1], steps)]
    else:
        raise ValueError(f"field must be a VectorField or NeuralODEField, got {type(field).__name__}")
    return ReLUResNet(blocks, times)


def averaged_euler(field: VectorField, times, x0) -> np.ndarray:
    """States of the averaged Euler scheme ``y_0 = x0``, ``y_{k+1} = y_k + F_k(y_k)`` with
    ``F_k(z) = int_{t_k}^{t_{k+1}} f(s, z) ds`` (thm-averaged-euler); shape ``(N + 1, n, d)``.

    Needs no value ``f(t_k, .)``, so it runs for fields singular at a node (``t^{-1/2}``).
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    times = as_times(times, "times")
    if times.size < 2 or times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must hold >= 2 increasing times in [0, {field.horizon}]")
    x0, was_tensor = to_numpy(x0)
    states = [as_points(x0, field.dim, "x0")]
    for a, b in itertools.pairwise(times):
        states.append(states[-1] + field.average(a, b, states[-1]))
    return like_input(np.stack(states), was_tensor)


def exact_averaged_euler_resnet(field: VectorField, times, box=None) -> ReLUResNet:
    """The averaged Euler scheme as a residual network with the exact averaged fields as blocks,
    :class:`AveragedBlock` ``F_k`` (thm-averaged-euler); not a ReLU network. Its ``trajectory``
    equals :func:`averaged_euler`."""
    times = as_times(times, "times")
    if times.size < 2 or times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must hold >= 2 increasing times in [0, {field.horizon}]")
    blocks = [AveragedBlock(field, a, b) for a, b in itertools.pairwise(times)]
    return ReLUResNet(blocks, times, box=box)


def _kuhn_resnet(field: VectorField, times, box, cells, nodal_values,
                 max_memory=DEFAULT_MAX_MEMORY) -> ReLUResNet:
    grid = KuhnGrid(box, positive_int(cells, "cells"))
    if grid.dim != field.dim:
        raise ValueError(f"box has dimension {grid.dim}, the field {field.dim}")
    check_build_memory(field.dim, len(times) - 1, grid.cells, max_memory)
    nodes = grid.nodes()
    blocks = [CPWLNetwork(grid, nodal_values(a, b, nodes)) for a, b in itertools.pairwise(times)]
    return ReLUResNet(blocks, times, box=grid.box)


def averaged_kuhn_resnet(field: VectorField, times, box, cells: int,
                         max_memory: float = DEFAULT_MAX_MEMORY) -> ReLUResNet:
    """The ReLU ResNet of thm-main's form on a partition and box of one's choosing, certified or
    not: ``R_k = I_n F_k``, the Kuhn-interpolant networks of ``F_k(z) = int_{I_k} f(s, z) ds`` on
    ``box`` with ``cells`` cells per axis (:func:`build_certified_resnet` does this for a plan)."""
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    times = as_times(times, "times")
    if times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must lie in [0, {field.horizon}]")
    return _kuhn_resnet(field, times, as_box(box, "box", dim=field.dim), cells, field.average,
                        max_memory)


def build_certified_resnet(field: VectorField, plan,
                           max_memory: float = DEFAULT_MAX_MEMORY) -> ReLUResNet:
    """The ReLU ResNet of thm-main for a certified plan (:func:`~resnet_flows.plan.certify`,
    :func:`~resnet_flows.plan.plan_flow_resnet`): ``R_k = I_n F_k`` on the plan's partition and
    block box with ``plan.cells`` cells per axis; its error is at most ``plan.bound``. Refuses
    (:class:`~resnet_flows.limits.PlanTooLarge`) a plan whose estimated memory exceeds
    ``max_memory`` bytes before building anything."""
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    if not isinstance(plan, Plan) or isinstance(plan, PointPlan):
        raise ValueError(f"plan must be a Plan (from plan_flow_resnet or certify; a PointPlan "
                         f"is built by build_point_resnet), got {type(plan).__name__}")
    if plan.field is not field:
        raise ValueError("plan was made for another field")
    return _kuhn_resnet(field, plan.times, plan.block_box, plan.cells, field.average,
                        max_memory)


def build_point_resnet(field: VectorField, times, box, cells: int,
                       max_memory: float = DEFAULT_MAX_MEMORY) -> ReLUResNet:
    """Point-evaluation blocks ``R_k = I_n (h_k f(t_k, .))`` as Kuhn networks (thm-complexity)."""
    times = as_times(times, "times")
    return _kuhn_resnet(field, times, box, cells, lambda a, b, z: (b - a) * field(a, z),
                        max_memory)


def kuhn_resnet(field: VectorField, times, box, cells: int, nodal_values,
                max_memory: float = DEFAULT_MAX_MEMORY) -> ReLUResNet:
    """ReLU ResNet whose block ``k`` is the Kuhn-interpolant network (thm-relu-approx) of the
    nodal values ``nodal_values(t_k, t_{k+1}, nodes)`` on ``box`` with ``cells`` cells per axis;
    every block shares the grid's hidden layers. The assembly behind the averaged, point-Euler
    and flow-map constructions (:mod:`resnet_flows.flowmap`)."""
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    if not callable(nodal_values):
        raise ValueError("nodal_values must be callable (a, b, nodes) -> values")
    times = as_times(times, "times")
    return _kuhn_resnet(field, times, as_box(box, "box", dim=field.dim), cells, nodal_values,
                        max_memory)
