"""Plotting helpers shared by the chapters (matplotlib only; imported by chapters, not by the
math modules)."""

from __future__ import annotations

import numpy as np

__all__ = ["draw_kuhn_triangulation"]


def draw_kuhn_triangulation(ax, grid, color="0.35", lw=0.6, nodes=True, **line_kwargs):
    """Draw the Kuhn triangulation of a 2-D :class:`~resnet_flows.relu.KuhnGrid` on ``ax``.

    The cell ``[b, b + h]`` splits into the two Kuhn simplices ``{u_1 >= u_2}`` and
    ``{u_2 >= u_1}`` of its local coordinates ``u``, i.e. along the diagonal from ``b`` to
    ``b + h`` (def-kuhn-triangulation): grid lines plus every cell's rising diagonal.
    """
    if getattr(grid, "dim", None) != 2:
        raise ValueError("grid must be a two-dimensional KuhnGrid")
    xs, ys = grid.coordinates(0), grid.coordinates(1)
    segments = [[(x, ys[0]), (x, ys[-1])] for x in xs]
    segments += [[(xs[0], y), (xs[-1], y)] for y in ys]
    segments += [[(xs[i], ys[j]), (xs[i + 1], ys[j + 1])]
                 for i in range(grid.cells) for j in range(grid.cells)]
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(np.asarray(segments), colors=color, linewidths=lw,
                                     **line_kwargs))
    if nodes:
        pts = grid.nodes()
        ax.plot(pts[:, 0], pts[:, 1], "o", color=color, ms=2.5)
    return ax
