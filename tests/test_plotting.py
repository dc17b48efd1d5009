"""resnet_flows.plotting: the Kuhn triangulation drawing, grid lines and budget bars."""


import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from resnet_flows import plotting
from resnet_flows.plotting import draw_kuhn_triangulation
from resnet_flows.relu import KuhnGrid

K = ([-1.0, -1.0], [1.0, 1.0])


def test_draw_kuhn_triangulation():
    fig, ax = plt.subplots()
    draw_kuhn_triangulation(ax, KuhnGrid(([0, 0], [1, 1]), 3))
    assert len(ax.collections) == 1
    assert len(ax.collections[0].get_segments()) == 4 + 4 + 9
    with pytest.raises(ValueError, match="two-dimensional"):
        draw_kuhn_triangulation(ax, KuhnGrid(([0], [1]), 3))
    plt.close(fig)


def test_grid_lines_and_budget_bars():
    lines = plotting.grid_lines(([0.0, -1.0], [2.0, 1.0]), lines=3, samples=5)
    assert lines.shape == (6, 5, 2)
    assert np.allclose(lines[0, 0], [0.0, -1.0]) and np.allclose(lines[2, -1], [2.0, 1.0])
    assert np.allclose(lines[3:, :, 0].min(), 0.0) and np.allclose(lines[5, :, 0], 2.0)
    with pytest.raises(ValueError, match="lines"):
        plotting.grid_lines(K, lines=1)
    fig, ax = plt.subplots()
    plotting.budget_bars(ax, ["0.2", "0.1"], [[0.05, 0.05, 0.08], [0.02, 0.03, 0.04]],
                         [0.2, 0.1], measured=[0.02, 0.01])
    heights = [p.get_height() for p in ax.patches]
    assert np.allclose(heights, [0.25, 0.2, 0.25, 0.3, 0.4, 0.4])
    with pytest.raises(ValueError, match="parts"):
        plotting.budget_bars(ax, ["a"], [[1.0, 2.0]], [1.0])
    with pytest.raises(ValueError, match="eps"):
        plotting.budget_bars(ax, ["a"], [[1.0, 2.0, 3.0]], [0.0])
    plt.close(fig)


def test_book_figures_are_legible_at_column_width():
    fig, ax = plotting.book_figure(1, 2)
    assert isinstance(fig, plotting.BookFigure)
    ax[0].plot([1, 2], [3, 4], label="a line")
    ax[0].legend()
    ax[0].set_xlabel("$N$")
    px, _ = plotting.smallest_text_px(fig)
    assert px >= plotting.MIN_TEXT_PX  # the house style's smallest font, 9 pt at 100 dpi
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.canvas.draw()
    plt.close(fig)


def test_small_legend_is_caught():
    """Issue 22: legends of about 7 px. A 6 pt legend is 8.3 px at 100 %: the figure warns."""
    fig, ax = plotting.book_figure()
    ax.plot([1, 2], [3, 4], label="tiny")
    ax.legend(fontsize=6)
    px, text = plotting.smallest_text_px(fig)
    assert text == "tiny" and px == pytest.approx(6 * 100 / 72)
    with pytest.warns(plotting.IllegibleFigureWarning, match="'tiny' is 8.3 px"):
        fig.canvas.draw()
    plt.close(fig)


def test_a_figure_wider_than_the_column_is_shrunk_and_its_text_with_it():
    fig, ax = plotting.book_figure()
    fig.set_size_inches(15.8, 3)  # shown at half its size in the 790 px column
    ax.set_title("a title")
    px, _ = plotting.smallest_text_px(fig)
    assert px == pytest.approx(9 * 100 / 72 * 790 / (fig.get_tightbbox().width * 100), rel=0.02)
    assert px < plotting.MIN_TEXT_PX
    plt.close(fig)
