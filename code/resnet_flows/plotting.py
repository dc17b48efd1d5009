"""Plotting helpers shared by the chapters (matplotlib only; imported by chapters, not by the
math modules)."""

from __future__ import annotations

import numpy as np

__all__ = ["BOOK_RC", "COLUMN_INCHES", "book_figure", "budget_bars", "draw_kuhn_triangulation",
           "grid_lines"]

# The book's text column is 790 px wide at a 1440 px window. At 100 dpi a figure 7.8 in wide is
# a 780 px PNG shown at 100 %, so its 8.5 pt tick labels are 12 px on screen (readable >= 9 px).
COLUMN_INCHES = 7.8
BOOK_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "figure.constrained_layout.use": True,
}


def book_figure(nrows: int = 1, ncols: int = 1, height: float | None = None, **subplots_kwargs):
    """``plt.subplots`` sized for the book's column: ``COLUMN_INCHES`` wide at 100 dpi, fonts
    from :data:`BOOK_RC` (constrained layout), ``height`` inches high (default 2.9 per row)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(BOOK_RC)
    height = 2.9 * nrows if height is None else height
    return plt.subplots(nrows, ncols, figsize=(COLUMN_INCHES, height), **subplots_kwargs)


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


def grid_lines(box, lines: int = 9, samples: int = 101) -> np.ndarray:
    """Points on the ``lines`` horizontal and ``lines`` vertical lines of a 2-D ``box``, shape
    ``(2 * lines, samples, 2)``: push them through a flow map and draw them to see it deform the
    box (thm-main's deformed-grid figure)."""
    from ._validate import as_box, positive_int

    lower, upper = as_box(box, "box", dim=2)
    lines = positive_int(lines, "lines", minimum=2)
    samples = positive_int(samples, "samples", minimum=2)
    u = np.linspace(0.0, 1.0, samples)
    v = np.linspace(0.0, 1.0, lines)
    span = upper - lower
    horizontal = np.stack(np.broadcast_arrays(lower[0] + span[0] * u[None, :],
                                              lower[1] + span[1] * v[:, None]), axis=-1)
    vertical = np.stack(np.broadcast_arrays(lower[0] + span[0] * v[:, None],
                                            lower[1] + span[1] * u[None, :]), axis=-1)
    return np.concatenate([horizontal, vertical])


def budget_bars(ax, labels, parts, eps, measured=None, names=("Euler", "time interpolation",
                                                               "blocks"), colors=None):
    """Stacked bars of a certified budget split into its parts, each divided by its ``eps``.

    ``parts`` has shape ``(len(labels), k)`` (e.g. the Euler, time-interpolation and block parts
    of thm-main); a bar reaching 1 uses the whole ``eps``. ``measured`` (optional, one per bar) is
    drawn as a black marker at ``measured / eps``.
    """
    parts = np.asarray(parts, dtype=np.float64)
    eps = np.asarray(eps, dtype=np.float64)
    if parts.ndim != 2 or parts.shape[0] != len(labels) or parts.shape[1] != len(names):
        raise ValueError(f"parts must have shape ({len(labels)}, {len(names)}), got {parts.shape}")
    if eps.shape != (len(labels),) or np.any(eps <= 0):
        raise ValueError(f"eps must hold {len(labels)} positive numbers")
    share = parts / eps[:, None]
    x = np.arange(len(labels))
    colors = colors or ["#4c72b0", "#dd8452", "#55a868", "#c44e52"][:len(names)]
    bottom = np.zeros(len(labels))
    for j, name in enumerate(names):
        ax.bar(x, share[:, j], bottom=bottom, color=colors[j], label=name, width=0.7)
        bottom += share[:, j]
    if measured is not None:
        measured = np.asarray(measured, dtype=np.float64)
        if measured.shape != (len(labels),):
            raise ValueError(f"measured must hold {len(labels)} numbers")
        ax.plot(x, measured / eps, "kD", ms=5, label="measured error")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xticks(x, labels)
    return ax
