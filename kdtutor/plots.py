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

from kdtutor._checks import check_class_ids, check_int

__all__ = [
    "gain_vs_fraction",
    "method_comparison",
    "bias_sweep",
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
    """Show the first ``rows * cols`` images (N x 28 x 28 x 1, values in [0, 1]) with labels.

    ``labels`` are class ids in ``[0, len(class_names))`` (shaped as Keras accepts them, see
    :func:`confusion_matrix`); others raise ``ValueError``.
    """
    labels = check_class_ids(labels, len(class_names), "labels")
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
    """Bar plot of how many train and test images each class has.

    The legend sits above the axes, so with balanced classes (every bar the same height)
    it covers no bar. ``y_train`` and ``y_test`` are class ids in ``[0, len(class_names))``
    (shaped as Keras accepts them); others raise ``ValueError``.
    """
    y_train = check_class_ids(y_train, len(class_names), "y_train")
    y_test = check_class_ids(y_test, len(class_names), "y_test")
    fig = _figure(8, 3.2)
    ax = fig.subplots()
    positions = np.arange(len(class_names))
    for offset, (labels, name) in zip(
        (-0.2, 0.2), ((y_train, "train"), (y_test, "test")), strict=True
    ):
        counts = np.bincount(labels, minlength=len(class_names))
        ax.bar(positions + offset, counts, width=0.4, label=f"{name} ({len(labels):,})")
    ax.set_xticks(positions, class_names, rotation=30 if len(class_names[0]) > 2 else 0)
    ax.set_xlabel("class")
    ax.set_ylabel("images")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return fig


def training_curves(history, keys=None, *, title=None):
    """Plot the per-epoch values of a Keras ``History`` (or its ``.history`` dict).

    ``keys`` picks the quantities (default: every key without a ``val_``
    prefix); each gets its own panel, with its ``val_`` curve when recorded.
    """
    values = getattr(history, "history", history)
    keys = list(keys) if keys is not None else [k for k in values if not k.startswith("val_")]
    unknown = [key for key in keys if key not in values]
    if not keys or unknown or not all(len(values[key]) for key in keys):
        raise ValueError(
            f"training_curves() needs a History of at least one epoch and `keys` it recorded "
            f"({sorted(values) or 'none'}); got keys {keys!r}"
            f"{f', of which {unknown} were not recorded' if unknown else ''}."
        )
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
    """Seaborn heatmap of the confusion matrix: rows = true class, columns = predicted.

    ``y_true`` and ``y_pred`` hold one label per example: class ids in
    ``[0, len(class_names))`` shaped (N,) or (N, 1), or rows of ``len(class_names)`` scores
    (one-hot labels, or a model's logits or probabilities), which count as their argmax.
    Anything else (an id outside the range, a fractional or NaN id, different lengths)
    raises ``ValueError``.
    """
    n = len(class_names)
    y_true = check_class_ids(y_true, n, "y_true")
    y_pred = check_class_ids(y_pred, n, "y_pred")
    if not len(y_true):
        raise ValueError("confusion_matrix() got no examples: `y_true` is empty.")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"`y_true` and `y_pred` must hold one label per example each; got {len(y_true)} "
            f"and {len(y_pred)}."
        )
    matrix = np.zeros((n, n), dtype=int)
    np.add.at(matrix, (y_true, y_pred), 1)
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
    """Show the ``count`` test images whose true class got the lowest probability.

    ``probabilities`` has shape ``(N, len(class_names))``, rows of probabilities (apply a
    softmax to a model's logits first); ``y_true`` holds class ids in ``[0,
    len(class_names))`` (shaped as Keras accepts them), one per image; ``count`` is at most
    N. Others raise ``ValueError``.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise ValueError(
            f"`probabilities` must have shape (N, {len(class_names)}), one row of class "
            f"probabilities per image; got shape {probabilities.shape}."
        )
    sums = probabilities.sum(axis=1)
    if np.any(probabilities < 0) or np.any(np.abs(sums - 1) > 1e-2):
        raise ValueError(
            "`probabilities` must be rows of probabilities (non-negative, summing to 1); "
            "these look like logits: pass keras.ops.softmax(logits) (or the model's "
            "predictions after a softmax) instead."
        )
    count = check_int(count, "count", minimum=1, maximum=max(len(probabilities), 1))
    y_true = check_class_ids(y_true, len(class_names), "y_true")
    if len(y_true) != len(probabilities):
        raise ValueError(
            f"`y_true` must hold one label per row of `probabilities` ({len(probabilities)}); "
            f"got {len(y_true)}."
        )
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
    of class index ``highlight`` is drawn in a contrasting colour, its value
    written above it. All panels have the same logarithmic y axis, whose floor
    lies a decade below the smallest positive probability shown, so that every
    bar, however small its "dark knowledge" probability, is visible.
    """
    temperatures = list(probabilities_by_temperature)
    vectors = [np.asarray(probabilities_by_temperature[t], dtype=float) for t in temperatures]
    if highlight is not None:
        highlight = check_int(highlight, "highlight", minimum=0, maximum=len(class_names) - 1)
    positive = np.concatenate([v[v > 0] for v in vectors])
    floor = 10.0 ** (np.floor(np.log10(positive.min())) - 1) if positive.size else 1e-6
    panels = len(temperatures) + (image is not None)
    fig = _figure(2.3 * panels, 2.6)
    axes = list(np.atleast_1d(fig.subplots(1, panels)))
    if image is not None:
        ax = axes.pop(0)
        ax.imshow(np.squeeze(image), cmap="gray_r", vmin=0, vmax=1)
        ax.set_axis_off()
    positions = np.arange(len(class_names))
    for ax, temperature, probabilities in zip(axes, temperatures, vectors, strict=True):
        colors = [sns.color_palette()[0]] * len(class_names)
        if highlight is not None:
            colors[highlight] = sns.color_palette()[1]
            ax.annotate(
                f"{probabilities[highlight]:.0e}"
                if probabilities[highlight] < 0.01
                else f"{probabilities[highlight]:.2f}",
                (highlight, max(probabilities[highlight], floor)),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                fontsize=6,
                color=sns.color_palette()[1],
            )
        # Bars start at the floor, not at 0 (which a log axis cannot show).
        ax.bar(positions, np.maximum(probabilities, floor) - floor, bottom=floor, color=colors)
        ax.set_yscale("log")
        ax.set_ylim(floor, 3.0)
        ax.set_xticks(positions, class_names, fontsize=7)
        ax.set_xlabel("class", fontsize=8)
        ax.set_title(f"T = {temperature:g}")
        if ax is not axes[0]:
            ax.tick_params(labelleft=False)
    axes[0].set_ylabel("probability (log scale)")
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
        cbar_kws={"label": "mean probability"},
    )
    ax.set_xlabel("class the teacher finds plausible")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    return fig


def gradient_scale(
    temperatures, curves: dict, *, ylabel="mean |gradient|", reference=None, reference_label=None
):
    """Log-log plot of several gradient sizes against T; ``curves`` maps label -> values.

    ``reference`` (a number, e.g. the large-T limit) is drawn as a dashed horizontal line
    labelled ``reference_label``; the x ticks are the ``temperatures`` themselves.
    """
    fig = _figure(5.5, 3.5)
    ax = fig.subplots()
    for label, values in curves.items():
        ax.plot(temperatures, values, marker="o", label=label)
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle="--", label=reference_label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(temperatures, [f"{t:g}" for t in temperatures])
    ax.minorticks_off()
    ax.set_xlabel("temperature T")
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def accuracy_per_seed(seeds, accuracies: dict, *, reference=None, reference_label="teacher"):
    """Test accuracy per seed for each method, and each method's mean ± its standard error.

    ``accuracies`` maps a method's name to its accuracies (fractions in [0, 1]), one per
    seed of ``seeds``. Each seed gets one dot per method; the last column, "mean ± SE", shows
    each method's mean with an error bar of one standard error of the mean over the seeds
    (sample standard deviation / sqrt(number of seeds); no bar for a single seed).
    ``reference`` (a fraction, e.g. the teacher's accuracy) is drawn as a dashed line. The
    legend sits beside the axes, so it covers no point.
    """
    fig = _figure(7.5, 3.4)
    ax = fig.subplots()
    count = len(seeds)
    offsets = np.linspace(-0.12, 0.12, len(accuracies))
    for offset, (name, values) in zip(offsets, accuracies.items(), strict=True):
        values = np.asarray(values, dtype=float) * 100
        error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
        (dots,) = ax.plot(
            np.arange(count) + offset,
            values,
            "o",
            markersize=7,
            label=f"{name}: mean {values.mean() / 100:.2%} ± {error:.2f} points (SE)",
        )
        ax.errorbar(
            count + offset, values.mean(), yerr=error, fmt="s", color=dots.get_color(), capsize=5
        )
    if reference is not None:
        ax.axhline(
            reference * 100,
            color="gray",
            linestyle="--",
            label=f"{reference_label}: {reference:.2%}",
        )
    ax.axvline(count - 0.5, color="lightgray", linewidth=1)
    ax.set_xticks(np.arange(count + 1), [f"seed {seed}" for seed in seeds] + ["mean ± SE"])
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def _distinct_decimals(values, most: int = 4) -> int:
    """The fewest decimals (1 to ``most``) at which different values still read differently."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    distinct = np.unique(values).size
    for decimals in range(1, most):
        if np.unique(np.round(values, decimals)).size == distinct:
            return decimals
    return most


def sweep_heatmap(
    table,
    *,
    value="accuracy",
    baseline=None,
    standard_error=None,
    baseline_label="the baseline",
    title=None,
):
    """Heatmap of a temperature x alpha sweep; ``table`` is a DataFrame with those columns.

    Without ``baseline``: ``value`` (a fraction) in percent, with as many decimals as it
    takes for different values to read differently. With ``baseline`` (the same quantity for
    a reference model, e.g. the scratch student's validation accuracy, a fraction): each
    cell's gain over it in percentage points, on a red-blue scale centred on 0 (the
    baseline). ``standard_error`` (points, e.g. one cell's standard error) makes the scale
    reach at least 3 standard errors each way, so that a cell within the noise of the
    baseline stays pale; the cells then show the gain with two decimals and a sign.
    """
    grid = table.pivot(index="alpha", columns="temperature", values=value) * 100
    fig = _figure(1.4 * grid.shape[1] + 2.6, 1.0 * grid.shape[0] + 1.6)
    ax = fig.subplots()
    if baseline is None:
        decimals = _distinct_decimals(grid.to_numpy().ravel())
        sns.heatmap(
            grid,
            annot=True,
            fmt=f".{decimals}f",
            cmap="viridis",
            ax=ax,
            cbar_kws={"label": f"{value} (%)"},
        )
        ax.set_title(title or f"validation {value} (%)")
        return fig
    gain = grid - baseline * 100
    limit = float(np.nanmax(np.abs(gain.to_numpy()), initial=0.0))
    if standard_error:
        limit = max(limit, 3 * float(standard_error))
    limit = limit or 1.0
    sns.heatmap(
        gain,
        annot=True,
        fmt="+.2f",
        cmap="RdBu",
        center=0,
        vmin=-limit,
        vmax=limit,
        ax=ax,
        cbar_kws={"label": f"gain over {baseline_label} (points)"},
    )
    noise = f"\none standard error ≈ {standard_error:.2f} points" if standard_error else ""
    ax.set_title(title or f"validation {value}: gain over {baseline_label} ({baseline:.2%}){noise}")
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
# Where a point's name may go, tried in this order: (dx, dy) in typographic points.
_LABEL_OFFSETS = [
    (7, 0), (-7, 0), (0, 7), (0, -7), (7, 8), (7, -8), (-7, 8), (-7, -8),
    (10, 16), (10, -16), (-10, 16), (-10, -16), (0, 20), (0, -20),
    (12, 26), (12, -26), (-12, 26), (-12, -26), (0, 34), (0, -34),
]  # fmt: skip


def _area(box, other) -> float:
    from matplotlib.transforms import Bbox

    overlap = Bbox.intersection(box, other)
    return 0.0 if overlap is None else overlap.width * overlap.height


def _label_points(ax, xs, ys, names, *, fontsize: float = 7.5) -> None:
    """Write each name beside its point, where it covers no other name, point or the frame.

    Candidate places (``_LABEL_OFFSETS``) are tried in order and the first free one is kept
    (else the one that overlaps least); names moved away from their point get a thin leader
    line. Measured on the laid-out figure, so the text sizes are exact.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    fig = ax.figure
    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)  # a figure made without pyplot has no renderer to measure with
    fig.draw_without_rendering()  # lay the figure out: data -> pixel transforms are final
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    radius = 5 * fig.dpi / 72
    centres = ax.transData.transform(np.column_stack([xs, ys]))
    taken = [Bbox.from_extents(x - radius, y - radius, x + radius, y + radius) for x, y in centres]
    for index in np.argsort(-np.asarray(ys)):  # top to bottom: a stable, readable order
        best = None
        for dx, dy in _LABEL_OFFSETS:
            far = abs(dy) > 10
            label = ax.annotate(
                names[index],
                (xs[index], ys[index]),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                va="center" if dy == 0 else "bottom" if dy > 0 else "top",
                fontsize=fontsize,
                arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.6} if far else None,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
                zorder=5,
            )
            label.update_positions(renderer)
            box = Text.get_window_extent(label, renderer)  # the text only, not its leader
            outside = box.width * box.height - _area(box, frame)
            clash = sum(_area(box, other) for other in taken) + 10 * outside
            if best is None or clash < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clash, label, box)
            else:
                label.remove()
            if clash == 0:
                break
        taken.append(best[2])


def tradeoff(table, x, *, y="accuracy", log_x=False, xlabel=None, ylabel=None, title=None):
    """Scatter plot of one model per row of ``table``, each point labelled with its name.

    ``table`` is a DataFrame indexed by model name (or with a ``model`` column), holding the
    columns ``x`` (a cost, lower is better, e.g. ``"gzip_bytes"`` or ``"latency_ms"``) and
    ``y`` (higher is better, e.g. ``"accuracy"``, drawn in % when every value is in [0, 1]).
    Names follow the series' convention ``<model>_<float|dynamic|int8>``: the suffix picks the
    marker (circle, diamond, square; no suffix = float) and the rest the colour, so a model
    and its quantized versions share a colour. Every point carries its name beside it (placed
    where it covers no other name or point), so no legend has to be decoded; the key below
    the axes explains the markers. The Pareto front (:func:`pareto_front`) is a dashed
    staircase through its points, which are drawn filled; dominated points are hollow.
    """
    from matplotlib.lines import Line2D

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
    fig = _figure(8.5, 5.2)
    ax = fig.subplots()
    for index, name in enumerate(names):
        family, suffix = split(name)
        on_front = index in front
        ax.scatter(
            xs[index],
            shown[index],
            s=55,
            marker=_TRADEOFF_MARKERS[suffix],
            color=palette[family] if on_front else "none",
            edgecolors=palette[family],
            linewidths=1.6,
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
    ax.plot(steps_x, steps_y, "--", color="gray", linewidth=1, zorder=2)
    if log_x:
        ax.set_xscale("log")
        # Plain numbers at 1, 2 and 5 times powers of ten, instead of 3x10^1-style labels.
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.margins(x=0.12, y=0.12)  # room for the names of the outermost points
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or (f"{y} (%)" if percent else y))
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title)
    key = [
        Line2D([], [], ls="", marker=_TRADEOFF_MARKERS[s], mfc="none", mec="0.3", label=s)
        for s in ("float", "dynamic", "int8")
        if any(split(name)[1] == s for name in names)
    ]
    key += [
        Line2D([], [], ls="", marker="o", mfc="0.3", mec="0.3", label="filled: on the front"),
        Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", label="hollow: dominated"),
        Line2D([], [], ls="--", color="gray", lw=1, label="Pareto front"),
    ]
    fig.legend(handles=key, loc="outside lower center", ncols=len(key), frameon=False, fontsize=8)
    _label_points(ax, xs, shown, names)
    return fig


# --- notebook 05 ---
def _mean_and_error(values):
    values = np.asarray(values, dtype=float) * 100
    count = values.shape[-1]
    error = values.std(axis=-1, ddof=1) / np.sqrt(count) if count > 1 else 0 * values.mean(-1)
    return values.mean(axis=-1), error


def gain_vs_fraction(fractions, scratch, distilled, *, reference=None):
    """Test accuracy and the distillation gain against the fraction of labelled images.

    ``scratch`` and ``distilled`` hold accuracies (fractions in [0, 1]) of shape
    ``(len(fractions), seeds)``. The left panel shows each method's mean with one standard
    error over the seeds, on a logarithmic fraction axis; the right panel the mean of the
    per-seed gains (distilled − scratch, in points) with its standard error, and zero as a
    dashed line. ``reference`` (e.g. the teacher's accuracy) is drawn on the left.
    """
    fig = _figure(9.0, 3.4)
    left, right = fig.subplots(1, 2)
    percent = np.asarray(fractions, dtype=float) * 100
    for name, values in (("scratch", scratch), ("distilled", distilled)):
        mean, error = _mean_and_error(values)
        left.errorbar(percent, mean, yerr=error, fmt="o-", capsize=4, label=name)
    if reference is not None:
        left.axhline(reference * 100, color="gray", linestyle="--", label="teacher")
    gain, error = _mean_and_error(np.asarray(distilled, float) - np.asarray(scratch, float))
    right.errorbar(percent, gain, yerr=error, fmt="o-", capsize=4, color="C2")
    right.axhline(0, color="gray", linestyle="--")
    for ax, label in ((left, "test accuracy (%)"), (right, "gain (points, mean ± SE)")):
        ax.set_xscale("log")
        ax.set_xticks(percent, [f"{value:g}" for value in percent])
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_xlabel("labelled training images (%)")
        ax.set_ylabel(label)
    left.legend(fontsize=8)
    return fig


def method_comparison(accuracies: dict, *, reference=None, reference_label="teacher"):
    """One horizontal bar per method: mean test accuracy ± one standard error over seeds.

    ``accuracies`` maps a method's name to its per-seed accuracies (fractions in [0, 1]);
    each seed is drawn as a dot on its bar. ``reference`` is drawn as a dashed line.
    """
    fig = _figure(7.5, 0.45 * len(accuracies) + 1.2)
    ax = fig.subplots()
    names = list(accuracies)
    for row, name in enumerate(names):
        values = np.asarray(accuracies[name], dtype=float) * 100
        mean, error = _mean_and_error(values / 100)
        ax.barh(row, mean, xerr=error, color=f"C{row % 10}", alpha=0.6, capsize=4)
        ax.plot(values, np.full(len(values), row), "k.", markersize=5)
    if reference is not None:
        ax.axvline(reference * 100, color="gray", linestyle="--", label=reference_label)
        ax.legend(fontsize=8, loc="lower right")
    lowest = min(np.min(np.asarray(values, dtype=float)) for values in accuracies.values())
    ax.set_xlim(max(0.0, lowest * 100 - 5), 100)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("test accuracy (%), mean ± SE over seeds; dots: seeds")
    return fig


def bias_sweep(biases, digit_recall, others_accuracy, *, chosen=None, digit=None):
    """Validation recall of the omitted digit and accuracy on the others against a logit bias.

    ``digit_recall`` and ``others_accuracy`` (fractions in [0, 1]) have one value per bias;
    ``chosen`` (a bias) is marked with a vertical line.
    """
    fig = _figure(6.5, 3.2)
    ax = fig.subplots()
    name = "the omitted digit" if digit is None else f"digit {digit}"
    ax.plot(biases, np.asarray(digit_recall) * 100, label=f"{name}: recall")
    ax.plot(biases, np.asarray(others_accuracy) * 100, label="the other digits: accuracy")
    if chosen is not None:
        ax.axvline(chosen, color="gray", linestyle="--", label=f"chosen bias {chosen:g}")
    ax.set_xlabel(f"bias added to {name}'s logit")
    ax.set_ylabel("validation (%)")
    ax.legend(fontsize=8)
    return fig
