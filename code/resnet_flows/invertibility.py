"""Invertible ResNets (thm-invertible): fixed-point inversion with an a-posteriori error bound,
contractive ReLU blocks, their Jacobians, and diffeomorphic matching of landmarks (chapter 8).

A ResNet whose blocks satisfy ``Lip R_k <= q_k < 1`` is invertible; :func:`invert` computes the
inverse block by block by Banach's fixed-point iteration. The matching networks
(:func:`contractive_resnet`, :func:`train_matching`) are *learned*: training certifies nothing,
the bounds on ``Lip R_k`` hold by construction of :class:`ContractiveBlock`.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import torch
from torch import nn

from . import bounds
from ._validate import as_points, nonnegative_array, nonnegative_float, positive_float, positive_int
from .baselines import TrainingResult, adam_schedule
from .blocks import numpy_evaluator
from .resnet import ReLUResNet, like_input, to_numpy

__all__ = ["ContractiveBlock", "block_jacobian_norms", "block_lipschitz_bound",
           "circle_to_star_landmarks", "contractive_resnet", "fixed_point_inverse", "invert",
           "invert_with_bound", "jacobian_determinants", "train_matching"]


def fixed_point_inverse(block, y, iterations: int, return_iterates: bool = False):
    """Solve ``z + R(z) = y`` by ``z_{j+1} = y - R(z_j)``, ``z_0 = y`` (thm-invertible).

    Computed in numpy (the block's numpy evaluator); the result has the kind of ``y``."""
    iterations = positive_int(iterations, "iterations", minimum=0)
    y, was_tensor = to_numpy(y)
    evaluate = numpy_evaluator(block)
    z = y.copy()
    iterates = [z]
    for _ in range(iterations):
        z = y - evaluate(z)
        iterates.append(z)
    if return_iterates:
        return like_input(z, was_tensor), like_input(np.stack(iterates), was_tensor)
    return like_input(z, was_tensor)


def invert(resnet: ReLUResNet, y, iterations: int = 60) -> np.ndarray:
    """Invert the ResNet block by block, last block first, by fixed-point iteration.

    Converges when every block is a contraction (``Lip R_k < 1``, thm-invertible); the box check
    is not applied to the intermediate iterates.
    """
    z, was_tensor = to_numpy(y)
    for block in reversed(resnet.blocks):
        z = fixed_point_inverse(block, z, iterations)
    return like_input(z, was_tensor)


def invert_with_bound(resnet: ReLUResNet, y, iterations: int, q, roundoff=None):
    """:func:`invert` together with an a-posteriori bound on its error (thm-invertible).

    Returns ``(z, bound)``, both of the kind of ``y``: ``z`` is exactly what
    ``invert(resnet, y, iterations)`` returns and
    ``|z_i - Psi^{-1}(y_i)| <= bound_i``, with ``Psi`` the ResNet and ``q[k] >= Lip R_k``
    (``< 1``). Per block, started at ``z_0 = w`` (the computed preimage so far), Banach's
    estimate gives ``|z_j - z*| <= q^j / (1 - q) |z_1 - z_0|``; each computed step may carry a
    round-off error ``rho`` (``roundoff``, per point; default 64 ulps of ``1 + max |y|``), which
    adds at most ``rho / (1 - q)`` to the iteration and ``rho`` to ``|z_1 - z_0|``, so
    ``eta_k = (q^j (|z_1 - z_0| + rho) + rho) / (1 - q)``; the blocks' errors are accumulated by
    :func:`~resnet_flows.bounds.blockwise_inversion_error`.
    """
    iterations = positive_int(iterations, "iterations")
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (resnet.num_blocks,):
        raise ValueError(f"q must have one entry per block ({resnet.num_blocks}), got {q.shape}")
    z, was_tensor = to_numpy(y)
    if roundoff is None:
        roundoff = 64 * 2.0**-53 * (1.0 + np.abs(z).max(initial=0.0))
    rho = nonnegative_array(roundoff, "roundoff")
    etas = []
    for k in range(resnet.num_blocks - 1, -1, -1):
        z, iterates = fixed_point_inverse(resnet.blocks[k], z, iterations, return_iterates=True)
        first = np.linalg.norm(iterates[1] - iterates[0], axis=-1)
        etas.append(bounds.fixed_point_error(q[k], iterations, first + rho) + rho / (1.0 - q[k]))
    bound = bounds.blockwise_inversion_error(q, np.stack(etas[::-1]))
    return like_input(z, was_tensor), like_input(bound, was_tensor)


# -- diffeomorphic matching with contractive blocks (thm-invertible) ----------------------------


class ContractiveBlock(nn.Module):
    """A ReLU block ``R(z) = W_L relu(... relu(W_1 z + b_1) ...) + b_L`` with ``Lip R < 1``
    by construction (thm-invertible), float64.

    The trained parameters are raw matrices ``V_l``, biases ``b_l`` and a scalar ``a``; the
    block uses ``W_l = V_l / ||V_l||_2`` (exact spectral norm, ``torch.linalg.matrix_norm``
    with ``ord=2``) for ``l < L`` and ``W_L = q V_L / ||V_L||_2`` with
    ``q = lip_max * sigmoid(a)``. Since ``relu`` is 1-Lipschitz,
    ``Lip R <= prod_l ||W_l||_2 = q < lip_max``; :func:`block_lipschitz_bound` recomputes the
    product from the weights actually used. ``hidden_layers`` ReLU layers of ``width`` units.
    """

    relu_network = True

    def __init__(self, dim: int, width: int = 32, hidden_layers: int = 2, lip_max: float = 0.9,
                 initial_lip: float = 0.1, seed: int = 0):
        super().__init__()
        self.dim = positive_int(dim, "dim")
        width = positive_int(width, "width")
        hidden_layers = positive_int(hidden_layers, "hidden_layers")
        self.lip_max = positive_float(lip_max, "lip_max")
        if self.lip_max >= 1:
            raise ValueError(f"lip_max must be < 1, got {lip_max}")
        initial_lip = positive_float(initial_lip, "initial_lip")
        if initial_lip >= self.lip_max:
            raise ValueError(f"initial_lip must be < lip_max = {self.lip_max}, got {initial_lip}")
        generator = torch.Generator().manual_seed(seed)
        sizes = [self.dim] + [width] * hidden_layers + [self.dim]
        self.raw_weights = nn.ParameterList(
            nn.Parameter(torch.randn(n_out, n_in, generator=generator, dtype=torch.float64)
                         / n_in**0.5) for n_in, n_out in itertools.pairwise(sizes))
        self.biases = nn.ParameterList(
            nn.Parameter(0.5 * torch.randn(n_out, generator=generator, dtype=torch.float64))
            for n_out in sizes[1:])
        with torch.no_grad():
            self.biases[-1].zero_()
        ratio = initial_lip / self.lip_max
        self.lip_logit = nn.Parameter(torch.tensor(float(np.log(ratio / (1 - ratio))),
                                                   dtype=torch.float64))

    @property
    def lip_scale(self) -> torch.Tensor:
        """``q = lip_max * sigmoid(a)``, the designed bound on ``Lip R``."""
        return self.lip_max * torch.sigmoid(self.lip_logit)

    def weights(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The weights ``(W_l, b_l)`` the block applies (normalised, last one scaled by ``q``)."""
        out = []
        for l, (v, b) in enumerate(zip(self.raw_weights, self.biases, strict=True)):
            w = v / torch.linalg.matrix_norm(v, ord=2)
            if l == len(self.raw_weights) - 1:
                w = self.lip_scale * w
            out.append((w, b))
        return out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        layers = self.weights()
        for w, b in layers[:-1]:
            z = torch.relu(z @ w.T + b)
        w, b = layers[-1]
        return z @ w.T + b


def block_lipschitz_bound(block: ContractiveBlock) -> float:
    """``prod_l ||W_l||_2``, computed exactly (``torch.linalg.matrix_norm(ord=2)``, an SVD) from
    the weights the block applies: a bound on ``Lip R`` because ``relu`` is 1-Lipschitz
    (thm-invertible)."""
    if not hasattr(block, "weights"):
        raise ValueError(f"block must have weights(), got {type(block).__name__}")
    with torch.no_grad():
        norms = [float(torch.linalg.matrix_norm(w, ord=2)) for w, _ in block.weights()]
    return float(np.prod(norms))


def contractive_resnet(dim: int = 2, blocks: int = 12, width: int = 32, hidden_layers: int = 2,
                       lip_max: float = 0.9, initial_lip: float = 0.1, seed: int = 0):
    """A :class:`~resnet_flows.resnet.ReLUResNet` of ``blocks`` :class:`ContractiveBlock` s on
    the uniform partition of ``[0, 1]``; block ``k`` is seeded with ``seed * 1000 + k``."""
    blocks = positive_int(blocks, "blocks")
    made = [ContractiveBlock(dim, width, hidden_layers, lip_max, initial_lip, seed * 1000 + k)
            for k in range(blocks)]
    return ReLUResNet(made, np.linspace(0.0, 1.0, blocks + 1))


def circle_to_star_landmarks(n: int, arms: int = 5, amplitude: float = 0.3,
                             radius: float = 1.0, phase: float = 0.0):
    """``n`` landmark pairs: ``radius (cos th, sin th)`` on the circle and
    ``radius (1 + amplitude cos(arms (th - phase))) (cos th, sin th)`` on the star-shaped curve,
    at ``th = 2 pi i / n``. Returns ``(source, target)``, each ``(n, 2)``."""
    n = positive_int(n, "n")
    arms = positive_int(arms, "arms")
    amplitude = nonnegative_float(amplitude, "amplitude")
    if amplitude >= 1:
        raise ValueError(f"amplitude must be < 1 (a star-shaped curve), got {amplitude}")
    radius = positive_float(radius, "radius")
    theta = 2 * np.pi * np.arange(n) / n
    unit = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    star = (1 + amplitude * np.cos(arms * (theta - float(phase))))[:, None]
    return radius * unit, radius * star * unit


def train_matching(resnet, source, target, regular_points, steps: int, lr: float = 5e-3,
                   regularisation: float = 1e-3, final_lr_factor: float = 0.05,
                   progress: bool = False, desc: str = "matching") -> TrainingResult:
    """Fit ``resnet`` (blocks ``R_k``, ``N`` of them) so that it carries ``source`` onto
    ``target`` (matched landmarks), by Adam (float64, cosine learning-rate decay).

    Loss: ``mean_i |Psi(source_i) - target_i|^2
    + regularisation * N sum_k mean_x |R_k(x_k)|^2``, the second term over the trajectories of
    ``regular_points`` (a grid of the region to deform): the discrete kinetic energy
    ``sum_k |x_{k+1} - x_k|^2 / h`` with ``h = 1 / N``, which favours short, smooth paths as in
    diffeomorphic matching. Full batch, deterministic given the initial weights;
    ``progress=True`` shows a ``tqdm`` bar.
    """
    steps = positive_int(steps, "steps")
    lr = positive_float(lr, "lr")
    regularisation = nonnegative_float(regularisation, "regularisation")
    final_lr_factor = positive_float(final_lr_factor, "final_lr_factor")
    source = torch.as_tensor(as_points(source, np.shape(source)[-1], "source"))
    target = torch.as_tensor(as_points(target, source.shape[1], "target"))
    if target.shape != source.shape:
        raise ValueError(f"target must have the shape of source {tuple(source.shape)}, "
                         f"got {tuple(target.shape)}")
    regular = torch.as_tensor(as_points(regular_points, source.shape[1], "regular_points"))
    blocks = list(resnet.blocks)
    n_src = source.shape[0]
    optimiser, schedule, bar = adam_schedule(resnet.parameters(), lr, steps, final_lr_factor, desc, progress)
    losses = np.empty(steps)
    start = time.perf_counter()
    for step in bar:
        optimiser.zero_grad()
        x = torch.cat([source, regular])
        energy = x.new_zeros(())
        for block in blocks:
            r = block(x)
            energy = energy + (r[n_src:] ** 2).sum(-1).mean()
            x = x + r
        loss = ((x[:n_src] - target) ** 2).sum(-1).mean() + regularisation * len(blocks) * energy
        loss.backward()
        optimiser.step()
        schedule.step()
        losses[step] = loss.item()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{losses[step]:.2e}")
    return TrainingResult(time.perf_counter() - start, losses)


def jacobian_determinants(model: nn.Module, points, chunk: int = 4096) -> np.ndarray:
    """``det D model(x)`` at every row of ``points`` (``(n, d)``), by ``torch.func.jacrev``
    vectorised with ``torch.func.vmap``. For ReLU networks this is the derivative of the affine
    piece selected by autograd's ``relu'(0) = 0`` (thm-invertible)."""
    from torch.func import jacrev, vmap

    points = np.asarray(points, dtype=np.float64)
    points = as_points(points, points.shape[-1] if points.ndim == 2 else 0, "points")
    chunk = positive_int(chunk, "chunk")
    jac = vmap(jacrev(lambda p: model(p[None])[0]))
    out = []
    with torch.no_grad():
        for start in range(0, points.shape[0], chunk):
            part = torch.as_tensor(points[start:start + chunk])
            out.append(torch.linalg.det(jac(part)).numpy())
    return np.concatenate(out) if out else np.empty(0)


def block_jacobian_norms(resnet, points, chunk: int = 4096) -> np.ndarray:
    """``||DR_k(x_k)||_2`` for every block ``k`` along the trajectories ``x_k`` of ``points``:
    shape ``(N, n)`` (thm-invertible: at most ``Lip R_k``)."""
    from torch.func import jacrev, vmap

    points = np.asarray(points, dtype=np.float64)
    points = as_points(points, points.shape[-1] if points.ndim == 2 else 0, "points")
    chunk = positive_int(chunk, "chunk")
    norms = []
    with torch.no_grad():
        x = torch.as_tensor(points)
        for block in resnet.blocks:
            jac = vmap(jacrev(lambda p, b=block: b(p[None])[0]))
            parts = [torch.linalg.matrix_norm(jac(x[s:s + chunk]), ord=2)
                     for s in range(0, x.shape[0], chunk)]
            norms.append(torch.cat(parts).numpy())
            x = x + block(x)
    return np.stack(norms)
