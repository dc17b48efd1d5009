"""Sound local Lipschitz bounds for residual blocks made of affine maps and ReLU (thm-certificate).

A block ``z -> z + R(z)`` with ``R = L_m o relu o L_{m-1} o ... o relu o L_1`` (``L_i(h) = W_i h
+ b_i``) is read off its weights. On a ball ``B(c, r)`` every hidden unit whose pre-activation
range (centre value plus a bound on its deviation) avoids 0 is *stable*: its ReLU slope is fixed
there. The Jacobian of the block on the ball then lies in an interval matrix ``M +- D`` (unstable
slopes ``1/2 +- 1/2``, products by midpoint-radius arithmetic), and the block is
``||M||_2 + ||D||_2``-Lipschitz on the ball: along a segment in the ball the difference quotient
is an average of Jacobians in the interval matrix, and ``|u^T (J - M) v| <= |u|^T D |v|``.

:func:`relu_blocks` turns the book's ReLU ResNets, chapter 9's ``TrainableResNet`` and plain
lists of ``nn.Sequential(Linear, ReLU, ..., Linear)`` blocks into :class:`MLPBlock` or
:class:`KuhnBlock` objects that evaluate the block in numpy and bound its Lipschitz constant;
anything else is refused with a ``ValueError`` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._validate import as_times
from .kuhn import cpwl_lipschitz
from .relu import CPWLNetwork

__all__ = ["KuhnBlock", "MLPBlock", "relu_blocks", "spectral_norms"]
__bounds__ = ("spectral_norms", "MLPBlock.jacobian[1]", "MLPBlock.lipschitz", "KuhnBlock.lipschitz")


def spectral_norms(m: np.ndarray) -> np.ndarray:
    """``||m_i||_2`` for a stack ``(n, d, d)``; closed form for ``d = 2`` (the largest singular
    value ``sqrt((F + sqrt(F^2 - 4 det^2)) / 2)``, ``F`` the squared Frobenius norm)."""
    if m.shape[-2:] == (2, 2):
        frob = np.einsum("nij,nij->n", m, m)
        det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
        return np.sqrt(0.5 * (frob + np.sqrt(np.maximum(frob * frob - 4 * det * det, 0.0))))
    return np.linalg.norm(m, ord=2, axis=(-2, -1))


class MLPBlock:
    """``R(z) = L_m(relu(... relu(L_1 z)))`` from its dense layers ``[(W_1, b_1), ...]``."""

    def __init__(self, layers):
        self.layers = [(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
                       for w, b in layers]
        self.dim = self.layers[0][0].shape[1]
        if self.layers[-1][0].shape[0] != self.dim:
            raise ValueError(f"net: a block maps R^{self.dim} to "
                             f"R^{self.layers[-1][0].shape[0]}, not to itself")
        for (w, _), (w_next, _) in zip(self.layers, self.layers[1:]):
            if w_next.shape[1] != w.shape[0]:
                raise ValueError("net: consecutive layers of a block do not fit together")
        self.box = None

    def __call__(self, z: np.ndarray) -> np.ndarray:
        h = z
        for w, b in self.layers[:-1]:
            h = np.maximum(h @ w.T + b, 0.0)
        w, b = self.layers[-1]
        return h @ w.T + b

    def jacobian(self, centres: np.ndarray, radii: np.ndarray):
        """``(M, D)``, shape ``(n, d, d)`` each: on the ball ``B(c, r)`` every (Clarke) Jacobian
        of ``z -> z + R(z)`` lies in ``M +- D`` (entrywise)."""
        n, d = centres.shape
        h = centres
        mid, rad = None, None  # None: the identity, exactly
        for w, b in self.layers[:-1]:
            pre = h @ w.T + b
            if mid is None:  # first layer: the pre-activation Jacobian is w itself
                p_mid, p_rad = w[None], 0.0
                deviation = np.linalg.norm(w, axis=1)[None, :] * radii[:, None]
            else:
                p_mid, p_rad = np.matmul(w, mid), np.matmul(np.abs(w), rad)
                # |p(z) - p(c)| <= (|row of M| + |row of D|) |z - c| on the ball
                deviation = (np.linalg.norm(p_mid, axis=2)
                             + np.linalg.norm(p_rad, axis=2)) * radii[:, None]
            unstable = np.abs(pre) <= deviation
            s_mid = np.where(unstable, 0.5, (pre > 0).astype(np.float64))[:, :, None]
            s_rad = np.where(unstable, 0.5, 0.0)[:, :, None]
            mid, rad = s_mid * p_mid, s_mid * p_rad + s_rad * (np.abs(p_mid) + p_rad)
            h = np.maximum(pre, 0.0)
        w, _ = self.layers[-1]
        if mid is None:
            return np.broadcast_to(np.eye(d) + w, (n, d, d)), np.zeros((n, d, d))
        return np.eye(d) + np.matmul(w, mid), np.matmul(np.abs(w), rad)

    def lipschitz(self, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
        """``ell(c, r) = ||M||_2 + ||D||_2 >= Lip(z -> z + R(z))`` on each ball ``B(c, r)``."""
        mid, rad = self.jacobian(centres, radii)
        return spectral_norms(mid) + spectral_norms(rad)


class KuhnBlock:
    """A :class:`~resnet_flows.relu.CPWLNetwork` block: on its grid's box the network *is* the
    Kuhn interpolant (thm-relu-approx), evaluated by simplex location, with the exact Lipschitz
    constant ``1 + ...`` bounded by ``||I + J||_2`` over the simplices' Jacobians ``J``. Outside
    the box it is not the interpolant, so the certificate refuses balls that leave it."""

    def __init__(self, network: CPWLNetwork):
        from .kuhn import kuhn_jacobians

        self.network = network
        self.dim = network.dim
        self.box = network.grid.box
        jac = kuhn_jacobians(network.grid, network.values)
        self._lip = float(np.linalg.norm(np.eye(self.dim) + jac, ord=2, axis=(1, 2)).max())
        self.residual_lipschitz = cpwl_lipschitz(network.grid, network.values)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        inside = self.network.grid.contains(z)
        if inside.all():
            return self.network.fast(z)
        out = np.empty_like(z)  # outside the box only the network itself says what it computes
        out[inside] = self.network.fast(z[inside])
        with torch.no_grad():
            out[~inside] = self.network(torch.as_tensor(z[~inside])).numpy()
        return out

    def lipschitz(self, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
        return np.full(centres.shape[0], self._lip)


def _sequential_layers(block: nn.Module, k: int):
    modules = list(block) if isinstance(block, nn.Sequential) else [block]
    layers, expect_linear = [], True
    for module in modules:
        if isinstance(module, nn.Linear):
            if not expect_linear:
                raise ValueError(f"net: block {k} has two Linear layers without a ReLU between")
            bias = (module.bias.detach().double().numpy() if module.bias is not None
                    else np.zeros(module.out_features))
            layers.append((module.weight.detach().double().numpy(), bias))
            expect_linear = False
        elif isinstance(module, nn.ReLU):
            if expect_linear:
                raise ValueError(f"net: block {k} has a ReLU not preceded by a Linear layer")
            expect_linear = True
        else:
            raise ValueError(f"net: block {k} contains {type(module).__name__}; only Linear and "
                             "ReLU layers (nn.Sequential) or Kuhn networks can be certified")
    if not layers or expect_linear:
        raise ValueError(f"net: block {k} must start and end with a Linear layer")
    return layers


def relu_blocks(net, times=None) -> tuple[list, np.ndarray]:
    """``(blocks, times)`` for a ReLU ResNet: a ``ReLUResNet`` (Kuhn or ``nn.Sequential`` blocks),
    a ``TrainableResNet`` (chapter 9), or a sequence of ``nn.Module`` blocks with ``times``."""
    from .baselines import TrainableResNet
    from .resnet import ReLUResNet

    if isinstance(net, TrainableResNet):
        blocks = [MLPBlock([(net.w_in[k].detach().numpy(), net.b_in[k, 0].detach().numpy()),
                            (net.w_out[k].detach().numpy(), net.b_out[k, 0].detach().numpy())])
                  for k in range(net.num_blocks)]
        own_times = net.times
    elif isinstance(net, ReLUResNet):
        blocks = [KuhnBlock(b) if isinstance(b, CPWLNetwork) else MLPBlock(_sequential_layers(b, k))
                  for k, b in enumerate(net.blocks)]
        own_times = net.times
    elif isinstance(net, Sequence) and all(isinstance(b, nn.Module) for b in net) and len(net):
        if times is None:
            raise ValueError("times must be given for a list of blocks")
        blocks = [KuhnBlock(b) if isinstance(b, CPWLNetwork) else MLPBlock(_sequential_layers(b, k))
                  for k, b in enumerate(net)]
        own_times = None
    else:
        raise ValueError(f"net must be a ReLUResNet, a TrainableResNet or a non-empty list of "
                         f"nn.Module blocks, got {type(net).__name__}")
    if times is None:
        times = own_times
    times = as_times(times, "times")
    if own_times is not None and not np.array_equal(times, own_times):
        raise ValueError("times differ from the network's own times")
    if times.size != len(blocks) + 1:
        raise ValueError(f"times must have len(blocks) + 1 = {len(blocks) + 1} entries, "
                         f"got {times.size}")
    dims = {b.dim for b in blocks}
    if len(dims) != 1:
        raise ValueError(f"net: blocks act on different dimensions {sorted(dims)}")
    return blocks, times
