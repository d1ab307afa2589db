"""Checks and small helpers shared by the modules of kdtutor (private).

One place for each rule a user's input must follow, so every function that takes, say,
labels accepts the same shapes and refuses the same mistakes with the same message.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

# Keras (and so TensorFlow) is imported only inside the functions that need it: the command
# line, kdtutor.data and kdtutor.plots use these checks too and must stay fast to import.


def check_int(
    value, argument: str, *, minimum: int, maximum: int | None = None, hint: str = ""
) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` unless it is an integer in range.

    The range is ``[minimum, maximum]`` (``maximum=None``: no upper bound). NumPy integers
    count; bools and floats (even 3.0) do not. ``hint`` is added to the message.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        valid = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(
            f"`{argument}` must be an integer {valid}; got {value!r}.{' ' + hint if hint else ''}"
        )
    return int(value)


def check_positive_ints(values, argument: str) -> tuple[int, ...]:
    """Return ``values`` as a tuple of ints > 0, or raise ``ValueError`` naming ``argument``.

    One int counts as a sequence of one (``128`` -> ``(128,)``); an empty sequence, a bool,
    a float or a value <= 0 is refused (layer widths, filter counts).
    """
    if isinstance(values, numbers.Integral) and not isinstance(values, bool):
        values = (values,)
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = tuple(values.tolist())
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ValueError(
            f"`{argument}` must be a non-empty sequence of positive integers, e.g. (128,); "
            f"got {values!r}."
        )
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ValueError(
                f"`{argument}` must hold positive integers, e.g. (128,); got {tuple(values)!r}."
            )
    return tuple(int(value) for value in values)


def check_real(
    value,
    argument: str,
    *,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` unless it is a real in the interval.

    ``low``/``high`` bound the interval, open at an end whose ``*_open`` is True. NumPy
    scalars and 0-d arrays or tensors count as numbers; bools, strings and NaN do not.
    ``hint`` is added to the message (e.g. what the usual values are).
    """
    number = value
    if not isinstance(number, numbers.Real) and getattr(number, "shape", None) == ():
        if isinstance(number, np.ndarray):
            number = number.item()
        else:  # a 0-d tensor or variable
            from keras import ops

            number = ops.convert_to_numpy(number).item()
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if isinstance(number, bool) or not isinstance(number, numbers.Real) or math.isnan(number):
        inside = False
    else:
        inside = (low < number if low_open else low <= number) and (
            number < high if high_open else number <= high
        )
    if not inside:
        raise ValueError(
            f"`{argument}` must be a number in {interval}; got {value!r} of type "
            f"{type(value).__name__}.{' ' + hint if hint else ''}"
        )
    return float(number)


def check_built_model(model, function: str) -> None:
    """Raise unless ``model`` is a built Keras 3 model (``function`` names the caller)."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{function}() needs a Keras 3 model (keras.Model); got {type(model).__name__}. "
            "tf_keras (Keras 2) models are not supported."
        )
    if not model.built:
        raise ValueError(
            f"{function}() needs a built model, but {model.name!r} has no weights yet. Give it "
            "a keras.Input(...) layer, or call it once on a batch, before this call."
        )


def is_cloneable(model) -> bool:
    """True for Sequential and Functional models (rebuilt from their config), not subclasses."""
    import keras

    if isinstance(model, keras.Sequential):
        return True
    # keras.Model(inputs, outputs) returns an instance of Keras' own Functional class, which
    # keras does not export (Keras 2's `_is_graph_network` flag is gone in Keras 3). A
    # subclass of it may have a constructor of its own, so only the class itself counts.
    cls = type(model)
    return cls.__name__ == "Functional" and cls.__module__.startswith("keras.")


def uncompiled_copy(model: keras.Model) -> keras.Model:
    """A Sequential/Functional copy of ``model`` with the same weights and no compile state."""
    # Not keras.models.clone_model(): it compiles the clone like the original, and a
    # compiled model is saved with its optimizer state.
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


# --- labels --------------------------------------------------------------------------------
# Keras accepts class ids shaped (N,) or (N, 1) and one-hot labels (N, num_classes); a pandas
# Series becomes (N, 1) on its way through Keras' data adapters. Every function of kdtutor
# that takes labels decides between them here, by shape alone, so that (N, 1) is never read
# as one-hot labels of one class (that made accuracies silently wrong).


def label_kind(shape, num_classes: int, argument: str = "y") -> str:
    """Return ``"sparse"`` for class ids (N,) or (N, 1), ``"one_hot"`` for (N, num_classes).

    ``shape`` is the labels' shape (its first axis is the batch, possibly ``None``). A last
    axis of size ``num_classes`` means one-hot (or soft) labels; any other shape raises
    ``ValueError`` naming the shapes that are accepted.
    """
    shape = tuple(shape)
    if len(shape) == 1:
        return "sparse"
    if len(shape) == 2 and shape[1] == num_classes and num_classes != 1:
        return "one_hot"
    if len(shape) == 2 and shape[1] == 1:
        return "sparse"
    raise ValueError(
        f"`{argument}` must hold labels as class ids of shape (N,) or (N, 1), or one-hot "
        f"labels of shape (N, {num_classes}); got shape {shape}."
    )


def sparse_labels(labels, num_classes: int, argument: str = "y"):
    """Return ``labels`` as int32 class ids of shape (N,): a tensor, or NumPy for NumPy input.

    Accepts what :func:`label_kind` accepts; one-hot rows give their argmax. Works inside a
    traced ``train_step`` (keras.ops only) and on NumPy arrays or pandas Series.
    """
    from keras import ops

    is_numpy = not ops.is_tensor(labels)
    labels = ops.convert_to_tensor(_as_array(labels)) if is_numpy else labels
    kind = label_kind(labels.shape, num_classes, argument)
    if kind == "one_hot":
        ids = ops.argmax(labels, axis=-1)
    else:
        ids = ops.reshape(labels, (-1,))
    ids = ops.cast(ids, "int32")
    return ops.convert_to_numpy(ids) if is_numpy else ids


def _as_array(labels):
    return np.asarray(getattr(labels, "values", labels))


def check_class_ids(labels, num_classes: int, argument: str = "y") -> np.ndarray:
    """Return ``labels`` as int64 class ids of shape (N,), each in ``[0, num_classes)``.

    For the functions that count right answers (accuracies, confusion matrices). Accepts what
    :func:`label_kind` accepts: class ids (N,) or (N, 1), given as ints or as floats with no
    fractional part, or one-hot rows (N, num_classes), which give their argmax. Raises
    ``ValueError`` naming ``argument``, the first bad value and its index, and the valid range
    for an id that is negative, ``>= num_classes``, fractional or NaN: NumPy would read -1 as
    the last class and a cast would truncate 3.5 to 3, and the count would be silently wrong.
    NumPy only (no Keras), for NumPy arrays, lists, pandas Series and eager tensors.
    """
    array = _as_array(labels)
    valid = f"[0, {num_classes}), the integers 0 to {num_classes - 1}"
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(
            f"`{argument}` must hold integer class ids in {valid}; got an array of dtype "
            f"{array.dtype}."
        )
    if label_kind(array.shape, num_classes, argument) == "one_hot":
        if not np.all(np.isfinite(array)):
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise ValueError(
                f"`{argument}` holds one-hot labels of shape {array.shape}, but "
                f"{argument}[{index[0]}, {index[1]}] is {array[index]!r}; every entry must be "
                "a finite number."
            )
        return array.argmax(axis=-1).astype(np.int64)
    ids = array.reshape(-1)
    if np.issubdtype(ids.dtype, np.floating):
        with np.errstate(invalid="ignore"):
            fractional = ~np.isfinite(ids) | (ids != np.round(ids))
        if fractional.any():
            index = int(np.flatnonzero(fractional)[0])
            raise ValueError(
                f"`{argument}` must hold integer class ids in {valid}; {argument}[{index}] is "
                f"{ids[index].item()!r}, which is not a whole number ({int(fractional.sum())} "
                f"such label(s)). Give the class ids as integers, e.g. {argument}.astype(int) "
                "if the floats only stand for whole numbers."
            )
    outside = (ids < 0) | (ids >= num_classes)
    if outside.any():
        index = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"`{argument}` must hold class ids in {valid}, one per class; {argument}[{index}] "
            f"is {ids[index].item()!r} ({int(outside.sum())} label(s) outside that range)."
        )
    return ids.astype(np.int64)


# --- folders -------------------------------------------------------------------------------


def check_output_folder(path, argument: str) -> Path:
    """Return ``path`` (``~`` expanded, made absolute) if a folder can be written there.

    The folder may exist (it must be a folder) or not (it must be creatable: its nearest
    existing ancestor must be a folder this process can write into, tested by creating and
    removing an empty folder there). Nothing is left behind. Raises ``ValueError`` naming
    ``argument``, the folder and why it cannot be written, for the command line to refuse
    before anything runs.
    """
    folder = Path(os.path.expanduser(os.fspath(path))).resolve()
    if folder.exists() and not folder.is_dir():
        raise ValueError(
            f"{argument} {folder} exists and is not a folder; give a new or empty folder."
        )
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    if not existing.is_dir():
        raise ValueError(
            f"{argument} {folder} cannot be created: {existing} is a file, not a folder. Give "
            "a folder whose parents are folders."
        )
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".kdtutor-write-test-"))
    except OSError as error:
        where = "" if existing == folder else f" (tried to create it in {existing})"
        raise ValueError(
            f"{argument} {folder} cannot be written: {error.strerror}{where}. Give a folder "
            "you can write to."
        ) from None
    return folder
