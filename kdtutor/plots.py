"""Plots for the notebooks (matplotlib + seaborn), one function per figure.

Each function builds a new ``matplotlib.figure.Figure`` without pyplot and
returns it: in Jupyter a returned figure is shown once, and nothing is left in
pyplot's global state between cells. Save one with ``fig.savefig(path)``.
"""

from __future__ import annotations

import numpy as np
import seaborn as sns
from matplotlib import ticker
from matplotlib.figure import Figure

__all__ = [
    "image_grid",
    "class_counts",
    "training_curves",
    "confusion_matrix",
    "hardest_examples",
    "soft_targets",
    "entropy_vs_temperature",
    "class_similarity",
    "gradient_scale",
    "accuracy_per_seed",
    "sweep_heatmap",
    "pareto_front",
    "tradeoff",
]


def _show_figures_in_notebooks() -> None:
    # Figures made without pyplot never load the inline backend, which is what
    # normally teaches IPython to display them; register the PNG display directly.
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        select_figure_formats(shell, {"png"})


_show_figures_in_notebooks()


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def image_grid(images, labels, class_names, *, rows: int = 3, cols: int = 8, title=None):
    """Show the first ``rows * cols`` images (N x 28 x 28 x 1, values in [0, 1]) with labels."""
    fig = _figure(cols * 1.1, rows * 1.3)
    axes = fig.subplots(rows, cols)
    for index, ax in enumerate(np.ravel(axes)):
        ax.set_axis_off()
        if index < len(images):
            ax.imshow(np.squeeze(images[index]), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(str(class_names[int(labels[index])]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def class_counts(y_train, y_test, class_names):
    """Bar plot of how many train and test images each class has."""
    fig = _figure(8, 3)
    ax = fig.subplots()
    positions = np.arange(len(class_names))
    for offset, (labels, name) in zip(
        (-0.2, 0.2), ((y_train, "train"), (y_test, "test")), strict=True
    ):
        counts = np.bincount(labels, minlength=len(class_names))
        ax.bar(positions + offset, counts, width=0.4, label=f"{name} ({len(labels):,})")
    ax.set_xticks(positions, class_names, rotation=30 if len(class_names[0]) > 2 else 0)
    ax.set_ylabel("images")
    ax.legend()
    return fig


def training_curves(history, keys=None, *, title=None):
    """Plot the per-epoch values of a Keras ``History`` (or its ``.history`` dict).

    ``keys`` picks the quantities (default: every key without a ``val_``
    prefix); each gets its own panel, with its ``val_`` curve when recorded.
    """
    values = getattr(history, "history", history)
    keys = list(keys) if keys is not None else [k for k in values if not k.startswith("val_")]
    fig = _figure(4 * len(keys), 3)
    axes = np.atleast_1d(fig.subplots(1, len(keys)))
    for ax, key in zip(axes, keys, strict=True):
        epochs = np.arange(1, len(values[key]) + 1)
        ax.plot(epochs, values[key], marker="o", label="train")
        if f"val_{key}" in values:
            ax.plot(epochs, values[f"val_{key}"], marker="o", label="validation")
            ax.legend()
        ax.set_xlabel("epoch")
        ax.set_title(key)
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix(y_true, y_pred, class_names, *, title=None):
    """Seaborn heatmap of the confusion matrix: rows = true class, columns = predicted."""
    n = len(class_names)
    matrix = np.zeros((n, n), dtype=int)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    fig = _figure(6.5, 5.5)
    ax = fig.subplots()
    sns.heatmap(
        matrix,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        ax=ax,
        xticklabels=class_names,
        yticklabels=class_names,
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {np.trace(matrix) / matrix.sum():.2%}")
    return fig


def hardest_examples(images, y_true, probabilities, class_names, *, count: int = 8):
    """Show the ``count`` test images whose true class got the lowest probability."""
    probabilities = np.asarray(probabilities)
    true_probability = probabilities[np.arange(len(y_true)), y_true]
    order = np.argsort(true_probability)[:count]
    fig = _figure(count * 1.3, 1.9)
    axes = np.atleast_1d(fig.subplots(1, count))
    for ax, index in zip(axes, order, strict=True):
        predicted = int(np.argmax(probabilities[index]))
        ax.imshow(np.squeeze(images[index]), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(
            f"true {class_names[y_true[index]]} ({true_probability[index]:.0%})\n"
            f"said {class_names[predicted]} ({probabilities[index, predicted]:.0%})",
            fontsize=8,
        )
        ax.set_axis_off()
    return fig


def soft_targets(
    probabilities_by_temperature: dict, class_names, *, image=None, highlight=None, title=None
):
    """Bar plots of one example's class probabilities at several temperatures.

    ``probabilities_by_temperature`` maps T to a ``(num_classes,)`` vector;
    ``image`` (28 x 28 x 1) is drawn in a first panel when given, and the bar
    of class index ``highlight`` is drawn in a contrasting colour. The y axis
    is logarithmic so that the small "dark knowledge" probabilities show.
    """
    temperatures = list(probabilities_by_temperature)
    panels = len(temperatures) + (image is not None)
    fig = _figure(2.3 * panels, 2.4)
    axes = list(np.atleast_1d(fig.subplots(1, panels)))
    if image is not None:
        ax = axes.pop(0)
        ax.imshow(np.squeeze(image), cmap="gray_r", vmin=0, vmax=1)
        ax.set_axis_off()
    positions = np.arange(len(class_names))
    for ax, temperature in zip(axes, temperatures, strict=True):
        probabilities = np.asarray(probabilities_by_temperature[temperature])
        colors = [sns.color_palette()[0]] * len(class_names)
        if highlight is not None:
            colors[highlight] = sns.color_palette()[1]
        ax.bar(positions, probabilities, color=colors)
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1.5)
        ax.set_xticks(positions, class_names, fontsize=7)
        ax.set_title(f"T = {temperature:g}")
    if title:
        fig.suptitle(title)
    return fig


def entropy_vs_temperature(temperatures, entropies, *, max_entropy=None):
    """Line plot of the mean entropy (in bits) of the soft targets against T (log x)."""
    fig = _figure(5, 3.2)
    ax = fig.subplots()
    ax.plot(temperatures, entropies, marker="o")
    if max_entropy is not None:
        ax.axhline(max_entropy, color="gray", linestyle="--", label="uniform (maximum)")
        ax.legend()
    ax.set_xscale("log")
    ax.set_xticks(temperatures, [f"{t:g}" for t in temperatures])
    ax.set_xlabel("temperature T")
    ax.set_ylabel("mean entropy (bits)")
    return fig


def class_similarity(matrix, class_names, *, title=None):
    """Heatmap of a class-by-class matrix (row = true class, column = class probability)."""
    fig = _figure(6.5, 5.5)
    ax = fig.subplots()
    sns.heatmap(
        np.asarray(matrix),
        annot=True,
        fmt=".2f",
        cmap="viridis",
        ax=ax,
        xticklabels=class_names,
        yticklabels=class_names,
        annot_kws={"fontsize": 7},
    )
    ax.set_xlabel("class the teacher finds plausible")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    return fig


def gradient_scale(temperatures, curves: dict, *, ylabel="mean |gradient|"):
    """Log-log plot of several gradient sizes against T; ``curves`` maps label -> values."""
    fig = _figure(5.5, 3.5)
    ax = fig.subplots()
    for label, values in curves.items():
        ax.plot(temperatures, values, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("temperature T")
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def accuracy_per_seed(seeds, accuracies: dict, *, reference=None, reference_label="teacher"):
    """Dot plot of test accuracy per seed for each method; ``accuracies`` maps name -> list."""
    fig = _figure(6, 3.2)
    ax = fig.subplots()
    for offset, (name, values) in zip(
        np.linspace(-0.1, 0.1, len(accuracies)), accuracies.items(), strict=True
    ):
        values = np.asarray(values)
        ax.plot(
            np.arange(len(seeds)) + offset,
            values * 100,
            "o",
            markersize=8,
            label=f"{name}: mean {values.mean():.2%}",
        )
    if reference is not None:
        ax.axhline(
            reference * 100,
            color="gray",
            linestyle="--",
            label=f"{reference_label}: {reference:.2%}",
        )
    ax.set_xticks(np.arange(len(seeds)), [f"seed {seed}" for seed in seeds])
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    return fig


def sweep_heatmap(table, *, value="accuracy", title=None):
    """Heatmap of a temperature x alpha sweep; ``table`` is a DataFrame with those columns."""
    grid = table.pivot(index="alpha", columns="temperature", values=value) * 100
    fig = _figure(1.3 * grid.shape[1] + 2, 1.0 * grid.shape[0] + 1.5)
    ax = fig.subplots()
    sns.heatmap(
        grid, annot=True, fmt=".1f", cmap="viridis", ax=ax, cbar_kws={"label": f"{value} (%)"}
    )
    ax.set_title(title or f"validation {value} (%)")
    return fig


def pareto_front(cost, value) -> list[int]:
    """Return the indices of the Pareto-optimal points, cheapest first.

    ``cost`` and ``value`` are sequences of n numbers (e.g. file size and accuracy): lower
    cost and higher value are better. A point is on the front when no other point costs no
    more and is worth no less, with one of the two strictly better. Exact ties are all kept.
    """
    cost, value = np.asarray(cost, dtype=float), np.asarray(value, dtype=float)
    if cost.shape != value.shape or cost.ndim != 1:
        raise ValueError(
            f"`cost` and `value` must be 1-D and of the same length; got shapes {cost.shape} "
            f"and {value.shape}."
        )
    front = []
    for index in np.lexsort((-value, cost)):  # by cost, then by value (best first)
        dominated = (cost <= cost[index]) & (value >= value[index])
        dominated &= (cost < cost[index]) | (value > value[index])
        if not dominated.any():
            front.append(int(index))
    return front


_TRADEOFF_MARKERS = {"float": "o", "dynamic": "D", "int8": "s"}


def tradeoff(table, x, *, y="accuracy", log_x=False, xlabel=None, ylabel=None, title=None):
    """Scatter plot of one model per row of ``table``, with the Pareto front marked.

    ``table`` is a DataFrame indexed by model name (or with a ``model`` column), holding the
    columns ``x`` (a cost, lower is better, e.g. ``"gzip_bytes"`` or ``"latency_ms"``) and
    ``y`` (higher is better, e.g. ``"accuracy"``, drawn in % when every value is in [0, 1]).
    Names follow the series' convention ``<model>_<float|dynamic|int8>``: the suffix picks the
    marker (circle, diamond, square; no suffix = float) and the rest the colour, so a model
    and its quantized versions share a colour. The Pareto front (:func:`pareto_front`) is a
    dashed staircase through its points, which are drawn filled; dominated points are hollow.
    """
    if "model" in getattr(table, "columns", ()):
        table = table.set_index("model")
    names = [str(name) for name in table.index]
    xs = np.asarray(table[x], dtype=float)
    ys = np.asarray(table[y], dtype=float)
    percent = bool(len(ys)) and ys.min() >= 0 and ys.max() <= 1
    shown = ys * 100 if percent else ys

    def split(name):
        stem, _, suffix = name.rpartition("_")
        return (stem, suffix) if suffix in _TRADEOFF_MARKERS else (name, "float")

    families = list(dict.fromkeys(split(name)[0] for name in names))
    palette = dict(zip(families, sns.color_palette("tab10", len(families)), strict=True))
    front = pareto_front(xs, ys)
    fig = _figure(7.5, 4.2)
    ax = fig.subplots()
    for index, name in enumerate(names):
        family, suffix = split(name)
        on_front = index in front
        ax.scatter(
            xs[index],
            shown[index],
            s=70,
            marker=_TRADEOFF_MARKERS[suffix],
            color=palette[family] if on_front else "none",
            edgecolors=palette[family],
            linewidths=1.6,
            label=name + (" (Pareto)" if on_front else ""),
            zorder=3 if on_front else 4,  # hollow on top: a tie stays visible as an outline
        )
    ordered = [(xs[i], shown[i]) for i in front]
    steps_x, steps_y = [], []
    for position, (front_x, front_y) in enumerate(ordered):
        if position:
            steps_x.append(front_x)  # staircase: flat until the next point's cost
            steps_y.append(ordered[position - 1][1])
        steps_x.append(front_x)
        steps_y.append(front_y)
    ax.plot(steps_x, steps_y, "--", color="gray", linewidth=1, zorder=2, label="Pareto front")
    if log_x:
        ax.set_xscale("log")
        # Plain numbers at 1, 2 and 5 times powers of ten, instead of 3x10^1-style labels.
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or (f"{y} (%)" if percent else y))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    if title:
        ax.set_title(title)
    return fig
