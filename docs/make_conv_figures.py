"""Draw the figures of docs/conv.md: im2col as a picture, and max-pool's gradient routing.

Run from the repository root (it needs only NumPy and matplotlib):

    python docs/make_conv_figures.py

It writes docs/img/im2col.png and docs/img/maxpool.png.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw to files, no window
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, Rectangle

OUT = Path(__file__).resolve().parent / "img"

# The example: one 4x4 image with one channel, a 2x2 kernel, stride 1, no padding, so
# H_out = W_out = 3 and cols has 3 * 3 = 9 rows of 2 * 2 = 4 pixels (plus the ones column).
H = W = 4
KH = KW = 2
H_OUT, W_OUT = H - KH + 1, W - KW + 1
PIXEL = [[f"x{r}{c}" for c in range(W)] for r in range(H)]
# Windows to colour, as (i, j), and their colours.
SHOWN = {(0, 0): "#f4a259", (1, 2): "#5b8e7d", (2, 0): "#8cb8e0"}
GREY = "#f2f2f2"


def grid(ax: Axes, x0: float, y0: float, labels: list[list[str]],
         colours: list[list[str]], title: str, fontsize: float = 9) -> None:
    """A table of labelled unit cells whose top-left corner is at (x0, y0); y grows down."""
    for r, row in enumerate(labels):
        for c, text in enumerate(row):
            ax.add_patch(Rectangle((x0 + c, y0 + r), 1, 1, facecolor=colours[r][c],
                                   edgecolor="#555555", linewidth=0.8))
            ax.text(x0 + c + 0.5, y0 + r + 0.5, text, ha="center", va="center",
                    fontsize=fontsize, family="monospace")
    ax.text(x0 + len(labels[0]) / 2, y0 - 0.6, title, ha="center", va="bottom", fontsize=11)


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], colour: str) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                 color=colour, linewidth=1.4,
                                 connectionstyle="arc3,rad=-0.15"))


def draw_im2col(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(13, 6.2))
    ax.set_xlim(-0.5, 24.5)
    ax.set_ylim(13.6, -0.4)  # y grows downwards, like row indices
    ax.set_aspect("equal")
    ax.axis("off")

    # The image, each pixel in the colour of the shown window that holds it (if any).
    colours = [[GREY] * W for _ in range(H)]
    for (i, j), colour in SHOWN.items():
        for di in range(KH):
            for dj in range(KW):
                colours[i + di][j + dj] = colour
    x_left, x_top = 0, 2.5
    grid(ax, x_left, x_top, PIXEL, colours, "x: one 4x4 image, one channel")
    for (i, j), colour in SHOWN.items():
        ax.add_patch(Rectangle((x_left + j, x_top + i), KW, KH, fill=False, edgecolor=colour,
                               linewidth=3))

    # cols: one row per window (n, i, j), one column per kernel position (di, dj), and the
    # column of ones that carries the bias.
    c_left, c_top = 7.5, 1.0
    rows, row_colours = [], []
    for i in range(H_OUT):
        for j in range(W_OUT):
            rows.append([PIXEL[i + di][j + dj] for di in range(KH) for dj in range(KW)] + ["1"])
            colour = SHOWN.get((i, j), "white")
            row_colours.append([colour] * (KH * KW) + ["#dddddd"])
    grid(ax, c_left, c_top, rows, row_colours, "cols (N*H_out*W_out, kh*kw*C_in + 1)")
    for r in range(H_OUT * W_OUT):
        ax.text(c_left - 0.2, c_top + r + 0.5, f"(i={r // W_OUT}, j={r % W_OUT})", ha="right",
                va="center", fontsize=8)
    for c, (di, dj) in enumerate([(di, dj) for di in range(KH) for dj in range(KW)]):
        ax.text(c_left + c + 0.5, c_top + H_OUT * W_OUT + 0.35, f"{di},{dj}", ha="center",
                va="top", fontsize=8)
    ax.text(c_left + KH * KW + 0.5, c_top + H_OUT * W_OUT + 0.35, "bias", ha="center",
            va="top", fontsize=8)
    ax.text(c_left + 2.5, c_top + H_OUT * W_OUT + 1.1, "(di, dj) of each column",
            ha="center", va="top", fontsize=8)
    for (i, j), colour in SHOWN.items():
        arrow(ax, (x_left + j + KW + 0.1, x_top + i + KH / 2),
              (c_left - 2.4, c_top + i * W_OUT + j + 0.5), colour)

    # The kernel as a column, with the bias below it: the one matrix product.
    ax.text(c_left + 6.0, c_top + 4.5, "@", ha="center", va="center", fontsize=20)
    w_left, w_top = c_left + 7.0, c_top + 2.0
    grid(ax, w_left, w_top, [["w00"], ["w01"], ["w10"], ["w11"], ["b"]],
         [["#e8e0f0"]] * 4 + [["#dddddd"]], "[W; b]")
    ax.text(w_left + 0.5, w_top + 5.4, "(kh*kw*C_in + 1, C_out)", ha="center", va="top",
            fontsize=8)

    # y: one row per window, reshaped for free to the output image.
    ax.text(w_left + 2.0, c_top + 4.5, "=", ha="center", va="center", fontsize=20)
    y_left = w_left + 3.0
    y_rows = [[f"y{r // W_OUT}{r % W_OUT}"] for r in range(H_OUT * W_OUT)]
    y_colours = [[SHOWN.get((r // W_OUT, r % W_OUT), "white")] for r in range(H_OUT * W_OUT)]
    grid(ax, y_left, c_top, y_rows, y_colours, "y (M, C_out)")
    ax.text(y_left + 2.0, c_top + 4.5, "reshape\n->", ha="center", va="center", fontsize=10)
    img_left = y_left + 3.2
    grid(ax, img_left, x_top + 0.5, [[f"y{i}{j}" for j in range(W_OUT)] for i in range(H_OUT)],
         [[SHOWN.get((i, j), "white") for j in range(W_OUT)] for i in range(H_OUT)],
         "y: (N, H_out, W_out, C_out)")

    ax.text(0, 11.9,
            "Each window of x becomes one row of cols: row (i, j), column (di, dj, c) holds "
            "x[n, i*sh + di, j*sw + dj, c].\nThen the whole convolution is one matrix "
            "product, y = cols @ [W; b]: a Dense layer applied to every window at once. "
            "Channels-last, the C_in values\nof a pixel sit side by side in memory, so a "
            "window row is kw*C_in consecutive numbers, and y comes out already shaped "
            "(N, H_out, W_out, C_out).",
            ha="left", va="top", fontsize=9.5)
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def draw_maxpool(path: Path) -> None:
    """A 4x4 input, 2x2 pool: each window's gradient goes to its maximum, ties to the
    first in row-major order (the same numbers as the test ``test_a_worked_example``)."""
    x = [[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 7, 6], [2, 2, 8, 1]]
    y = [[4, 5], [2, 8]]
    dy = [[10, 20], [30, 40]]
    dx = [[0, 0, 0, 0], [10, 0, 0, 20], [0, 0, 0, 0], [30, 0, 40, 0]]
    window_colours = [["#f4a259", "#5b8e7d"], ["#8cb8e0", "#e0a0c0"]]

    def colour_of(r: int, c: int) -> str:
        return window_colours[r // 2][c // 2]

    fig, ax = plt.subplots(figsize=(12, 4.2))
    ax.set_xlim(-0.5, 23)
    ax.set_ylim(6.2, -1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    grid(ax, 0, 0, [[str(v) for v in row] for row in x],
         [[colour_of(r, c) for c in range(4)] for r in range(4)], "x (4x4), 2x2 windows")
    grid(ax, 6, 1, [[str(v) for v in row] for row in y], window_colours, "y = max per window")
    grid(ax, 11, 1, [[str(v) for v in row] for row in dy], window_colours, "dy")
    grid(ax, 15.5, 0, [[str(v) for v in row] for row in dx],
         [[colour_of(r, c) if dx[r][c] else "white" for c in range(4)] for r in range(4)],
         "dx: each dy to its window's max")
    for r, c in ((1, 0), (1, 3), (3, 0), (3, 2)):
        ax.add_patch(Rectangle((15.5 + c, r), 1, 1, fill=False, edgecolor="black", linewidth=2))
    ax.text(0, 4.6, "The bottom-left window holds its maximum, 2, twice, at (3, 0) and "
                    "(3, 1): a tie. Its gradient goes to exactly one of them, the first in\n"
                    "row-major window order, (3, 0). Every other entry gets 0: moving it "
                    "slightly does not change the maximum.", ha="left", va="top", fontsize=9.5)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    draw_im2col(OUT / "im2col.png")
    draw_maxpool(OUT / "maxpool.png")
    print(f"wrote {OUT / 'im2col.png'} and {OUT / 'maxpool.png'}")
