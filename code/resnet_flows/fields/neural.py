"""Neural ODE right-hand sides ``g(t, x) = A(t) relu(W(t) x + b(t))`` (prop-resnet-euler)."""

from __future__ import annotations

import math

import numpy as np

from .._validate import as_points, positive_float, positive_int

__all__ = ["NeuralODEField", "random_neural_field"]


class NeuralODEField:
    """``g(t, x) = A(t) relu(W(t) x + b(t))`` with ``A, W, b`` affine in ``t`` on ``[0, horizon]``.

    Not bounded on ``R^d``, so not a :class:`VectorField`; its Euler blocks ``h g(t_k, .)`` are
    exact one-hidden-layer ReLU networks (prop-resnet-euler).
    """

    def __init__(self, a0, a1, w0, w1, b0, b1, horizon: float = 1.0):
        self.a0, self.a1, self.w0, self.w1 = (np.asarray(m, dtype=np.float64) for m in (a0, a1, w0, w1))
        self.b0, self.b1 = np.asarray(b0, dtype=np.float64), np.asarray(b1, dtype=np.float64)
        self.horizon = positive_float(horizon, "horizon")
        self.dim = self.w0.shape[1]
        self.width = self.w0.shape[0]
        if self.a0.shape != (self.dim, self.width) or self.a1.shape != self.a0.shape:
            raise ValueError(f"a0, a1 must have shape ({self.dim}, {self.width})")
        if self.w1.shape != self.w0.shape or self.b0.shape != (self.width,) or self.b1.shape != self.b0.shape:
            raise ValueError("w1 must match w0 and b0, b1 must have shape (width,)")

    def weights(self, t: float):
        return self.a0 + t * self.a1, self.w0 + t * self.w1, self.b0 + t * self.b1

    def __call__(self, t: float, x) -> np.ndarray:
        a, w, b = self.weights(float(t))
        x = as_points(x, self.dim)
        return np.maximum(x @ w.T + b, 0.0) @ a.T

    def constants(self) -> dict[str, float]:
        """Bounds over ``t in [0, T]`` from the triangle inequality (no sampling):

        ``L >= ||A(t)|| ||W(t)||`` (the Lipschitz constant in x), ``beta >= ||A(t)|| |b(t)|``,
        and the time-derivative pieces ``||A_1||``, ``||W_1||``, ``|b_1|``.
        """
        n2 = lambda m: float(np.linalg.norm(m, 2))
        T = self.horizon
        a_max = n2(self.a0) + T * n2(self.a1)
        w_max = n2(self.w0) + T * n2(self.w1)
        b_max = float(np.linalg.norm(self.b0)) + T * float(np.linalg.norm(self.b1))
        return {"A": a_max, "W": w_max, "b": b_max, "A1": n2(self.a1), "W1": n2(self.w1),
                "b1": float(np.linalg.norm(self.b1)), "L": a_max * w_max, "beta": a_max * b_max}


def random_neural_field(dim: int = 2, width: int = 8, seed: int = 0, scale: float = 1.0,
                        horizon: float = 1.0) -> NeuralODEField:
    """A random small neural ODE field, weights ``N(0, scale^2 / fan_in)``, reproducible by seed."""
    dim = positive_int(dim, "dim")
    width = positive_int(width, "width")
    rng = np.random.default_rng(seed)
    s = positive_float(scale, "scale")
    draw = lambda *shape: rng.standard_normal(shape) * s / math.sqrt(shape[-1])
    return NeuralODEField(draw(dim, width), draw(dim, width), draw(width, dim), draw(width, dim),
                          0.5 * s * rng.standard_normal(width), 0.5 * s * rng.standard_normal(width),
                          horizon)
