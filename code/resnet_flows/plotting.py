"""Plotting helpers shared by the chapters (matplotlib only; imported by chapters, not by the
math modules): the book's house style for figures."""

from __future__ import annotations

import warnings

import numpy as np
from matplotlib.figure import Figure

__all__ = ["BOOK_RC", "COLUMN_INCHES", "COLUMN_PX", "MIN_TEXT_PX", "BookFigure",
           "IllegibleFigureWarning", "book_figure", "budget_bars", "draw_kuhn_triangulation",
           "grid_lines", "smallest_text_px"]

# The book's text column is 790 px wide at a 1440 px window. At 100 dpi a figure 7.8 in wide is
# a 780 px figure shown at 100 %, so its 9 pt tick labels are 12.5 px on screen. Figures are
# drawn at 2x (the notebook's "retina" format: a 1560 px PNG shown 780 px wide), sharp on
# high-resolution screens.
COLUMN_INCHES = 7.8
COLUMN_PX = 790
MIN_TEXT_PX = 9.0  # no text in a figure below this at column width (1440 px window)
BOOK_RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.constrained_layout.use": True,
}


class IllegibleFigureWarning(UserWarning):
    """A figure has text below :data:`MIN_TEXT_PX` at column width (the book's browser check
    fails a page that shows this warning: it is a stderr box)."""


def smallest_text_px(fig, renderer=None, column_px: float = COLUMN_PX):
    """``(px, text)``: the smallest visible text of ``fig`` in CSS pixels when the figure, cut to
    its tight bounding box as the notebook shows it, is displayed at most ``column_px`` wide at
    its nominal dpi; ``(inf, "")`` for a figure without text."""
    renderer = renderer or fig.canvas.get_renderer()
    width_px = fig.get_tightbbox(renderer).width * fig.dpi
    scale = min(1.0, column_px / width_px) if width_px > 0 else 1.0
    smallest = (float("inf"), "")
    for text in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")):
        if not (text.get_visible() and text.get_text().strip()):
            continue
        if not all(a.get_visible() for a in _ancestors(text)):
            continue
        px = text.get_fontsize() * fig.dpi / 72.0 * scale
        if px < smallest[0]:
            smallest = (px, text.get_text())
    return smallest


def _ancestors(artist):
    parent = getattr(artist, "axes", None)
    return [parent] if parent is not None else []


class BookFigure(Figure):
    """A figure that checks, each time it is drawn, that no text is smaller than
    :data:`MIN_TEXT_PX` at column width, and warns (:class:`IllegibleFigureWarning`) if so."""

    def draw(self, renderer):
        super().draw(renderer)
        px, text = smallest_text_px(self, renderer)
        if px < MIN_TEXT_PX:
            # warn_explicit: the notebook's stderr box names no file of this machine
            warnings.warn_explicit(
                f"figure text {text!r} is {px:.1f} px at column width, below {MIN_TEXT_PX:g} px:"
                " make the font larger or the figure narrower",
                IllegibleFigureWarning, filename="book figure", lineno=0,
            )


def _retina_inline() -> None:
    """In a notebook, figures at 2x pixel density (shown at their nominal size)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):  # a terminal IPython shows no PNGs
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


def book_figure(nrows: int = 1, ncols: int = 1, height: float | None = None, **subplots_kwargs):
    """``plt.subplots`` in the book's house style: ``COLUMN_INCHES`` wide at 100 dpi, drawn at
    2x in a notebook, fonts from :data:`BOOK_RC` (constrained layout), ``height`` inches high
    (default 2.9 per row); a :class:`BookFigure`, which warns if any text ends up smaller than
    :data:`MIN_TEXT_PX` at column width."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(BOOK_RC)
    _retina_inline()
    height = 2.9 * nrows if height is None else height
    subplots_kwargs.setdefault("FigureClass", BookFigure)
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
