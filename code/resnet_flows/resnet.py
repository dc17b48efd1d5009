"""ReLU ResNets ``x_{k+1} = x_k + R_k(x_k)`` on a time partition, their constructions and inverse.

``X(t, x) = x_k + (t - t_k) / (t_{k+1} - t_k) (x_{k+1} - x_k)`` on ``I_k`` is the space-time
interpolant compared with the flow in thm-main.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._validate import (
    as_box,
    as_points,
    as_times,
    inside_box,
    nonnegative_array,
    nonnegative_float,
    positive_int,
)
from .fields import NeuralODEField, VectorField
from .relu import CPWLNetwork, KuhnGrid, count_parameters

__all__ = [
    "AveragedBlock",
    "FieldBlock",
    "PerturbedBlock",
    "ReLUResNet",
    "StateOutsideBox",
    "averaged_euler",
    "averaged_kuhn_resnet",
    "build_certified_resnet",
    "build_point_resnet",
    "euler_resnet",
    "exact_averaged_euler_resnet",
    "fixed_point_inverse",
    "invert",
    "random_unit_field",
]


class StateOutsideBox(ValueError):
    """A ResNet state left the box on which its blocks approximate the field."""


class FieldBlock(nn.Module):
    """``z -> h f(t, z)`` evaluated directly: an exact Euler block that is not a ReLU network."""

    def __init__(self, field: VectorField, t: float, step: float):
        super().__init__()
        self.field, self.t, self.step = field, float(t), float(step)
        field(self.t, np.zeros((1, field.dim)))  # fail at construction if f(t, .) is not finite

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.step * self.field(self.t, x.detach().cpu().numpy()))

    def fast(self, x) -> np.ndarray:
        return self.step * self.field(self.t, x)

    def parameter_counts(self) -> tuple[int, int]:
        return 0, 0


class AveragedBlock(nn.Module):
    """``z -> F_k(z) = int_a^b f(s, z) ds``, the exact averaged field of one step
    (thm-averaged-euler): ``|F_k| <= M_k = int_a^b m``, ``Lip F_k <= Lambda_k = int_a^b L``.

    Not a ReLU network; the reference block against which thm-stability measures ReLU blocks.
    """

    def __init__(self, field: VectorField, a: float, b: float):
        super().__init__()
        if not isinstance(field, VectorField):
            raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
        a, b = float(a), float(b)
        if not (0.0 <= a < b <= field.horizon):
            raise ValueError(f"need 0 <= a < b <= {field.horizon}, got a={a}, b={b}")
        self.field, self.a, self.b, self.dim = field, a, b, field.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.fast(x.detach().cpu().numpy()))

    def fast(self, x) -> np.ndarray:
        return self.field.average(self.a, self.b, x)

    def parameter_counts(self) -> tuple[int, int]:
        return 0, 0


class PerturbedBlock(nn.Module):
    """``z -> R(z) + size * u(z)`` with ``|u(z)| <= 1``: a block whose distance to ``R`` is at
    most ``size`` everywhere, the hypothesis ``|R_k - F_k| <= delta_k`` of thm-stability.

    ``base`` is a block with a ``fast`` evaluator (e.g. :class:`AveragedBlock`), ``direction`` a
    numpy callable ``u`` of points ``(n, d)``; ``|u| <= 1`` is checked on every evaluation.
    """

    def __init__(self, base: nn.Module, size: float, direction):
        super().__init__()
        if not hasattr(base, "fast"):
            raise ValueError("base must be a block with a fast evaluator")
        if not callable(direction):
            raise ValueError(f"direction must be callable u(z), got {type(direction).__name__}")
        self.base, self.direction = base, direction
        self.size = nonnegative_float(size, "size")
        if hasattr(base, "dim"):
            self.dim = base.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.fast(x.detach().cpu().numpy()))

    def fast(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        u = np.asarray(self.direction(x), dtype=np.float64)
        if u.shape != x.shape:
            raise ValueError(f"direction returned shape {u.shape}, expected {x.shape}")
        if np.any(np.linalg.norm(u, axis=-1) > 1.0 + 1e-12):
            raise ValueError("direction must satisfy |u(z)| <= 1")
        return self.base.fast(x) + self.size * u

    def parameter_counts(self) -> tuple[int, int]:
        return 0, 0


def random_unit_field(dim: int, seed: int = 0, frequency: float = 1.0):
    """A smooth field ``u(z) = sin(W z + b) / sqrt(d)`` (componentwise sine) with ``|u| <= 1``
    and ``Lip u <= ||W|| / sqrt(d)``; ``W`` has i.i.d. normal entries times ``frequency``, ``b``
    uniform phases. A known bounded Lipschitz perturbation direction for thm-stability.

    Returns ``(u, lip)``: the numpy callable of points ``(n, d)`` and its Lipschitz bound.
    """
    dim = positive_int(dim, "dim")
    frequency = nonnegative_float(frequency, "frequency")
    rng = np.random.default_rng(seed)
    w = frequency * rng.standard_normal((dim, dim))
    b = rng.uniform(0.0, 2.0 * np.pi, dim)
    scale = 1.0 / np.sqrt(dim)

    def u(z):
        return scale * np.sin(np.asarray(z, dtype=np.float64) @ w.T + b)

    return u, float(np.linalg.norm(w, 2)) * scale


def _neural_block(field: NeuralODEField, t: float, step: float) -> nn.Sequential:
    a, w, b = field.weights(t)
    hidden = nn.Linear(field.dim, field.width, dtype=torch.float64)
    out = nn.Linear(field.width, field.dim, bias=False, dtype=torch.float64)
    with torch.no_grad():
        hidden.weight.copy_(torch.as_tensor(w))
        hidden.bias.copy_(torch.as_tensor(b))
        out.weight.copy_(torch.as_tensor(step * a))
    return nn.Sequential(hidden, nn.ReLU(), out)


class ReLUResNet(nn.Module):
    """``N`` residual blocks on the partition ``times`` (``N + 1`` increasing times).

    With ``box`` given, every state must stay inside it (the blocks approximate the field only
    there; outside, the hat network silently returns zero): leaving raises :class:`StateOutsideBox`.
    """

    def __init__(self, blocks: Sequence[nn.Module], times, box=None):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.times = as_times(times, "times")
        if self.times.size != len(self.blocks) + 1:
            raise ValueError(f"times must have len(blocks) + 1 = {len(self.blocks) + 1} entries, "
                             f"got {self.times.size}")
        self.box = None if box is None else as_box(box, "box")

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    def _check_state(self, x: np.ndarray, k: int):
        if self.box is not None and not np.all(inside_box(x, *self.box)):
            where = "the initial points" if k == 0 else f"the state after block {k}"
            raise StateOutsideBox(f"{where} left the block box [{self.box[0]}, {self.box[1]}]")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for k, block in enumerate(self.blocks):
            if self.box is not None:
                self._check_state(x.detach().cpu().numpy(), k)
            x = x + block(x)
        if self.box is not None:
            self._check_state(x.detach().cpu().numpy(), self.num_blocks)
        return x

    def _can_fast(self) -> bool:
        return all(hasattr(block, "fast") for block in self.blocks)

    def trajectory(self, x, fast: bool | None = None):
        """States ``(x_0, ..., x_N)``, shape ``(N + 1, n, d)``; numpy in, numpy out.

        ``fast`` (default: whenever every block has one) uses the blocks' simplex-location
        evaluators, which compute the same functions as the networks.
        """
        as_tensor = isinstance(x, torch.Tensor)
        fast = self._can_fast() and not as_tensor if fast is None else fast
        if fast and not self._can_fast():
            raise ValueError("fast=True needs blocks with a fast evaluator")
        if as_tensor:
            states = [x]
            for k, block in enumerate(self.blocks):
                self._check_state(states[-1].detach().cpu().numpy(), k)
                states.append(states[-1] + block(states[-1]))
            self._check_state(states[-1].detach().cpu().numpy(), self.num_blocks)
            return torch.stack(states)
        dim = self.blocks[0].dim if hasattr(self.blocks[0], "dim") else None
        x = np.asarray(x, dtype=np.float64) if dim is None else as_points(x, dim)
        states = [x]
        with torch.no_grad():
            for k, block in enumerate(self.blocks):
                self._check_state(states[-1], k)
                if fast:
                    step = block.fast(states[-1])
                else:
                    step = block(torch.as_tensor(states[-1])).numpy()
                states.append(states[-1] + step)
        self._check_state(states[-1], self.num_blocks)
        return np.stack(states)

    def interpolate(self, t, x, fast: bool | None = None, trajectory: np.ndarray | None = None):
        """The space-time interpolant ``X(t, x)`` at times ``t``: shape ``(len(t), n, d)``."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if t.ndim != 1 or np.any(t < self.times[0]) or np.any(t > self.times[-1]):
            raise ValueError(f"t must lie in [{self.times[0]}, {self.times[-1]}]")
        states = self.trajectory(x, fast=fast) if trajectory is None else trajectory
        k = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, self.num_blocks - 1)
        theta = (t - self.times[k]) / (self.times[k + 1] - self.times[k])
        return (1 - theta)[:, None, None] * states[k] + theta[:, None, None] * states[k + 1]

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
        blocks = [_neural_block(field, t, h) for t, h in zip(times[:-1], steps)]
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
    states = [as_points(x0, field.dim, "x0")]
    for a, b in itertools.pairwise(times):
        states.append(states[-1] + field.average(a, b, states[-1]))
    return np.stack(states)


def exact_averaged_euler_resnet(field: VectorField, times, box=None) -> ReLUResNet:
    """The averaged Euler scheme as a residual network with the exact averaged fields as blocks,
    :class:`AveragedBlock` ``F_k`` (thm-averaged-euler); not a ReLU network. Its ``trajectory``
    equals :func:`averaged_euler`."""
    times = as_times(times, "times")
    if times.size < 2 or times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must hold >= 2 increasing times in [0, {field.horizon}]")
    blocks = [AveragedBlock(field, a, b) for a, b in itertools.pairwise(times)]
    return ReLUResNet(blocks, times, box=box)


def _kuhn_resnet(field: VectorField, times, box, cells, nodal_values) -> ReLUResNet:
    grid = KuhnGrid(box, positive_int(cells, "cells"))
    if grid.dim != field.dim:
        raise ValueError(f"box has dimension {grid.dim}, the field {field.dim}")
    nodes = grid.nodes()
    blocks = [CPWLNetwork(grid, nodal_values(a, b, nodes)) for a, b in itertools.pairwise(times)]
    return ReLUResNet(blocks, times, box=grid.box)


def averaged_kuhn_resnet(field: VectorField, times, box, cells: int) -> ReLUResNet:
    """The ReLU ResNet of thm-main's form on a partition and box of one's choosing, certified or
    not: ``R_k = I_n F_k``, the Kuhn-interpolant networks of ``F_k(z) = int_{I_k} f(s, z) ds`` on
    ``box`` with ``cells`` cells per axis (:func:`build_certified_resnet` does this for a plan)."""
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    times = as_times(times, "times")
    if times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must lie in [0, {field.horizon}]")
    return _kuhn_resnet(field, times, as_box(box, "box", dim=field.dim), cells, field.average)


def build_certified_resnet(field: VectorField, plan) -> ReLUResNet:
    """The ReLU ResNet of thm-main for a certified plan (:func:`~resnet_flows.plan.certify`,
    :func:`~resnet_flows.plan.plan_flow_resnet`): ``R_k = I_n F_k`` on the plan's partition and
    block box with ``plan.cells`` cells per axis; its error is at most ``plan.bound``."""
    if plan.field is not field:
        raise ValueError("plan was made for another field")
    return _kuhn_resnet(field, plan.times, plan.block_box, plan.cells, field.average)


def build_point_resnet(field: VectorField, times, box, cells: int) -> ReLUResNet:
    """Point-evaluation blocks ``R_k = I_n (h_k f(t_k, .))`` as Kuhn networks (thm-complexity)."""
    times = as_times(times, "times")
    return _kuhn_resnet(field, times, box, cells, lambda a, b, z: (b - a) * field(a, z))


def fixed_point_inverse(block, y, iterations: int, return_iterates: bool = False):
    """Solve ``z + R(z) = y`` by ``z_{j+1} = y - R(z_j)``, ``z_0 = y`` (thm-invertible)."""
    iterations = positive_int(iterations, "iterations", minimum=0)
    y = np.asarray(y, dtype=np.float64)
    evaluate = block.fast if hasattr(block, "fast") else (
        lambda z: block(torch.as_tensor(z)).detach().numpy())
    z = y.copy()
    iterates = [z]
    for _ in range(iterations):
        z = y - evaluate(z)
        iterates.append(z)
    return (z, np.stack(iterates)) if return_iterates else z


def invert(resnet: ReLUResNet, y, iterations: int = 60) -> np.ndarray:
    """Invert the ResNet block by block, last block first, by fixed-point iteration.

    Converges when every block is a contraction (``Lip R_k < 1``, thm-invertible); the box check
    is not applied to the intermediate iterates.
    """
    z = np.asarray(y, dtype=np.float64)
    for block in reversed(resnet.blocks):
        z = fixed_point_inverse(block, z, iterations)
    return z


def invert_with_bound(resnet: ReLUResNet, y, iterations: int, q, roundoff=None):
    """:func:`invert` together with an a-posteriori bound on its error (thm-invertible).

    Returns ``(z, bound)``: ``z`` is exactly what ``invert(resnet, y, iterations)`` returns and
    ``|z_i - Psi^{-1}(y_i)| <= bound_i``, with ``Psi`` the ResNet and ``q[k] >= Lip R_k``
    (``< 1``). Per block, started at ``z_0 = w`` (the computed preimage so far), Banach's
    estimate gives ``|z_j - z*| <= q^j / (1 - q) |z_1 - z_0|``; each computed step may carry a
    round-off error ``rho`` (``roundoff``, per point; default 64 ulps of ``1 + max |y|``), which
    adds at most ``rho / (1 - q)`` to the iteration and ``rho`` to ``|z_1 - z_0|``, so
    ``eta_k = (q^j (|z_1 - z_0| + rho) + rho) / (1 - q)``; the blocks' errors are accumulated by
    :func:`~resnet_flows.bounds.blockwise_inversion_error`.
    """
    from . import bounds

    iterations = positive_int(iterations, "iterations")
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (resnet.num_blocks,):
        raise ValueError(f"q must have one entry per block ({resnet.num_blocks}), got {q.shape}")
    z = np.asarray(y, dtype=np.float64)
    if roundoff is None:
        roundoff = 64 * 2.0**-53 * (1.0 + np.abs(z).max(initial=0.0))
    rho = nonnegative_array(roundoff, "roundoff")
    etas = []
    for k in range(resnet.num_blocks - 1, -1, -1):
        z, iterates = fixed_point_inverse(resnet.blocks[k], z, iterations, return_iterates=True)
        first = np.linalg.norm(iterates[1] - iterates[0], axis=-1)
        etas.append((q[k] ** iterations * (first + rho) + rho) / (1.0 - q[k]))
    bound = bounds.blockwise_inversion_error(q, np.stack(etas[::-1]))
    return z, bound
