"""Sound local Lipschitz bounds for residual blocks made of affine maps and ReLU (thm-certificate).

A block ``z -> z + R(z)`` with ``R = L_m o relu o L_{m-1} o ... o relu o L_1`` (``L_i(h) = W_i h
+ b_i``) is read off its weights. On a ball ``B(c, r)`` every hidden unit whose pre-activation
range (centre value plus a bound on its deviation) avoids 0 is *stable*: its ReLU slope is fixed
there. The Jacobian of the block on the ball then lies in an interval matrix ``M +- D`` (unstable
slopes ``1/2 +- 1/2``, products by midpoint-radius arithmetic), and the block is
``||M||_2 + ||D||_2``-Lipschitz on the ball: along a segment in the ball the difference quotient
is an average of Jacobians in the interval matrix, and ``|u^T (J - M) v| <= |u|^T D |v|``.
Round-off is allowed for throughout (:mod:`~resnet_flows.rounding`): the pre-activations carry
an error bound, the interval products and norms are rounded outwards.

:func:`~resnet_flows.read_network.relu_blocks` reads a network into :class:`MLPBlock` and
:class:`KuhnBlock` objects (strictly: anything it cannot read is refused).
"""

from __future__ import annotations

import numpy as np

from .rounding import gamma, interval_matmul, spectral_norm_upper, up

__all__ = ["KuhnBlock", "MLPBlock", "relu_blocks", "spectral_norms"]
__bounds__ = ("spectral_norms", "MLPBlock.jacobian[1]", "MLPBlock.lipschitz",
              "KuhnBlock.jacobian[1]", "KuhnBlock.lipschitz")


def spectral_norms(m: np.ndarray) -> np.ndarray:
    """Proved upper bounds on ``||m_i||_2`` for a stack ``(n, p, q)``
    (:func:`~resnet_flows.rounding.spectral_norm_upper`)."""
    return spectral_norm_upper(m)


def relu_blocks(net, times=None):
    """``(blocks, times)``: see :func:`resnet_flows.read_network.relu_blocks`."""
    from .read_network import relu_blocks as read

    blocks, times, _ = read(net, times)
    return blocks, times


class MLPBlock:
    """``R(z) = L_m(relu(... relu(L_1 z)))`` from its dense layers ``[(W_1, b_1), ...]``
    (float64 copies, taken when the certificate reads the network)."""

    def __init__(self, layers, name: str = "block"):
        self.layers = [(np.array(w, dtype=np.float64), np.array(b, dtype=np.float64))
                       for w, b in layers]
        self.name = name
        self.dim = self.layers[0][0].shape[1]
        if self.layers[-1][0].shape[0] != self.dim:
            raise ValueError(f"net: a block maps R^{self.dim} to "
                             f"R^{self.layers[-1][0].shape[0]}, not to itself")
        for (w, _), (w_next, _) in zip(self.layers, self.layers[1:]):
            if w_next.shape[1] != w.shape[0]:
                raise ValueError("net: consecutive layers of a block do not fit together")
        for i, (w, b) in enumerate(self.layers):
            if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
                raise ValueError(f"net: {name}, layer {i} has non-finite weights or biases")
        self.box = None

    def __call__(self, z: np.ndarray) -> np.ndarray:
        h = z
        for w, b in self.layers[:-1]:
            h = np.maximum(h @ w.T + b, 0.0)
        w, b = self.layers[-1]
        return h @ w.T + b

    def jacobian(self, centres: np.ndarray, radii: np.ndarray):
        """``(M, D)``, shape ``(n, d, d)`` each: on the ball ``B(c, r)`` every (Clarke) Jacobian
        of ``z -> z + R(z)`` lies in ``M +- D`` (entrywise), round-off included."""
        n, d = centres.shape
        h, err = centres, np.zeros_like(centres)  # err >= |computed h - exact h(c)|
        mid, rad = None, None  # None: the identity, exactly
        for w, b in self.layers[:-1]:
            pre = h @ w.T + b
            err = up(err @ np.abs(w).T + gamma(w.shape[1] + 1) * (np.abs(h) @ np.abs(w).T
                                                                  + np.abs(b)), w.shape[1] + 2)
            if mid is None:  # first layer: the pre-activation Jacobian is w itself
                p_mid, p_rad = w[None], np.zeros((1, *w.shape))
                deviation = up(np.linalg.norm(w, axis=1)[None, :] * radii[:, None], w.shape[1])
            else:
                p_mid, p_rad = interval_matmul(w, 0.0, mid, rad)
                # |p(z) - p(c)| <= (|row of M| + |row of D|) |z - c| on the ball
                deviation = up((np.linalg.norm(p_mid, axis=2) + np.linalg.norm(p_rad, axis=2))
                               * radii[:, None], 2 * d + 2)
            unstable = np.abs(pre) <= deviation + err
            s_mid = np.where(unstable, 0.5, (pre > 0).astype(np.float64))[:, :, None]
            s_rad = np.where(unstable, 0.5, 0.0)[:, :, None]
            mid = s_mid * p_mid  # exact: s_mid is 0, 1/2 or 1
            rad = up(s_mid * p_rad + s_rad * (np.abs(p_mid) + p_rad), 3)
            h = np.maximum(pre, 0.0)
        w, _ = self.layers[-1]
        if mid is None:
            jac = np.eye(d) + w
            return (np.broadcast_to(jac, (n, d, d)),
                    np.broadcast_to(up(gamma(1) * np.abs(jac), 1), (n, d, d)))
        out_mid, out_rad = interval_matmul(w, 0.0, mid, rad)
        jac = np.eye(d) + out_mid
        return jac, up(out_rad + gamma(1) * np.abs(jac), 2)

    def lipschitz(self, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
        """``ell(c, r) = ||M||_2 + ||D||_2 >= Lip(z -> z + R(z))`` on each ball ``B(c, r)``."""
        mid, rad = self.jacobian(centres, radii)
        return up(spectral_norms(mid) + spectral_norms(rad), 2)


class KuhnBlock:
    """A :class:`~resnet_flows.relu.CPWLNetwork` block, read from its buffers when the
    certificate runs: on its grid's box the network *is* the Kuhn interpolant of the nodal values
    ``output_weight`` plus ``output_bias`` (thm-relu-approx), evaluated by simplex location.
    The Jacobian of ``z -> z + R(z)`` on a ball lies in the interval hull of ``I + J`` over the
    simplices of the cells the ball's bounding box meets (or over all simplices, for large
    balls). Outside the box it is not the interpolant, so the certificate refuses balls that
    leave it."""

    _LOCAL_SPAN = 4  # cells per axis looked at per ball; larger balls use the global hull

    def __init__(self, network, name: str = "block"):
        from .kuhn import kuhn_jacobians

        self.network, self.name = network, name
        self.grid = grid = network.grid
        self.dim = grid.dim
        self.box = grid.box
        self.values = np.array(network.values, dtype=np.float64)
        self.bias = np.array(network.bias, dtype=np.float64)
        if self.values.shape[1] != self.dim or self.bias.shape != (self.dim,):
            raise ValueError(f"net: {name} maps R^{self.dim} to R^{self.values.shape[1]}")
        if not (np.all(np.isfinite(self.values)) and np.all(np.isfinite(self.bias))):
            raise ValueError(f"net: {name} (CPWLNetwork) has non-finite output_weight or "
                             "output_bias")
        # Jacobian columns (g(v_i) - g(v_{i-1})) / h: one subtraction and one division, each
        # within u of exact; the hull per cell and overall
        jac = kuhn_jacobians(grid, self.values)
        slack = 3 * gamma(1) * np.abs(jac)
        jac = jac.reshape(grid.cells**self.dim, -1, self.dim, self.dim)
        slack = slack.reshape(jac.shape).max(axis=1)
        eye = np.eye(self.dim)
        self._cell_lo = jac.min(axis=1) + eye - slack
        self._cell_hi = jac.max(axis=1) + eye + slack
        self._global = (self._cell_lo.min(axis=0), self._cell_hi.max(axis=0))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        inside = self.grid.contains(z)
        out = np.empty_like(z)
        if inside.any():
            out[inside] = self.grid.interpolate(self.values, z[inside]) + self.bias
        if not inside.all():  # outside the box only the network itself says what it computes
            import torch

            with torch.no_grad():
                out[~inside] = self.network(torch.as_tensor(z[~inside])).numpy()
        return out

    def jacobian(self, centres: np.ndarray, radii: np.ndarray):
        """``(M, D)``: every Jacobian of ``z -> z + R(z)`` on ``B(c, r)`` (inside the grid's box)
        lies in ``M +- D``, the hull over the cells met by the ball's bounding box."""
        grid, n, d = self.grid, centres.shape[0], self.dim
        # a margin of 1e-9 cells: round-off never decides which cell a face point is in
        scaled_lo = (centres - radii[:, None] - grid.lower) / grid.widths - 1e-9
        scaled_hi = (centres + radii[:, None] - grid.lower) / grid.widths + 1e-9
        lo_idx = np.clip(np.floor(scaled_lo), 0, grid.cells - 1).astype(np.int64)
        hi_idx = np.clip(np.floor(scaled_hi), 0, grid.cells - 1).astype(np.int64)
        span = hi_idx - lo_idx + 1
        lo = np.broadcast_to(self._global[0], (n, d, d)).copy()
        hi = np.broadcast_to(self._global[1], (n, d, d)).copy()
        local = np.all(span <= self._LOCAL_SPAN, axis=1)
        if local.any():
            llo = np.full((int(local.sum()), d, d), np.inf)
            lhi = np.full_like(llo, -np.inf)
            base, sp = lo_idx[local], span[local]
            width = int(sp.max())
            strides = grid.cells ** np.arange(d - 1, -1, -1)
            for offset in np.ndindex(*([width] * d)):
                off = np.asarray(offset)
                ok = np.all(off < sp, axis=1)
                if not ok.any():
                    continue
                cell = (base[ok] + off) @ strides
                llo[ok] = np.minimum(llo[ok], self._cell_lo[cell])
                lhi[ok] = np.maximum(lhi[ok], self._cell_hi[cell])
            lo[local], hi[local] = llo, lhi
        mid = 0.5 * (lo + hi)
        return mid, up(np.maximum(hi - mid, mid - lo), 1)

    def lipschitz(self, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
        mid, rad = self.jacobian(centres, radii)
        return up(spectral_norms(mid) + spectral_norms(rad), 2)
