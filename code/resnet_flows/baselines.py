"""Baselines for the certified construction (chapter 9, thm-main-restated): trained models of
flows, the training loop, and a classical ODE solver.

The trained models are *learned from data*, in contrast to the rest of the package, whose
networks are written down with explicit weights. The pieces:

- :func:`sample_trajectories`: initial points ``x`` uniform in a box ``K`` (seeded) and the
  reference flow ``Phi(t_i, x)`` at given times (the training targets);
- :class:`TrainableResNet`: ``x_{k+1} = x_k + R_k(x_k)`` on a partition ``t_0 < ... < t_N`` with
  one-hidden-layer ReLU blocks ``R_k(z) = A_k relu(W_k z + b_k) + c_k`` (float64), whose
  space-time interpolant ``X(t, x)`` is the same object as for the constructed ResNets;
- :class:`NeuralODE`: ``x' = g_theta(t, x)`` with a small MLP taking ``(x, t)`` as input, solved
  by ``torchdiffeq.odeint`` (fixed-step ``rk4`` or adaptive ``dopri5``);
- :func:`train_trajectory_model`: Adam on the mean squared error
  ``mean_{i, j} |Y(t_i, x_j) - Phi(t_i, x_j)|^2`` of a model's states ``Y`` at the data times,
  with fixed seeds and, on request, a progress bar (:func:`adam_schedule`, shared with the
  matching of :mod:`~resnet_flows.invertibility`);
- :func:`solve_ivp_flow`: the classical baseline, ``scipy.integrate.solve_ivp`` at a
  practitioner's tolerances (default: RK45, ``rtol = 1e-3``, ``atol = 1e-6``) on all points at once;
- :func:`timed`: wall-clock time of a call (best of a few repeats).

Training finds weights that fit a sample; nothing here certifies an error bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm  # not tqdm.auto: in a kernel without ipywidgets it warns with a venv path

from ._validate import as_box, as_points, as_times, positive_float, positive_int
from .fields import VectorField
from .flows import reference_flow, solve_ivp_piece, solve_restarted
from .resnet import interpolate_states

__all__ = ["NeuralODE", "TrainableResNet", "TrainingResult", "adam_schedule",
           "sample_trajectories", "solve_ivp_flow", "timed", "train_trajectory_model"]


def adam_schedule(parameters, lr, steps, final_lr_factor, desc, progress):
    """Adam with a cosine decay to ``final_lr_factor * lr`` over ``steps``, and its tqdm bar."""
    optimiser = torch.optim.Adam(parameters, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps,
                                                          eta_min=final_lr_factor * lr)
    return optimiser, schedule, tqdm(range(steps), desc=desc, disable=not progress,
                                     mininterval=0.5)


def sample_trajectories(field: VectorField, n: int, times, box, seed: int = 0):
    """``n`` initial points uniform in ``box`` (``numpy.random.default_rng(seed)``) and the
    reference flow at ``times`` (``times[0]`` is the initial time).

    Returns ``(x0, targets)`` with shapes ``(n, d)`` and ``(len(times), n, d)``, float64.
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    n = positive_int(n, "n")
    times = as_times(times, "times")
    lower, upper = as_box(box, "box", dim=field.dim)
    rng = np.random.default_rng(seed)
    x0 = lower + (upper - lower) * rng.random((n, field.dim))
    return x0, reference_flow(field, x0, times)


class TrainableResNet(nn.Module):
    """A ReLU ResNet ``x_{k+1} = x_k + A_k relu(W_k x_k + b_k) + c_k`` with ``width`` hidden units
    per block on the partition ``times`` (``N + 1`` increasing times), float64.

    Initialisation (``torch.manual_seed(seed)``): ``W_k, b_k`` as ``nn.Linear``; ``A_k`` scaled by
    the step ``t_{k+1} - t_k`` and ``c_k = 0``, so that the untrained net is close to the identity
    (an Euler scheme of a small random field). Nonzero parameters: ``N (d w + w + w d + d)`` at
    most.
    """

    def __init__(self, dim: int, times, width: int, seed: int = 0):
        super().__init__()
        self.dim = positive_int(dim, "dim")
        self.width = positive_int(width, "width")
        self.times = as_times(times, "times")
        if self.times.size < 2:
            raise ValueError("times must hold at least two nodes")
        torch.manual_seed(seed)
        n, d, w = self.times.size - 1, self.dim, self.width
        # nn.Linear's default initialisation U(-1/sqrt(fan_in), 1/sqrt(fan_in)), stacked over blocks
        self.w_in = nn.Parameter((2 * torch.rand(n, w, d, dtype=torch.float64) - 1) / d**0.5)
        self.b_in = nn.Parameter((2 * torch.rand(n, 1, w, dtype=torch.float64) - 1) / d**0.5)
        steps = torch.as_tensor(np.diff(self.times))[:, None, None]
        self.w_out = nn.Parameter(steps * (2 * torch.rand(n, d, w, dtype=torch.float64) - 1)
                                  / w**0.5)
        self.b_out = nn.Parameter(torch.zeros(n, 1, d, dtype=torch.float64))

    @property
    def num_blocks(self) -> int:
        return self.times.size - 1

    def block(self, k: int, z: torch.Tensor) -> torch.Tensor:
        """The residual ``R_k(z) = A_k relu(W_k z + b_k) + c_k``."""
        hidden = torch.relu(z @ self.w_in[k].T + self.b_in[k])
        return hidden @ self.w_out[k].T + self.b_out[k]

    def trajectory(self, x: torch.Tensor) -> torch.Tensor:
        """States ``(x_0, ..., x_N)``, shape ``(N + 1, n, d)`` (differentiable)."""
        states = [x]
        for k in range(self.num_blocks):
            states.append(states[-1] + self.block(k, states[-1]))
        return torch.stack(states)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The flow-map approximation ``x -> x_N``."""
        for k in range(self.num_blocks):
            x = x + self.block(k, x)
        return x

    def states_at(self, x: torch.Tensor, t) -> torch.Tensor:
        """The space-time interpolant ``X(t_i, x)`` at the times ``t``: ``(len(t), n, d)``
        (:func:`~resnet_flows.resnet.interpolate_states`, as for the constructed ResNets)."""
        return interpolate_states(self.times, self.trajectory(x), t)


class NeuralODE(nn.Module):
    """``x' = g(t, x)`` with ``g`` an MLP on ``(x, t)``: ``depth`` hidden layers of ``width``
    units and activation ``tanh`` (smooth, so that the ODE solver's order is not spoiled) or
    ``relu``; solved by ``torchdiffeq.odeint`` with ``method`` (``"rk4"`` with
    ``step_size`` or ``"dopri5"`` with ``rtol``/``atol``), float64, seeded initialisation.

    Time enters as ``t / horizon`` and, with ``time_frequencies = J > 0``, also as the Fourier
    features ``sin(2 pi j t / horizon), cos(2 pi j t / horizon)``, ``j = 1..J`` (a sinusoidal
    time embedding: an MLP on raw ``t`` learns oscillations in time slowly).
    """

    def __init__(self, dim: int, width: int = 32, depth: int = 2, activation: str = "tanh",
                 method: str = "rk4", step_size: float | None = 1.0 / 8, rtol: float = 1e-6,
                 atol: float = 1e-8, time_frequencies: int = 0, horizon: float = 1.0,
                 seed: int = 0):
        super().__init__()
        self.dim = positive_int(dim, "dim")
        self.frequencies = positive_int(time_frequencies, "time_frequencies", minimum=0)
        self.horizon = positive_float(horizon, "horizon")
        width = positive_int(width, "width")
        depth = positive_int(depth, "depth")
        acts = {"tanh": nn.Tanh, "relu": nn.ReLU}
        if activation not in acts:
            raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
        if method not in ("rk4", "euler", "midpoint", "dopri5"):
            raise ValueError(f"method must be 'rk4', 'euler', 'midpoint' or 'dopri5', got {method!r}")
        if method != "dopri5":
            step_size = positive_float(step_size, "step_size")
        self.method, self.step_size = method, step_size
        self.rtol, self.atol = positive_float(rtol, "rtol"), positive_float(atol, "atol")
        torch.manual_seed(seed)
        layers, size = [], self.dim + 1 + 2 * self.frequencies
        for _ in range(depth):
            layers += [nn.Linear(size, width, dtype=torch.float64), acts[activation]()]
            size = width
        layers.append(nn.Linear(size, self.dim, dtype=torch.float64))
        self.net = nn.Sequential(*layers)
        self.evaluations = 0

    def field(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The learned right-hand side ``g(t, x)``."""
        self.evaluations += 1
        s = t.to(x.dtype).reshape(1, 1) / self.horizon
        features = [s]
        if self.frequencies:
            j = torch.arange(1, self.frequencies + 1, dtype=x.dtype)[None, :]
            features += [torch.sin(2 * torch.pi * j * s), torch.cos(2 * torch.pi * j * s)]
        time_part = torch.cat(features, dim=1).expand(x.shape[0], -1)
        return self.net(torch.cat([x, time_part], dim=1))

    def states_at(self, x: torch.Tensor, t) -> torch.Tensor:
        """The solution at the increasing times ``t`` (``t[0]`` the initial time):
        ``(len(t), n, d)``."""
        from torchdiffeq import odeint

        t = torch.as_tensor(as_times(t, "t"))
        if self.method == "dopri5":
            return odeint(self.field, x, t, method="dopri5", rtol=self.rtol, atol=self.atol)
        # between the solver's steps, cubic Hermite interpolation (it uses g at both ends)
        return odeint(self.field, x, t, method=self.method,
                      options={"step_size": self.step_size, "interp": "cubic"})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The flow map ``x -> x(T)`` with ``T = horizon``."""
        return self.states_at(x, [0.0, self.horizon])[-1]

@dataclass(frozen=True)
class TrainingResult:
    """Losses per step and the wall-clock training time in seconds."""

    seconds: float
    losses: np.ndarray = dataclass_field(repr=False)

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])


def train_trajectory_model(model: nn.Module, x0, targets, times, steps: int, lr: float = 1e-2,
                           batch_size: int | None = None, seed: int = 0,
                           final_lr_factor: float = 0.01, clip: float | None = None,
                           progress: bool = False, desc: str = "training") -> TrainingResult:
    """Fit ``model`` (anything with ``states_at(x, times)``) to sampled trajectories by Adam.

    Loss: ``mean_{i, j} |Y(t_i, x_j) - targets[i, j]|^2`` over the data ``times`` and a
    mini-batch of the initial points ``x0`` (all of them when ``batch_size`` is ``None``), drawn
    by ``torch.Generator().manual_seed(seed)``. The learning rate decays from ``lr`` to
    ``final_lr_factor * lr`` on a cosine schedule; with ``clip``, the gradient is rescaled to
    Euclidean norm at most ``clip`` before each step. ``progress=True`` shows a ``tqdm`` bar.
    """
    if not hasattr(model, "states_at"):
        raise ValueError("model must have a states_at(x, times) method")
    steps = positive_int(steps, "steps")
    lr = positive_float(lr, "lr")
    final_lr_factor = positive_float(final_lr_factor, "final_lr_factor")
    if clip is not None:
        clip = positive_float(clip, "clip")
    times = as_times(times, "times")
    x0 = torch.as_tensor(as_points(x0, np.shape(x0)[-1], "x0"))
    targets = torch.as_tensor(np.asarray(targets, dtype=np.float64))
    if targets.shape != (times.size, *x0.shape):
        raise ValueError(f"targets must have shape {(times.size, *x0.shape)}, "
                         f"got {tuple(targets.shape)}")
    n = x0.shape[0]
    if batch_size is not None:
        batch_size = min(positive_int(batch_size, "batch_size"), n)
    generator = torch.Generator().manual_seed(seed)
    optimiser, schedule, bar = adam_schedule(model.parameters(), lr, steps, final_lr_factor, desc, progress)
    losses = np.empty(steps)
    start = time.perf_counter()
    for step in bar:
        if batch_size is None or batch_size == n:
            xb, yb = x0, targets
        else:
            index = torch.randperm(n, generator=generator)[:batch_size]
            xb, yb = x0[index], targets[:, index]
        optimiser.zero_grad()
        loss = ((model.states_at(xb, times) - yb) ** 2).sum(-1).mean()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        schedule.step()
        losses[step] = loss.item()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{losses[step]:.2e}")
    return TrainingResult(time.perf_counter() - start, losses)


def solve_ivp_flow(field: VectorField, x0, times, method: str = "RK45", rtol: float = 1e-3,
                   atol: float = 1e-6):
    """The flow ``Phi(t_i, x_j)`` by ``scipy.integrate.solve_ivp`` with ``method``, ``rtol`` and
    ``atol`` (scipy's defaults), all points integrated as **one** system of dimension ``n d``
    (one step-size sequence for the batch; scipy's error norm is the RMS over all components),
    restarted at the field's breakpoints; values between steps from the solver's dense output.

    Returns ``(states, evaluations)``: shape ``(len(times), n, d)`` and the number of batched
    field evaluations. ``times`` increase from ``times[0]``, the time of ``x0``.
    """
    if not isinstance(field, VectorField):
        raise ValueError(f"field must be a VectorField, got {type(field).__name__}")
    x0 = as_points(x0, field.dim, "x0")
    times = as_times(times, "times")
    if times[0] < 0 or times[-1] > field.horizon:
        raise ValueError(f"times must lie in [0, {field.horizon}]")
    rtol, atol = positive_float(rtol, "rtol"), positive_float(atol, "atol")
    n, d = x0.shape
    piece = solve_ivp_piece(lambda t, z: field.f(t, z.reshape(n, d)).reshape(-1), method, rtol,
                            atol)
    states, evaluations = solve_restarted(piece, x0, times, field.breakpoints)
    return states.reshape(times.size, n, d), evaluations


def timed(fn, repeat: int = 1):
    """``(seconds, result)``: the best wall-clock time of ``repeat`` calls of ``fn()`` and the
    result of the last call."""
    repeat = positive_int(repeat, "repeat")
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


