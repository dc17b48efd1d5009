"""Residual blocks ``R_k`` of a ResNet ``x_{k+1} = x_k + R_k(x_k)`` and what a ResNet needs of them.

Every block is a map ``R : R^d -> R^d`` applied to float64 tensors of shape ``(n, d)``
(:class:`Block`). Blocks that also evaluate ``R`` on numpy arrays directly follow
:class:`FastBlock`; :class:`~resnet_flows.resnet.ReLUResNet` uses that evaluator for large point
sets. Which blocks are ReLU networks (``relu_network``):

- ReLU networks: :class:`~resnet_flows.relu.CPWLNetwork` (the Kuhn interpolant, thm-relu-approx),
  the one-hidden-layer Euler blocks of a neural ODE (prop-resnet-euler) and
  :class:`~resnet_flows.invertibility.ContractiveBlock` (thm-invertible);
- not ReLU networks: :class:`FieldBlock` (``h f(t_k, .)``), :class:`AveragedBlock` (``F_k``) and
  :class:`PerturbedBlock` (``F_k + delta u``), the exact reference blocks against which the
  theorems measure ReLU blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from ._validate import nonnegative_float, positive_int
from .fields import NeuralODEField, VectorField

__all__ = [
    "AveragedBlock",
    "Block",
    "FastBlock",
    "FieldBlock",
    "PerturbedBlock",
    "is_relu_network",
    "neural_euler_block",
    "numpy_evaluator",
    "random_unit_field",
]


@runtime_checkable
class Block(Protocol):
    """What a ResNet needs of every block: ``R`` on float64 tensors ``(n, d) -> (n, d)``."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class FastBlock(Block, Protocol):
    """A block that also evaluates ``R`` on numpy arrays (``fast``, the same function as the
    tensor map up to round-off), knows its dimension, whether it is a ReLU network, and its
    ``(total, nonzero)`` parameter counts (``(0, 0)`` for blocks that are not networks)."""

    dim: int
    relu_network: bool

    def fast(self, x: np.ndarray) -> np.ndarray: ...

    def parameter_counts(self) -> tuple[int, int]: ...


def numpy_evaluator(block) -> Callable[[np.ndarray], np.ndarray]:
    """``R`` as a numpy map: the block's ``fast`` evaluator, else its tensor map without grad."""
    if isinstance(block, FastBlock):
        return block.fast

    def evaluate(z: np.ndarray) -> np.ndarray:
        # detach rather than no_grad: torch's kernels differ by an ulp between the two modes,
        # and the inversion bounds of chapter 8 were measured with grad mode on
        return block(torch.as_tensor(z)).detach().numpy()

    return evaluate


def is_relu_network(block) -> bool:
    """True for blocks that are ReLU networks: a ``relu_network`` flag, or an ``nn.Sequential``
    of ``nn.Linear`` and ``nn.ReLU`` layers only."""
    flag = getattr(block, "relu_network", None)
    if flag is not None:
        return bool(flag)
    return isinstance(block, nn.Sequential) and all(isinstance(m, (nn.Linear, nn.ReLU))
                                                    for m in block)


class _NumpyBlock(nn.Module):
    """A block computed in numpy: the tensor map converts, so it carries no gradient."""

    relu_network = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.fast(x.detach().cpu().numpy()))

    def parameter_counts(self) -> tuple[int, int]:
        return 0, 0


class FieldBlock(_NumpyBlock):
    """``z -> h f(t, z)`` evaluated directly: an exact Euler block (prop-resnet-euler), not a
    ReLU network."""

    def __init__(self, field: VectorField, t: float, step: float):
        super().__init__()
        self.field, self.t, self.step, self.dim = field, float(t), float(step), field.dim
        field(self.t, np.zeros((1, field.dim)))  # fail at construction if f(t, .) is not finite

    def fast(self, x) -> np.ndarray:
        return self.step * self.field(self.t, x)


class AveragedBlock(_NumpyBlock):
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

    def fast(self, x) -> np.ndarray:
        return self.field.average(self.a, self.b, x)


class PerturbedBlock(_NumpyBlock):
    """``z -> R(z) + size * u(z)`` with ``|u(z)| <= 1``: a block whose distance to ``R`` is at
    most ``size`` everywhere, the hypothesis ``|R_k - F_k| <= delta_k`` of thm-stability.
    Not a ReLU network.

    ``base`` is a :class:`FastBlock` (e.g. :class:`AveragedBlock`), ``direction`` a numpy
    callable ``u`` of points ``(n, d)``; ``|u| <= 1`` is checked on every evaluation.
    """

    def __init__(self, base: FastBlock, size: float, direction):
        super().__init__()
        if not isinstance(base, FastBlock):
            raise ValueError("base must be a block with a fast evaluator (a FastBlock)")
        if not callable(direction):
            raise ValueError(f"direction must be callable u(z), got {type(direction).__name__}")
        self.base, self.direction, self.dim = base, direction, base.dim
        self.size = nonnegative_float(size, "size")

    def fast(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        u = np.asarray(self.direction(x), dtype=np.float64)
        if u.shape != x.shape:
            raise ValueError(f"direction returned shape {u.shape}, expected {x.shape}")
        if np.any(np.linalg.norm(u, axis=-1) > 1.0 + 1e-12):
            raise ValueError("direction must satisfy |u(z)| <= 1")
        return self.base.fast(x) + self.size * u


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


def neural_euler_block(field: NeuralODEField, t: float, step: float) -> nn.Sequential:
    """``z -> h A(t) relu(W(t) z + b(t))`` as an exact one-hidden-layer ReLU network
    (prop-resnet-euler)."""
    a, w, b = field.weights(t)
    hidden = nn.Linear(field.dim, field.width, dtype=torch.float64)
    out = nn.Linear(field.width, field.dim, bias=False, dtype=torch.float64)
    with torch.no_grad():
        hidden.weight.copy_(torch.as_tensor(w))
        hidden.bias.copy_(torch.as_tensor(b))
        out.weight.copy_(torch.as_tensor(step * a))
    return nn.Sequential(hidden, nn.ReLU(), out)
